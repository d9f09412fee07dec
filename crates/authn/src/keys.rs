//! The IdP's signing keys: parse a JWKS document into vetted verification keys, and pick the one
//! key that may verify a given token (`kid` + algorithm fit). Pure. Keys that are unusable are
//! skipped one by one (logged), never fatal to the whole set (JWT-K06).

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::compact::accepted_algorithm;
use crate::json::{decode_base64url, JsonObject};

/// Smallest RSA modulus accepted (RFC 7518 §3.3).
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted (bounds verification cost).
pub const MAX_RSA_BITS: usize = 8192;

/// What kind of key, as far as algorithm fit is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

/// SHA-256 over the key's public material, identifying it across refreshes.
pub type KeyFingerprint = [u8; 32];

/// One usable public key from the JWKS.
pub struct VerificationKey {
    pub key_id: Option<String>,
    pub kind: KeyKind,
    /// The JWK's own `alg`, if it names one: then only that algorithm may use it.
    pub algorithm: Option<Algorithm>,
    pub fingerprint: KeyFingerprint,
    pub decoding_key: DecodingKey,
}

impl std::fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationKey")
            .field("key_id", &self.key_id)
            .field("kind", &self.kind)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl VerificationKey {
    /// May this key verify a token signed with `algorithm`?
    pub fn fits(&self, algorithm: Algorithm) -> bool {
        if self.algorithm.is_some_and(|own| own != algorithm) {
            return false;
        }
        matches!(
            (self.kind, algorithm),
            (
                KeyKind::Rsa,
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            ) | (KeyKind::P256, Algorithm::ES256)
                | (KeyKind::P384, Algorithm::ES384)
                | (KeyKind::Ed25519, Algorithm::EdDSA)
        )
    }
}

/// Why a whole JWKS document was refused (the cached set is then kept).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    #[error("JWKS is not a JSON object with a `keys` array")]
    NotAKeySet,
}

/// A parsed key set, plus how many entries were skipped and why (for logs).
#[derive(Debug, Default)]
pub struct ParsedKeySet {
    pub keys: Vec<Arc<VerificationKey>>,
    pub skipped: Vec<String>,
}

/// Parse a JWKS document. Only the public members are read: a JWK carrying private members
/// (`d`, `p`, ...) is still used as a public key only.
pub fn parse_jwks(bytes: &[u8]) -> Result<ParsedKeySet, JwksError> {
    let document: Value = serde_json::from_slice(bytes).map_err(|_| JwksError::NotAKeySet)?;
    let entries = document.get("keys").and_then(Value::as_array).ok_or(JwksError::NotAKeySet)?;
    let mut parsed = ParsedKeySet::default();
    for (index, entry) in entries.iter().enumerate() {
        match entry.as_object().ok_or("not an object").and_then(parse_key) {
            Ok(key) => parsed.keys.push(Arc::new(key)),
            Err(why) => {
                let kid = entry.get("kid").and_then(Value::as_str).unwrap_or("-");
                parsed.skipped.push(format!("key #{index} (kid `{kid}`): {why}"));
            }
        }
    }
    Ok(parsed)
}

fn parse_key(jwk: &JsonObject) -> Result<VerificationKey, &'static str> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    if jwk.get("use").is_some_and(|usage| usage.as_str() != Some("sig")) {
        return Err("`use` is not `sig`");
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verifies = ops.as_array().is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            return Err("`key_ops` does not include `verify`");
        }
    }
    let algorithm = match jwk.get("alg") {
        None => None,
        Some(alg) => Some(
            alg.as_str()
                .and_then(accepted_algorithm)
                .ok_or("`alg` is not an accepted signature algorithm")?,
        ),
    };
    let key_id = match jwk.get("kid") {
        None => None,
        Some(Value::String(kid)) if !kid.is_empty() => Some(kid.clone()),
        Some(_) => return Err("`kid` is not a non-empty string"),
    };
    let (kind, material, decoding_key) = match text("kty") {
        Some("RSA") => rsa_key(text("n"), text("e"))?,
        Some("EC") => ec_key(text("crv"), text("x"), text("y"))?,
        Some("OKP") => okp_key(text("crv"), text("x"))?,
        _ => return Err("`kty` missing or not RSA, EC or OKP"),
    };
    let fingerprint: KeyFingerprint = Sha256::digest(&material).into();
    let key = VerificationKey { key_id, kind, algorithm, fingerprint, decoding_key };
    if algorithm.is_some_and(|alg| !key.fits(alg)) {
        return Err("`alg` does not fit the key type");
    }
    Ok(key)
}

type Built = (KeyKind, Vec<u8>, DecodingKey);

