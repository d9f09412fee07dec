//! Drives the built `nemo` binary with a scratch HOME against a fake NMP server on 127.0.0.1.
//!
//! `real` runs it end to end against the real server and the real test IdP.

// Tests measure real elapsed time against real processes: the wall clock is theirs to read.
#![allow(clippy::disallowed_methods)]

mod check;
mod real;
mod support;

use std::process::Stdio;

use support::{jwt, stderr, stdout, FakeNmp, Scratch};

const HINT_409: &str = "Hint: This can mean a resource with that name already exists (try a different name or delete the existing one), or a concurrent update conflicted (retry the operation).";

fn login_unsigned(scratch: &Scratch, fake: &FakeNmp, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "auth",
        "login",
        "--base-url",
        &fake.base_url,
        "--unsigned-token",
        "--email",
        "admin@example.com",
    ];
    args.extend_from_slice(extra);
    scratch.run(&args)
}

#[test]
fn unsigned_login_writes_the_official_config_shape_privately() {
    let fake = FakeNmp::start(true, false);
    let scratch = Scratch::new();
    let output = login_unsigned(&scratch, &fake, &[]);
    assert!(output.status.success(), "{}", stderr(&output));

    let text = scratch.config_text();
    let token = scratch.config()["users"][0]["token"].as_str().unwrap().to_string();
    let expected = format!(
        "current_context: default
clusters:
- name: default-cluster
  base_url: {}/
  metadata: {{}}
users:
- type: oauth
  name: default-user
  token: {token}
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
  metadata: {{}}
",
        fake.base_url
    );
    assert_eq!(text, expected);
    assert!(token.starts_with("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."));
    assert!(token.ends_with('.'));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&scratch.config_path()), 0o600);
        assert_eq!(mode(scratch.config_path().parent().unwrap()), 0o700);
    }

    let decoded = scratch.run(&["auth", "token", "--decode"]);
    let claims: serde_json::Value = serde_json::from_slice(&decoded.stdout).unwrap();
    assert_eq!(claims["sub"], "admin@example.com");
    assert_eq!(claims["email"], "admin@example.com");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);
    let raw = scratch.run(&["auth", "token"]);
    assert_eq!(stdout(&raw).trim(), token);
}

