//! Role bindings: a principal holding a role in a workspace, and how their names are derived.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::{PrincipalId, RoleName, WorkspaceName};

/// One grant of `role` to `principal` in `workspace`. Revocation is a soft delete (`revoked_at`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleBinding {
    pub id: String,
    pub name: String,
    /// An id, an email, a group name or `*`.
    pub principal: PrincipalId,
    pub workspace: WorkspaceName,
    pub role: RoleName,
    pub granted_by: String,
    pub granted_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

impl RoleBinding {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }

    /// The binding's principal, workspace and role, borrowed.
    pub fn key(&self) -> BindingRef<'_> {
        BindingRef { principal: &self.principal, workspace: &self.workspace, role: &self.role }
    }
}

/// One binding's principal, workspace and role, borrowed: how the in-memory index is fed (a
/// store streams its rows as these at start, without copying them into owned names). Named
/// fields, so a workspace cannot silently take a principal's place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindingRef<'a> {
    /// An id, an email, a group name or `*`.
    pub principal: &'a str,
    pub workspace: &'a str,
    pub role: &'a str,
}

/// Name of a binding made through the API: `rb-` + the first 24 hex digits of
/// sha256(`<principal>:<workspace>:<role>`), as the reference derives it.
pub fn binding_name_for_api(principal: &str, workspace: &str, role: &str) -> String {
    let digest = Sha256::digest(format!("{principal}:{workspace}:{role}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("rb-{}", &hex[..24])
}

/// Name of a binding made by seeding: `<principal>-<workspace>-<role>`, lowercased, with `@` and
/// `.` replaced by `-` and `*` spelled `wildcard`, as the reference derives it.
pub fn binding_name_for_seed(principal: &str, workspace: &str, role: &str) -> String {
    let principal = if principal == crate::WILDCARD_PRINCIPAL {
        "wildcard".to_string()
    } else {
        principal.replace(['@', '.'], "-")
    };
    format!("{principal}-{workspace}-{role}").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_names_match_reference() {
        assert_eq!(
            binding_name_for_seed("admin@example.com", "system", "PlatformAdmin"),
            "admin-example-com-system-platformadmin"
        );
        assert_eq!(binding_name_for_seed("*", "default", "Editor"), "wildcard-default-editor");
    }

    #[test]
    fn api_names_are_stable_and_short() {
        let a = binding_name_for_api("bob@example.com", "ws1", "Viewer");
        assert_eq!(a, binding_name_for_api("bob@example.com", "ws1", "Viewer"));
        assert_ne!(a, binding_name_for_api("bob@example.com", "ws1", "Editor"));
        assert!(a.starts_with("rb-") && a.len() == 27);
    }
}
