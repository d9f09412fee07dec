//! Bearer-token authentication for nmp: JWS validation against the IdP's JWKS (found through
//! OIDC discovery), unsigned quickstart tokens, and the caches that make a repeated token cheap.
//!
//! # API (what the server calls)
//!
//! ```text
//! parse_authorization(header_value: &[u8]) -> Result<BearerToken, AuthorizationError>
//! effective_audience(audience: Option<&str>, client_id: Option<&str>) -> Result<String, SettingsError>
//! Authenticator::new(settings: AuthnSettings, clock: Arc<dyn Clock>) -> Result<Authenticator, SettingsError>
//! Authenticator::spawn_background_refresh(&self) -> tokio::task::JoinHandle<()>
//! Authenticator::is_ready(&self) -> bool
//! Authenticator::with_access_keys(settings, clock, Option<AccessKeyVerifier>) -> Result<Authenticator, SettingsError>
//! Authenticator::authenticate_bearer(&self, token: &str) -> impl Future<Output = Result<VerifiedBearer, AuthnError>>
//! Authenticator::authenticate_bearer_remembered(&self, token: &str, memo: &BearerMemo) -> impl Future<Output = Result<VerifiedBearer, AuthnError>>  // one connection's last token remembered
//! Authenticator::authenticate(&self, token: &str) -> impl Future<Output = Result<VerifiedToken, AuthnError>>  // IdP tokens only
//! Authenticator::provider_metadata(&self) -> Option<ProviderMetadata>
//! AuthnError::detail(&self) -> &'static str      // the `{"detail": ...}` text
//! AuthnError::is_unavailable(&self) -> bool      // 503 instead of 401
//! ```
//!
//! Map errors to HTTP as follows: [`AuthorizationError::NotBearer`] → treat as anonymous (401
//! with `WWW-Authenticate: Bearer`, no `error=`, when the route needs a principal);
//! [`AuthorizationError::Malformed`] → 400 `error="invalid_request"`;
//! [`AuthorizationError::TooLong`] → 431 (or 400); [`AuthnError::KeysUnavailable`] → 503 with
//! `Retry-After`; every other [`AuthnError`] → 401 with `WWW-Authenticate: Bearer
//! error="invalid_token"` and [`AuthnError::detail`] as the body's `detail`.
//!
//! # Operator notes
//!
//! - **What is accepted.** JWS compact tokens (three segments, at most 16 KiB by default), signed
//!   with RS256/384/512, PS256/384/512, ES256/384 or EdDSA by a key from the IdP's JWKS. Never
//!   HS*, never JWE, never nested tokens, never keys or URLs carried in the token (`jwk`, `jku`,
//!   `x5u` are refused; `x5c` is ignored). `iss` must equal `auth.oidc.issuer` or one of
//!   `additional_issuers` exactly; `aud` must contain the audience (`auth.oidc.audience`, else
//!   `client_id`: the server refuses to start with neither). `exp`, `iat` and `sub` are required;
//!   `exp`/`nbf`/`iat` are integers and get `leeway_seconds` (default 60) of clock skew.
//! - **Access tokens only.** Tokens carrying `nonce`, `at_hash` or `c_hash` (ID tokens), a header
//!   `typ` other than `JWT`/`at+jwt` (any case, with or without `application/`), or a payload
//!   `typ` of `ID`/`Refresh`/`Logout` are refused. Configure the IdP to put the email (or
//!   `email_claim`) into access tokens.
//! - **Issuers and keys.** `additional_issuers` are alternative `iss` spellings of the *same*
//!   IdP (e.g. Azure v1/v2): they share the primary issuer's JWKS. Keys of any other issuer are
//!   never fetched, so a token naming a trusted `iss` but signed by another IdP's key fails.
//!   The principal id is the subject claim alone, as in the reference.
//! - **Key choice.** With a `kid`, the key with that `kid` whose type (and JWK `alg`, `use`,
//!   `key_ops`) fits the token's `alg`. Without a `kid`, accepted only when exactly one key fits.
//!   Two fitting keys (including a duplicated `kid`) reject the token: we do not guess.
//!   RSA keys below 2048 bits (or with an even exponent, or one below 3) and EC/Ed25519 points
//!   off the curve are skipped at load time and logged.
//! - **JWKS lifecycle.** Discovery (`{issuer}/.well-known/openid-configuration`) and the JWKS are
//!   fetched by a background task (`jwks_refresh_interval`, default 5 min; retried every
//!   `jwks_retry_interval`, default 5 s, until the first success). An unknown `kid` triggers at
//!   most one refetch per `unknown_kid_cooldown` (default 30 s; scheduled refreshes do not
//!   start it, so a rotation right after one is still picked up at once), single-flight: concurrent
//!   requests wait for the one fetch in flight. A failed fetch (timeout `http_timeout`, default
//!   5 s; body over `max_jwks_bytes`, default 1 MiB; non-200; bad JSON; redirects are not
//!   followed) keeps the last good key set; a good answer replaces it, so a key removed at the
//!   IdP stops working within one refresh interval. A changed key under the same `kid` is also
//!   picked up at the next refresh; a bad signature never triggers a fetch.
//! - **Readiness.** With the IdP unreachable at start the process runs but [`Authenticator::is_ready`]
//!   is false and signed tokens get [`AuthnError::KeysUnavailable`] (503) until keys load. The
//!   same holds while the discovery document names another issuer than the configured one.
//!   `issuer` and `jwks_uri` must be `https` (plain `http` only for loopback hosts).
//! - **Verified-token cache.** Up to `token_cache_capacity` (default 10 000) tokens of both kinds
//!   (IdP tokens and access keys), keyed by a keyed 128-bit SipHash of the exact token string and
//!   looked up before anything of the token is decoded; an entry ends at the token's `exp` and is dropped as
//!   soon as the key that verified it leaves the JWKS. Revocation of a token itself is not
//!   seen before `exp` (as with any stateless JWT validation).
//! - **Connection memo.** [`BearerMemo`] is one connection's last token and its verified entry
//!   (a copy the connection owns), for [`Authenticator::authenticate_bearer_remembered`]: the
//!   byte-identical token answers from it under the cache's rules, checked on every request (not
//!   at or after `exp`, and for a signed token only while its key is in the JWKS); its hits count
//!   as cache hits. It holds the token's bytes while the connection lives and never prints them.
//! - **Quickstart.** `allow_unsigned_jwt: true` accepts `alg: none` tokens (empty signature),
//!   still requiring `sub`, `exp`, `iat` and the time checks, but no `iss`/`aud` check. Anyone can
//!   then mint any identity, including PlatformAdmin: a warning is logged at start. Never enable
//!   it on a reachable server.
//! - **Claim mapping.** Principal id from `subject_claim` (fallback `sub`), email from
//!   `email_claim` (no fallback), groups from `groups_claim` then `cognito:groups` (a string is
//!   split on commas), scopes from `scope` else `scp` with `scope_prefix` stripped; a scope claim
//!   of the wrong type grants no scope. Identity values with control characters (CR, LF, NUL...)
//!   or over 256 characters (email: 320) reject the token.
//! - **Choices where the test catalog lets us pick** (case IDs: `docs/test-catalog.md`). JWT-K05:
//!   no `kid` is accepted only with exactly one fitting key. JWT-K06: a duplicated `kid` rejects
//!   the token. JWT-P02: header `typ` absent, `JWT` or `at+jwt`; anything else rejected. JWKS-06:
//!   an unknown `kid` while the IdP is down is an invalid token (401), not an outage, because a key
//!   set is loaded. JWKS-08: cold start does not block; not ready (503) until keys load. JWKS-12:
//!   same `kid` with new material is picked up at the next fetch, never on a bad signature.
//!   JWT-C09: the principal id is the subject alone (reference-compatible); `VerifiedToken::issuer`
//!   is there for callers that need the (`iss`, `sub`) pair. QS-05: the quickstart risk is stated
//!   in the start-up warning. JWKS-09: `Cache-Control` on the JWKS is not honoured; the refresh
//!   interval and cooldown are fixed settings measured on a monotonic clock.
//! - **Logs.** Rejections are logged at debug level with a reason code ([`RejectReason`]), never
//!   with the token. Types that hold a token print `[redacted]`.