#[test]
fn login_with_another_context_adds_entries_and_keeps_unknown_keys() {
    let fake = FakeNmp::start(true, false);
    let scratch = Scratch::new();
    std::fs::create_dir_all(scratch.config_path().parent().unwrap()).unwrap();
    std::fs::write(
        scratch.config_path(),
        "current_context: default\nclusters: []\nusers: []\ncontexts: []\nlocal_services:\n  data_dir: /x\n",
    )
    .unwrap();
    let output = login_unsigned(&scratch, &fake, &["--context", "bob", "--group", "g1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let config = scratch.config();
    assert_eq!(config["current_context"].as_str(), Some("bob"));
    assert_eq!(config["clusters"][0]["name"].as_str(), Some("bob-cluster"));
    assert_eq!(config["users"][0]["name"].as_str(), Some("bob-user"));
    assert_eq!(config["contexts"][0]["name"].as_str(), Some("bob"));
    assert_eq!(config["local_services"]["data_dir"].as_str(), Some("/x"));
    let claims: serde_json::Value =
        serde_json::from_slice(&scratch.run(&["auth", "token", "--decode"]).stdout).unwrap();
    assert_eq!(claims["groups"], serde_json::json!(["g1"]));
}

#[test]
fn unsigned_login_is_refused_when_the_cluster_has_oidc() {
    let fake = FakeNmp::start(true, true);
    let scratch = Scratch::new();
    let output = login_unsigned(&scratch, &fake, &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("OIDC authentication configured"), "{}", stderr(&output));
    assert!(!scratch.config_path().exists() || !scratch.config_text().contains("token:"));
}

#[test]
fn usage_errors_exit_2() {
    let scratch = Scratch::new();
    let output = scratch.run(&["auth", "login", "--email", "a@example.com"]);
    assert_eq!(output.status.code(), Some(2));
    let output = scratch.run(&["workspaces", "frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_missing_nmp_config_file_is_a_local_error() {
    let scratch = Scratch::new();
    let missing = scratch.home().join("nope.yaml");
    let output = scratch.command(&["workspaces", "list"]).env("NMP_CONFIG_FILE", &missing).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output).trim(),
        format!("Unexpected error: Config file not found at {}", missing.display())
    );
}

#[test]
fn conflict_exits_3_with_the_reference_wording_and_exist_ok_reads_it_back() {
    let fake = FakeNmp::start(true, false);
    let scratch = Scratch::new();
    assert!(login_unsigned(&scratch, &fake, &[]).status.success());

    let created = scratch.run(&["workspaces", "create", "ws1"]);
    assert!(created.status.success(), "{}", stderr(&created));
    // stdout is a pipe: JSON, as the official CLI.
    let json: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    assert_eq!(json["name"], "ws1");
    assert_eq!(fake.recorded.last_body(), serde_json::json!({"name": "ws1"}));
    assert!(fake.recorded.last_auth().unwrap().starts_with("Bearer eyJ"));

    let again = scratch.run(&["workspaces", "create", "ws1"]);
    assert_eq!(again.status.code(), Some(3));
    assert_eq!(stderr(&again), format!("Conflict: (409) Workspace 'ws1' already exists\n{HINT_409}\n"));

    let exist_ok = scratch.run(&["workspaces", "create", "ws1", "--exist-ok"]);
    assert!(exist_ok.status.success(), "{}", stderr(&exist_ok));
    let calls = fake.recorded.calls();
    assert_eq!(
        calls[calls.len() - 2..],
        [
            ("POST".to_string(), "/apis/entities/v2/workspaces".to_string()),
            ("GET".to_string(), "/apis/entities/v2/workspaces/ws1".to_string())
        ]
    );
}

#[test]
fn forbidden_and_unauthorized_use_the_reference_wording() {
    let fake = FakeNmp::start(true, false);
    let scratch = Scratch::new();
    assert!(login_unsigned(&scratch, &fake, &[]).status.success());
    let forbidden = scratch.run(&["workspaces", "get", "secret"]);
    assert_eq!(forbidden.status.code(), Some(3));
    assert!(
        stderr(&forbidden).starts_with("Permission denied: (403) Forbidden\nHint: Your current credentials")
    );

    // Only a base URL, no credentials: the server says 401.
    let anonymous = Scratch::new();
    let output =
        anonymous.command(&["workspaces", "list"]).env("NMP_BASE_URL", &fake.base_url).output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).starts_with("Authentication error: (401) Unauthorized\nHint: Run 'nemo auth login'")
    );
}

#[test]
fn env_token_and_base_url_work_without_a_config_file() {
    let fake = FakeNmp::start(true, false);
    let scratch = Scratch::new();
    let output = scratch
        .command(&["workspaces", "list", "-f", "json"])
        .env("NMP_BASE_URL", &fake.base_url)
        .env("NMP_ACCESS_TOKEN", "env-token")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(list[0]["name"], "default");
    assert_eq!(fake.recorded.last_auth().as_deref(), Some("Bearer env-token"));
    assert!(!scratch.config_path().exists());
}

