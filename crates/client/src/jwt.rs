//! Unsigned quickstart tokens (`alg: none`) and unverified reading of JWT claims.
//!
//! Nothing here verifies a signature: the server does that. The client only reads `exp`
//! to decide when to refresh, and shows claims in `nemo auth status`.

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde::Serialize;

use crate::secret::Secret;

/// Decodes base64url with or without padding.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What goes into an unsigned token (`nemo auth login --unsigned-token`).
#[derive(Debug, Clone, Default)]
pub struct UnsignedTokenSpec {
    /// `sub`; defaults to the email.
    pub principal_id: Option<String>,
    pub email: String,
    pub groups: Vec<String>,
    /// Space-joined into `scope`.
    pub scopes: Vec<String>,
    /// Seconds from `iat`; `None` omits `exp` (the reference server then rejects the token).
    pub expires_in: Option<i64>,
    pub audience: Option<String>,
    pub issuer: Option<String>,
}

/// Claim order matches the official CLI: sub, iat, email, groups, scope, exp, aud, iss.
#[derive(Serialize)]
struct UnsignedClaims<'a> {
    sub: &'a str,
    iat: i64,
    email: &'a str,
    #[serde(skip_serializing_if = "no_groups")]
    groups: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
}

fn no_groups(groups: &&[String]) -> bool {
    groups.is_empty()
}

/// `b64url({"alg":"none","typ":"JWT"}).b64url(claims).` (empty signature).
pub fn mint_unsigned(spec: &UnsignedTokenSpec, now_unix: i64) -> Secret {
    let claims = UnsignedClaims {
        sub: spec.principal_id.as_deref().unwrap_or(&spec.email),
        iat: now_unix,
        email: &spec.email,
        groups: &spec.groups,
        scope: (!spec.scopes.is_empty()).then(|| spec.scopes.join(" ")),
        exp: spec.expires_in.map(|seconds| now_unix + seconds),
        aud: spec.audience.as_deref(),
        iss: spec.issuer.as_deref(),
    };
    // Serializing a struct of strings and numbers cannot fail.
    let payload = serde_json::to_vec(&claims).unwrap_or_default();
    Secret::new(format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(payload)
    ))
}

/// Header and claims of a JWT, read without verification.
#[derive(Debug, Clone, PartialEq)]
pub struct UnverifiedJwt {
    pub header: serde_json::Value,
    pub claims: serde_json::Value,
}

impl UnverifiedJwt {
    /// Decode a compact JWT; `None` for anything that is not three base64url JSON parts.
    pub fn decode(token: &str) -> Option<UnverifiedJwt> {
        let mut parts = token.split('.');
        let (header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header = serde_json::from_slice(&LENIENT.decode(header).ok()?).ok()?;
        let claims = serde_json::from_slice(&LENIENT.decode(payload).ok()?).ok()?;
        Some(UnverifiedJwt { header, claims })
    }

    pub fn is_unsigned(&self) -> bool {
        self.header.get("alg").and_then(|alg| alg.as_str()) == Some("none")
    }

    /// A numeric claim (`exp`, `iat`); numeric strings are accepted for reading only.
    pub fn numeric_claim(&self, name: &str) -> Option<i64> {
        match self.claims.get(name)? {
            serde_json::Value::Number(number) => {
                number.as_i64().or_else(|| number.as_f64().map(|value| value as i64))
            }
            serde_json::Value::String(text) => text.parse().ok(),
            _ => None,
        }
    }

    pub fn expires_at(&self) -> Option<i64> {
        self.numeric_claim("exp")
    }

    pub fn string_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(|value| value.as_str())
    }

    /// The first of the named claims that is a string (e.g. `upn`, `email`, `preferred_username`).
    pub fn first_string_claim(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|name| self.string_claim(name))
    }

    /// Scopes from `scp` (list or string) or `scope` (space-separated).
    pub fn scopes(&self) -> Vec<String> {
        for name in ["scp", "scope"] {
            match self.claims.get(name) {
                Some(serde_json::Value::String(text)) => {
                    return text.split_whitespace().map(str::to_string).collect()
                }
                Some(serde_json::Value::Array(items)) => {
                    return items.iter().filter_map(|item| item.as_str().map(str::to_string)).collect()
                }
                _ => {}
            }
        }
        Vec::new()
    }

    /// Group claims from `groups` or `cognito:groups`.
    pub fn groups(&self) -> Vec<String> {
        for name in ["groups", "cognito:groups"] {
            if let Some(serde_json::Value::Array(items)) = self.claims.get(name) {
                return items.iter().filter_map(|item| item.as_str().map(str::to_string)).collect();
            }
        }
        Vec::new()
    }
}

/// Seconds left before the token's `exp` (negative when expired); `None` without `exp`.
pub fn seconds_left(token: &str, now_unix: i64) -> Option<i64> {
    UnverifiedJwt::decode(token)?.expires_at().map(|exp| exp - now_unix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(token: &str, index: usize) -> String {
        let part = token.split('.').nth(index).unwrap();
        String::from_utf8(URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn minimal_unsigned_token_matches_the_official_format_exactly() {
        let spec = UnsignedTokenSpec {
            email: "admin@example.com".into(),
            expires_in: Some(3600),
            ..Default::default()
        };
        let token = mint_unsigned(&spec, 1_795_905_520);
        // The exact token the official CLI wrote (`docs/reference-behaviour.md#cli-config-file`).
        assert_eq!(
            token.expose(),
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhZG1pbkBleGFtcGxlLmNvbSIsImlhdCI6MTc5NTkwNTUyMCwiZW1haWwiOiJhZG1pbkBleGFtcGxlLmNvbSIsImV4cCI6MTc5NTkwOTEyMH0."
        );
    }

    #[test]
    fn full_unsigned_token_has_claims_in_reference_order() {
        let spec = UnsignedTokenSpec {
            principal_id: Some("u-42".into()),
            email: "a@example.com".into(),
            groups: vec!["g1".into()],
            scopes: vec![],
            expires_in: Some(10),
            audience: Some("aud1".into()),
            issuer: Some("iss1".into()),
        };
        let token = mint_unsigned(&spec, 100);
        assert!(token.expose().ends_with('.'));
        assert_eq!(segment(token.expose(), 0), r#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            segment(token.expose(), 1),
            r#"{"sub":"u-42","iat":100,"email":"a@example.com","groups":["g1"],"exp":110,"aud":"aud1","iss":"iss1"}"#
        );
    }

    #[test]
    fn no_exp_omits_the_claim_and_scopes_are_space_joined() {
        let spec = UnsignedTokenSpec {
            email: "a@example.com".into(),
            scopes: vec!["platform:read".into(), "platform:write".into()],
            expires_in: None,
            ..Default::default()
        };
        let token = mint_unsigned(&spec, 5);
        let decoded = UnverifiedJwt::decode(token.expose()).unwrap();
        assert!(decoded.is_unsigned());
        assert_eq!(decoded.expires_at(), None);
        assert_eq!(decoded.scopes(), vec!["platform:read", "platform:write"]);
        assert_eq!(seconds_left(token.expose(), 5), None);
    }

    #[test]
    fn decode_rejects_non_jwts_and_reads_exp() {
        assert_eq!(UnverifiedJwt::decode("garbage"), None);
        assert_eq!(UnverifiedJwt::decode("a.b"), None);
        let spec = UnsignedTokenSpec { email: "x@y".into(), expires_in: Some(60), ..Default::default() };
        let token = mint_unsigned(&spec, 1000);
        assert_eq!(seconds_left(token.expose(), 1030), Some(30));
    }
}
