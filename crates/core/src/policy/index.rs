//! `BindingIndex`: the active role bindings in memory, indexed both ways
//! (`identity -> (workspace, role)` and `workspace -> identities`), so a decision or a
//! workspace listing never scans all bindings or all workspaces.
//!
//! Compact: identities, workspaces and roles are interned (`interner.rs`), so a binding costs
//! 12 bytes (a `(workspace, role)` pair of ids in its identity's sorted list, an identity id in
//! its workspace's sorted list) and a lookup hashes each name once and binary-searches, with no
//! allocation. Start-up feeds it in bulk through [`BindingIndexBuilder`], which sorts once.
//!
//! The server holds one behind a lock and updates it in the same step as the store write, which
//! is what makes a role change effective on the very next request (ADR 0017).

use std::collections::{BTreeMap, BTreeSet};

use super::interner::Interner;
use crate::{BindingRef, Principal, SYSTEM_WORKSPACE, WILDCARD_PRINCIPAL};

/// Role that bypasses workspace checks and scopes when bound in `system`.
pub const PLATFORM_ADMIN_ROLE: &str = "PlatformAdmin";
/// Implicit role of a `service:` principal that has no binding of its own.
pub const SERVICE_DEFAULT_ROLE: &str = "ServiceSystem";

/// Active bindings only; revoked bindings are simply absent.
#[derive(Clone, Default)]
pub struct BindingIndex {
    identities: Interner,
    workspaces: Interner,
    roles: Interner,
    /// Per identity id: its `(workspace id, role id)` pairs, sorted, no duplicates.
    by_identity: Vec<Vec<(u32, u32)>>,
    /// Per workspace id: the ids of identities with a binding there, sorted, no duplicates.
    by_workspace: Vec<Vec<u32>>,
    len: usize,
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

const INLINE_IDS: usize = 8;

/// A principal with its identities looked up in one [`BindingIndex`] ([`BindingIndex::resolve`]).
/// Valid only against that index, while it is unchanged (the caller holds its read lock).
#[derive(Debug)]
pub struct Resolved<'p> {
    principal: &'p Principal,
    inline: [u32; INLINE_IDS],
    len: usize,
    /// Identities past the eighth (a principal in many groups).
    more: Vec<u32>,
    /// Whether the principal's own id has a binding (a service without one holds `ServiceSystem`).
    has_own_binding: bool,
}

impl<'p> Resolved<'p> {
    pub fn principal(&self) -> &'p Principal {
        self.principal
    }

    fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.inline[..self.len].iter().chain(&self.more).copied()
    }
}

/// Builds an index from many bindings at once (start-up, reload): appends, then sorts each
/// list once, instead of keeping every list sorted on every insert.
#[derive(Default)]
pub struct BindingIndexBuilder {
    index: BindingIndex,
    /// The previous binding's principal and role, with their ids: stores give their rows grouped
    /// by principal (and there are few roles), so most rows skip those two lookups.
    last_principal: Option<(String, u32)>,
    last_role: Option<(String, u32)>,
}

/// The id of `name`: `last`'s when the same as the previous call's, else interned (and remembered).
fn intern_cached(interner: &mut Interner, last: &mut Option<(String, u32)>, name: &str) -> u32 {
    match last {
        Some((previous, id)) if previous == name => *id,
        _ => {
            let id = interner.intern(name);
            match last {
                Some((previous, last_id)) => {
                    previous.clear();
                    previous.push_str(name);
                    *last_id = id;
                }
                None => *last = Some((name.to_string(), id)),
            }
            id
        }
    }
}

impl BindingIndexBuilder {
    /// Add one active binding (duplicates are dropped by `finish`).
    pub fn add(&mut self, binding: BindingRef<'_>) {
        let BindingRef { principal, workspace, role } = binding;
        let index = &mut self.index;
        let identity = intern_cached(&mut index.identities, &mut self.last_principal, principal);
        let role = intern_cached(&mut index.roles, &mut self.last_role, role);
        let workspace = index.workspaces.intern(workspace);
        grow(&mut index.by_identity, identity)[identity as usize].push((workspace, role));
        grow(&mut index.by_workspace, workspace)[workspace as usize].push(identity);
    }

