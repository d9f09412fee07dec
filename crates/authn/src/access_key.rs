//! Scoped Access Keys as tokens: JWTs the platform signs itself (RS256, `nmp_token_type:
//! "access_key"`), verified against the platform's own signing keys, never against the IdP's.
//!
//! - [`PlatformKeys`]: the RSA signing keys loaded from PEM files. The first signs new keys; all
//!   of them verify and are published in the JWKS, so the signing key can be rotated while keys
//!   signed by the previous one keep working until it is removed from the configuration.
//! - [`AccessKeyVerifier`]: signature, header and claim checks. A repeated key costs a hash and a
//!   map lookup through the [`crate::Authenticator`]'s verified-token cache, which holds both
//!   kinds of bearer token. Whether the key is still *active* is not decided here: the server
//!   checks its registry on every request.
//! - [`claims_to_be_access_key`]: the unverified peek that routes a bearer token here. A token
//!   that claims to be an access key is only ever accepted by this verifier.
//!
//! The `jsonwebtoken` library signs and verifies; this module only chooses keys and checks claims.

use std::sync::Arc;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use nmp_core::clock::Clock;
use nmp_core::Principal;

use crate::compact::{parse_compact, TokenAlgorithm};
use crate::error::{AuthnError, RejectReason};
use crate::json::{decode_base64url, parse_unique_object, JsonObject};
use crate::mapping::{map_principal, ClaimMapping};

/// The `nmp_token_type` claim value of an access key.
pub const ACCESS_KEY_TOKEN_TYPE: &str = "access_key";
/// Clock skew tolerated on `exp`, `nbf` and `iat` of an access key, as the reference does.
pub const ACCESS_KEY_LEEWAY_SECONDS: i64 = 30;
/// Prefix of service-account principals.
pub const SERVICE_ACCOUNT_PREFIX: &str = "service-account:";
/// Longest access key accepted (they are about 1 KiB).
pub(crate) const MAX_ACCESS_KEY_BYTES: usize = 16 * 1024;

/// `ak_` followed by 32 lowercase hex digits.
pub fn is_valid_jti(jti: &str) -> bool {
    jti.strip_prefix("ak_").is_some_and(|hex| {
        hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// A signing key file that cannot be used. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningKeyError {
    #[error("key `{key_id}` must contain an RSA private key (PEM, PKCS#8 or PKCS#1)")]
    NotRsaPrivateKey { key_id: String },
    #[error("key id `{0}` is configured twice")]
    DuplicateKeyId(String),
    #[error("key id must not be empty")]
    EmptyKeyId,
    #[error("signing failed")]
    SigningFailed,
}

struct PlatformKey {
    key_id: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: serde_json::Value,
}

/// The platform's RSA signing keys: the first signs, every one verifies.
pub struct PlatformKeys {
    keys: Vec<PlatformKey>,
}

impl std::fmt::Debug for PlatformKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.key_id.as_str()).collect();
        f.debug_struct("PlatformKeys").field("key_ids", &ids).finish()
    }
}

