//! `BindingIndex`: the active role bindings in memory, indexed both ways
//! (`identity -> workspace -> roles` and `workspace -> identities`), so a decision or a
//! workspace listing never scans all bindings or all workspaces.
//!
//! The server holds one behind a lock and updates it in the same step as the store write, which
//! is what makes a role change effective on the very next request (ADR 0017).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::{Principal, SYSTEM_WORKSPACE, WILDCARD_PRINCIPAL};

/// Role that bypasses workspace checks and scopes when bound in `system`.
pub const PLATFORM_ADMIN_ROLE: &str = "PlatformAdmin";
/// Implicit role of a `service:` principal that has no binding of its own.
pub const SERVICE_DEFAULT_ROLE: &str = "ServiceSystem";

/// Active bindings only; revoked bindings are simply absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BindingIndex {
    by_identity: HashMap<String, BTreeMap<String, BTreeSet<String>>>,
    by_workspace: HashMap<String, BTreeSet<String>>,
}

/// Which workspaces a principal may see in listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    All,
    Only(BTreeSet<String>),
}

impl Visibility {
    pub fn contains(&self, workspace: &str) -> bool {
        match self {
            Visibility::All => true,
            Visibility::Only(set) => set.contains(workspace),
        }
    }
}

impl BindingIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Index of `(principal, workspace, role)` triples (active bindings only).
    pub fn from_bindings<I, P, W, R>(bindings: I) -> Self
    where
        I: IntoIterator<Item = (P, W, R)>,
        P: Into<String>,
        W: Into<String>,
        R: Into<String>,
    {
        let mut index = Self::new();
        for (principal, workspace, role) in bindings {
            index.grant(principal, workspace, role);
        }
        index
    }

    /// Index of the active bindings among stored ones.
    pub fn from_role_bindings<'a>(bindings: impl IntoIterator<Item = &'a crate::RoleBinding>) -> Self {
        Self::from_bindings(
            bindings
                .into_iter()
                .filter(|binding| binding.is_active())
                .map(|b| (b.principal.as_str(), b.workspace.as_str(), b.role.as_str())),
        )
    }

    /// Record an active binding. Returns false when it was already there.
    pub fn grant(
        &mut self,
        principal: impl Into<String>,
        workspace: impl Into<String>,
        role: impl Into<String>,
    ) -> bool {
        let (principal, workspace) = (principal.into(), workspace.into());
        self.by_workspace.entry(workspace.clone()).or_default().insert(principal.clone());
        self.by_identity.entry(principal).or_default().entry(workspace).or_default().insert(role.into())
    }

    /// Forget a binding. Returns false when it was not there.
    pub fn revoke(&mut self, principal: &str, workspace: &str, role: &str) -> bool {
        let Some(workspaces) = self.by_identity.get_mut(principal) else { return false };
        let Some(roles) = workspaces.get_mut(workspace) else { return false };
        let removed = roles.remove(role);
        if roles.is_empty() {
            workspaces.remove(workspace);
            if let Some(identities) = self.by_workspace.get_mut(workspace) {
                identities.remove(principal);
                if identities.is_empty() {
                    self.by_workspace.remove(workspace);
                }
            }
        }
        if workspaces.is_empty() {
            self.by_identity.remove(principal);
        }
        removed
    }

    /// Forget every binding in `workspace` (workspace deleted). Returns how many were removed.
    pub fn remove_workspace(&mut self, workspace: &str) -> usize {
        let Some(identities) = self.by_workspace.remove(workspace) else { return 0 };
        let mut removed = 0;
        for identity in identities {
            if let Some(workspaces) = self.by_identity.get_mut(&identity) {
                removed += workspaces.remove(workspace).map_or(0, |roles| roles.len());
                if workspaces.is_empty() {
                    self.by_identity.remove(&identity);
                }
            }
        }
        removed
    }

    /// Roles bound to exactly this identity string in `workspace`.
    pub fn roles_of(&self, identity: &str, workspace: &str) -> Option<&BTreeSet<String>> {
        self.by_identity.get(identity)?.get(workspace)
    }

    /// Whether this identity string has any active binding anywhere.
    pub fn has_any_binding(&self, identity: &str) -> bool {
        self.by_identity.contains_key(identity)
    }

    /// Identities (ids, emails, groups, `*`) with an active binding in `workspace`.
    pub fn identities_in(&self, workspace: &str) -> impl Iterator<Item = &str> {
        self.by_workspace.get(workspace).into_iter().flatten().map(String::as_str)
    }

    /// Every `identity -> workspace -> roles` entry, for the policy bundle.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &BTreeMap<String, BTreeSet<String>>)> {
        self.by_identity.iter().map(|(identity, workspaces)| (identity.as_str(), workspaces))
    }

    /// Number of active bindings.
    pub fn len(&self) -> usize {
        self.by_identity.values().flat_map(BTreeMap::values).map(BTreeSet::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_identity.is_empty()
    }

    /// The roles `principal` holds in `workspace`: the union over its identities (id, email,
    /// groups) and `*`, plus `ServiceSystem` for a `service:` principal without bindings of its
    /// own. Anonymous principals (no identity) hold nothing, not even `*` roles.
    pub fn effective_roles(&self, principal: &Principal, workspace: &str) -> BTreeSet<String> {
        let identities = principal.identities();
        let mut roles = BTreeSet::new();
        if identities.is_empty() {
            return roles;
        }
        for identity in identities.into_iter().chain([WILDCARD_PRINCIPAL]) {
            if let Some(bound) = self.roles_of(identity, workspace) {
                roles.extend(bound.iter().cloned());
            }
        }
        if principal.is_service() && !self.has_any_binding(&principal.id) {
            roles.insert(SERVICE_DEFAULT_ROLE.to_string());
        }
        roles
    }

    /// `PlatformAdmin` among the principal's effective roles in `system`.
    pub fn is_platform_admin(&self, principal: &Principal) -> bool {
        self.effective_roles(principal, SYSTEM_WORKSPACE).contains(PLATFORM_ADMIN_ROLE)
    }

    /// Workspaces `principal` may see in listings: all of them for a PlatformAdmin or for a
    /// service acting on its own; otherwise those where one of its identities or `*` holds any
    /// active binding. A service acting on behalf of a user sees what that user sees.
    pub fn visible_workspaces(&self, principal: &Principal) -> Visibility {
        if principal.is_service() && principal.on_behalf_of.is_none() {
            return Visibility::All;
        }
        let principal = principal.effective();
        if self.is_platform_admin(principal) {
            return Visibility::All;
        }
        let identities = principal.identities();
        if identities.is_empty() {
            return Visibility::Only(BTreeSet::new());
        }
        let visible = identities
            .into_iter()
            .chain([WILDCARD_PRINCIPAL])
            .filter_map(|identity| self.by_identity.get(identity))
            .flat_map(BTreeMap::keys)
            .cloned()
            .collect();
        Visibility::Only(visible)
    }
}
