//! The records stores keep and the queries they answer. Plain data; no behaviour beyond helpers.

use nmp_core::filter::Filter;
use nmp_core::{PrincipalId, RoleBinding, RoleName, WorkspaceName};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub id: String,
    pub name: WorkspaceName,
    pub description: Option<String>,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub updated_at: OffsetDateTime,
    pub updated_by: String,
}

#[derive(Debug, Clone)]
pub struct NewWorkspace {
    pub name: WorkspaceName,
    pub description: Option<String>,
    /// Who creates it (`created_by`); empty when unknown, as the reference records it.
    pub actor: String,
    pub at: OffsetDateTime,
}

/// A change of the mutable fields of a workspace or project.
#[derive(Debug, Clone)]
pub struct EntityUpdate {
    /// `Some(None)` clears the description; `None` leaves it.
    pub description: Option<Option<String>>,
    pub actor: String,
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct DeletedWorkspace {
    pub workspace: Workspace,
    /// The bindings that were hard-deleted with it (active ones matter to the in-memory index).
    pub removed_bindings: Vec<RoleBinding>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: String,
    pub workspace: WorkspaceName,
    pub name: String,
    pub description: Option<String>,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub updated_at: OffsetDateTime,
    pub updated_by: String,
}

#[derive(Debug, Clone)]
pub struct NewProject {
    pub workspace: WorkspaceName,
    pub name: String,
    pub description: Option<String>,
    pub actor: String,
    pub at: OffsetDateTime,
}

/// One role for one principal in one workspace, and who grants it when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub principal: PrincipalId,
    pub workspace: WorkspaceName,
    pub role: RoleName,
    pub granted_by: String,
    pub at: OffsetDateTime,
    /// The name a new row gets (API and seed bindings are named differently).
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedOutcome {
    Created(RoleBinding),
    AlreadyActive,
    /// A binding of that triple exists but was revoked: an operator's decision, left alone.
    RevokedByOperator,
}

/// Several roles for one principal in one workspace (members API).
#[derive(Debug, Clone)]
pub struct MemberRoles {
    pub workspace: WorkspaceName,
    pub principal: PrincipalId,
    pub roles: Vec<RoleName>,
    pub granted_by: String,
    pub at: OffsetDateTime,
}

impl MemberRoles {
    /// The roles asked for, each once, in a stable order.
    pub(crate) fn unique_roles(&self) -> std::collections::BTreeSet<&str> {
        self.roles.iter().map(RoleName::as_str).collect()
    }

    /// The grant of one of these roles (named as the members API names bindings).
    pub(crate) fn grant(&self, role: &str) -> Grant {
        Grant {
            principal: self.principal.clone(),
            workspace: self.workspace.clone(),
            role: role.into(),
            granted_by: self.granted_by.clone(),
            at: self.at,
            name: nmp_core::binding_name_for_api(&self.principal, &self.workspace, role),
        }
    }
}

/// What a member change did, so the caller can update its in-memory index in the same step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberChange {
    pub granted: Vec<RoleBinding>,
    pub revoked: Vec<RoleBinding>,
    /// The principal's active bindings in the workspace after the change, oldest first.
    pub current: Vec<RoleBinding>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    CreatedAt,
    UpdatedAt,
    Name,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

impl Sort {
    /// Parse `created_at`, `-created_at`, `name`, ... against the allowed fields.
    pub fn parse(text: &str, allowed: &[SortField]) -> Option<Sort> {
        let (descending, field) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let field = match field {
            "created_at" => SortField::CreatedAt,
            "updated_at" => SortField::UpdatedAt,
            "name" => SortField::Name,
            _ => return None,
        };
        allowed.contains(&field).then_some(Sort { field, descending })
    }
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    /// 1-based.
    pub page: u64,
    pub page_size: u64,
    pub sort: Sort,
    pub filter: Option<Filter>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageOf<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// How a string field of a role binding is matched in a list filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StringMatch {
    Eq(String),
    /// Substring match (`$like`).
    Like(String),
    In(Vec<String>),
    NotIn(Vec<String>),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub gte: Option<OffsetDateTime>,
    pub lte: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct BindingQuery {
    pub page: u64,
    pub page_size: u64,
    /// Sorted by `granted_at` (the reference's `created_at`).
    pub descending: bool,
    pub principal: Option<StringMatch>,
    pub workspace: Option<String>,
    pub role: Option<StringMatch>,
    pub granted_by: Option<StringMatch>,
    pub is_active: Option<bool>,
    pub granted_at: TimeRange,
    pub revoked_at: TimeRange,
}

impl Default for BindingQuery {
    fn default() -> Self {
        BindingQuery {
            page: 1,
            page_size: 10,
            descending: false,
            principal: None,
            workspace: None,
            role: None,
            granted_by: None,
            is_active: None,
            granted_at: TimeRange::default(),
            revoked_at: TimeRange::default(),
        }
    }
}

/// A Studio session as stored: an opaque JSON document and its times.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// SHA-256 (hex) of the cookie's secret, never the secret itself.
    pub id_hash: String,
    pub data: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `data` holds tokens.
        f.debug_struct("StoredSession")
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
