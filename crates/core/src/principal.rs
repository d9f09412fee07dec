//! Who is calling: the principal (id, email, groups), its token scopes and an optional delegation,
//! plus the validation rules for the `X-NMP-Principal-*` headers that carry it.

use std::fmt;

use crate::PrincipalId;

/// Longest accepted principal id or group name (reference: 256).
pub const MAX_ID_LEN: usize = 256;
/// Longest accepted email (reference: 320).
pub const MAX_EMAIL_LEN: usize = 320;
/// Most groups accepted in one header (reference: 100).
pub const MAX_GROUPS: usize = 100;

pub const HEADER_PRINCIPAL_ID: &str = "X-NMP-Principal-Id";
pub const HEADER_PRINCIPAL_EMAIL: &str = "X-NMP-Principal-Email";
pub const HEADER_PRINCIPAL_GROUPS: &str = "X-NMP-Principal-Groups";
pub const HEADER_SCOPES: &str = "X-NMP-Scopes";
pub const HEADER_ON_BEHALF_OF: &str = "X-NMP-Principal-On-Behalf-Of";
pub const HEADER_ON_BEHALF_OF_EMAIL: &str = "X-NMP-Principal-On-Behalf-Of-Email";
pub const HEADER_ON_BEHALF_OF_GROUPS: &str = "X-NMP-Principal-On-Behalf-Of-Groups";

/// Prefix of internal service principals (`service:jobs`), which the policy treats as privileged.
pub const SERVICE_PREFIX: &str = "service:";

/// An authenticated identity. Built by the authenticator (token or trusted headers), never by handlers.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Principal {
    /// Principal id: the token's subject claim, or the trusted `X-NMP-Principal-Id`.
    pub id: PrincipalId,
    pub email: Option<String>,
    pub groups: Vec<String>,
    /// Token scopes after prefix stripping; `None` when the token carried no scope claim.
    pub scopes: Option<Vec<String>>,
    /// The user a service principal acts for, when it says so (ADR 0009).
    pub on_behalf_of: Option<Box<Principal>>,
}

impl fmt::Debug for Principal {
    // Principals are identities, not secrets, but keep the output short and stable for logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("groups", &self.groups)
            .field("scopes", &self.scopes)
            .field("on_behalf_of", &self.on_behalf_of.as_ref().map(|p| &p.id))
            .finish()
    }
}

impl Principal {
    pub fn new(id: impl Into<PrincipalId>) -> Self {
        Principal { id: id.into(), ..Default::default() }
    }

    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    pub fn with_groups<I: IntoIterator<Item = S>, S: Into<String>>(mut self, groups: I) -> Self {
        self.groups = groups.into_iter().map(Into::into).collect();
        self
    }

    pub fn with_scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Internal service principals (`service:<name>`).
    pub fn is_service(&self) -> bool {
        self.id.starts_with(SERVICE_PREFIX)
    }

    /// The identity whose access counts: the delegated user for a service acting on behalf of one.
    pub fn effective(&self) -> &Principal {
        match &self.on_behalf_of {
            Some(user) if self.is_service() => user,
            _ => self,
        }
    }

    /// Whether any identity (id, email or group) is non-empty: `!identities().is_empty()`
    /// without allocating.
    pub fn is_identified(&self) -> bool {
        !self.id.is_empty()
            || self.email.as_deref().is_some_and(|email| !email.is_empty())
            || self.groups.iter().any(|group| !group.is_empty())
    }

    /// Every string a role binding may name to match this principal: id, email and groups,
    /// without empty strings and without duplicates, in that order.
    pub fn identities(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::with_capacity(2 + self.groups.len());
        let candidates = std::iter::once(self.id.as_str())
            .chain(self.email.as_deref())
            .chain(self.groups.iter().map(String::as_str));
        for identity in candidates {
            if !identity.is_empty() && !out.contains(&identity) {
                out.push(identity);
            }
        }
        out
    }

    /// The name recorded as `created_by` / `granted_by`: the principal id.
    pub fn actor(&self) -> &str {
        &self.id
    }
}

/// A malformed `X-NMP-*` header. The message is the reference's and names the header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PrincipalHeaderError(pub String);

fn allowed_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '-' | '_' | ':' | '+' | '/')
}

/// Validate a principal id (or group) as carried in a header.
pub fn validate_id(header: &str, value: &str) -> Result<String, PrincipalHeaderError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(PrincipalHeaderError(format!("{header} must not be empty")));
    }
    if value.chars().count() > MAX_ID_LEN {
        return Err(PrincipalHeaderError(format!(
            "{header} exceeds maximum length of {MAX_ID_LEN} characters"
        )));
    }
    if !value.chars().all(allowed_id_char) {
        return Err(PrincipalHeaderError(format!(
            "{header} contains invalid characters; allowed: alphanumeric, @, ., -, _, :, +, /"
        )));
    }
    Ok(value.to_string())
}

/// Validate an email header value. Trimmed; empty means absent.
pub fn validate_email(header: &str, value: &str) -> Result<Option<String>, PrincipalHeaderError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > MAX_EMAIL_LEN {
        return Err(PrincipalHeaderError(format!(
            "{header} exceeds maximum length of {MAX_EMAIL_LEN} characters"
        )));
    }
    let looks_like_email = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if !looks_like_email {
        return Err(PrincipalHeaderError(format!("{header} is not a valid email address")));
    }
    Ok(Some(value.to_string()))
}

