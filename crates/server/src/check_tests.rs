//! Each finding is raised by a config that has the problem and absent from one that does not.

use std::path::PathBuf;

use super::*;
use crate::config::FileConfig;

/// A production-shaped config that raises nothing above `info`.
const CLEAN: &str = "
auth:
  enabled: true
  admin_email: ops@example.com
  seed_default_workspace_editor: false
  oidc:
    enabled: true
    issuer: https://login.example.com/realms/nmp
    client_id: nemo-cli
    audience: nmp-api
  gateway:
    trusted_cidrs: [10.0.0.0/24]
";

fn settings(yaml: &str) -> Settings {
    let file: FileConfig = serde_yaml_ng::from_str(yaml).expect("config parses");
    Settings::validate(file, Some(PathBuf::from("/nonexistent/data")), &crate::config::Environment::default())
        .expect("config validates")
}

fn ids(yaml: &str) -> Vec<&'static str> {
    check(&settings(yaml)).into_iter().map(|finding| finding.id).collect()
}

/// `CLEAN` with `line` added under `auth:` (two-space indented keys).
fn clean_with(auth_lines: &str) -> String {
    CLEAN.replacen("auth:\n", &format!("auth:\n{auth_lines}"), 1)
}

#[test]
fn a_clean_production_config_raises_only_information() {
    let findings = check(&settings(CLEAN));
    assert!(passes(&findings, Severity::Warning), "{findings:#?}");
    assert_eq!(findings.iter().map(|f| f.id).collect::<Vec<_>>(), ["store-sqlite-single-host"]);
}

#[test]
fn auth_off() {
    assert!(ids("{}").contains(&"auth-off"));
    assert!(ids("auth:\n  enabled: false\n").contains(&"auth-off"));
    assert!(!ids(CLEAN).contains(&"auth-off"));
}

#[test]
fn unsigned_tokens() {
    assert!(ids(&clean_with("  allow_unsigned_jwt: true\n")).contains(&"unsigned-tokens"));
    assert!(!ids(CLEAN).contains(&"unsigned-tokens"));
}

#[test]
fn no_tls_and_no_trusted_gateway() {
    let no_gateway = CLEAN.replace("  gateway:\n    trusted_cidrs: [10.0.0.0/24]\n", "");
    assert!(ids(&no_gateway).contains(&"no-tls-no-gateway"));
    assert!(!ids(CLEAN).contains(&"no-tls-no-gateway"));
}

#[test]
fn inline_and_short_gateway_secrets() {
    let inline_short = clean_with("  gateway:\n    shared_secret: sixteen-chars-ok\n")
        .replace("  gateway:\n    trusted_cidrs: [10.0.0.0/24]\n", "");
    let found = ids(&inline_short);
    assert!(found.contains(&"gateway-secret-inline") && found.contains(&"gateway-secret-short"), "{found:?}");

    let dir = tempfile::tempdir().expect("tempdir");
    let long = dir.path().join("secret");
    std::fs::write(&long, format!("{}\n", "s".repeat(RECOMMENDED_SECRET_CHARS))).expect("write");
    let from_file = CLEAN.replace(
        "    trusted_cidrs: [10.0.0.0/24]\n",
        &format!("    trusted_cidrs: [10.0.0.0/24]\n    shared_secret_file: {}\n", long.display()),
    );
    let found = ids(&from_file);
    assert!(
        !found.contains(&"gateway-secret-inline") && !found.contains(&"gateway-secret-short"),
        "{found:?}"
    );

    let short = dir.path().join("short");
    std::fs::write(&short, "twenty-characters-xx").expect("write");
    let short_file = CLEAN.replace(
        "    trusted_cidrs: [10.0.0.0/24]\n",
        &format!("    trusted_cidrs: [10.0.0.0/24]\n    shared_secret_file: {}\n", short.display()),
    );
    assert_eq!(
        ids(&short_file).iter().filter(|id| id.starts_with("gateway-secret")).collect::<Vec<_>>(),
        [&"gateway-secret-short"]
    );
}

#[test]
fn external_pdp_over_plain_http() {
    let opa = |url: &str| {
        clean_with(&format!(
            "  policy_decision_point_provider: opa\n  policy_decision_point_base_url: {url}\n"
        ))
    };
    assert!(ids(&opa("http://opa.internal:8181")).contains(&"pdp-plain-http"));
    assert!(!ids(&opa("https://opa.internal:8181")).contains(&"pdp-plain-http"));
    assert!(!ids(&opa("http://127.0.0.1:8181")).contains(&"pdp-plain-http"), "a sidecar on loopback is fine");
    assert!(!ids(&opa("http://localhost:8181")).contains(&"pdp-plain-http"));
    // The embedded PDP ignores the URL (the reference default is plain http on localhost).
    assert!(
        !ids(&clean_with("  policy_decision_point_base_url: http://auth:8000\n")).contains(&"pdp-plain-http")
    );
}

#[test]
fn default_workspace_open_to_everyone() {
    let seeded = CLEAN.replace("  seed_default_workspace_editor: false\n", "");
    let findings = check(&settings(&seeded));
    let open = findings.iter().find(|f| f.id == "default-workspace-open").expect("flagged");
    assert!(open.message.contains("`default`"), "{}", open.message);
    let renamed = seeded.replace("auth:\n", "auth:\n  default_workspace: shared\n");
    let fix = check(&settings(&renamed))
        .into_iter()
        .find(|f| f.id == "default-workspace-open")
        .expect("flagged")
        .fix;
    assert!(fix.contains("--workspace shared"), "{fix}");
    assert!(!ids(CLEAN).contains(&"default-workspace-open"));
}

