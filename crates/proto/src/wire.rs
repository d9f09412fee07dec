//! Wire types of the HTTP API, shared by the server, the Rust SDK and the CLI.
//!
//! Field names, optionality and shapes follow the reference contract
//! (`crates/server/tests/reference/reference-api.openapi.yaml`), so the official clients parse our
//! answers unchanged. The name pattern of `WorkspaceInput::name` and
//! `ProjectInput::name` is added to the schema by the server from [`crate::names::NAME_PATTERN`].
//! Timestamps are strings formatted by the server (see [`timestamps`]).

use serde::{Deserialize, Serialize};

/// `{"detail": "..."}`: every error answer except body validation (422).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    pub detail: String,
}

/// One entry of a 422 answer, in the reference (pydantic) shape.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidationError {
    #[serde(rename = "type")]
    pub kind: String,
    pub loc: Vec<serde_json::Value>,
    pub msg: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub input: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub ctx: Option<serde_json::Value>,
}

/// The 422 body: `{"detail": [ValidationError, ...]}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HttpValidationError {
    pub detail: Vec<ValidationError>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaginationData {
    pub page: u64,
    pub page_size: u64,
    pub current_page_size: u64,
    pub total_pages: u64,
    pub total_results: u64,
}

impl PaginationData {
    pub fn new(page: u64, page_size: u64, current_page_size: u64, total_results: u64) -> Self {
        let total_pages = if page_size == 0 { 0 } else { total_results.div_ceil(page_size) };
        PaginationData { page, page_size, current_page_size, total_pages, total_results }
    }
}