/// Validate a comma-separated group list: split, trimmed, empties dropped.
pub fn validate_groups(header: &str, value: &str) -> Result<Vec<String>, PrincipalHeaderError> {
    let groups: Vec<&str> = value.split(',').map(str::trim).filter(|g| !g.is_empty()).collect();
    if groups.len() > MAX_GROUPS {
        return Err(PrincipalHeaderError(format!("{header} exceeds maximum of {MAX_GROUPS} groups")));
    }
    groups.into_iter().map(|g| validate_id(header, g)).collect()
}

/// Split an `X-NMP-Scopes` value on whitespace.
pub fn parse_scopes(value: &str) -> Vec<String> {
    value.split_whitespace().map(str::to_string).collect()
}

/// The raw `X-NMP-*` header values of one request, as the HTTP layer found them.
#[derive(Debug, Default, Clone, Copy)]
pub struct PrincipalHeaders<'a> {
    pub id: Option<&'a str>,
    pub email: Option<&'a str>,
    pub groups: Option<&'a str>,
    pub scopes: Option<&'a str>,
    pub on_behalf_of: Option<&'a str>,
    pub on_behalf_of_email: Option<&'a str>,
    pub on_behalf_of_groups: Option<&'a str>,
}

impl PrincipalHeaders<'_> {
    /// True when any identity-bearing header is present.
    pub fn any_present(&self) -> bool {
        self.id.is_some()
            || self.email.is_some()
            || self.groups.is_some()
            || self.scopes.is_some()
            || self.on_behalf_of.is_some()
            || self.on_behalf_of_email.is_some()
            || self.on_behalf_of_groups.is_some()
    }

    /// Parse and validate. `Ok(None)` when no principal id was sent.
    /// Email and groups without an id are validated too, so a malformed header is never ignored.
    pub fn parse(&self) -> Result<Option<Principal>, PrincipalHeaderError> {
        let email = self.email.map(|v| validate_email(HEADER_PRINCIPAL_EMAIL, v)).transpose()?.flatten();
        let groups = self.groups.map(|v| validate_groups(HEADER_PRINCIPAL_GROUPS, v)).transpose()?;
        let scopes = self.scopes.map(parse_scopes);
        let on_behalf_of = match self.on_behalf_of {
            Some(id) => {
                let id = validate_id(HEADER_ON_BEHALF_OF, id)?;
                let email = self
                    .on_behalf_of_email
                    .map(|v| validate_email(HEADER_ON_BEHALF_OF_EMAIL, v))
                    .transpose()?
                    .flatten();
                let groups = self
                    .on_behalf_of_groups
                    .map(|v| validate_groups(HEADER_ON_BEHALF_OF_GROUPS, v))
                    .transpose()?
                    .unwrap_or_default();
                Some(Box::new(Principal { id: id.into(), email, groups, scopes: None, on_behalf_of: None }))
            }
            None => None,
        };
        let Some(id) = self.id else { return Ok(None) };
        let id = validate_id(HEADER_PRINCIPAL_ID, id)?;
        Ok(Some(Principal { id: id.into(), email, groups: groups.unwrap_or_default(), scopes, on_behalf_of }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_deduplicated_and_skip_empty() {
        let p = Principal::new("alice@example.com")
            .with_email("alice@example.com")
            .with_groups(["team-a", "", "team-a"]);
        assert_eq!(p.identities(), vec!["alice@example.com", "team-a"]);
    }

    #[test]
    fn header_validation_messages_match_reference() {
        let err = validate_id(HEADER_PRINCIPAL_ID, "bad id!").unwrap_err();
        assert_eq!(
            err.0,
            "X-NMP-Principal-Id contains invalid characters; allowed: alphanumeric, @, ., -, _, :, +, /"
        );
        let long = "a".repeat(257);
        assert_eq!(
            validate_id(HEADER_PRINCIPAL_ID, &long).unwrap_err().0,
            "X-NMP-Principal-Id exceeds maximum length of 256 characters"
        );
        assert_eq!(
            validate_email(HEADER_PRINCIPAL_EMAIL, "not-an-email").unwrap_err().0,
            "X-NMP-Principal-Email is not a valid email address"
        );
        let many = (0..101).map(|i| format!("g{i}")).collect::<Vec<_>>().join(",");
        assert_eq!(
            validate_groups(HEADER_PRINCIPAL_GROUPS, &many).unwrap_err().0,
            "X-NMP-Principal-Groups exceeds maximum of 100 groups"
        );
    }

    #[test]
    fn groups_are_split_trimmed_and_empties_dropped() {
        assert_eq!(validate_groups(HEADER_PRINCIPAL_GROUPS, " a, b ,,c ").unwrap(), vec!["a", "b", "c"]);
    }

    #[test]
    fn empty_email_is_absent() {
        assert_eq!(validate_email(HEADER_PRINCIPAL_EMAIL, "  ").unwrap(), None);
    }

    #[test]
    fn effective_identity_is_delegated_user_only_for_services() {
        let user = Principal::new("bob");
        let mut service = Principal::new("service:jobs");
        service.on_behalf_of = Some(Box::new(user.clone()));
        assert_eq!(service.effective().id, "bob");
        let mut not_service = Principal::new("mallory");
        not_service.on_behalf_of = Some(Box::new(user));
        assert_eq!(not_service.effective().id, "mallory");
    }
}
