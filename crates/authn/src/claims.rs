//! Registered-claim checks with an injected "now": `exp`, `nbf`, `iat` (integers only, decision
//! 22), `iss`, `aud`, `sub`, and the access-token profile (ID tokens are refused). Pure.

use serde_json::Value;

use crate::error::RejectReason;
use crate::json::JsonObject;

/// What the claims must satisfy. `issuers`/`audience` are `None` for unsigned tokens, which the
/// reference checks for time and subject only (ADR 0007).
#[derive(Debug, Clone, Copy)]
pub struct ClaimRules<'a> {
    pub now: i64,
    pub leeway: i64,
    pub issuers: Option<&'a [String]>,
    pub audience: Option<&'a str>,
}

/// The registered claims that passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedClaims {
    pub expires_at: i64,
    pub issued_at: i64,
    pub issuer: Option<String>,
    pub jti: Option<String>,
}

/// Payload claims that only ID tokens (or other non-access JWTs) carry (RFC 8725 §3.11/§3.12).
const ID_TOKEN_CLAIMS: [&str; 3] = ["nonce", "at_hash", "c_hash"];
/// Values of a payload `typ` claim (Keycloak style) that mark a non-access token.
const NON_ACCESS_TYPES: [&str; 3] = ["ID", "Refresh", "Logout"];

pub fn check_claims(claims: &JsonObject, rules: &ClaimRules<'_>) -> Result<CheckedClaims, RejectReason> {
    let expires_at = numeric_date(claims, "exp")?.ok_or(RejectReason::MissingClaim("exp"))?;
    let issued_at = numeric_date(claims, "iat")?.ok_or(RejectReason::MissingClaim("iat"))?;
    let not_before = numeric_date(claims, "nbf")?;

    // "on or after exp" is expired (RFC 7519 §4.1.4), leeway extends it.
    if rules.now >= expires_at.saturating_add(rules.leeway) {
        return Err(RejectReason::Expired);
    }
    if let Some(not_before) = not_before {
        if rules.now < not_before.saturating_sub(rules.leeway) {
            return Err(RejectReason::NotYetValid);
        }
    }
    if issued_at > rules.now.saturating_add(rules.leeway) {
        return Err(RejectReason::IssuedInFuture);
    }

    match claims.get("sub") {
        Some(Value::String(sub)) if !sub.is_empty() => {}
        _ => return Err(RejectReason::MissingSubject),
    }

    let issuer = match claims.get("iss") {
        None => None,
        Some(Value::String(iss)) => Some(iss.clone()),
        Some(_) => return Err(RejectReason::BadClaimType("iss")),
    };
    if let Some(accepted) = rules.issuers {
        match &issuer {
            Some(iss) if accepted.iter().any(|ok| ok == iss) => {}
            Some(_) => return Err(RejectReason::WrongIssuer),
            None => return Err(RejectReason::MissingClaim("iss")),
        }
    }
    if let Some(audience) = rules.audience {
        check_audience(claims.get("aud"), audience)?;
    }

    if ID_TOKEN_CLAIMS.iter().any(|name| claims.contains_key(*name)) {
        return Err(RejectReason::NotAnAccessToken);
    }
    if let Some(Value::String(typ)) = claims.get("typ") {
        if NON_ACCESS_TYPES.iter().any(|bad| typ.eq_ignore_ascii_case(bad)) {
            return Err(RejectReason::NotAnAccessToken);
        }
    }

    let jti = match claims.get("jti") {
        None | Some(Value::Null) => None,
        Some(Value::String(jti)) => Some(jti.clone()),
        Some(_) => return Err(RejectReason::BadClaimType("jti")),
    };
    Ok(CheckedClaims { expires_at, issued_at, issuer, jti })
}

/// A NumericDate must be a JSON integer (ADR 0022: `"exp": "9999999999"` is refused; so are
/// fractions, `null` and values beyond `i64`, in line with the `jsonwebtoken` library).
fn numeric_date(claims: &JsonObject, name: &'static str) -> Result<Option<i64>, RejectReason> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(number)) => number.as_i64().map(Some).ok_or(RejectReason::BadClaimType(name)),
        Some(_) => Err(RejectReason::BadClaimType(name)),
    }
}

/// `aud` must be present and contain `audience` exactly (case-sensitive). A string or an array
/// of strings; any other shape, or any non-string element, fails closed.
fn check_audience(aud: Option<&Value>, audience: &str) -> Result<(), RejectReason> {
    match aud {
        None => Err(RejectReason::MissingClaim("aud")),
        Some(Value::String(single)) if single == audience => Ok(()),
        Some(Value::String(_)) => Err(RejectReason::WrongAudience),
        Some(Value::Array(items)) => {
            let mut found = false;
            for item in items {
                match item {
                    Value::String(member) => found |= member == audience,
                    _ => return Err(RejectReason::BadClaimType("aud")),
                }
            }
            if found {
                Ok(())
            } else {
                Err(RejectReason::WrongAudience)
            }
        }
        Some(_) => Err(RejectReason::BadClaimType("aud")),
    }
}

#[cfg(test)]
#[path = "claims_tests.rs"]
mod tests;