fn rsa_key(n: Option<&str>, e: Option<&str>) -> Result<Built, &'static str> {
    let modulus = n.and_then(decode_base64url).ok_or("RSA `n` missing or not base64url")?;
    let exponent = e.and_then(decode_base64url).ok_or("RSA `e` missing or not base64url")?;
    let modulus = strip_leading_zeros(&modulus);
    let exponent = strip_leading_zeros(&exponent);
    let bits = modulus.first().map_or(0, |top| modulus.len() * 8 - top.leading_zeros() as usize);
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err("RSA modulus outside 2048..=8192 bits");
    }
    if modulus.last().is_some_and(|low| low & 1 == 0) {
        return Err("RSA modulus is even");
    }
    // A usable public exponent is odd, at least 3, and small (at most 64 bits here).
    let exponent_value =
        if exponent.len() <= 8 { exponent.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)) } else { 0 };
    if exponent_value < 3 || exponent_value % 2 == 0 {
        return Err("RSA exponent is not an odd number of at least 3");
    }
    let material = [b"RSA:".as_slice(), modulus, b":", exponent].concat();
    let key = DecodingKey::from_rsa_raw_components(modulus, exponent);
    Ok((KeyKind::Rsa, material, key))
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

fn ec_key(crv: Option<&str>, x: Option<&str>, y: Option<&str>) -> Result<Built, &'static str> {
    let (kind, size) = match crv {
        Some("P-256") => (KeyKind::P256, 32),
        Some("P-384") => (KeyKind::P384, 48),
        _ => return Err("EC `crv` is not P-256 or P-384"),
    };
    let (Some(x_text), Some(y_text)) = (x, y) else {
        return Err("EC `x` or `y` missing");
    };
    let x_bytes = decode_base64url(x_text).ok_or("EC `x` not base64url")?;
    let y_bytes = decode_base64url(y_text).ok_or("EC `y` not base64url")?;
    if x_bytes.len() != size || y_bytes.len() != size {
        return Err("EC coordinates have the wrong length");
    }
    let point = [&[0x04u8][..], &x_bytes, &y_bytes].concat();
    // Invalid-curve defence (RFC 8725 §3.4): the point must lie on the named curve.
    let on_curve = match kind {
        KeyKind::P256 => p256::PublicKey::from_sec1_bytes(&point).is_ok(),
        _ => p384::PublicKey::from_sec1_bytes(&point).is_ok(),
    };
    if !on_curve {
        return Err("EC point is not on the curve");
    }
    let key = DecodingKey::from_ec_components(x_text, y_text).map_err(|_| "EC key refused")?;
    let material = [format!("EC:{size}:").as_bytes(), &point].concat();
    Ok((kind, material, key))
}

fn okp_key(crv: Option<&str>, x: Option<&str>) -> Result<Built, &'static str> {
    if crv != Some("Ed25519") {
        return Err("OKP `crv` is not Ed25519");
    }
    let x_text = x.ok_or("OKP `x` missing")?;
    let x_bytes = decode_base64url(x_text).ok_or("OKP `x` not base64url")?;
    let point: [u8; 32] = x_bytes.as_slice().try_into().map_err(|_| "Ed25519 key is not 32 bytes")?;
    if ed25519_dalek::VerifyingKey::from_bytes(&point).is_err() {
        return Err("Ed25519 key is not a valid point");
    }
    let key = DecodingKey::from_ed_components(x_text).map_err(|_| "Ed25519 key refused")?;
    let material = [b"OKP:".as_slice(), &point].concat();
    Ok((KeyKind::Ed25519, material, key))
}

/// The outcome of looking for the key that may verify a token.
#[derive(Debug, Clone)]
pub enum KeyLookup {
    Found(Arc<VerificationKey>),
    /// No key carries this `kid`: worth one (rate-limited) JWKS refetch.
    UnknownKeyId,
    /// Keys exist for this `kid` (or, without `kid`, at all) but none fits the algorithm.
    NoFittingKey,
    /// More than one key fits: we do not guess (JWT-K05 multiple, JWT-K06 duplicate kid).
    Ambiguous,
}

/// Pick the key for (`kid`, `alg`). With a `kid`: the keys with that `kid` that fit `alg`.
/// Without: every key that fits `alg`, accepted only when exactly one does.
pub fn select_key(keys: &[Arc<VerificationKey>], key_id: Option<&str>, algorithm: Algorithm) -> KeyLookup {
    let named: Vec<&Arc<VerificationKey>> = match key_id {
        Some(kid) => keys.iter().filter(|key| key.key_id.as_deref() == Some(kid)).collect(),
        None => keys.iter().collect(),
    };
    if named.is_empty() && key_id.is_some() {
        return KeyLookup::UnknownKeyId;
    }
    let mut fitting = named.into_iter().filter(|key| key.fits(algorithm));
    match (fitting.next(), fitting.next()) {
        (Some(key), None) => KeyLookup::Found(Arc::clone(key)),
        (Some(_), Some(_)) => KeyLookup::Ambiguous,
        (None, _) => KeyLookup::NoFittingKey,
    }
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
