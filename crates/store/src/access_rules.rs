//! The rules of access writes, written once for both backends: granting (insert, re-activate or
//! report the active binding), revoking, the seed bindings, member changes and the last-Admin
//! rule. A backend supplies the few statements they need through [`AccessTx`], implemented over
//! its own transaction type; the rules run inside that one transaction, so a refusal (the last
//! Admin, a missing workspace) leaves nothing written. Each rule that changes access records its
//! audit event through the same transaction, so the change and its event commit together.
//!
//! The last-Admin count is exact because each backend serializes access writes: SQLite with one
//! `BEGIN IMMEDIATE` writer, PostgreSQL with the revision row every access write locks first.

use time::OffsetDateTime;

use crate::audit::{grant_event, member_event, revoke_event};
use crate::error::workspace_not_found;
use crate::{
    AuditContext, Grant, MemberChange, MemberRoles, NewAuditEvent, RoleBinding, SeedOutcome, StoreError,
    StoreResult,
};

/// The role whose last holder in a workspace may not be removed.
const ADMIN: &str = "Admin";

/// The statements the access rules need, inside one open write transaction.
pub(crate) trait AccessTx {
    /// Whether the workspace exists.
    fn workspace_exists(&mut self, workspace: &str) -> StoreResult<bool>;
    /// The binding (active or revoked) of `principal` to `role` in `workspace`.
    fn find_binding(
        &mut self,
        principal: &str,
        workspace: &str,
        role: &str,
    ) -> StoreResult<Option<RoleBinding>>;
    /// The binding (active or revoked) called `name`.
    fn find_binding_named(&mut self, name: &str) -> StoreResult<Option<RoleBinding>>;
    /// Insert a new active binding; a unique-key clash is reported as
    /// [`StoreError::Conflict`] naming the binding.
    fn insert_binding(&mut self, binding: &RoleBinding) -> StoreResult<()>;
    /// Make the revoked binding `id` active again, granted at `at` by `granted_by`.
    fn reactivate_binding(&mut self, id: &str, at: OffsetDateTime, granted_by: &str) -> StoreResult<()>;
    /// Mark the binding `id` revoked at `at`.
    fn mark_revoked(&mut self, id: &str, at: OffsetDateTime) -> StoreResult<()>;
    /// The active bindings of `principal` in `workspace`, oldest first.
    fn active_of(&mut self, workspace: &str, principal: &str) -> StoreResult<Vec<RoleBinding>>;
    /// How many principals other than `principal` hold an active Admin binding in `workspace`.
    fn other_active_admins(&mut self, workspace: &str, principal: &str) -> StoreResult<i64>;
    /// Append an audit event (the backend's `audit::record`) to this same transaction.
    fn record_audit(&mut self, event: &NewAuditEvent) -> StoreResult<()>;
}

/// What [`grant`] did.
pub(crate) enum Granted {
    Created(RoleBinding),
    Reactivated(RoleBinding),
    AlreadyActive(RoleBinding),
}

impl Granted {
    /// The binding, when this grant changed something.
    fn changed(self) -> Option<RoleBinding> {
        match self {
            Granted::Created(binding) | Granted::Reactivated(binding) => Some(binding),
            Granted::AlreadyActive(_) => None,
        }
    }
}

fn require_workspace(tx: &mut impl AccessTx, workspace: &str) -> StoreResult<()> {
    if tx.workspace_exists(workspace)? {
        Ok(())
    } else {
        Err(workspace_not_found(workspace))
    }
}

/// Grant: insert, re-activate a revoked row, or report the active one.
pub(crate) fn grant(tx: &mut impl AccessTx, grant: &Grant) -> StoreResult<Granted> {
    match tx.find_binding(&grant.principal, &grant.workspace, &grant.role)? {
        Some(binding) if binding.is_active() => Ok(Granted::AlreadyActive(binding)),
        Some(mut binding) => {
            tx.reactivate_binding(&binding.id, grant.at, &grant.granted_by)?;
            binding.revoked_at = None;
            binding.granted_at = grant.at;
            binding.granted_by = grant.granted_by.clone();
            Ok(Granted::Reactivated(binding))
        }
        None => {
            let binding = RoleBinding {
                id: crate::new_id("role-binding"),
                name: grant.name.clone(),
                principal: grant.principal.clone(),
                workspace: grant.workspace.clone(),
                role: grant.role.clone(),
                granted_by: grant.granted_by.clone(),
                granted_at: grant.at,
                revoked_at: None,
            };
            tx.insert_binding(&binding)?;
            Ok(Granted::Created(binding))
        }
    }
}

/// [`grant`], recording `binding.granted` when it changed something; the active binding.
pub(crate) fn grant_audited(
    tx: &mut impl AccessTx,
    new: &Grant,
    audit: &AuditContext,
) -> StoreResult<RoleBinding> {
    match grant(tx, new)? {
        Granted::Created(binding) | Granted::Reactivated(binding) => {
            tx.record_audit(&grant_event(audit, &binding))?;
            Ok(binding)
        }
        Granted::AlreadyActive(binding) => Ok(binding),
    }
}

/// Record the member change from `before` to `after`, if it changed anything.
fn record_member(
    tx: &mut impl AccessTx,
    audit: &AuditContext,
    workspace: &str,
    principal: &str,
    before: &[RoleBinding],
    after: &[RoleBinding],
) -> StoreResult<()> {
    match member_event(audit, workspace, principal, before, after) {
        Some(event) => tx.record_audit(&event),
        None => Ok(()),
    }
}

fn revoke(tx: &mut impl AccessTx, binding: &RoleBinding, at: OffsetDateTime) -> StoreResult<RoleBinding> {
    tx.mark_revoked(&binding.id, at)?;
    Ok(RoleBinding { revoked_at: Some(at), ..binding.clone() })
}