mod access_key;
mod authenticator;
mod bearer;
mod claims;
mod compact;
mod error;
mod fetch;
mod json;
mod keys;
mod mapping;
mod memo;
mod provider;
mod settings;
mod token_cache;
mod verify;

pub use access_key::{
    claims_to_be_access_key, is_valid_jti, AccessKeyVerifier, PlatformKeys, SigningKeyError,
    VerifiedAccessKey, ACCESS_KEY_LEEWAY_SECONDS, ACCESS_KEY_TOKEN_TYPE, SERVICE_ACCOUNT_PREFIX,
};
pub use authenticator::{Authenticator, AuthnStats, VerifiedBearer, VerifiedToken, GROUPS_OVERAGE_WARNING};
pub use bearer::{
    parse_authorization, parse_authorization_with_limit, AuthorizationError, BearerToken,
    DEFAULT_MAX_TOKEN_BYTES,
};
pub use error::{
    AuthnError, RejectReason, SettingsError, TokenPart, DETAIL_INVALID_TOKEN, DETAIL_KEYS_UNAVAILABLE,
    DETAIL_NOT_CONFIGURED, DETAIL_UNSIGNED_REFUSED,
};
pub use memo::BearerMemo;
pub use nmp_core::clock::{Clock, ManualClock, SystemClock};
pub use provider::ProviderMetadata;
pub use settings::{effective_audience, AuthnSettings, OidcSettings, MAX_LEEWAY_SECONDS};

/// Building blocks exposed for the fuzz targets and for tests: pure, no I/O.
pub mod parsing {
    pub use crate::compact::{
        accepted_algorithm, parse_compact, CompactToken, JoseHeader, TokenAlgorithm, ACCEPTED_ALGORITHMS,
    };
    pub use crate::json::{decode_base64url, parse_unique_object, JsonObject};
    pub use crate::keys::{parse_jwks, select_key, KeyKind, KeyLookup, ParsedKeySet};
    pub use crate::verify::{production_validation, LibraryPolicy};
}
