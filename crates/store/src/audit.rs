//! The audit trail of access changes: who changed which access, when, from what to what, in
//! which request. Every store write that changes access records its events through the
//! backend's `record` function on the write's own transaction, so a change and its event commit
//! or roll back together (`sqlite::audit::record`, `postgres::audit::record`; new kinds of
//! access change, such as access keys, call the same function).
//!
//! Append-only: no store method updates an event, and the schema refuses `UPDATE` (a trigger);
//! the only deletion is `prune_audit_events`, the retention setting's job.

use serde_json::Value;
use time::OffsetDateTime;

use crate::{PageOf, StoreResult};

/// Who makes an access change, when, and in which request: passed to every write that
/// changes access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditContext {
    /// The principal id of the caller (`system` for seeding, `anonymous` with auth off).
    pub actor: String,
    /// The request's `X-Request-Id`, when there is a request.
    pub request_id: Option<String>,
    pub at: OffsetDateTime,
}

impl AuditContext {
    pub fn new(actor: impl Into<String>, at: OffsetDateTime) -> Self {
        AuditContext { actor: actor.into(), request_id: None, at }
    }

    /// An event of `action` in this context.
    pub fn event(
        &self,
        action: &'static str,
        workspace: Option<&str>,
        principal: Option<&str>,
    ) -> NewAuditEvent {
        NewAuditEvent {
            at: self.at,
            actor: self.actor.clone(),
            action,
            workspace: workspace.map(str::to_string),
            principal: principal.map(str::to_string),
            before: None,
            after: None,
            request_id: self.request_id.clone(),
        }
    }
}

/// Event names (`AuditEvent::action`).
pub mod actions {
    pub const WORKSPACE_CREATED: &str = "workspace.created";
    pub const WORKSPACE_DELETED: &str = "workspace.deleted";
    pub const BINDING_GRANTED: &str = "binding.granted";
    pub const BINDING_REVOKED: &str = "binding.revoked";
    pub const MEMBER_ADDED: &str = "member.added";
    pub const MEMBER_ROLES_CHANGED: &str = "member.roles_changed";
    pub const MEMBER_REMOVED: &str = "member.removed";
    pub const ACCESS_KEY_CREATED: &str = "access_key.created";
    pub const ACCESS_KEY_REVOKED: &str = "access_key.revoked";
    pub const ACCESS_KEY_SUSPENDED: &str = "access_key.suspended";
    pub const ACCESS_KEY_UNSUSPENDED: &str = "access_key.unsuspended";
}

/// An event about to be recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: &'static str,
    pub workspace: Option<String>,
    /// The principal whose access changed (a binding's principal), if any.
    pub principal: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub request_id: Option<String>,
}

impl NewAuditEvent {
    pub fn before(mut self, value: Value) -> Self {
        self.before = Some(value);
        self
    }

    pub fn after(mut self, value: Value) -> Self {
        self.after = Some(value);
        self
    }
}

/// A recorded event; `id` grows with every event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: i64,
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub workspace: Option<String>,
    pub principal: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub request_id: Option<String>,
}

/// Filters and paging of the audit trail; newest first unless `oldest_first`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub workspace: Option<String>,
    pub principal: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Events at or after.
    pub since: Option<OffsetDateTime>,
    /// Events at or before.
    pub until: Option<OffsetDateTime>,
    pub page: u64,
    pub page_size: u64,
    pub oldest_first: bool,
}

impl Default for AuditQuery {
    fn default() -> Self {
        AuditQuery {
            workspace: None,
            principal: None,
            actor: None,
            action: None,
            since: None,
            until: None,
            page: 1,
            page_size: 50,
            oldest_first: false,
        }
    }
}

/// Reading the audit trail, and pruning it for retention.
pub trait AuditStore: Send + Sync {
    fn list_audit_events(&self, query: &AuditQuery) -> StoreResult<PageOf<AuditEvent>>;
    /// Delete events older than `before` (the retention setting); returns how many.
    fn prune_audit_events(&self, before: OffsetDateTime) -> StoreResult<u64>;
}

