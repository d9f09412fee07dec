//! What can go wrong: the caller-facing [`AuthnError`] with the reference `detail` texts, the
//! internal [`RejectReason`] kept for logs (never containing the token), and [`SettingsError`].

use std::fmt;

/// Reference text for a bearer token when neither OIDC nor unsigned tokens are enabled.
pub const DETAIL_NOT_CONFIGURED: &str = "Bearer token authentication not configured";
/// Reference text for an unsigned token while `auth.allow_unsigned_jwt` is false.
pub const DETAIL_UNSIGNED_REFUSED: &str =
    "Unsigned JWTs are not accepted. Set auth.allow_unsigned_jwt=true for local development.";
/// Reference text for every other invalid token (ADR 0011: one message, no oracle).
pub const DETAIL_INVALID_TOKEN: &str = "Invalid or expired token";
/// Text for "the IdP's keys could not be loaded yet" (our addition; the server answers 503).
pub const DETAIL_KEYS_UNAVAILABLE: &str = "Authentication service unavailable";

/// Why a token was not accepted, as the caller may learn it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthnError {
    /// A bearer token arrived but neither OIDC nor unsigned tokens are enabled.
    #[error("bearer token authentication not configured")]
    NotConfigured,
    /// An `alg: none` token arrived while unsigned tokens are not allowed.
    #[error("unsigned token refused")]
    UnsignedRefused,
    /// The token is invalid; the reason is for logs only.
    #[error("invalid token: {0}")]
    InvalidToken(RejectReason),
    /// OIDC is configured but no usable key set has been loaded (IdP unreachable since start,
    /// or the discovery document names another issuer). Nothing is accepted meanwhile.
    #[error("token validation keys unavailable")]
    KeysUnavailable,
}

impl AuthnError {
    /// The `{"detail": ...}` text for the 401 (or 503 for [`AuthnError::KeysUnavailable`]).
    pub fn detail(&self) -> &'static str {
        match self {
            AuthnError::NotConfigured => DETAIL_NOT_CONFIGURED,
            AuthnError::UnsignedRefused => DETAIL_UNSIGNED_REFUSED,
            AuthnError::InvalidToken(_) => DETAIL_INVALID_TOKEN,
            AuthnError::KeysUnavailable => DETAIL_KEYS_UNAVAILABLE,
        }
    }

    /// The internal reason, for logs. Never shown to the caller.
    pub fn reason(&self) -> Option<RejectReason> {
        match self {
            AuthnError::InvalidToken(reason) => Some(*reason),
            _ => None,
        }
    }

    /// A short, fixed name for metrics labels: the rejection reason's name for an invalid token,
    /// else the kind (`NotConfigured`, `UnsignedRefused`, `KeysUnavailable`).
    pub fn label(&self) -> &'static str {
        match self {
            AuthnError::NotConfigured => "NotConfigured",
            AuthnError::UnsignedRefused => "UnsignedRefused",
            AuthnError::InvalidToken(reason) => reason.label(),
            AuthnError::KeysUnavailable => "KeysUnavailable",
        }
    }

    /// True when the server should answer 503 (dependency outage) rather than 401.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, AuthnError::KeysUnavailable)
    }
}

impl From<RejectReason> for AuthnError {
    fn from(reason: RejectReason) -> Self {
        AuthnError::InvalidToken(reason)
    }
}

/// Which JWT part a parsing problem was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPart {
    Header,
    Payload,
    Signature,
}

impl fmt::Display for TokenPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenPart::Header => "header",
            TokenPart::Payload => "payload",
            TokenPart::Signature => "signature",
        })
    }
}

