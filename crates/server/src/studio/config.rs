//! The `studio:` section of the configuration and its validated form.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::bundle::{BundleMode, BundleSettings};
use crate::config::{ConfigError, FileConfig};

/// `studio:`: the web console at `/studio`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StudioConfig {
    /// Serve the console at `/studio` (and redirect `/` to it).
    pub enabled: bool,
    /// The console's external origin, e.g. `https://nmp.example.com`: the OIDC redirect URI is
    /// `<public_url>/studio/auth/success`, and cookies are `Secure` and `__Host-` when it is https.
    /// Unset: the origin the browser used (the `Host` header; https when TLS is served directly).
    pub public_url: Option<String>,
    /// OIDC client the console signs in with; unset: `auth.oidc.client_id`.
    pub client_id: Option<String>,
    /// File holding that client's secret (a confidential client); unset: a public client (PKCE).
    pub client_secret_file: Option<PathBuf>,
    /// Scopes the console asks for (`offline_access` lets it refresh tokens on the server).
    pub scopes: String,
    /// A session not used for this long is signed out, in seconds.
    pub session_idle_timeout_seconds: u64,
    /// A session ends this long after sign-in whatever its use, in seconds.
    pub session_absolute_timeout_seconds: u64,
    /// Serve the official Studio bundle from this directory (`nmp/studio/static` of the official
    /// `nemo-platform` wheel) at `/studio/` instead of our console.
    pub bundle_dir: Option<PathBuf>,
    /// How the official bundle signs in: `bff` (gated by our session, no token in the browser)
    /// or `reference` (the single-page app signs in at the IdP itself).
    pub bundle_mode: BundleMode,
    /// The official bundle's feature flags by the reference's names (`agents_enabled: false`, ...);
    /// unset ones keep the reference's defaults.
    pub bundle_feature_flags: BTreeMap<String, bool>,
}

impl Default for StudioConfig {
    fn default() -> Self {
        StudioConfig {
            enabled: true,
            public_url: None,
            client_id: None,
            client_secret_file: None,
            scopes: "openid profile email offline_access".into(),
            session_idle_timeout_seconds: 3600,
            session_absolute_timeout_seconds: 12 * 3600,
            bundle_dir: None,
            bundle_mode: BundleMode::default(),
            bundle_feature_flags: BTreeMap::new(),
        }
    }
}

/// The client secret; prints `[redacted]`.
#[derive(Clone)]
pub struct ClientSecret(pub String);

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How people sign in to the console, from `auth.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInMode {
    /// `auth.enabled: false`: nobody signs in; a banner says so.
    AuthOff,
    /// `auth.oidc.enabled`: authorization code + PKCE at the IdP.
    Oidc,
    /// `auth.allow_unsigned_jwt` without OIDC: an email is enough (quickstart only).
    Quickstart,
    /// Auth on but no way to sign in (no OIDC or no client id for it, and no unsigned tokens).
    Unavailable,
}

/// The validated `studio:` section.
#[derive(Debug, Clone)]
pub struct StudioSettings {
    pub enabled: bool,
    pub mode: SignInMode,
    /// Parsed `public_url` (origin only: scheme, host, port).
    pub public_url: Option<reqwest::Url>,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<ClientSecret>,
    pub scopes: Vec<String>,
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
    /// TLS is served directly: the console's own origin is https.
    pub serves_tls: bool,
    /// The official Studio bundle, when `studio.bundle_dir` is set: served instead of our pages.
    pub bundle: Option<BundleSettings>,
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key, message: message.into() }
}

impl StudioSettings {
    pub fn from_config(file: &FileConfig) -> Result<StudioSettings, ConfigError> {
        let studio = &file.studio;
        let auth = &file.auth;
        let mode = if !auth.enabled {
            SignInMode::AuthOff
        } else if auth.oidc.enabled {
            SignInMode::Oidc
        } else if auth.allow_unsigned_jwt {
            SignInMode::Quickstart
        } else {
            SignInMode::Unavailable
        };
        let public_url = match &studio.public_url {
            None => None,
            Some(text) => {
                let url = reqwest::Url::parse(text)
                    .map_err(|e| invalid("studio.public_url", format!("`{text}` is not a URL: {e}")))?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    return Err(invalid(
                        "studio.public_url",
                        format!("`{text}` must be an http or https URL"),
                    ));
                }
                if url.path() != "/" || url.query().is_some() {
                    return Err(invalid(
                        "studio.public_url",
                        format!("`{text}` must be an origin only (no path), like https://nmp.example.com"),
                    ));
                }
                Some(url)
            }
        };
        let client_id = studio.client_id.clone().unwrap_or_else(|| auth.oidc.client_id.clone());
        // The API needs no client id (an audience is enough); Studio cannot sign in without one,
        // and says so on its pages rather than refusing the whole configuration.
        let mode = if mode == SignInMode::Oidc && client_id.trim().is_empty() {
            SignInMode::Unavailable
        } else {
            mode
        };
        let client_secret = match &studio.client_secret_file {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    invalid("studio.client_secret_file", format!("cannot read `{}`: {e}", path.display()))
                })?;
                let secret = text.trim().to_string();
                if secret.is_empty() {
                    return Err(invalid(
                        "studio.client_secret_file",
                        format!("`{}` is empty", path.display()),
                    ));
                }
                Some(ClientSecret(secret))
            }
        };
        let scopes: Vec<String> = studio.scopes.split_whitespace().map(str::to_string).collect();
        if mode == SignInMode::Oidc && !scopes.iter().any(|s| s == "openid") {
            return Err(invalid("studio.scopes", "must include `openid`"));
        }
        if studio.session_idle_timeout_seconds == 0 {
            return Err(invalid("studio.session_idle_timeout_seconds", "must be at least 1"));
        }
        if studio.session_absolute_timeout_seconds < studio.session_idle_timeout_seconds {
            return Err(invalid(
                "studio.session_absolute_timeout_seconds",
                "must be at least studio.session_idle_timeout_seconds",
            ));
        }
        let bundle = super::bundle::settings::from_config(file, &mode, &client_id, &scopes)?;
        Ok(StudioSettings {
            enabled: studio.enabled,
            mode,
            public_url,
            issuer: auth.oidc.issuer.clone(),
            client_id,
            client_secret,
            scopes,
            idle_timeout: Duration::from_secs(studio.session_idle_timeout_seconds),
            absolute_timeout: Duration::from_secs(studio.session_absolute_timeout_seconds),
            serves_tls: file.server.tls.cert_file.is_some(),
            bundle,
        })
    }
}