/// `{"roles": [...]}` of a set of bindings, for before/after.
pub(crate) fn roles_value<'a>(roles: impl IntoIterator<Item = &'a str>) -> Value {
    let mut roles: Vec<&str> = roles.into_iter().collect();
    roles.sort_unstable();
    roles.dedup();
    serde_json::json!({ "roles": roles })
}

/// The SQL condition and parameters of an audit query, with `?` placeholders, shared by both
/// backends (each binds the values in its own way).
pub(crate) enum AuditParam {
    Text(String),
    Time(OffsetDateTime),
}

pub(crate) fn audit_condition(query: &AuditQuery) -> (String, Vec<AuditParam>) {
    let mut sql = String::from("1 = 1");
    let mut params = Vec::new();
    for (column, value) in [
        ("workspace", &query.workspace),
        ("principal", &query.principal),
        ("actor", &query.actor),
        ("action", &query.action),
    ] {
        if let Some(value) = value {
            sql.push_str(&format!(" AND {column} = ?"));
            params.push(AuditParam::Text(value.clone()));
        }
    }
    if let Some(since) = query.since {
        sql.push_str(" AND at >= ?");
        params.push(AuditParam::Time(since));
    }
    if let Some(until) = query.until {
        sql.push_str(" AND at <= ?");
        params.push(AuditParam::Time(until));
    }
    (sql, params)
}

/// `{"name", "role"}` of a binding.
fn binding_value(binding: &crate::RoleBinding) -> Value {
    serde_json::json!({"name": binding.name, "role": binding.role})
}

/// `binding.granted` for a created or re-activated binding.
pub(crate) fn grant_event(audit: &AuditContext, binding: &crate::RoleBinding) -> NewAuditEvent {
    audit
        .event(actions::BINDING_GRANTED, Some(&binding.workspace), Some(&binding.principal))
        .after(binding_value(binding))
}

/// `binding.revoked`.
pub(crate) fn revoke_event(audit: &AuditContext, binding: &crate::RoleBinding) -> NewAuditEvent {
    audit
        .event(actions::BINDING_REVOKED, Some(&binding.workspace), Some(&binding.principal))
        .before(binding_value(binding))
}

/// A member's roles going from `before` to `after`: `member.added` (from none),
/// `member.removed` (to none) or `member.roles_changed`; `None` when nothing changed.
pub(crate) fn member_event(
    audit: &AuditContext,
    workspace: &str,
    principal: &str,
    before: &[crate::RoleBinding],
    after: &[crate::RoleBinding],
) -> Option<NewAuditEvent> {
    let roles = |bindings: &[crate::RoleBinding]| roles_value(bindings.iter().map(|b| b.role.as_str()));
    let (before_roles, after_roles) = (roles(before), roles(after));
    if before_roles == after_roles {
        return None;
    }
    let action = if before.is_empty() {
        actions::MEMBER_ADDED
    } else if after.is_empty() {
        actions::MEMBER_REMOVED
    } else {
        actions::MEMBER_ROLES_CHANGED
    };
    Some(audit.event(action, Some(workspace), Some(principal)).before(before_roles).after(after_roles))
}

/// `workspace.created`, with the new workspace as `after`.
pub(crate) fn created_event(audit: &AuditContext, workspace: &crate::Workspace) -> NewAuditEvent {
    audit
        .event(actions::WORKSPACE_CREATED, Some(&workspace.name), None)
        .after(serde_json::json!({"name": workspace.name, "description": workspace.description}))
}

/// `workspace.deleted`, with the workspace and its active bindings as `before`.
pub(crate) fn deleted_event(
    audit: &AuditContext,
    workspace: &crate::Workspace,
    bindings: &[crate::RoleBinding],
) -> NewAuditEvent {
    let mut active: Vec<(&str, &str)> =
        bindings.iter().filter(|b| b.is_active()).map(|b| (b.principal.as_str(), b.role.as_str())).collect();
    active.sort_unstable();
    let active: Vec<Value> = active
        .into_iter()
        .map(|(principal, role)| serde_json::json!({"principal": principal, "role": role}))
        .collect();
    audit.event(actions::WORKSPACE_DELETED, Some(&workspace.name), None).before(
        serde_json::json!({"name": workspace.name, "description": workspace.description, "bindings": active}),
    )
}
