//! The official Studio bundle's part of the `studio:` section: where the bundle is, how it signs
//! in, its feature flags, and the values written into its `STUDIO_UI_*` markers.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::files::Bundle;
use crate::config::{ConfigError, FileConfig};
use crate::studio::SignInMode;

/// How the official bundle signs people in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleMode {
    /// Hardened: the bundle is gated by our session cookie; its API calls are authenticated by
    /// the session on the server, and no token reaches the browser.
    #[default]
    Bff,
    /// As the reference: the bundle signs in at the IdP itself (a public client with PKCE) and
    /// sends the access token as a bearer token.
    Reference,
}

/// The bundle's feature flags and their defaults, as the reference sets them
/// (`studio.feature_flags.<name>` there, `studio.bundle_feature_flags.<name>` here).
pub const FEATURE_FLAGS: &[(&str, bool)] = &[
    ("agent_overview_enabled", false),
    ("agents_enabled", true),
    ("anonymizer_enabled", true),
    ("base_models_enabled", true),
    ("assistant_studio_enabled", false),
    ("copilot_studio_enabled", false),
    ("customizer_enabled", true),
    ("dashboard_enabled", false),
    ("data_designer_enabled", true),
    ("datasets_enabled", true),
    ("deployments_enabled", false),
    ("evaluator_benchmarks_enabled", false),
    ("evaluator_enabled", true),
    ("experiment", true),
    ("fileset_details_enabled", false),
    ("guardrails_enabled", false),
    ("inference_provider_enabled", false),
    ("intake_enabled", true),
    ("jobs_enabled", true),
    ("members_enabled", true),
    ("model_compare_enabled", false),
    ("monitor_enabled", false),
    ("optimizer_enabled", true),
    ("plugins_enabled", true),
    ("safe_synthesizer_enabled", true),
    ("secrets_enabled", true),
    ("settings_enabled", true),
    ("tool_calling_enabled", false),
    ("tour_enabled", true),
    ("trace_graph_enabled", false),
];

/// The validated bundle settings: the mode and the files, loaded and rewritten once at start.
#[derive(Debug, Clone)]
pub struct BundleSettings {
    pub mode: BundleMode,
    pub files: Arc<Bundle>,
    /// The IdP's origin, which the SPA talks to in reference mode (for the CSP).
    pub issuer_origin: Option<String>,
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key, message: message.into() }
}

/// What each `STUDIO_UI_*` marker becomes. Markers not listed become "" (as in the reference).
/// `client_id` and `sign_in` are the console's resolved client and sign-in mode.
pub fn marker_values(
    file: &FileConfig,
    mode: BundleMode,
    sign_in: &SignInMode,
    client_id: &str,
    scopes: &[String],
) -> Result<BTreeMap<String, String>, ConfigError> {
    let studio = &file.studio;
    let mut values = BTreeMap::new();
    let mut set = |marker: &str, value: &str| {
        values.insert(format!("STUDIO_UI_VITE_{marker}"), value.to_string());
    };
    // "": the SPA calls the API on the origin it was loaded from, which is ours.
    set("PLATFORM_BASE_URL", "");
    set("APP_ENV", "production");
    set("OTEL_SERVICE_NAME", "nemo-studio-ui");
    set("TELEMETRY_ENABLED", "false");
    // The SPA signs in itself only in reference mode; an empty authority turns its sign-in off.
    let (authority, client) = match (mode, sign_in) {
        (BundleMode::Reference, SignInMode::Oidc) => (file.auth.oidc.issuer.as_str(), client_id),
        _ => ("", ""),
    };
    // The SPA lowercases these values for its OIDC client but not for the key under which it reads
    // its token back; a value with capitals would sign in and then send no token at all.
    for (key, value) in [("auth.oidc.issuer", authority), ("studio.client_id", client)] {
        if value.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(ConfigError::Invalid {
                key,
                message: format!(
                    "`{value}` has capital letters, which the official Studio bundle (studio.bundle_mode: reference) cannot use: \
                     it lowercases them. Use a lowercase issuer and client id, or studio.bundle_mode: bff"
                ),
            });
        }
    }
    set("AUTH_AUTHORITY", authority);
    set("AUTH_CLIENT_ID", client);
    let scope_text = if authority.is_empty() { String::new() } else { scopes.join(" ") };
    set("AUTH_SCOPES", &scope_text);
    let prefix = if authority.is_empty() { "" } else { file.auth.oidc.scope_prefix.as_deref().unwrap_or("") };
    set("AUTH_SCOPE_PREFIX", prefix);
    let known: Vec<&str> = FEATURE_FLAGS.iter().map(|(name, _)| *name).collect();
    if let Some(unknown) = studio.bundle_feature_flags.keys().find(|name| !known.contains(&name.as_str())) {
        return Err(invalid(
            "studio.bundle_feature_flags",
            format!("unknown flag `{unknown}`; the official bundle has: {}", known.join(", ")),
        ));
    }
    for (name, default) in FEATURE_FLAGS {
        let on = studio.bundle_feature_flags.get(*name).copied().unwrap_or(*default);
        set(&format!("FF_{}", name.to_ascii_uppercase()), if on { "true" } else { "false" });
    }
    Ok(values)
}

