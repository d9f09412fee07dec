//! Configuration errors stop the server at start with a message naming the key.

use super::support::{settings_from_yaml, write_config, ProcessServer};

fn start_error(yaml: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), yaml);
    match ProcessServer::spawn(&config, &dir.path().join("data")) {
        Ok(server) => {
            server.kill9();
            panic!("server started with a bad config: {yaml}");
        }
        Err(message) => message,
    }
}

#[test]
fn unknown_keys_are_named() {
    let message = start_error("auth:\n  enabled: true\n  enabeld: false\n");
    assert!(message.contains("enabeld"), "{message}");
    let message = start_error("auth:\n  oidc:\n    issuerr: x\n");
    assert!(message.contains("issuerr"), "{message}");
    let message = start_error("surprise: 1\n");
    assert!(message.contains("surprise"), "{message}");
}

#[test]
fn invalid_values_and_unimplemented_features_are_named() {
    let message = start_error(
        "auth:\n  enabled: true\n  oidc:\n    enabled: true\n    issuer: https://idp.example.com\n",
    );
    assert!(message.contains("auth.oidc.audience"), "{message}");
    let message = start_error("auth:\n  access_keys:\n    enabled: true\n");
    assert!(
        message.contains("auth.token_signing.private_key_file") && message.contains("required"),
        "{message}"
    );
    let message = start_error(
        "auth:\n  access_keys:\n    default_expires_in_seconds: 10\n    max_expires_in_seconds: 5\n",
    );
    assert!(
        message.contains("default_expires_in_seconds must be less than or equal to auth.access_keys.max_expires_in_seconds"),
        "{message}"
    );
    let message = start_error("auth:\n  access_keys:\n    accepted_formats: [jwt, opaque]\n");
    assert!(message.contains("auth.access_keys.accepted_formats") && message.contains("'jwt'"), "{message}");
    let message = start_error("auth:\n  access_keys:\n    max_expires_in_seconds: 0\n");
    assert!(message.contains("greater than or equal to 1"), "{message}");
    let message = start_error("auth:\n  enabled: yes please\n");
    assert!(message.contains("enabled"), "{message}");
    let message = start_error("auth:\n  gateway:\n    trusted_cidrs: [\"not-a-cidr\"]\n");
    assert!(message.contains("auth.gateway.trusted_cidrs"), "{message}");
}

/// A retention so long its cut-off date does not exist used to stop (or panic) the pruning task;
/// it is refused at start instead, naming the key and the bound.
#[test]
fn audit_retention_days_beyond_the_bound_are_refused_at_start() {
    let message = start_error("server:\n  audit_retention_days: 1000000000000\n");
    assert!(
        message.contains("server.audit_retention_days") && message.contains("at most 36500"),
        "{message}"
    );
    let dir = tempfile::tempdir().unwrap();
    let longest = settings_from_yaml("server:\n  audit_retention_days: 36500\n", dir.path());
    assert_eq!(longest.file.server.audit_retention_days, nmp_server::config::MAX_AUDIT_RETENTION_DAYS);
}

#[test]
fn environment_overrides_the_file_with_double_underscore_nesting() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("NMP_AUTH_ENABLED", "true");
        jail.set_env("NMP_AUTH_ALLOW_UNSIGNED_JWT", "true");
        jail.set_env("NMP_AUTH_OIDC__EMAIL_CLAIM", "upn");
        jail.set_env("NMP_AUTH_ADMIN_EMAIL", "ops@example.com");
        let dir = tempfile::tempdir().unwrap();
        let settings =
            settings_from_yaml("auth:\n  enabled: false\n  admin_email: file@example.com\n", dir.path());
        assert!(settings.file.auth.enabled);
        assert!(settings.file.auth.allow_unsigned_jwt);
        assert_eq!(settings.file.auth.oidc.email_claim, "upn");
        assert_eq!(settings.file.auth.admin_email.as_deref(), Some("ops@example.com"));
        Ok(())
    });
}

#[test]
fn access_key_settings_from_the_environment_accept_the_reference_spellings() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("NMP_AUTH_ACCESS_KEYS__ACCEPTED_FORMATS", "jwt");
        jail.set_env("NMP_AUTH_ACCESS_KEYS__MAX_EXPIRES_IN_SECONDS", "none");
        jail.set_env("NMP_AUTH_ACCESS_KEYS__DEFAULT_EXPIRES_IN_SECONDS", "NULL");
        jail.set_env("NMP_AUTH_ACCESS_KEYS__AUDIENCE", "my-aud");
        let dir = tempfile::tempdir().unwrap();
        let settings = settings_from_yaml("{}\n", dir.path());
        let keys = &settings.file.auth.access_keys;
        assert_eq!(keys.accepted_formats, ["jwt"]);
        assert_eq!((keys.default_expires_in_seconds, keys.max_expires_in_seconds), (None, None));
        assert_eq!(keys.audience, "my-aud");
        assert!(!keys.enabled, "off by default");
        assert!(settings.access_keys.is_none());
        Ok(())
    });
}
