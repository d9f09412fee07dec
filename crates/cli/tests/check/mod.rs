//! `nemo services check`: the README's production example passes, its quickstart config does
//! not, and the exit codes are the documented ones (0 passed, 1 findings, 2 invalid config).

// Test scaffolding: a panic is the right failure here.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{stderr, stdout, Scratch};

const README: &str = include_str!("../../../../README.md");

/// The first YAML block after `heading` in the README (a fenced block, or a heredoc
/// `cat > x <<'YAML' ... YAML`).
fn readme_block(heading: &str, heredoc: bool) -> String {
    let after = README.split_once(heading).unwrap_or_else(|| panic!("README has no `{heading}`")).1;
    let (open, close) = if heredoc { ("<<'YAML'\n", "\nYAML") } else { ("```yaml\n", "```") };
    let block = after.split_once(open).and_then(|(_, rest)| rest.split_once(close)).expect("a yaml block").0;
    format!("{block}\n")
}

/// The README's production example, its secret file pointed at a real one.
fn production_example(dir: &Path) -> PathBuf {
    let secret = dir.join("gateway-secret");
    std::fs::write(&secret, format!("{}\n", "7f".repeat(32))).unwrap();
    let yaml = readme_block("## Running in production", false);
    assert!(yaml.contains("/run/secrets/nmp-gateway"), "the example names its secret file");
    write(dir, "production.yaml", &yaml.replace("/run/secrets/nmp-gateway", secret.to_str().unwrap()))
}

fn write(dir: &Path, name: &str, yaml: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, yaml).unwrap();
    path
}

fn check(scratch: &Scratch, config: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["services", "check", "--config", config.to_str().unwrap()];
    args.extend_from_slice(extra);
    scratch.run(&args)
}

#[test]
fn the_readme_production_example_passes_the_production_check() {
    let scratch = Scratch::new();
    let config = production_example(scratch.home());
    let output = check(&scratch, &config, &["--production"]);
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("passed"), "{text}");
    assert!(!text.contains("warning ") && !text.contains("critical"), "{text}");
    // Only information remains; asking to fail on it fails.
    let strict = check(&scratch, &config, &["--fail-on", "info"]);
    assert_eq!(strict.status.code(), Some(1), "{}", stdout(&strict));
}

#[test]
fn the_quickstart_config_is_flagged_as_not_production() {
    let scratch = Scratch::new();
    let quickstart = readme_block("Now turn auth on, quickstart style", true);
    assert!(quickstart.contains("allow_unsigned_jwt: true"), "{quickstart}");
    let config = write(scratch.home(), "quickstart.yaml", &quickstart);
    let output = check(&scratch, &config, &["--production"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.starts_with("critical  unsigned-tokens\n"), "most severe first:\n{text}");
    assert!(text.contains("fix: remove `auth.allow_unsigned_jwt`"), "{text}");
    assert!(text.contains("default-workspace-open") && text.contains("no-tls-no-gateway"), "{text}");
    assert!(text.trim_end().ends_with("FAILED"), "{text}");
}

#[test]
fn exit_codes_follow_the_threshold() {
    let scratch = Scratch::new();
    let dir = scratch.home();
    // Only a warning: fine by default (threshold high), not for production.
    let production = std::fs::read_to_string(production_example(dir)).unwrap();
    let warning_only = write(
        dir,
        "warning.yaml",
        &production.replacen("auth:\n", "auth:\n  decision_log:\n    denials: false\n", 1),
    );
    assert_eq!(check(&scratch, &warning_only, &[]).status.code(), Some(0));
    assert_eq!(check(&scratch, &warning_only, &["--production"]).status.code(), Some(1));
    assert_eq!(check(&scratch, &warning_only, &["--production", "--fail-on", "high"]).status.code(), Some(0));

    // No file at all means auth off: critical at any threshold.
    let empty = write(dir, "empty.yaml", "{}\n");
    let output = check(&scratch, &empty, &["--fail-on", "critical", "-f", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["passed"], false);
    assert_eq!(report["threshold"], "critical");
    assert_eq!(report["findings"][0]["id"], "auth-off");
    assert_eq!(report["findings"][0]["severity"], "critical");
    assert!(report["findings"][0]["fix"].as_str().unwrap().contains("auth.enabled: true"));
}

#[test]
fn an_invalid_config_exits_2_naming_the_problem() {
    let scratch = Scratch::new();
    let typo = write(scratch.home(), "typo.yaml", "auth:\n  enabeld: true\n");
    let output = check(&scratch, &typo, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("enabeld"), "{}", stderr(&output));
    assert!(stdout(&output).is_empty());

    let invalid = write(
        scratch.home(),
        "invalid.yaml",
        "auth:\n  enabled: true\n  oidc:\n    enabled: true\n    issuer: https://idp.example.com\n",
    );
    let output = check(&scratch, &invalid, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("auth.oidc.audience"), "{}", stderr(&output));

    let missing = scratch.home().join("missing.yaml");
    assert_eq!(check(&scratch, &missing, &[]).status.code(), Some(2));
    let output = check(&scratch, &typo, &["--fail-on", "severe"]);
    assert_eq!(output.status.code(), Some(2), "a usage error");
}

#[test]
fn several_replicas_on_sqlite_fail_the_check_and_a_bad_count_is_invalid() {
    let scratch = Scratch::new();
    let config = production_example(scratch.home());
    let output = check(&scratch, &config, &["--production", "--replicas", "3"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(text.starts_with("high      store-sqlite-several-replicas\n"), "{text}");
    assert!(text.contains("3 replicas on the embedded SQLite store"), "{text}");
    let one = check(&scratch, &config, &["--production", "--replicas", "1"]);
    assert_eq!(one.status.code(), Some(0), "{}", stdout(&one));
    let zero = check(&scratch, &config, &["--replicas", "0"]);
    assert_eq!(zero.status.code(), Some(2), "{}", stderr(&zero));
}
