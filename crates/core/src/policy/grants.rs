//! Which roles a caller may grant where: unknown roles are refused (a typo must not silently
//! grant nothing), implicit roles are never granted, platform roles live only in `system`.

use super::data::PolicyData;
use super::index::SERVICE_DEFAULT_ROLE;
use crate::SYSTEM_WORKSPACE;

/// Roles that only make sense in `system`.
pub const PLATFORM_ROLES: &[&str] = &["WorkspaceCreator", "PlatformAdmin"];
/// Roles never granted through the API (implicit for `service:` principals).
pub const IMPLICIT_ROLES: &[&str] = &[SERVICE_DEFAULT_ROLE];

/// Why a role cannot be granted in a workspace. Messages are the API's `detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("Unknown role '{role}'. Valid roles: {}", valid.join(", "))]
    UnknownRole { role: String, valid: Vec<String> },
    #[error("Role '{role}' can only be granted in the 'system' workspace")]
    PlatformOnly { role: String },
}

impl GrantError {
    /// The variant name, stable for logs and fixtures.
    pub fn kind(&self) -> &'static str {
        match self {
            GrantError::UnknownRole { .. } => "UnknownRole",
            GrantError::PlatformOnly { .. } => "PlatformOnly",
        }
    }
}

impl PolicyData {
    /// Roles that may appear in a grant, in declaration order.
    pub fn grantable_roles(&self) -> Vec<&str> {
        self.role_names().into_iter().filter(|role| !IMPLICIT_ROLES.contains(role)).collect()
    }

    /// Whether `role` may be granted in `workspace`.
    pub fn check_grantable(&self, workspace: &str, role: &str) -> Result<(), GrantError> {
        let grantable = self.grantable_roles();
        if !grantable.contains(&role) {
            return Err(GrantError::UnknownRole {
                role: role.to_string(),
                valid: grantable.into_iter().map(str::to_string).collect(),
            });
        }
        if PLATFORM_ROLES.contains(&role) && workspace != SYSTEM_WORKSPACE {
            return Err(GrantError::PlatformOnly { role: role.to_string() });
        }
        Ok(())
    }
}
