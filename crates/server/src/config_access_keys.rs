//! The `auth.access_keys` and `auth.token_signing` sections (Scoped Access Keys): the file
//! schema with the reference's keys and defaults, and their validation into
//! [`AccessKeySettings`], with the signing keys loaded (and proven usable) at start.

use std::path::PathBuf;
use std::sync::Arc;

use nmp_authn::PlatformKeys;
use serde::{Deserialize, Deserializer, Serialize};

use crate::config::ConfigError;

/// Thirty days, the reference's default and maximum key lifetime.
pub const THIRTY_DAYS: u64 = 2_592_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessKeysConfig {
    /// Serve the access-key API and accept keys as bearer tokens.
    pub enabled: bool,
    /// Format of new keys: only `jwt`.
    pub issue_format: String,
    /// Formats accepted as bearer tokens: `[jwt]`, or `[]` to accept none. A comma-separated
    /// string is accepted too (environment variables).
    #[serde(deserialize_with = "string_list")]
    pub accepted_formats: Vec<String>,
    /// `aud` of new keys, and the audience required of presented ones.
    pub audience: String,
    /// Lifetime of a key whose request omits `expires_in_seconds`; null: the request must say.
    #[serde(deserialize_with = "nullable_seconds")]
    pub default_expires_in_seconds: Option<u64>,
    /// Longest lifetime a request may ask for; null: no limit, and keys that never expire.
    #[serde(deserialize_with = "nullable_seconds")]
    pub max_expires_in_seconds: Option<u64>,
}

impl Default for AccessKeysConfig {
    fn default() -> Self {
        AccessKeysConfig {
            enabled: false,
            issue_format: "jwt".into(),
            accepted_formats: vec!["jwt".into()],
            audience: "nemo-platform-access-key".into(),
            default_expires_in_seconds: Some(THIRTY_DAYS),
            max_expires_in_seconds: Some(THIRTY_DAYS),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSigningConfig {
    /// PEM file with the RSA private key that signs new keys (a mounted Secret, typically).
    pub private_key_file: Option<PathBuf>,
    /// `kid` of that key, in key headers and the JWKS.
    pub key_id: String,
    /// `iss` of new keys and the issuer required of presented ones; null: the platform's base
    /// URL (`NMP_BASE_URL`, else `http://localhost:8080`) followed by `/apis/auth`.
    pub issuer: Option<String>,
    /// Keys that no longer sign but still verify, during a rotation (ours; not in the reference).
    pub previous_keys: Vec<PreviousSigningKey>,
}

impl Default for TokenSigningConfig {
    fn default() -> Self {
        TokenSigningConfig {
            private_key_file: None,
            key_id: "nemo-platform-signing".into(),
            issuer: None,
            previous_keys: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousSigningKey {
    pub key_id: String,
    pub private_key_file: PathBuf,
}

/// Validated access-key settings; present only when the feature is enabled.
#[derive(Debug, Clone)]
pub struct AccessKeySettings {
    pub keys: Arc<PlatformKeys>,
    pub issuer: String,
    pub audience: String,
    pub default_expires_in: Option<u64>,
    pub max_expires_in: Option<u64>,
    /// False with `accepted_formats: []`: keys can be managed but are never accepted.
    pub accept_keys: bool,
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key, message: message.into() }
}

/// Validate both sections. `None` when the feature is off; the limits are checked either way.
pub fn validate(
    access_keys: &AccessKeysConfig,
    signing: &TokenSigningConfig,
    base_url: Option<&str>,
) -> Result<Option<AccessKeySettings>, ConfigError> {
    if access_keys.issue_format != "jwt" {
        return Err(invalid("auth.access_keys.issue_format", "Input should be 'jwt'"));
    }
    if access_keys.accepted_formats.iter().any(|format| format != "jwt") {
        return Err(invalid("auth.access_keys.accepted_formats", "Input should be 'jwt'"));
    }
    for (key, value) in [
        ("auth.access_keys.default_expires_in_seconds", access_keys.default_expires_in_seconds),
        ("auth.access_keys.max_expires_in_seconds", access_keys.max_expires_in_seconds),
    ] {
        if value == Some(0) {
            return Err(invalid(key, "Input should be greater than or equal to 1"));
        }
    }
    if let (Some(default), Some(max)) =
        (access_keys.default_expires_in_seconds, access_keys.max_expires_in_seconds)
    {
        if default > max {
            return Err(invalid(
                "auth.access_keys.default_expires_in_seconds",
                "auth.access_keys.default_expires_in_seconds must be less than or equal to auth.access_keys.max_expires_in_seconds",
            ));
        }
    }
    if access_keys.audience.trim().is_empty() {
        return Err(invalid("auth.access_keys.audience", "must not be empty"));
    }
    if !access_keys.enabled {
        return Ok(None);
    }
    let Some(primary) = &signing.private_key_file else {
        return Err(invalid(
            "auth.token_signing.private_key_file",
            "required when auth.access_keys.enabled is true (a PEM file with an RSA private key)",
        ));
    };
    let mut files = vec![(signing.key_id.clone(), primary.clone())];
    files.extend(signing.previous_keys.iter().map(|k| (k.key_id.clone(), k.private_key_file.clone())));
    let mut pems = Vec::with_capacity(files.len());
    for (key_id, path) in files {
        let pem = std::fs::read(&path).map_err(|e| {
            invalid("auth.token_signing.private_key_file", format!("cannot read `{}`: {e}", path.display()))
        })?;
        pems.push((key_id, pem));
    }
    let keys = PlatformKeys::from_pems(&pems)
        .map_err(|e| invalid("auth.token_signing.private_key_file", e.to_string()))?;
    let issuer = match &signing.issuer {
        Some(issuer) if !issuer.trim().is_empty() => issuer.trim().to_string(),
        _ => format!("{}/apis/auth", base_url.unwrap_or("http://localhost:8080").trim_end_matches('/')),
    };
    Ok(Some(AccessKeySettings {
        keys: Arc::new(keys),
        issuer,
        audience: access_keys.audience.clone(),
        default_expires_in: access_keys.default_expires_in_seconds,
        max_expires_in: access_keys.max_expires_in_seconds,
        accept_keys: !access_keys.accepted_formats.is_empty(),
    }))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SecondsInput {
    Number(i64),
    Text(String),
}

/// An integer, or `null`/`none`/`""` (any case) for "no value".
fn nullable_seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    use serde::de::Error;
    match Option::<SecondsInput>::deserialize(deserializer)? {
        None => Ok(None),
        Some(SecondsInput::Number(n)) => u64::try_from(n)
            .map(Some)
            .map_err(|_| D::Error::custom("Input should be greater than or equal to 1")),
        Some(SecondsInput::Text(text)) => {
            let text = text.trim();
            if text.is_empty() || text.eq_ignore_ascii_case("none") || text.eq_ignore_ascii_case("null") {
                return Ok(None);
            }
            text.parse::<u64>()
                .map(Some)
                .map_err(|_| D::Error::custom(format!("`{text}` is not a number of seconds")))
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ListInput {
    List(Vec<String>),
    Text(String),
}

/// A list, or a comma-separated string.
fn string_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(match ListInput::deserialize(deserializer)? {
        ListInput::List(list) => list,
        ListInput::Text(text) => {
            text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
        }
    })
}