/// Refuse when revoking `Admin` from `principal` would leave `workspace` without an active Admin.
fn ensure_not_last_admin(tx: &mut impl AccessTx, workspace: &str, principal: &str) -> StoreResult<()> {
    if tx.other_active_admins(workspace, principal)? == 0 {
        return Err(StoreError::Conflict(format!(
            "Cannot remove Admin role from '{principal}'. This is the last Admin for workspace '{workspace}'. \
             Add another Admin before removing this one."
        )));
    }
    Ok(())
}

/// `BindingStore::create_binding`: a new grant, refused when it is already active.
pub(crate) fn create_binding(
    tx: &mut impl AccessTx,
    new: &Grant,
    audit: &AuditContext,
) -> StoreResult<RoleBinding> {
    require_workspace(tx, &new.workspace)?;
    let binding = grant(tx, new)?.changed().ok_or_else(|| {
        StoreError::Conflict(format!(
            "Role binding for '{}' with role '{}' in workspace '{}' already exists",
            new.principal, new.role, new.workspace
        ))
    })?;
    tx.record_audit(&grant_event(audit, &binding))?;
    Ok(binding)
}

/// `BindingStore::ensure_seed_binding`: create the seed once; never bring back one an operator
/// revoked.
pub(crate) fn ensure_seed_binding(tx: &mut impl AccessTx, seed: &Grant) -> StoreResult<SeedOutcome> {
    match tx.find_binding(&seed.principal, &seed.workspace, &seed.role)? {
        Some(binding) if binding.is_active() => Ok(SeedOutcome::AlreadyActive),
        Some(_) => Ok(SeedOutcome::RevokedByOperator),
        None => match grant(tx, seed)?.changed() {
            Some(binding) => {
                // Seeding is the platform's own change: actor `granted_by` (`system`), no request.
                let audit = AuditContext::new(seed.granted_by.clone(), seed.at);
                tx.record_audit(&grant_event(&audit, &binding))?;
                Ok(SeedOutcome::Created(binding))
            }
            None => Ok(SeedOutcome::AlreadyActive),
        },
    }
}

/// `BindingStore::revoke_binding`: by name, keeping the last Admin.
pub(crate) fn revoke_binding(
    tx: &mut impl AccessTx,
    name: &str,
    audit: &AuditContext,
) -> StoreResult<RoleBinding> {
    let binding =
        tx.find_binding_named(name)?.ok_or_else(|| StoreError::NotFound("Role binding not found".into()))?;
    if !binding.is_active() {
        return Err(StoreError::Conflict("Role binding is already revoked".into()));
    }
    if binding.role == ADMIN {
        ensure_not_last_admin(tx, &binding.workspace, &binding.principal)?;
    }
    let revoked = revoke(tx, &binding, audit.at)?;
    tx.record_audit(&revoke_event(audit, &binding))?;
    Ok(revoked)
}

/// `BindingStore::add_member`: grant every role not yet held.
pub(crate) fn add_member(
    tx: &mut impl AccessTx,
    change: &MemberRoles,
    audit: &AuditContext,
) -> StoreResult<MemberChange> {
    require_workspace(tx, &change.workspace)?;
    let before = tx.active_of(&change.workspace, &change.principal)?;
    let mut granted = Vec::new();
    for role in change.unique_roles() {
        granted.extend(grant(tx, &change.grant(role))?.changed());
    }
    let current = tx.active_of(&change.workspace, &change.principal)?;
    record_member(tx, audit, &change.workspace, &change.principal, &before, &current)?;
    Ok(MemberChange { granted, revoked: Vec::new(), current })
}

/// `BindingStore::set_member_roles`: exactly these roles, keeping the last Admin.
pub(crate) fn set_member_roles(
    tx: &mut impl AccessTx,
    change: &MemberRoles,
    audit: &AuditContext,
) -> StoreResult<MemberChange> {
    require_workspace(tx, &change.workspace)?;
    let wanted = change.unique_roles();
    let before = tx.active_of(&change.workspace, &change.principal)?;
    let mut revoked = Vec::new();
    for binding in before.iter().filter(|b| !wanted.contains(b.role.as_str())) {
        if binding.role == ADMIN {
            ensure_not_last_admin(tx, &change.workspace, &change.principal)?;
        }
        revoked.push(revoke(tx, binding, change.at)?);
    }
    let mut granted = Vec::new();
    for role in wanted {
        granted.extend(grant(tx, &change.grant(role))?.changed());
    }
    let current = tx.active_of(&change.workspace, &change.principal)?;
    record_member(tx, audit, &change.workspace, &change.principal, &before, &current)?;
    Ok(MemberChange { granted, revoked, current })
}

/// `BindingStore::remove_member`: revoke every role, keeping the last Admin.
pub(crate) fn remove_member(
    tx: &mut impl AccessTx,
    workspace: &str,
    principal: &str,
    audit: &AuditContext,
) -> StoreResult<MemberChange> {
    require_workspace(tx, workspace)?;
    let before = tx.active_of(workspace, principal)?;
    if before.is_empty() {
        return Err(StoreError::NotFound(format!(
            "Member '{principal}' not found in workspace '{workspace}'"
        )));
    }
    if before.iter().any(|b| b.role == ADMIN) {
        ensure_not_last_admin(tx, workspace, principal)?;
    }
    let revoked = before.iter().map(|b| revoke(tx, b, audit.at)).collect::<StoreResult<Vec<_>>>()?;
    record_member(tx, audit, workspace, principal, &before, &[])?;
    Ok(MemberChange { granted: Vec::new(), revoked, current: Vec::new() })
}
