//! From verified claims to an [`nmp_core::Principal`]: subject, email, groups and scopes, with
//! the reference's claim names and fallbacks. Pure.
//!
//! A configured claim name is looked up as a top-level key first (so Auth0's namespaced
//! `https://example.com/groups` works as written); only when no such key exists and the name
//! contains dots is it read as a path into nested objects (Keycloak's `realm_access.roles`).

use nmp_core::Principal;
use serde_json::Value;

use crate::error::RejectReason;
use crate::json::JsonObject;

/// Which claims carry identity (reference `auth.oidc.*_claim` keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMapping {
    pub subject_claim: String,
    pub email_claim: String,
    pub groups_claim: String,
    pub scope_prefix: Option<String>,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        ClaimMapping {
            subject_claim: "sub".to_owned(),
            email_claim: "email".to_owned(),
            groups_claim: "groups".to_owned(),
            scope_prefix: None,
        }
    }
}

/// Longest principal id, email and group name we accept from a token (same caps as the
/// `X-NMP-Principal-*` headers, so a verified principal can always be forwarded).
const MAX_ID_CHARS: usize = nmp_core::principal::MAX_ID_LEN;
const MAX_EMAIL_CHARS: usize = nmp_core::principal::MAX_EMAIL_LEN;
/// Groups claim recognised after the configured one (AWS Cognito).
const COGNITO_GROUPS: &str = "cognito:groups";

/// Build the principal. `sub` has already been checked to be a non-empty string.
pub fn map_principal(claims: &JsonObject, mapping: &ClaimMapping) -> Result<Principal, RejectReason> {
    let id = subject(claims, &mapping.subject_claim)?;
    check_text(&id, MAX_ID_CHARS)?;
    let email = match claim(claims, &mapping.email_claim) {
        None | Some(Value::Null) => None,
        Some(Value::String(email)) if email.is_empty() => None,
        Some(Value::String(email)) => Some(email.clone()),
        Some(_) => return Err(RejectReason::BadIdentityClaim),
    };
    if let Some(email) = &email {
        check_text(email, MAX_EMAIL_CHARS)?;
    }
    let groups = groups(claims, &mapping.groups_claim)?;
    for group in &groups {
        check_text(group, MAX_ID_CHARS)?;
    }
    Ok(Principal {
        id: id.into(),
        email,
        groups,
        scopes: scopes(claims, mapping.scope_prefix.as_deref()),
        on_behalf_of: None,
    })
}

/// The configured subject claim if it holds a non-empty string, else `sub` (reference
/// fallback). A configured claim of another type fails closed rather than falling back.
fn subject(claims: &JsonObject, subject_claim: &str) -> Result<String, RejectReason> {
    match claim(claims, subject_claim) {
        Some(Value::String(id)) if !id.is_empty() => return Ok(id.clone()),
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(_) => return Err(RejectReason::BadIdentityClaim),
    }
    match claims.get("sub") {
        Some(Value::String(sub)) if !sub.is_empty() => Ok(sub.clone()),
        _ => Err(RejectReason::MissingSubject),
    }
}

/// First present of the configured groups claim and `cognito:groups`: a string is split on
/// commas (trimmed, empties dropped); a list must hold strings only.
fn groups(claims: &JsonObject, groups_claim: &str) -> Result<Vec<String>, RejectReason> {
    let claim = [groups_claim, COGNITO_GROUPS]
        .iter()
        .find_map(|name| claim(claims, name).filter(|value| !value.is_null()));
    match claim {
        None => Ok(Vec::new()),
        Some(Value::String(joined)) => Ok(joined
            .split(',')
            .map(str::trim)
            .filter(|group| !group.is_empty())
            .map(str::to_owned)
            .collect()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(group) => Ok(group.clone()),
                _ => Err(RejectReason::BadIdentityClaim),
            })
            .collect(),
        Some(_) => Err(RejectReason::BadIdentityClaim),
    }
}

/// The claim called `name`: the top-level key of that exact name, else (for a dotted name with
/// no such key) the value at that path through nested objects.
fn claim<'a>(claims: &'a JsonObject, name: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(name) {
        return Some(value);
    }
    if !name.contains('.') {
        return None;
    }
    let mut segments = name.split('.');
    let mut value = claims.get(segments.next()?)?;
    for segment in segments {
        value = value.as_object()?.get(segment)?;
    }
    Some(value)
}

/// True when the token says its groups were left out because there are too many (Microsoft
/// Entra ID "groups overage"): the groups claim is absent and `_claim_names` points to it
/// instead (or, in older v1 tokens, `hasgroups` is `true`). The token is still valid; the
/// caller should log it, since group bindings will not apply to this principal.
pub fn groups_overage(claims: &JsonObject, mapping: &ClaimMapping) -> bool {
    if claim(claims, &mapping.groups_claim).is_some_and(|value| !value.is_null()) {
        return false;
    }
    let pointed = claims
        .get("_claim_names")
        .and_then(Value::as_object)
        .is_some_and(|names| names.contains_key(&mapping.groups_claim));
    let flagged = mapping.groups_claim == "groups" && claims.get("hasgroups") == Some(&Value::Bool(true));
    pointed || flagged
}

/// `scope` (else `scp`): a space-delimited string or a list of strings, prefix stripped.
/// `None` only when neither claim exists. A claim of the wrong type grants no scope at all
/// (`Some(vec![])`), never "unrestricted" (JWT-C12 fail closed).
fn scopes(claims: &JsonObject, prefix: Option<&str>) -> Option<Vec<String>> {
    let claim = claims.get("scope").or_else(|| claims.get("scp"))?;
    let raw: Vec<&str> = match claim {
        Value::String(joined) => joined.split_whitespace().collect(),
        Value::Array(items) => {
            let strings: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
            strings.unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let strip = |scope: &str| -> String {
        match prefix {
            Some(prefix) if !prefix.is_empty() => scope.strip_prefix(prefix).unwrap_or(scope).to_owned(),
            _ => scope.to_owned(),
        }
    };
    Some(raw.into_iter().map(strip).filter(|scope| !scope.is_empty()).collect())
}

/// JWT-C10: identity values end up in headers and logs; control characters (CR, LF, NUL, DEL,
/// C1) or oversized values reject the token instead of being passed on. Non-ASCII text is
/// allowed; whoever writes it into a header must encode it.
fn check_text(value: &str, max_chars: usize) -> Result<(), RejectReason> {
    if value.chars().any(char::is_control) || value.chars().count() > max_chars {
        return Err(RejectReason::BadIdentityClaim);
    }
    Ok(())
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