impl PlatformKeys {
    /// Load `(key_id, PEM)` pairs; the first is the signing key. Each key is proven usable by
    /// signing and verifying a probe, so a broken file fails at start, not at the first request.
    pub fn from_pems(keys: &[(String, Vec<u8>)]) -> Result<PlatformKeys, SigningKeyError> {
        let mut loaded: Vec<PlatformKey> = Vec::with_capacity(keys.len());
        for (key_id, pem) in keys {
            if key_id.trim().is_empty() {
                return Err(SigningKeyError::EmptyKeyId);
            }
            if loaded.iter().any(|k| &k.key_id == key_id) {
                return Err(SigningKeyError::DuplicateKeyId(key_id.clone()));
            }
            let not_rsa = || SigningKeyError::NotRsaPrivateKey { key_id: key_id.clone() };
            let encoding = EncodingKey::from_rsa_pem(pem).map_err(|_| not_rsa())?;
            let jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).map_err(|_| not_rsa())?;
            let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| not_rsa())?;
            let mut published = serde_json::to_value(&jwk).map_err(|_| not_rsa())?;
            if let Some(object) = published.as_object_mut() {
                // The reference's JWKS entry: kty, key_ops, n, e, kid, use, alg.
                object.insert("kid".into(), serde_json::json!(key_id));
                object.insert("use".into(), serde_json::json!("sig"));
                object.insert("key_ops".into(), serde_json::json!(["verify"]));
                object.insert("alg".into(), serde_json::json!("RS256"));
            }
            let key = PlatformKey { key_id: key_id.clone(), encoding, decoding, jwk: published };
            let probe = jsonwebtoken::encode(
                &Header::new(Algorithm::RS256),
                &serde_json::json!({"probe": 1}),
                &key.encoding,
            )
            .map_err(|_| not_rsa())?;
            let mut validation = Validation::new(Algorithm::RS256);
            validation.required_spec_claims.clear();
            validation.validate_exp = false;
            jsonwebtoken::decode::<serde::de::IgnoredAny>(&probe, &key.decoding, &validation)
                .map_err(|_| not_rsa())?;
            loaded.push(key);
        }
        Ok(PlatformKeys { keys: loaded })
    }

    /// The `kid` new keys are signed with.
    pub fn signing_key_id(&self) -> Option<&str> {
        self.keys.first().map(|k| k.key_id.as_str())
    }

    /// The public JWKS document: `{"keys": [...]}`, signing key first.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": self.keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }

    /// Sign `claims` with the signing key (header `{"alg":"RS256","kid":...,"typ":"JWT"}`).
    pub fn sign(&self, claims: &serde_json::Value) -> Result<String, SigningKeyError> {
        let key = self.keys.first().ok_or(SigningKeyError::SigningFailed)?;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.key_id.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).map_err(|_| SigningKeyError::SigningFailed)
    }

    fn verification_key(&self, key_id: &str) -> Option<&DecodingKey> {
        self.keys.iter().find(|k| k.key_id == key_id).map(|k| &k.decoding)
    }
}

/// True when the token's (unverified) payload says it is an access key. Such a token is
/// accepted only by [`AccessKeyVerifier::verify`], never by the IdP path.
///
/// The whole payload is read whatever its length: a length cap here would send an oversized
/// token that claims to be a key to the IdP path whenever the IdP token limit is larger than the
/// cap. Callers bound the cost by bounding the token ([`crate::Authenticator::authenticate_bearer`]
/// refuses one longer than both limits before peeking; the server's header parser caps it).
pub fn claims_to_be_access_key(token: &str) -> bool {
    let mut segments = token.split('.');
    let (Some(_), Some(payload)) = (segments.next(), segments.next()) else { return false };
    decode_base64url(payload).and_then(|bytes| parse_unique_object(&bytes)).is_some_and(|claims| {
        claims.get("nmp_token_type").and_then(|v| v.as_str()) == Some(ACCESS_KEY_TOKEN_TYPE)
    })
}

/// A key whose signature and claims check out. Its registry status is the caller's to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAccessKey {
    /// Shared: a cache hit hands out the same principal without copying it.
    pub principal: Arc<Principal>,
    pub jti: Arc<str>,
    /// `exp`; `None` for a key that never expires.
    pub expires_at: Option<i64>,
    pub service_account: bool,
}

/// Verifies access keys against the platform's keys, issuer and audience.
#[derive(Clone)]
pub struct AccessKeyVerifier {
    inner: Arc<VerifierInner>,
}

struct VerifierInner {
    keys: Arc<PlatformKeys>,
    issuer: String,
    audience: String,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AccessKeyVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKeyVerifier")
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .finish_non_exhaustive()
    }
}

impl AccessKeyVerifier {
    pub fn new(
        keys: Arc<PlatformKeys>,
        issuer: String,
        audience: String,
        clock: Arc<dyn Clock>,
    ) -> AccessKeyVerifier {
        AccessKeyVerifier { inner: Arc::new(VerifierInner { keys, issuer, audience, clock }) }
    }

    pub fn keys(&self) -> &PlatformKeys {
        &self.inner.keys
    }

    /// Check signature (RS256 by a platform key named by `kid`), `iss`, `aud`, the required
    /// claims and the time claims with 30 s of leeway.
    pub fn verify(&self, token: &str) -> Result<VerifiedAccessKey, AuthnError> {
        let result = self.verify_inner(token);
        if let Err(error) = &result {
            tracing::debug!(%error, "access key rejected");
        }
        result
    }