    pub fn finish(self) -> BindingIndex {
        let mut index = self.index;
        let mut len = 0;
        for list in &mut index.by_identity {
            list.sort_unstable();
            list.dedup();
            list.shrink_to_fit();
            len += list.len();
        }
        for list in &mut index.by_workspace {
            list.sort_unstable();
            list.dedup();
            list.shrink_to_fit();
        }
        index.by_identity.shrink_to_fit();
        index.by_workspace.shrink_to_fit();
        index.identities.shrink_to_fit();
        index.workspaces.shrink_to_fit();
        index.len = len;
        index
    }
}

/// `lists`, long enough to hold index `id`.
fn grow<T>(lists: &mut Vec<Vec<T>>, id: u32) -> &mut Vec<Vec<T>> {
    if lists.len() <= id as usize {
        lists.resize_with(id as usize + 1, Vec::new);
    }
    lists
}

/// The names a principal's bindings may be recorded under (id, email, groups), without
/// allocating; empty names skipped. Duplicates do no harm to the unions computed from it.
fn names_of(principal: &Principal) -> impl Iterator<Item = &str> {
    std::iter::once(principal.id.as_str())
        .chain(principal.email.as_deref())
        .chain(principal.groups.iter().map(String::as_str))
        .filter(|name| !name.is_empty())
}

impl BindingIndex {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn builder() -> BindingIndexBuilder {
        BindingIndexBuilder::default()
    }

    /// Index of `(principal, workspace, role)` triples (active bindings only).
    pub fn from_bindings<I, P, W, R>(bindings: I) -> Self
    where
        I: IntoIterator<Item = (P, W, R)>,
        P: AsRef<str>,
        W: AsRef<str>,
        R: AsRef<str>,
    {
        let mut builder = Self::builder();
        for (principal, workspace, role) in bindings {
            builder.add(BindingRef {
                principal: principal.as_ref(),
                workspace: workspace.as_ref(),
                role: role.as_ref(),
            });
        }
        builder.finish()
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
    pub fn grant(&mut self, binding: BindingRef<'_>) -> bool {
        let identity = self.identities.intern(binding.principal);
        let workspace = self.workspaces.intern(binding.workspace);
        let role = self.roles.intern(binding.role);
        let pairs = &mut grow(&mut self.by_identity, identity)[identity as usize];
        let Err(at) = pairs.binary_search(&(workspace, role)) else { return false };
        pairs.insert(at, (workspace, role));
        let members = &mut grow(&mut self.by_workspace, workspace)[workspace as usize];
        if let Err(at) = members.binary_search(&identity) {
            members.insert(at, identity);
        }
        self.len += 1;
        true
    }

    /// Forget a binding. Returns false when it was not there.
    pub fn revoke(&mut self, binding: BindingRef<'_>) -> bool {
        let (Some(identity), Some(workspace), Some(role)) = (
            self.identities.get(binding.principal),
            self.workspaces.get(binding.workspace),
            self.roles.get(binding.role),
        ) else {
            return false;
        };
        let pairs = &mut self.by_identity[identity as usize];
        let Ok(at) = pairs.binary_search(&(workspace, role)) else { return false };
        pairs.remove(at);
        self.len -= 1;
        if self.pairs_in(identity, workspace).is_empty() {
            let members = &mut self.by_workspace[workspace as usize];
            if let Ok(at) = members.binary_search(&identity) {
                members.remove(at);
            }
            if members.is_empty() {
                self.forget_workspace(workspace);
            }
        }
        if self.by_identity[identity as usize].is_empty() {
            self.forget_identity(identity);
        }
        true
    }

    /// Forget every binding in `workspace` (workspace deleted). Returns how many were removed.
    pub fn remove_workspace(&mut self, workspace: &str) -> usize {
        let Some(workspace) = self.workspaces.get(workspace) else { return 0 };
        let members = std::mem::take(&mut self.by_workspace[workspace as usize]);
        let mut removed = 0;
        for identity in members {
            let pairs = &mut self.by_identity[identity as usize];
            let before = pairs.len();
            pairs.retain(|&(bound, _)| bound != workspace);
            removed += before - pairs.len();
            if pairs.is_empty() {
                self.forget_identity(identity);
            }
        }
        self.forget_workspace(workspace);
        self.len -= removed;
        removed
    }

    fn forget_identity(&mut self, identity: u32) {
        self.by_identity[identity as usize] = Vec::new();
        self.identities.release(identity);
    }

    fn forget_workspace(&mut self, workspace: u32) {
        self.by_workspace[workspace as usize] = Vec::new();
        self.workspaces.release(workspace);
    }

    /// The `(workspace, role)` pairs of `identity` in `workspace` (ids).
    fn pairs_in(&self, identity: u32, workspace: u32) -> &[(u32, u32)] {
        let Some(pairs) = self.by_identity.get(identity as usize) else { return &[] };
        let start = pairs.partition_point(|&(bound, _)| bound < workspace);
        let end = start + pairs[start..].partition_point(|&(bound, _)| bound == workspace);
        &pairs[start..end]
    }

    /// The roles bound to exactly the identity string `identity` in `workspace`. Allocation-free.
    pub fn roles_of<'a>(&'a self, identity: &str, workspace: &str) -> impl Iterator<Item = &'a str> + 'a {
        let pairs = match (self.identities.get(identity), self.workspaces.get(workspace)) {
            (Some(identity), Some(workspace)) => self.pairs_in(identity, workspace),
            _ => &[],
        };
        pairs.iter().map(|&(_, role)| self.roles.name(role))
    }