/// The bundle settings, when `studio.bundle_dir` is set: validated and loaded now, so a wrong
/// directory stops the server at start with a message naming the key.
pub fn from_config(
    file: &FileConfig,
    sign_in: &SignInMode,
    client_id: &str,
    scopes: &[String],
) -> Result<Option<BundleSettings>, ConfigError> {
    let studio = &file.studio;
    let Some(dir) = &studio.bundle_dir else {
        if !studio.bundle_feature_flags.is_empty() {
            return Err(invalid("studio.bundle_feature_flags", "is set but studio.bundle_dir is not"));
        }
        return Ok(None);
    };
    let mode = studio.bundle_mode;
    if mode == BundleMode::Reference {
        match sign_in {
            SignInMode::Oidc | SignInMode::AuthOff => {}
            SignInMode::Quickstart => {
                return Err(invalid(
                    "studio.bundle_mode",
                    "`reference` needs an IdP the browser signs in at (auth.oidc), and quickstart has none; \
                     use `bff`, where quickstart sign-in works",
                ))
            }
            SignInMode::Unavailable => {
                return Err(invalid(
                    "studio.bundle_mode",
                    "`reference` needs auth.oidc enabled with a client id (studio.client_id or auth.oidc.client_id)",
                ))
            }
        }
    }
    let values = marker_values(file, mode, sign_in, client_id, scopes)?;
    let files = Bundle::load(dir, &values).map_err(|message| invalid("studio.bundle_dir", message))?;
    let issuer_origin = (mode == BundleMode::Reference && sign_in == &SignInMode::Oidc)
        .then(|| reqwest::Url::parse(&file.auth.oidc.issuer).ok())
        .flatten()
        .map(|url| url.origin().ascii_serialization());
    Ok(Some(BundleSettings { mode, files: Arc::new(files), issuer_origin }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oidc_file() -> FileConfig {
        let mut file = FileConfig::default();
        file.auth.enabled = true;
        file.auth.oidc.enabled = true;
        file.auth.oidc.issuer = "https://idp.example.com/realms/nmp".into();
        file.auth.oidc.client_id = "nemo-cli".into();
        file
    }

    #[test]
    fn reference_mode_hands_the_spa_its_oidc_client() {
        let file = oidc_file();
        let scopes = vec!["openid".to_string(), "email".to_string()];
        let values =
            marker_values(&file, BundleMode::Reference, &SignInMode::Oidc, "nmp-studio", &scopes).unwrap();
        assert_eq!(values["STUDIO_UI_VITE_AUTH_AUTHORITY"], "https://idp.example.com/realms/nmp");
        assert_eq!(values["STUDIO_UI_VITE_AUTH_CLIENT_ID"], "nmp-studio");
        assert_eq!(values["STUDIO_UI_VITE_AUTH_SCOPES"], "openid email");
        assert_eq!(values["STUDIO_UI_VITE_PLATFORM_BASE_URL"], "");
        assert_eq!(values["STUDIO_UI_VITE_FF_MEMBERS_ENABLED"], "true");
        assert_eq!(values["STUDIO_UI_VITE_FF_DASHBOARD_ENABLED"], "false");
    }

    #[test]
    fn bff_mode_turns_the_spa_sign_in_off() {
        let mut file = oidc_file();
        file.studio.bundle_feature_flags.insert("agents_enabled".into(), false);
        let values = marker_values(&file, BundleMode::Bff, &SignInMode::Oidc, "nmp-studio", &[]).unwrap();
        assert_eq!(values["STUDIO_UI_VITE_AUTH_AUTHORITY"], "");
        assert_eq!(values["STUDIO_UI_VITE_AUTH_CLIENT_ID"], "");
        assert_eq!(values["STUDIO_UI_VITE_FF_AGENTS_ENABLED"], "false");
    }

    #[test]
    fn capitals_and_unknown_flags_are_refused_with_the_key() {
        let file = oidc_file();
        let error =
            marker_values(&file, BundleMode::Reference, &SignInMode::Oidc, "0oaAbC", &[]).unwrap_err();
        assert!(
            error.to_string().contains("studio.client_id") && error.to_string().contains("0oaAbC"),
            "{error}"
        );
        // In bff mode the SPA never sees the client id: capitals are fine.
        assert!(marker_values(&file, BundleMode::Bff, &SignInMode::Oidc, "0oaAbC", &[]).is_ok());
        let mut file = oidc_file();
        file.studio.bundle_feature_flags.insert("agents".into(), true);
        let error = marker_values(&file, BundleMode::Bff, &SignInMode::Oidc, "x", &[]).unwrap_err();
        assert!(error.to_string().contains("unknown flag `agents`"), "{error}");
    }

    #[test]
    fn start_refuses_a_wrong_bundle_configuration_naming_the_key() {
        let studio = |file: &FileConfig| crate::studio::StudioSettings::from_config(file).map(|s| s.bundle);
        let mut file = oidc_file();
        file.studio.bundle_dir = Some("/nonexistent/studio/static".into());
        let error = studio(&file).unwrap_err().to_string();
        assert!(
            error.contains("studio.bundle_dir") && error.contains("/nonexistent/studio/static"),
            "{error}"
        );

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<html>STUDIO_UI_VITE_AUTH_CLIENT_ID</html>").unwrap();
        file.studio.bundle_dir = Some(dir.path().into());
        file.studio.bundle_mode = BundleMode::Reference;
        let loaded = studio(&file).unwrap().unwrap();
        assert_eq!(loaded.issuer_origin.as_deref(), Some("https://idp.example.com"));
        assert_eq!(loaded.files.rewritten, 1);

        let mut quickstart = file.clone();
        quickstart.auth.oidc.enabled = false;
        quickstart.auth.allow_unsigned_jwt = true;
        let error = studio(&quickstart).unwrap_err().to_string();
        assert!(error.contains("studio.bundle_mode") && error.contains("quickstart"), "{error}");
        quickstart.studio.bundle_mode = BundleMode::Bff;
        assert!(studio(&quickstart).unwrap().is_some(), "bff mode works with quickstart sign-in");

        let mut flags_alone = oidc_file();
        flags_alone.studio.bundle_feature_flags.insert("agents_enabled".into(), false);
        let error = studio(&flags_alone).unwrap_err().to_string();
        assert!(error.contains("studio.bundle_feature_flags"), "{error}");
    }
}