    fn verify_inner(&self, token: &str) -> Result<VerifiedAccessKey, AuthnError> {
        let inner = &self.inner;
        let now = inner.clock.now_unix();
        let parsed = parse_compact(token, MAX_ACCESS_KEY_BYTES)?;
        if parsed.header.algorithm != TokenAlgorithm::Signed(Algorithm::RS256) {
            return Err(RejectReason::BadAlgorithm.into());
        }
        let key_id = parsed.header.key_id.as_deref().ok_or(RejectReason::UnknownKey)?;
        let decoding = inner.keys.verification_key(key_id).ok_or(RejectReason::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256];
        validation.required_spec_claims = ["iss", "aud", "sub"].into_iter().map(str::to_owned).collect();
        // Time claims are checked below with the injected clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_audience(&[inner.audience.as_str()]);
        validation.set_issuer(&[inner.issuer.as_str()]);
        jsonwebtoken::decode::<serde::de::IgnoredAny>(token, decoding, &validation).map_err(|error| {
            match error.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => RejectReason::BadSignature,
                jsonwebtoken::errors::ErrorKind::InvalidIssuer => RejectReason::WrongIssuer,
                jsonwebtoken::errors::ErrorKind::InvalidAudience => RejectReason::WrongAudience,
                _ => RejectReason::LibraryRejected,
            }
        })?;
        Ok(check_access_key_claims(&parsed.claims, now)?)
    }
}

impl VerifiedAccessKey {
    /// The first instant (seconds) at which the key is refused: `exp` + leeway, or never.
    pub fn refused_from(&self) -> i64 {
        self.expires_at.map_or(i64::MAX, |exp| exp.saturating_add(ACCESS_KEY_LEEWAY_SECONDS))
    }
}

fn integer_claim(claims: &JsonObject, name: &'static str) -> Result<Option<i64>, RejectReason> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value.as_i64().map(Some).ok_or(RejectReason::BadClaimType(name)),
    }
}

/// The claim rules of an access key, after the signature verified.
fn check_access_key_claims(claims: &JsonObject, now: i64) -> Result<VerifiedAccessKey, RejectReason> {
    if claims.get("nmp_token_type").and_then(|v| v.as_str()) != Some(ACCESS_KEY_TOKEN_TYPE) {
        return Err(RejectReason::WrongTokenType);
    }
    let jti = claims.get("jti").and_then(|v| v.as_str()).ok_or(RejectReason::MissingClaim("jti"))?;
    if !is_valid_jti(jti) {
        return Err(RejectReason::BadClaimType("jti"));
    }
    let issued_at = integer_claim(claims, "iat")?.ok_or(RejectReason::MissingClaim("iat"))?;
    let not_before = integer_claim(claims, "nbf")?.ok_or(RejectReason::MissingClaim("nbf"))?;
    let expires_at = integer_claim(claims, "exp")?;
    if issued_at > now + ACCESS_KEY_LEEWAY_SECONDS {
        return Err(RejectReason::IssuedInFuture);
    }
    if not_before > now + ACCESS_KEY_LEEWAY_SECONDS {
        return Err(RejectReason::NotYetValid);
    }
    if expires_at.is_some_and(|exp| now >= exp.saturating_add(ACCESS_KEY_LEEWAY_SECONDS)) {
        return Err(RejectReason::Expired);
    }
    let principal = map_principal(claims, &ClaimMapping::default())?;
    if principal.is_service() {
        return Err(RejectReason::BadIdentityClaim);
    }
    let service_account = principal.id.starts_with(SERVICE_ACCOUNT_PREFIX);
    let entity_type =
        claims.get("nmp_access_key").and_then(|v| v.get("entity_type")).and_then(|v| v.as_str());
    if service_account != (entity_type == Some("SERVICE_ACCOUNT")) {
        return Err(RejectReason::BadIdentityClaim);
    }
    // Keys never carry scopes: a key acts with its principal's roles, nothing narrower.
    let principal = Principal { scopes: None, ..principal };
    Ok(VerifiedAccessKey { principal: Arc::new(principal), jti: Arc::from(jti), expires_at, service_account })
}

#[cfg(test)]
#[path = "access_key_tests.rs"]
mod tests;