    /// Whether this identity string has any active binding anywhere.
    pub fn has_any_binding(&self, identity: &str) -> bool {
        self.identities.get(identity).is_some_and(|id| !self.by_identity[id as usize].is_empty())
    }

    /// Identities (ids, emails, groups, `*`) with an active binding in `workspace`.
    pub fn identities_in<'a>(&'a self, workspace: &str) -> impl Iterator<Item = &'a str> + 'a {
        let members = match self.workspaces.get(workspace) {
            Some(workspace) => self.by_workspace[workspace as usize].as_slice(),
            None => &[],
        };
        members.iter().map(|&identity| self.identities.name(identity))
    }

    /// Every `identity -> workspace -> roles` entry, for the policy bundle (not a hot path: it
    /// builds the maps).
    pub fn entries(&self) -> impl Iterator<Item = (&str, BTreeMap<&str, BTreeSet<&str>>)> {
        self.by_identity.iter().enumerate().filter(|(_, pairs)| !pairs.is_empty()).map(|(identity, pairs)| {
            let mut workspaces: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for &(workspace, role) in pairs {
                workspaces.entry(self.workspaces.name(workspace)).or_default().insert(self.roles.name(role));
            }
            (self.identities.name(identity as u32), workspaces)
        })
    }

    /// Number of active bindings.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The principal's identities (id, email, groups, then `*`) as index ids, looked up once so
    /// that the several role lookups of one decision hash no name twice. Identities without any
    /// binding are left out. Allocation-free for up to eight identities.
    pub fn resolve<'p>(&self, principal: &'p Principal) -> Resolved<'p> {
        let mut resolved =
            Resolved { principal, inline: [0; INLINE_IDS], len: 0, more: Vec::new(), has_own_binding: false };
        if !principal.is_identified() {
            return resolved;
        }
        for name in names_of(principal).chain([WILDCARD_PRINCIPAL]) {
            let Some(identity) = self.identities.get(name) else { continue };
            if name == principal.id.as_str() {
                resolved.has_own_binding = !self.by_identity[identity as usize].is_empty();
            }
            if resolved.len < INLINE_IDS {
                resolved.inline[resolved.len] = identity;
                resolved.len += 1;
            } else {
                resolved.more.push(identity);
            }
        }
        resolved
    }

    /// Calls `visit` with each of the principal's roles in `workspace` (the union over its
    /// identities and `*`, plus `ServiceSystem` for a `service:` principal without bindings of its
    /// own; a role may come more than once) until it returns true; returns whether it did.
    /// Allocation-free for up to eight identities ([`resolve`](Self::resolve)). Anonymous
    /// principals (no identity) hold nothing, not even `*` roles.
    pub fn any_effective_role<'a>(
        &'a self,
        principal: &Principal,
        workspace: &str,
        visit: impl FnMut(&'a str) -> bool,
    ) -> bool {
        self.any_resolved_role(&self.resolve(principal), workspace, visit)
    }

    /// [`any_effective_role`](Self::any_effective_role) for a principal already resolved by
    /// [`resolve`](Self::resolve) against this index.
    pub fn any_resolved_role<'a>(
        &'a self,
        who: &Resolved<'_>,
        workspace: &str,
        mut visit: impl FnMut(&'a str) -> bool,
    ) -> bool {
        let principal = who.principal;
        if !principal.is_identified() {
            return false;
        }
        if let Some(workspace) = self.workspaces.get(workspace) {
            for identity in who.ids() {
                if self.pairs_in(identity, workspace).iter().any(|&(_, role)| visit(self.roles.name(role))) {
                    return true;
                }
            }
        }
        principal.is_service() && !who.has_own_binding && visit(SERVICE_DEFAULT_ROLE)
    }

    /// `PlatformAdmin` among the resolved principal's effective roles in `system`.
    pub fn is_resolved_platform_admin(&self, who: &Resolved<'_>) -> bool {
        self.any_resolved_role(who, SYSTEM_WORKSPACE, |held| held == PLATFORM_ADMIN_ROLE)
    }

    /// Whether `role` is among the principal's effective roles in `workspace` (allocation-free as
    /// [`any_effective_role`](Self::any_effective_role)).
    pub fn holds_role(&self, principal: &Principal, workspace: &str, role: &str) -> bool {
        self.any_effective_role(principal, workspace, |held| held == role)
    }

    /// The roles `principal` holds in `workspace`: the union over its identities (id, email,
    /// groups) and `*`, plus `ServiceSystem` for a `service:` principal without bindings of its
    /// own. Anonymous principals (no identity) hold nothing, not even `*` roles.
    pub fn effective_roles(&self, principal: &Principal, workspace: &str) -> BTreeSet<String> {
        let mut roles = BTreeSet::new();
        self.any_effective_role(principal, workspace, |role| {
            if !roles.contains(role) {
                roles.insert(role.to_string());
            }
            false
        });
        roles
    }

    /// `PlatformAdmin` among the principal's effective roles in `system`.
    pub fn is_platform_admin(&self, principal: &Principal) -> bool {
        self.holds_role(principal, SYSTEM_WORKSPACE, PLATFORM_ADMIN_ROLE)
    }

    /// Workspaces `principal` may see in listings: all of them for a PlatformAdmin or for a
    /// service acting on its own; otherwise those where one of its identities or `*` holds any
    /// active binding. A service acting on behalf of a user sees what that user sees.
    pub fn visible_workspaces(&self, principal: &Principal) -> Visibility {
        if principal.is_service() && principal.on_behalf_of.is_none() {
            return Visibility::All;
        }
        let who = self.resolve(principal.effective());
        if self.is_resolved_platform_admin(&who) {
            return Visibility::All;
        }
        let mut visible = BTreeSet::new();
        for identity in who.ids() {
            let mut last = None;
            for &(workspace, _) in &self.by_identity[identity as usize] {
                if last != Some(workspace) {
                    last = Some(workspace);
                    let name = self.workspaces.name(workspace);
                    if !visible.contains(name) {
                        visible.insert(name.to_string());
                    }
                }
            }
        }
        Visibility::Only(visible)
    }

    /// Every active binding as name triples, sorted (equality, tests).
    fn triples(&self) -> BTreeSet<(&str, &str, &str)> {
        self.by_identity
            .iter()
            .enumerate()
            .flat_map(|(identity, pairs)| {
                pairs.iter().map(move |&(workspace, role)| {
                    (
                        self.identities.name(identity as u32),
                        self.workspaces.name(workspace),
                        self.roles.name(role),
                    )
                })
            })
            .collect()
    }
}

/// Two indexes are equal when they hold the same bindings, whatever ids they gave the names.
impl PartialEq for BindingIndex {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.triples() == other.triples()
    }
}

impl Eq for BindingIndex {}

impl std::fmt::Debug for BindingIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Small indexes (tests) in full; a production one would be megabytes of output.
        if self.len <= 64 {
            f.debug_struct("BindingIndex").field("bindings", &self.triples()).finish()
        } else {
            f.debug_struct("BindingIndex").field("len", &self.len).finish_non_exhaustive()
        }
    }
}