#[test]
fn members_create_defaults_to_the_context_workspace() {
    let fake = FakeNmp::start(true, false);
    let scratch = Scratch::new();
    assert!(login_unsigned(&scratch, &fake, &[]).status.success());
    let output = scratch.run(&[
        "workspaces",
        "members",
        "create",
        "--principal",
        "bob@example.com",
        "--roles",
        "Viewer",
        "--roles",
        "Editor",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(fake.recorded.calls().last().unwrap().1, "/apis/entities/v2/workspaces/default/members");
    assert_eq!(
        fake.recorded.last_body(),
        serde_json::json!({"principal": "bob@example.com", "roles": ["Viewer", "Editor"]})
    );
    let yaml = scratch.run(&[
        "workspaces",
        "members",
        "create",
        "--principal",
        "x",
        "--workspace",
        "ws9",
        "-f",
        "yaml",
    ]);
    assert!(stdout(&yaml).contains("principal: x"), "{}", stdout(&yaml));
}

#[test]
fn logout_clears_credentials_only_when_auth_is_enabled() {
    let fake = FakeNmp::start(true, false);
    let scratch = Scratch::new();
    assert!(login_unsigned(&scratch, &fake, &[]).status.success());
    let output = scratch.run(&["auth", "logout"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        format!(
            "Logged out successfully.\n  Context: default\n  Config file: {}\n",
            scratch.config_path().display()
        )
    );
    let config = scratch.config();
    assert_eq!(config["users"][0]["type"].as_str(), Some("no-auth"));
    assert_eq!(config["users"][0]["name"].as_str(), Some("default-user"));
    assert!(config["users"][0].get("token").is_none());

    let open = FakeNmp::start(false, false);
    let scratch = Scratch::new();
    assert!(login_unsigned(&scratch, &open, &[]).status.success());
    let output = scratch.run(&["auth", "logout"]);
    assert_eq!(
        stdout(&output).trim(),
        "Authentication is disabled on this cluster — nothing to log out from."
    );
    assert!(scratch.config()["users"][0].get("token").is_some());
}

#[test]
fn status_reports_an_unsigned_token() {
    let fake = FakeNmp::start(true, false);
    let scratch = Scratch::new();
    assert!(login_unsigned(&scratch, &fake, &[]).status.success());
    let output = scratch.run(&["auth", "status", "-f", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["Auth Type"], "oauth");
    assert_eq!(status["Credential Source"], "config file");
    assert_eq!(status["Warning"], "Unsigned JWT (alg=none). Use only for local/testing.");
    assert_eq!(status["Email"], "admin@example.com");
    assert_eq!(status["Refresh Token"], "not available");
    assert!(status["Token"].as_str().unwrap().contains("..."));
}

/// Twenty `nemo` processes start at once with a token 60 s from expiry: exactly one
/// refresh reaches the token endpoint, every command succeeds, and the rotated pair is kept.
#[test]
fn concurrent_processes_refresh_exactly_once() {
    let fake = FakeNmp::start(true, true);
    let scratch = Scratch::new();
    std::fs::create_dir_all(scratch.config_path().parent().unwrap()).unwrap();
    let config = format!(
        "current_context: default
clusters:
- name: default-cluster
  base_url: {}/
  metadata: {{}}
users:
- type: oauth
  name: default-user
  token: {}
  refresh_token: rt-1
contexts:
- name: default
  cluster: default-cluster
  user: default-user
  workspace: default
  preferences: {{}}
  metadata: {{}}
",
        fake.base_url,
        jwt("admin@example.com", 60)
    );
    std::fs::write(scratch.config_path(), config).unwrap();

    let children: Vec<_> = (0..20)
        .map(|_| {
            scratch
                .command(&["workspaces", "list", "-f", "json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut announced = 0;
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        announced += usize::from(stderr(&output).contains("[Auto-refreshed expired token]"));
    }
    assert_eq!(fake.recorded.token_calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(announced, 1);
    let stored = scratch.config();
    assert_eq!(stored["users"][0]["refresh_token"].as_str(), Some("rt-2"));
}

#[test]
fn config_commands_switch_contexts_and_redact_tokens() {
    let fake = FakeNmp::start(true, false);
    let scratch = Scratch::new();
    assert!(login_unsigned(&scratch, &fake, &[]).status.success());
    let set = scratch.run(&[
        "config",
        "set",
        "--context",
        "other",
        "--base-url",
        "http://127.0.0.1:1",
        "-w",
        "ws2",
    ]);
    assert!(set.status.success(), "{}", stderr(&set));
    assert_eq!(stdout(&scratch.run(&["config", "current-context"])).trim(), "default");
    assert!(scratch.run(&["config", "use-context", "other"]).status.success());
    assert_eq!(stdout(&scratch.run(&["config", "current-context"])).trim(), "other");
    assert_eq!(scratch.run(&["config", "use-context", "missing"]).status.code(), Some(2));
    let view = stdout(&scratch.run(&["config", "view", "--all-contexts"]));
    assert!(view.contains("[redacted]"));
    assert!(!view.contains("eyJ"));
}

#[test]
fn quickstart_configure_non_interactive_saves_choices() {
    let scratch = Scratch::new();
    let output = scratch.run(&[
        "quickstart",
        "configure",
        "--auth",
        "--admin-email",
        "admin@example.com",
        "--port",
        "18099",
        "--non-interactive",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let saved: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(scratch.home().join(".config/nmp/quickstart/config.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(saved["auth_enabled"].as_bool(), Some(true));
    assert_eq!(saved["admin_email"].as_str(), Some("admin@example.com"));
    assert_eq!(saved["port"].as_u64(), Some(18099));
    let refused = scratch.run(&["quickstart", "configure", "--auth", "--non-interactive", "--port", "1"]);
    assert!(refused.status.success(), "the saved admin email is kept: {}", stderr(&refused));
    let status = scratch.run(&["quickstart", "status"]);
    assert!(stdout(&status).contains("stopped"), "{}", stdout(&status));
}

#[test]
fn completion_and_help_are_generated() {
    let scratch = Scratch::new();
    let bash = scratch.run(&["completion", "bash"]);
    assert!(bash.status.success());
    assert!(stdout(&bash).contains("nemo"));
    let help = scratch.run(&["auth", "login", "--help"]);
    assert!(stdout(&help).contains("Examples:"));
    assert!(stdout(&help).contains("--unsigned-token"));
}

/// Stops the background platform even when an assertion fails.
struct QuickstartGuard<'a>(&'a Scratch);

impl Drop for QuickstartGuard<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["quickstart", "down"]);
    }
}

/// The real server, started by `nemo quickstart up` in the background and stopped by `down`.
#[test]
fn quickstart_up_runs_the_real_platform_and_down_stops_it() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let scratch = Scratch::new();
    let port_text = port.to_string();
    let configured = scratch.run(&[
        "quickstart",
        "configure",
        "--auth",
        "--admin-email",
        "admin@example.com",
        "--port",
        &port_text,
        "--non-interactive",
    ]);
    assert!(configured.status.success(), "{}", stderr(&configured));
    let _guard = QuickstartGuard(&scratch);
    let up = scratch.run(&["quickstart", "up"]);
    assert!(up.status.success(), "{}{}", stdout(&up), stderr(&up));

    // The platform config handed to `services run`.
    let platform =
        std::fs::read_to_string(scratch.home().join("state/nmp/quickstart/platform-config.yaml")).unwrap();
    assert!(platform.contains("allow_unsigned_jwt: true"), "{platform}");
    assert!(platform.contains("admin_email: admin@example.com"), "{platform}");

    // The quickstart context, current, with a 24-hour unsigned admin token.
    let config = scratch.config();
    assert_eq!(config["current_context"].as_str(), Some("quickstart"));
    assert_eq!(
        config["clusters"][0]["base_url"].as_str(),
        Some(format!("http://127.0.0.1:{port}/").as_str())
    );
    let claims: serde_json::Value =
        serde_json::from_slice(&scratch.run(&["auth", "token", "--decode"]).stdout).unwrap();
    assert_eq!(claims["sub"], "admin@example.com");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 24 * 3600);

    // `status` itself asks /health/ready.
    assert!(stdout(&scratch.run(&["quickstart", "status"])).contains("running and ready"));

    let down = scratch.run(&["quickstart", "down"]);
    assert!(down.status.success(), "{}", stderr(&down));
    assert!(stdout(&scratch.run(&["quickstart", "status"])).contains("stopped"));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "the platform still listens");
}
