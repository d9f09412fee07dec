//! Runtime settings of the authenticator (already parsed from the `auth:` config by the server)
//! and the checks that refuse a configuration which would silently skip a security check.

use std::net::IpAddr;
use std::time::Duration;

use url::Url;

use crate::bearer::DEFAULT_MAX_TOKEN_BYTES;
use crate::error::SettingsError;
use crate::mapping::ClaimMapping;

/// `auth.oidc.*` as the authenticator needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    pub issuer: String,
    pub additional_issuers: Vec<String>,
    /// Required `aud` member. Use [`effective_audience`] to apply ADR 0004.
    pub audience: String,
    /// Overrides the `jwks_uri` of the discovery document.
    pub jwks_uri: Option<String>,
    pub subject_claim: String,
    pub email_claim: String,
    pub groups_claim: String,
    pub scope_prefix: Option<String>,
}

impl OidcSettings {
    /// Settings with the reference defaults for the claim names.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        OidcSettings {
            issuer: issuer.into(),
            additional_issuers: Vec::new(),
            audience: audience.into(),
            jwks_uri: None,
            subject_claim: "sub".to_owned(),
            email_claim: "email".to_owned(),
            groups_claim: "groups".to_owned(),
            scope_prefix: None,
        }
    }

    pub(crate) fn claim_mapping(&self) -> ClaimMapping {
        let or_default = |value: &str, default: &str| {
            if value.is_empty() {
                default.to_owned()
            } else {
                value.to_owned()
            }
        };
        ClaimMapping {
            subject_claim: or_default(&self.subject_claim, "sub"),
            email_claim: or_default(&self.email_claim, "email"),
            groups_claim: or_default(&self.groups_claim, "groups"),
            scope_prefix: self.scope_prefix.clone().filter(|prefix| !prefix.is_empty()),
        }
    }

    /// Every accepted `iss` value: the issuer first, then the additional ones.
    pub(crate) fn accepted_issuers(&self) -> Vec<String> {
        std::iter::once(self.issuer.clone()).chain(self.additional_issuers.iter().cloned()).collect()
    }
}

/// ADR 0004: the audience is `auth.oidc.audience`, else `auth.oidc.client_id`; neither set
/// is a configuration error (JWT-C08), never "skip the check".
pub fn effective_audience(audience: Option<&str>, client_id: Option<&str>) -> Result<String, SettingsError> {
    [audience, client_id]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|value| !value.is_empty())
        .map(str::to_owned)
        .ok_or(SettingsError::MissingAudience)
}

/// Everything the authenticator is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnSettings {
    /// `None`: OIDC off; signed tokens are then not accepted.
    pub oidc: Option<OidcSettings>,
    /// Accept `alg: none` tokens (quickstart only; logs a warning at start).
    pub allow_unsigned_jwt: bool,
    /// Clock-skew allowance for `exp`, `nbf` and `iat` (default 60 s, at most 300 s).
    pub leeway_seconds: u64,
    /// Period of the background discovery + JWKS refresh; also the longest a key removed at the
    /// IdP keeps verifying tokens (including cached ones).
    pub jwks_refresh_interval: Duration,
    /// Retry period of the background task while no key set has been loaded yet.
    pub jwks_retry_interval: Duration,
    /// Least time between two JWKS fetches caused by unknown `kid`s (per issuer), counted from
    /// the last on-demand fetch that succeeded.
    pub unknown_kid_cooldown: Duration,
    /// After an on-demand JWKS fetch failed (IdP unreachable or erroring), the next one may run
    /// after this much time (at most `unknown_kid_cooldown`): recovery after an outage is bounded
    /// by it, and a down IdP still sees at most one fetch per backoff.
    pub jwks_failure_backoff: Duration,
    /// Total timeout of one discovery or JWKS request.
    pub http_timeout: Duration,
    /// Largest discovery or JWKS response body read.
    pub max_jwks_bytes: usize,
    /// Verified tokens kept in memory; 0 disables the cache.
    pub token_cache_capacity: usize,
    /// Longest token accepted, checked before any decoding.
    pub max_token_bytes: usize,
}

impl Default for AuthnSettings {
    fn default() -> Self {
        AuthnSettings {
            oidc: None,
            allow_unsigned_jwt: false,
            leeway_seconds: 60,
            jwks_refresh_interval: Duration::from_secs(300),
            jwks_retry_interval: Duration::from_secs(5),
            unknown_kid_cooldown: Duration::from_secs(30),
            jwks_failure_backoff: Duration::from_secs(2),
            http_timeout: Duration::from_secs(5),
            max_jwks_bytes: 1024 * 1024,
            token_cache_capacity: 10_000,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        }
    }
}

/// Largest leeway accepted (RFC 7519 speaks of "a few minutes" at most).
pub const MAX_LEEWAY_SECONDS: u64 = 300;

impl AuthnSettings {
    /// Refuse settings that would weaken a check (what [`crate::Authenticator::new`] checks).
    pub fn check(&self) -> Result<(), SettingsError> {
        self.validate().map(|_| ())
    }