/// The internal reason a token was rejected. Short, stable, free of token content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    #[error("token longer than the configured maximum")]
    TooLong,
    #[error("token contains characters outside the base64url alphabet and `.`")]
    BadCharacters,
    #[error("token is not a three-part JWS compact serialization")]
    BadSegments,
    #[error("{0} is not strict unpadded base64url")]
    BadBase64(TokenPart),
    #[error("{0} is not a duplicate-free JSON object")]
    BadJson(TokenPart),
    #[error("`alg` missing, not a string or not supported")]
    BadAlgorithm,
    #[error("symmetric algorithm refused")]
    SymmetricAlgorithm,
    #[error("header member not supported (`crit`, `zip`, `enc`, `jku`, `x5u`, `jwk`, `cty`, ...)")]
    UnsupportedHeader,
    #[error("`typ` is not an access-token type")]
    WrongTokenType,
    #[error("`kid` is not a non-empty string")]
    BadKeyId,
    #[error("unsigned token carries a signature")]
    UnsignedWithSignature,
    #[error("signed token without a signature")]
    MissingSignature,
    #[error("signed token while only unsigned tokens are enabled")]
    SignedNotEnabled,
    #[error("no key in the JWKS has this `kid`")]
    UnknownKey,
    #[error("several JWKS keys fit the token; refusing to guess")]
    AmbiguousKey,
    #[error("the key named by `kid` does not fit the token's `alg`")]
    KeyMismatch,
    #[error("signature does not verify")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid (`nbf`)")]
    NotYetValid,
    #[error("token issued in the future (`iat`)")]
    IssuedInFuture,
    #[error("required claim `{0}` missing")]
    MissingClaim(&'static str),
    #[error("claim `{0}` has the wrong JSON type")]
    BadClaimType(&'static str),
    #[error("issuer not accepted")]
    WrongIssuer,
    #[error("audience not accepted")]
    WrongAudience,
    #[error("`sub` missing or empty")]
    MissingSubject,
    #[error("token looks like an ID token (`nonce`, `at_hash`, `c_hash`) or another non-access token")]
    NotAnAccessToken,
    #[error("identity claim contains control characters or is too long")]
    BadIdentityClaim,
    #[error("rejected by the JWT library")]
    LibraryRejected,
    #[error("token claims to be an access key and access keys are not accepted")]
    AccessKeysNotAccepted,
}

impl RejectReason {
    /// A short, fixed name for metrics labels and logs (the variant's name, without its detail).
    pub fn label(&self) -> &'static str {
        match self {
            RejectReason::TooLong => "TooLong",
            RejectReason::BadCharacters => "BadCharacters",
            RejectReason::BadSegments => "BadSegments",
            RejectReason::BadBase64(_) => "BadBase64",
            RejectReason::BadJson(_) => "BadJson",
            RejectReason::BadAlgorithm => "BadAlgorithm",
            RejectReason::SymmetricAlgorithm => "SymmetricAlgorithm",
            RejectReason::UnsupportedHeader => "UnsupportedHeader",
            RejectReason::WrongTokenType => "WrongTokenType",
            RejectReason::BadKeyId => "BadKeyId",
            RejectReason::UnsignedWithSignature => "UnsignedWithSignature",
            RejectReason::MissingSignature => "MissingSignature",
            RejectReason::SignedNotEnabled => "SignedNotEnabled",
            RejectReason::UnknownKey => "UnknownKey",
            RejectReason::AmbiguousKey => "AmbiguousKey",
            RejectReason::KeyMismatch => "KeyMismatch",
            RejectReason::BadSignature => "BadSignature",
            RejectReason::Expired => "Expired",
            RejectReason::NotYetValid => "NotYetValid",
            RejectReason::IssuedInFuture => "IssuedInFuture",
            RejectReason::MissingClaim(_) => "MissingClaim",
            RejectReason::BadClaimType(_) => "BadClaimType",
            RejectReason::WrongIssuer => "WrongIssuer",
            RejectReason::WrongAudience => "WrongAudience",
            RejectReason::MissingSubject => "MissingSubject",
            RejectReason::NotAnAccessToken => "NotAnAccessToken",
            RejectReason::BadIdentityClaim => "BadIdentityClaim",
            RejectReason::LibraryRejected => "LibraryRejected",
            // Named before access keys and IdP tokens shared one path; dashboards use this name.
            RejectReason::AccessKeysNotAccepted => "access_keys_not_accepted",
        }
    }
}

/// A configuration the authenticator refuses to start with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("auth.oidc.issuer must be set when OIDC is enabled")]
    MissingIssuer,
    #[error("auth.oidc.audience (or auth.oidc.client_id) must be set when OIDC is enabled")]
    MissingAudience,
    #[error("`{field}` is not a valid URL: `{value}`")]
    InvalidUrl { field: &'static str, value: String },
    #[error("`{field}` must use https (plain http is allowed for loopback hosts only): `{value}`")]
    InsecureUrl { field: &'static str, value: String },
    #[error("`{field}` must not be empty")]
    Empty { field: &'static str },
    #[error("`{field}` must be greater than zero")]
    Zero { field: &'static str },
    #[error("auth leeway of {0} s is above the maximum of 300 s")]
    LeewayTooLarge(u64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_invalid_token_reason_gives_the_same_generic_detail() {
        let reasons = [
            RejectReason::Expired,
            RejectReason::BadSignature,
            RejectReason::WrongAudience,
            RejectReason::WrongIssuer,
            RejectReason::UnknownKey,
            RejectReason::BadJson(TokenPart::Payload),
        ];
        for reason in reasons {
            assert_eq!(AuthnError::from(reason).detail(), DETAIL_INVALID_TOKEN);
            assert_eq!(AuthnError::from(reason).reason(), Some(reason));
        }
    }

    #[test]
    fn reference_details_are_exact() {
        assert_eq!(AuthnError::NotConfigured.detail(), "Bearer token authentication not configured");
        assert_eq!(
            AuthnError::UnsignedRefused.detail(),
            "Unsigned JWTs are not accepted. Set auth.allow_unsigned_jwt=true for local development."
        );
        assert!(AuthnError::KeysUnavailable.is_unavailable());
        assert!(!AuthnError::NotConfigured.is_unavailable());
    }

    #[test]
    fn labels_are_the_variant_names_metrics_have_always_used() {
        use RejectReason::*;
        let reasons = [
            TooLong,
            BadCharacters,
            BadSegments,
            BadBase64(TokenPart::Header),
            BadJson(TokenPart::Payload),
            BadAlgorithm,
            SymmetricAlgorithm,
            UnsupportedHeader,
            WrongTokenType,
            BadKeyId,
            UnsignedWithSignature,
            MissingSignature,
            SignedNotEnabled,
            UnknownKey,
            AmbiguousKey,
            KeyMismatch,
            BadSignature,
            Expired,
            NotYetValid,
            IssuedInFuture,
            MissingClaim("exp"),
            BadClaimType("aud"),
            WrongIssuer,
            WrongAudience,
            MissingSubject,
            NotAnAccessToken,
            BadIdentityClaim,
            LibraryRejected,
        ];
        for reason in reasons {
            let debug = format!("{reason:?}");
            assert_eq!(reason.label(), debug.split('(').next().unwrap_or_default());
            assert_eq!(AuthnError::from(reason).label(), reason.label());
        }
        assert_eq!(AccessKeysNotAccepted.label(), "access_keys_not_accepted");
        for error in [AuthnError::NotConfigured, AuthnError::UnsignedRefused, AuthnError::KeysUnavailable] {
            assert_eq!(error.label(), format!("{error:?}"));
        }
    }
}