/// A page of results: `{data, pagination, sort, filter}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub data: Vec<T>,
    pub pagination: PaginationData,
    pub sort: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub filter: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: String,
    pub created_by: Option<String>,
    pub updated_at: String,
    pub updated_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceInput {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Answer of a delete: `{id, message}` (plus `deleted_at` / `deleted_count` where the reference has them).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeleteResponse {
    pub id: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_count: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceMember {
    pub principal: String,
    pub roles: Vec<String>,
    pub granted_at: Option<String>,
    pub granted_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceMemberInput {
    pub principal: String,
    #[serde(default = "default_member_roles")]
    pub roles: Vec<String>,
}

/// Roles given to a new member when the request names none (reference default).
pub fn default_member_roles() -> Vec<String> {
    vec!["Editor".to_string()]
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceMemberUpdate {
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceMemberListResponse {
    pub data: Vec<WorkspaceMember>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Project {
    pub id: String,
    pub name: String,
    pub workspace: String,
    pub description: Option<String>,
    pub created_at: String,
    pub created_by: Option<String>,
    pub updated_at: String,
    pub updated_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectInput {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleBinding {
    pub id: String,
    pub name: String,
    pub principal: String,
    pub workspace: Option<String>,
    pub role: String,
    pub granted_by: String,
    pub granted_at: String,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleBindingInput {
    pub principal: String,
    /// `null` or absent: a platform-level binding, stored in `system`.
    #[serde(default)]
    pub workspace: Option<String>,
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OidcDiscovery {
    pub issuer: String,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub device_authorization_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub client_id: String,
    pub default_scopes: String,
    pub scope_prefix: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthDiscoveryResponse {
    pub auth_enabled: bool,
    pub oidc: Option<OidcDiscovery>,
}

/// Answer of `/apis/auth/authenticate`: who the token says the caller is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthenticateResponse {
    pub principal: String,
    pub email: Option<String>,
    pub groups: Vec<String>,
    pub scopes: Vec<String>,
    pub jti: Option<String>,
    pub token_kind: String,
    #[serde(default)]
    pub on_behalf_of: Option<String>,
    #[serde(default)]
    pub on_behalf_of_email: Option<String>,
    #[serde(default)]
    pub on_behalf_of_groups: Vec<String>,
}

pub mod timestamps {
    //! The two timestamp spellings of the reference: entities use naive ISO-8601 with
    //! microseconds (`2026-11-28T22:38:57.047742`); role bindings and members add `Z`.

    use time::format_description::FormatItem;
    use time::macros::format_description;
    use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

    const NAIVE: &[FormatItem<'static>] =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]");

    /// `2026-11-28T22:38:57.047742` (UTC, no offset), as entity timestamps are written.
    ///
    /// Digits pushed straight into the string: the `time` crate's formatter interprets the format
    /// description on every call, which cost about as much as the rest of a list page's JSON
    /// (`docs/benchmarks.md`). The library still formats the years this fixed shape cannot hold.
    pub fn naive(at: OffsetDateTime) -> String {
        let at = at.to_offset(UtcOffset::UTC);
        let Ok(year) = u32::try_from(at.year()) else { return at.format(NAIVE).unwrap_or_default() };
        if year > 9999 {
            return at.format(NAIVE).unwrap_or_default();
        }
        let mut out = String::with_capacity(27);
        push_digits(&mut out, year, 4);
        out.push('-');
        push_digits(&mut out, u32::from(u8::from(at.month())), 2);
        out.push('-');
        push_digits(&mut out, u32::from(at.day()), 2);
        out.push('T');
        push_digits(&mut out, u32::from(at.hour()), 2);
        out.push(':');
        push_digits(&mut out, u32::from(at.minute()), 2);
        out.push(':');
        push_digits(&mut out, u32::from(at.second()), 2);
        out.push('.');
        push_digits(&mut out, at.microsecond(), 6);
        out
    }

    /// `value` in exactly `width` decimal digits (leading zeros; higher digits dropped).
    fn push_digits(out: &mut String, value: u32, width: u32) {
        for place in (0..width).rev() {
            let digit = (value / 10u32.pow(place)) % 10;
            out.push(char::from(b'0' + digit as u8));
        }
    }

    /// `2026-11-28T22:38:57.047742Z`, as role-binding timestamps are written.
    pub fn utc(at: OffsetDateTime) -> String {
        let mut out = naive(at);
        out.push('Z');
        out
    }

    /// Parse either spelling (or any RFC 3339 timestamp) back, for filters.
    pub fn parse(text: &str) -> Option<OffsetDateTime> {
        if let Ok(at) = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
            return Some(at);
        }
        let trimmed = text.strip_suffix('Z').unwrap_or(text);
        PrimitiveDateTime::parse(trimmed, NAIVE).ok().map(PrimitiveDateTime::assume_utc).or_else(|| {
            let plain = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
            PrimitiveDateTime::parse(trimmed, plain).ok().map(PrimitiveDateTime::assume_utc)
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use time::macros::datetime;

        #[test]
        fn spellings_round_trip() {
            let at = datetime!(2026-11-28 22:38:57.047742 UTC);
            assert_eq!(naive(at), "2026-11-28T22:38:57.047742");
            assert_eq!(utc(at), "2026-11-28T22:38:57.047742Z");
            assert_eq!(parse(&naive(at)), Some(at));
            assert_eq!(parse(&utc(at)), Some(at));
            assert_eq!(parse("2026-11-28T22:38:57+00:00"), Some(datetime!(2026-11-28 22:38:57 UTC)));
        }

        #[test]
        fn fixed_formatter_matches_the_library() {
            let offset = time::UtcOffset::from_hms(5, 30, 0).unwrap();
            for at in [
                datetime!(2026-01-02 03:04:05.000006 UTC),
                datetime!(0001-12-31 23:59:59.999999 UTC),
                datetime!(9999-12-31 23:59:59 UTC),
                datetime!(1970-01-01 00:00:00 UTC),
                datetime!(2024-02-29 12:00:00.5 UTC).to_offset(offset),
                datetime!(-0001-06-15 00:00:00 UTC),
            ] {
                assert_eq!(naive(at), at.to_offset(UtcOffset::UTC).format(NAIVE).unwrap(), "{at}");
            }
        }
    }
}