    /// Refuse settings that would weaken a check; returns the parsed issuer URL when OIDC is on.
    pub(crate) fn validate(&self) -> Result<Option<Url>, SettingsError> {
        if self.leeway_seconds > MAX_LEEWAY_SECONDS {
            return Err(SettingsError::LeewayTooLarge(self.leeway_seconds));
        }
        for (field, duration) in [
            ("jwks_refresh_interval", self.jwks_refresh_interval),
            ("jwks_retry_interval", self.jwks_retry_interval),
            ("http_timeout", self.http_timeout),
        ] {
            if duration.is_zero() {
                return Err(SettingsError::Zero { field });
            }
        }
        if self.max_jwks_bytes == 0 {
            return Err(SettingsError::Zero { field: "max_jwks_bytes" });
        }
        if self.max_token_bytes == 0 {
            return Err(SettingsError::Zero { field: "max_token_bytes" });
        }
        let Some(oidc) = &self.oidc else {
            return Ok(None);
        };
        if oidc.issuer.trim().is_empty() {
            return Err(SettingsError::MissingIssuer);
        }
        if oidc.audience.trim().is_empty() {
            return Err(SettingsError::MissingAudience);
        }
        if oidc.additional_issuers.iter().any(|iss| iss.trim().is_empty()) {
            return Err(SettingsError::Empty { field: "auth.oidc.additional_issuers" });
        }
        let issuer = secure_url("auth.oidc.issuer", &oidc.issuer)?;
        if let Some(jwks_uri) = &oidc.jwks_uri {
            secure_url("auth.oidc.jwks_uri", jwks_uri)?;
        }
        Ok(Some(issuer))
    }
}

/// Parse a URL that keys or metadata are fetched from: https, or http to a loopback host
/// (OIDC-12; loopback keeps local development and tests possible).
pub fn secure_url(field: &'static str, value: &str) -> Result<Url, SettingsError> {
    let url = Url::parse(value).map_err(|_| SettingsError::InvalidUrl { field, value: value.to_owned() })?;
    let loopback = match url.host() {
        Some(url::Host::Domain(host)) => host.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if loopback => Ok(url),
        "https" | "http" => Err(SettingsError::InsecureUrl { field, value: value.to_owned() }),
        _ => Err(SettingsError::InvalidUrl { field, value: value.to_owned() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_oidc(oidc: OidcSettings) -> AuthnSettings {
        AuthnSettings { oidc: Some(oidc), ..AuthnSettings::default() }
    }

    #[test]
    fn jwt_c08_empty_audience_or_issuer_refuses_to_start() {
        let no_audience = with_oidc(OidcSettings::new("https://idp", " "));
        assert_eq!(no_audience.validate().unwrap_err(), SettingsError::MissingAudience);
        let no_issuer = with_oidc(OidcSettings::new("", "api"));
        assert_eq!(no_issuer.validate().unwrap_err(), SettingsError::MissingIssuer);
        assert!(with_oidc(OidcSettings::new("https://idp", "api")).validate().is_ok());
    }

    #[test]
    fn decision_4_audience_falls_back_to_client_id() {
        assert_eq!(effective_audience(Some("api"), Some("cli")).as_deref(), Ok("api"));
        assert_eq!(effective_audience(None, Some("cli")).as_deref(), Ok("cli"));
        assert_eq!(effective_audience(Some(""), Some("cli")).as_deref(), Ok("cli"));
        assert_eq!(effective_audience(None, None), Err(SettingsError::MissingAudience));
        assert_eq!(effective_audience(Some(" "), Some("")), Err(SettingsError::MissingAudience));
    }

    #[test]
    fn oidc_12_plain_http_only_for_loopback() {
        for ok in [
            "https://idp.example.com/realms/x",
            "http://127.0.0.1:8080",
            "http://localhost:9000/x",
            "http://[::1]:1/",
        ] {
            assert!(secure_url("f", ok).is_ok(), "{ok}");
        }
        for bad in ["http://idp.example.com", "http://169.254.169.254/", "http://10.0.0.1"] {
            assert!(matches!(secure_url("f", bad), Err(SettingsError::InsecureUrl { .. })), "{bad}");
        }
        for bad in ["file:///etc/passwd", "ftp://x", "not a url", ""] {
            assert!(matches!(secure_url("f", bad), Err(SettingsError::InvalidUrl { .. })), "{bad}");
        }
        let mut settings = with_oidc(OidcSettings::new("https://idp", "api"));
        settings.oidc.as_mut().expect("oidc").jwks_uri = Some("http://evil.example/jwks".into());
        assert!(matches!(settings.validate(), Err(SettingsError::InsecureUrl { .. })));
    }

    #[test]
    fn limits_must_be_sane() {
        let too_lenient = AuthnSettings { leeway_seconds: 3_600, ..AuthnSettings::default() };
        assert_eq!(too_lenient.validate().unwrap_err(), SettingsError::LeewayTooLarge(3_600));
        let no_timeout = AuthnSettings { http_timeout: Duration::ZERO, ..AuthnSettings::default() };
        assert!(matches!(no_timeout.validate(), Err(SettingsError::Zero { .. })));
        assert_eq!(AuthnSettings::default().leeway_seconds, 60);
    }

    #[test]
    fn empty_claim_names_fall_back_to_reference_defaults() {
        let mut oidc = OidcSettings::new("https://idp", "api");
        oidc.subject_claim.clear();
        oidc.scope_prefix = Some(String::new());
        let mapping = oidc.claim_mapping();
        assert_eq!(mapping.subject_claim, "sub");
        assert_eq!(mapping.scope_prefix, None);
    }
}