#[test]
fn decision_log_off() {
    assert!(ids(&clean_with("  decision_log:\n    denials: false\n")).contains(&"decision-log-off"));
    assert!(!ids(&clean_with("  decision_log:\n    denials: true\n")).contains(&"decision-log-off"));
}

#[test]
fn the_quickstart_config_is_not_for_production() {
    let quickstart = "auth:\n  enabled: true\n  allow_unsigned_jwt: true\n  admin_email: admin@example.com\n";
    let findings = check(&settings(quickstart));
    assert!(!passes(&findings, Severity::Warning));
    assert!(!passes(&findings, Severity::Critical));
    assert_eq!(findings[0].id, "unsigned-tokens", "most severe first: {findings:#?}");
}

#[test]
fn severities_are_ordered() {
    assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::High);
    assert!(Severity::High < Severity::Critical);
    let warning = finding("x", Severity::Warning, "m", "f");
    assert!(passes(std::slice::from_ref(&warning), Severity::High));
    assert!(!passes(&[warning], Severity::Warning));
}

fn store_finding(url: &str) -> Option<(&'static str, Severity)> {
    let yaml = format!("{CLEAN}store:\n  backend: postgres\n  url: \"{url}\"\n");
    check(&settings(&yaml)).into_iter().find(|f| f.id.starts_with("store-")).map(|f| (f.id, f.severity))
}

#[test]
fn the_store_finding_follows_the_backend_and_the_database_tls() {
    assert_eq!(
        store_finding("postgres://nmp:pw@db.internal:5432/nmp"),
        Some(("store-postgres-tls", Severity::High)),
        "sslmode defaults to prefer"
    );
    assert_eq!(
        store_finding("postgres://nmp:pw@db.internal/nmp?sslmode=disable"),
        Some(("store-postgres-tls", Severity::High))
    );
    assert_eq!(
        store_finding("postgres://nmp:pw@db.internal/nmp?sslmode=require"),
        Some(("store-postgres-tls", Severity::Warning))
    );
    assert_eq!(store_finding("postgres://nmp:pw@db.internal/nmp?sslmode=verify-full"), None);
    assert_eq!(store_finding("postgres://nmp:pw@127.0.0.1/nmp?sslmode=disable"), None, "loopback");
    assert_eq!(store_finding("postgres://nmp:pw@localhost/nmp"), None, "loopback");
    // The SQLite finding is only for SQLite.
    assert!(ids(CLEAN).contains(&"store-sqlite-single-host"));
    let postgres =
        format!("{CLEAN}store:\n  backend: postgres\n  url: \"postgres://nmp@db/nmp?sslmode=verify-full\"\n");
    assert!(!ids(&postgres).contains(&"store-sqlite-single-host"));
}

#[test]
fn several_replicas_on_sqlite() {
    let with = |replicas| {
        check_deployment(&settings(CLEAN), &Deployment { replicas })
            .into_iter()
            .map(|f| (f.id, f.severity))
            .filter(|(id, _)| id.starts_with("store-"))
            .collect::<Vec<_>>()
    };
    assert_eq!(with(Some(3)), [("store-sqlite-several-replicas", Severity::High)]);
    assert_eq!(with(Some(1)), [("store-sqlite-single-host", Severity::Info)]);
    assert_eq!(with(None), [("store-sqlite-single-host", Severity::Info)]);
    // On PostgreSQL any number of replicas is fine.
    let postgres =
        format!("{CLEAN}store:\n  backend: postgres\n  url: \"postgres://nmp@db/nmp?sslmode=verify-full\"\n");
    let findings = check_deployment(&settings(&postgres), &Deployment { replicas: Some(5) });
    assert!(findings.iter().all(|f| !f.id.starts_with("store-")), "{findings:#?}");
}

#[test]
fn access_keys_without_a_bounded_lifetime_are_flagged() {
    // A fixture key of the authn crate: any RSA private key will do.
    let pem = concat!(env!("CARGO_MANIFEST_DIR"), "/../authn/tests/keys/rsa1.pem");
    let with_max = |max: &str| {
        clean_with(&format!(
            "  access_keys:\n    enabled: true\n    max_expires_in_seconds: {max}\n    default_expires_in_seconds: 60\n  \
             token_signing:\n    private_key_file: {pem}\n"
        ))
    };
    assert!(!ids(&with_max("2592000")).contains(&"access-keys-lifetime"));
    assert!(ids(&with_max("null")).contains(&"access-keys-lifetime"));
    assert!(ids(&with_max("31536000")).contains(&"access-keys-lifetime"));
}

#[test]
fn the_official_studio_in_reference_mode_is_flagged() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("index.html"), "<!doctype html>").expect("index.html");
    let with_mode = |mode: &str| {
        format!(
            "{CLEAN}studio:\n  client_id: nmp-studio\n  bundle_dir: {}\n  bundle_mode: {mode}\n",
            dir.path().display()
        )
    };
    assert!(ids(&with_mode("reference")).contains(&"studio-tokens-in-browser"));
    assert!(!ids(&with_mode("bff")).contains(&"studio-tokens-in-browser"));
    assert!(!ids(CLEAN).contains(&"studio-tokens-in-browser"));
}
