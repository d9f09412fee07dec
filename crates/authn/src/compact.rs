//! JWS compact serialization, parsed before any key is touched: length cap, alphabet, exactly
//! three segments, strict base64url, duplicate-free JSON objects, and the JOSE header rules
//! (which `alg` values exist for us, which header members we refuse). Pure and bounded: the
//! work is linear in a token already capped in length.

use jsonwebtoken::Algorithm;

use crate::error::{RejectReason, TokenPart};
use crate::json::{decode_base64url, parse_unique_object, JsonObject};

/// The algorithm a token claims, once vetted against our allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAlgorithm {
    /// `alg: none` in any letter case (the reference compares case-insensitively).
    Unsigned,
    /// One of RS256/384/512, PS256/384/512, ES256/384, EdDSA.
    Signed(Algorithm),
}

/// The header members we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoseHeader {
    pub algorithm: TokenAlgorithm,
    pub key_id: Option<String>,
}

/// A token split and decoded, signature not yet checked. Borrowed from the token string;
/// its `Debug` shows the header only (the token itself is `[redacted]`).
#[derive(Clone)]
pub struct CompactToken<'a> {
    pub header: JoseHeader,
    pub claims: JsonObject,
    /// `base64url(header) "." base64url(payload)`, the bytes the signature covers.
    pub signing_input: &'a str,
    pub signature: &'a str,
}

impl std::fmt::Debug for CompactToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompactToken").field("header", &self.header).field("token", &"[redacted]").finish()
    }
}

/// Every asymmetric algorithm we accept from an IdP's JWKS (ADR 0005).
pub const ACCEPTED_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Map an `alg` name to an accepted algorithm (exact, case-sensitive, as RFC 7515 requires).
pub fn accepted_algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

/// Header members that mean JWE, compression, extensions we do not implement, or keys/URLs
/// supplied by the token itself. Keys come only from the configured JWKS, so these are refused
/// outright rather than ignored (`x5c`/`x5t` are ignored: they cannot select a key here).
const REFUSED_HEADER_MEMBERS: [&str; 10] =
    ["crit", "zip", "enc", "epk", "p2c", "p2s", "jku", "x5u", "jwk", "cty"];

/// `typ` values that an access token may carry (compared case-insensitively, RFC 9068 §4).
const ACCEPTED_TYPES: [&str; 4] = ["JWT", "application/jwt", "at+jwt", "application/at+jwt"];

/// Split and decode a compact JWS. `max_len` is checked before anything else.
pub fn parse_compact(token: &str, max_len: usize) -> Result<CompactToken<'_>, RejectReason> {
    if token.len() > max_len {
        return Err(RejectReason::TooLong);
    }
    let bytes = token.as_bytes();
    if !bytes.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
        return Err(RejectReason::BadCharacters);
    }
    let mut dots = bytes.iter().enumerate().filter(|(_, &b)| b == b'.').map(|(at, _)| at);
    let (first_dot, second_dot) = match (dots.next(), dots.next(), dots.next()) {
        (Some(first), Some(second), None) => (first, second),
        _ => return Err(RejectReason::BadSegments),
    };
    let header_b64 = &token[..first_dot];
    let payload_b64 = &token[first_dot + 1..second_dot];
    let signature = &token[second_dot + 1..];
    if header_b64.is_empty() || payload_b64.is_empty() {
        return Err(RejectReason::BadSegments);
    }

    let header_object = decode_object(header_b64, TokenPart::Header)?;
    let header = parse_header(&header_object)?;
    let claims = decode_object(payload_b64, TokenPart::Payload)?;

    match header.algorithm {
        TokenAlgorithm::Unsigned if !signature.is_empty() => return Err(RejectReason::UnsignedWithSignature),
        TokenAlgorithm::Signed(_) if signature.is_empty() => return Err(RejectReason::MissingSignature),
        TokenAlgorithm::Signed(_) if decode_base64url(signature).is_none() => {
            return Err(RejectReason::BadBase64(TokenPart::Signature))
        }
        _ => {}
    }
    Ok(CompactToken { header, claims, signing_input: &token[..second_dot], signature })
}

fn decode_object(segment: &str, part: TokenPart) -> Result<JsonObject, RejectReason> {
    let bytes = decode_base64url(segment).ok_or(RejectReason::BadBase64(part))?;
    parse_unique_object(&bytes).ok_or(RejectReason::BadJson(part))
}

/// Apply the JOSE header rules to a decoded header object.
pub fn parse_header(header: &JsonObject) -> Result<JoseHeader, RejectReason> {
    if REFUSED_HEADER_MEMBERS.iter().any(|member| header.contains_key(*member)) {
        return Err(RejectReason::UnsupportedHeader);
    }
    let algorithm = match header.get("alg").and_then(|alg| alg.as_str()) {
        Some(name) if name.eq_ignore_ascii_case("none") => TokenAlgorithm::Unsigned,
        Some(name) => match accepted_algorithm(name) {
            Some(algorithm) => TokenAlgorithm::Signed(algorithm),
            None if name.starts_with("HS") => return Err(RejectReason::SymmetricAlgorithm),
            None => return Err(RejectReason::BadAlgorithm),
        },
        None => return Err(RejectReason::BadAlgorithm),
    };
    match header.get("typ") {
        None => {}
        Some(serde_json::Value::String(typ))
            if ACCEPTED_TYPES.iter().any(|ok| typ.eq_ignore_ascii_case(ok)) => {}
        Some(_) => return Err(RejectReason::WrongTokenType),
    }
    let key_id = match header.get("kid") {
        None => None,
        Some(serde_json::Value::String(kid)) if !kid.is_empty() => Some(kid.clone()),
        Some(_) => return Err(RejectReason::BadKeyId),
    };
    Ok(JoseHeader { algorithm, key_id })
}

#[cfg(test)]
#[path = "compact_tests.rs"]
mod tests;
