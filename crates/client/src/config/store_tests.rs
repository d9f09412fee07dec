//! Round-trip tests of the CLI config against the official CLI's exact file.

use super::*;
use crate::config::{Preferences, USER_TYPE_NO_AUTH};
use crate::secret::Secret;

/// Written by the official CLI after `nemo auth login --unsigned-token`
/// (`docs/reference-behaviour.md#cli-config-file`).
const OFFICIAL: &str = "current_context: default
clusters:
- name: default-cluster
  base_url: http://127.0.0.1:18081/
  metadata: {}
users:
- type: oauth
  name: default-user
  token: eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhZG1pbkBleGFtcGxlLmNvbSIsImlhdCI6MTc5NTkwNTUyMCwiZW1haWwiOiJhZG1pbkBleGFtcGxlLmNvbSIsImV4cCI6MTc5NTkwOTEyMH0.
contexts:
- name: default
  cluster: default-cluster
  user: default-user
  workspace: default
  preferences:
    output_format: table
    timestamp_format: iso8601
    truncate: true
    color_output: true
  metadata: {}
telemetry_enabled: true
";

/// The same file with unknown keys at every level.
const WITH_UNKNOWN_KEYS: &str = "current_context: default
clusters:
- name: default-cluster
  base_url: http://127.0.0.1:18081/
  metadata:
    region: eu
  tls_verify: false
users:
- type: oauth
  name: default-user
  token: abc
  refresh_token: def
  id_token_hint: keep-me
contexts:
- name: default
  cluster: default-cluster
  user: default-user
  workspace: default
  default_model: llama
  preferences:
    output_format: table
    timestamp_format: iso8601
    truncate: true
    color_output: true
    page_size: 50
  metadata:
    note: x
telemetry_enabled: true
local_services:
  data_dir: /tmp/nmp
future_top_level:
- 1
- 2
";

fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("nmp").join("config.yaml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    (scratch, path)
}

#[test]
fn official_file_is_read_and_rewritten_byte_for_byte() {
    let (_scratch, path) = write(OFFICIAL);
    let config = load(&path).unwrap();
    assert_eq!(config.current_context.as_deref(), Some("default"));
    assert_eq!(config.cluster_of("default").unwrap().base_url, "http://127.0.0.1:18081/");
    let user = config.user_of("default").unwrap();
    assert!(user.is_oauth());
    assert!(user.bearer().unwrap().expose().starts_with("eyJhbGciOiJub25l"));
    assert_eq!(config.context("default").unwrap().preferences, Preferences::official_defaults());
    save(&path, &config).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), OFFICIAL);
}

#[test]
fn unknown_keys_at_every_level_survive_a_rewrite() {
    let (_scratch, path) = write(WITH_UNKNOWN_KEYS);
    let mut config = load(&path).unwrap();
    // A real modification, as a refresh would make.
    config.user_of_mut("default").unwrap().set_tokens(Secret::new("new-access"), None);
    save(&path, &config).unwrap();

    let rewritten: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let original: serde_yaml_ng::Value = serde_yaml_ng::from_str(WITH_UNKNOWN_KEYS).unwrap();
    assert_eq!(rewritten["local_services"], original["local_services"]);
    assert_eq!(rewritten["future_top_level"], original["future_top_level"]);
    assert_eq!(rewritten["clusters"][0]["tls_verify"], original["clusters"][0]["tls_verify"]);
    assert_eq!(rewritten["clusters"][0]["metadata"], original["clusters"][0]["metadata"]);
    assert_eq!(rewritten["users"][0]["id_token_hint"], original["users"][0]["id_token_hint"]);
    assert_eq!(rewritten["users"][0]["refresh_token"].as_str(), Some("def"));
    assert_eq!(rewritten["users"][0]["token"].as_str(), Some("new-access"));
    assert_eq!(rewritten["contexts"][0]["default_model"].as_str(), Some("llama"));
    assert_eq!(rewritten["contexts"][0]["preferences"]["page_size"].as_u64(), Some(50));
    assert_eq!(rewritten["contexts"][0]["metadata"], original["contexts"][0]["metadata"]);
}

#[cfg(unix)]
#[test]
fn save_makes_the_directory_0700_and_the_file_0600_even_if_they_were_open() {
    use std::os::unix::fs::PermissionsExt;
    let (_scratch, path) = write(OFFICIAL);
    let directory = path.parent().unwrap();
    std::fs::set_permissions(directory, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    save(&path, &load(&path).unwrap()).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(directory), 0o700);
    assert_eq!(mode(&path), 0o600);
    // No temp file left behind.
    let leftovers: Vec<_> = std::fs::read_dir(directory).unwrap().collect();
    assert_eq!(leftovers.len(), 1);
}

#[cfg(unix)]
#[test]
fn save_creates_missing_directories_privately() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("fresh").join("nmp").join("config.yaml");
    let mut config = CliConfig::default();
    config.set_base_url("default", "http://127.0.0.1:1");
    save(&path, &config).unwrap();
    let directory_mode = std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode();
    assert_eq!(directory_mode & 0o777, 0o700);
    let loaded = load(&path).unwrap();
    assert_eq!(loaded.cluster_of("default").unwrap().base_url, "http://127.0.0.1:1/");
    assert_eq!(loaded.user_of("default").unwrap().kind, USER_TYPE_NO_AUTH);
}

#[test]
fn new_context_gets_official_names() {
    let mut config = CliConfig::default();
    config.set_base_url("bob", "http://h:1");
    let context = config.context("bob").unwrap();
    assert_eq!(context.cluster, "bob-cluster");
    assert_eq!(context.user, "bob-user");
    assert_eq!(context.workspace.as_deref(), Some("default"));
}

#[test]
fn lock_file_sits_next_to_the_config() {
    let path = std::path::Path::new("/x/nmp/config.yaml");
    assert_eq!(
        lock_path_for(path, "default"),
        std::path::PathBuf::from("/x/nmp/config.yaml.default.oauth-refresh.lock")
    );
}
