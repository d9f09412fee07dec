//! Storage for nmp: small traits per aggregate (workspaces, role bindings, projects) with typed
//! errors, a SQLite and a PostgreSQL backend, and a conformance suite every backend must pass.
//!
//! Invariants:
//! - Every multi-step write (workspace + creator's Admin binding; member update; workspace delete
//!   with its bindings) is one transaction: it happens entirely or not at all.
//! - A workspace never loses its last active Admin through the members API or a binding revoke.
//! - At most one active binding exists per (principal, workspace, role); revoking is a soft delete,
//!   and granting the same triple again re-activates the row.
//! - A write is acknowledged only after it is durable (SQLite: WAL + `synchronous=FULL`;
//!   PostgreSQL: the commit returned).
//! - Every access change records its audit events in its own transaction (see [`audit`]).
//! - Stores know nothing about HTTP or authorization; the server maps [`StoreError`] to statuses.

mod access_keys;
mod access_rules;
pub mod audit;
mod error;
mod ids;
mod model;
pub mod postgres;
mod sql_filter;
pub mod sqlite;
pub mod transfer;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use access_keys::*;
pub use audit::{actions, AuditContext, AuditEvent, AuditQuery, AuditStore, NewAuditEvent};
pub use error::{StoreError, StoreResult};
pub use ids::new_id;
pub use model::*;
pub use nmp_core::filter::Filter;
pub use nmp_core::{BindingRef, PrincipalId, RoleBinding, RoleName, WorkspaceName};

use std::collections::BTreeSet;
use time::OffsetDateTime;

/// Workspaces: the authorization boundary.
pub trait WorkspaceStore: Send + Sync {
    /// Create a workspace and, in the same transaction, its creator's Admin binding.
    /// `Conflict("Workspace 'x' already exists")` when the name is taken.
    fn create_workspace(
        &self,
        new: &NewWorkspace,
        creator_admin: Option<&Grant>,
        audit: &AuditContext,
    ) -> StoreResult<(Workspace, Option<RoleBinding>)>;
    /// Create the workspace if it does not exist yet (seeding). Returns true when it was created.
    fn ensure_workspace(&self, new: &NewWorkspace) -> StoreResult<bool>;
    fn get_workspace(&self, name: &str) -> StoreResult<Workspace>;
    /// A page of workspaces; `visible` restricts the result to those names (None: all).
    fn list_workspaces(
        &self,
        query: &ListQuery,
        visible: Option<&BTreeSet<String>>,
    ) -> StoreResult<PageOf<Workspace>>;
    fn update_workspace(&self, name: &str, update: &EntityUpdate) -> StoreResult<Workspace>;
    /// Delete an empty workspace and hard-delete its bindings, in one transaction.
    /// `Conflict` listing what still lives in it (`project (3)`) otherwise.
    fn delete_workspace(&self, name: &str, audit: &AuditContext) -> StoreResult<DeletedWorkspace>;
}

/// Role bindings, and the workspace-members view of them.
pub trait BindingStore: Send + Sync {
    /// Grant a role. `Conflict` when an identical active binding exists; a revoked one is re-activated.
    fn create_binding(&self, grant: &Grant, audit: &AuditContext) -> StoreResult<RoleBinding>;
    /// Seeding: create the binding unless any binding of that triple exists, active or revoked
    /// (a revoked seed binding is an operator's decision and is not re-created).
    fn ensure_seed_binding(&self, grant: &Grant) -> StoreResult<SeedOutcome>;
    fn get_binding(&self, name: &str) -> StoreResult<RoleBinding>;
    fn list_bindings(&self, query: &BindingQuery) -> StoreResult<PageOf<RoleBinding>>;
    /// Soft-revoke. `Conflict("Role binding is already revoked")` when it is.
    fn revoke_binding(&self, name: &str, audit: &AuditContext) -> StoreResult<RoleBinding>;
    /// Every active binding, for building the in-memory index at start.
    fn active_bindings(&self) -> StoreResult<Vec<RoleBinding>>;
    /// Every active binding, borrowed, streamed into `visit` in one snapshot, so the index is
    /// built at start without every row in memory at once.
    fn for_each_active_binding(&self, visit: &mut dyn FnMut(BindingRef<'_>)) -> StoreResult<()> {
        for binding in self.active_bindings()? {
            visit(binding.key());
        }
        Ok(())
    }
    /// Active bindings of a workspace (404 when the workspace does not exist).
    fn list_members(&self, workspace: &str) -> StoreResult<Vec<RoleBinding>>;
    /// Grant each role not already held (idempotent per role).
    fn add_member(&self, change: &MemberRoles, audit: &AuditContext) -> StoreResult<MemberChange>;
    /// Make the principal's roles exactly `roles` (an upsert); refuses to demote the last Admin.
    fn set_member_roles(&self, change: &MemberRoles, audit: &AuditContext) -> StoreResult<MemberChange>;
    /// Revoke all the principal's roles in the workspace; refuses to remove the last Admin.
    fn remove_member(
        &self,
        workspace: &WorkspaceName,
        principal: &PrincipalId,
        audit: &AuditContext,
    ) -> StoreResult<MemberChange>;
}

/// Projects: the first resource type that lives inside a workspace.
pub trait ProjectStore: Send + Sync {
    fn create_project(&self, new: &NewProject) -> StoreResult<Project>;
    fn get_project(&self, workspace: &WorkspaceName, name: &str) -> StoreResult<Project>;
    fn list_projects(&self, workspace: &WorkspaceName, query: &ListQuery) -> StoreResult<PageOf<Project>>;
    fn update_project(
        &self,
        workspace: &WorkspaceName,
        name: &str,
        update: &EntityUpdate,
    ) -> StoreResult<Project>;
    fn delete_project(&self, workspace: &WorkspaceName, name: &str) -> StoreResult<Project>;
}

/// Studio's browser sessions, kept in the store so every replica sees them. The store keeps
/// `data` as given (the server's own JSON) and knows nothing of cookies or tokens.
pub trait SessionStore: Send + Sync {
    /// Insert a session. `Conflict` when the id is taken.
    fn create_session(&self, session: &StoredSession) -> StoreResult<()>;
    /// The session, or `NotFound` when it does not exist or has expired at `now`.
    fn get_session(&self, id_hash: &str, now: OffsetDateTime) -> StoreResult<StoredSession>;
    /// Replace a session's data and times. `NotFound` when it is gone (signed out meanwhile).
    fn update_session(&self, session: &StoredSession) -> StoreResult<()>;
    /// Delete a session; true when it existed.
    fn delete_session(&self, id_hash: &str) -> StoreResult<bool>;
    /// Delete every session expired at `now`; returns how many.
    fn delete_expired_sessions(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

/// A complete backend.
pub trait Store:
    WorkspaceStore + BindingStore + ProjectStore + SessionStore + AuditStore + AccessKeyStore
{
    /// Cheap check that the backend answers (readiness).
    fn ping(&self) -> StoreResult<()>;
    /// `sqlite` or `postgres`, for the start-up line and `/status`.
    fn backend_name(&self) -> &'static str;
    /// Where the data lives, for the start-up line (a path or a redacted URL).
    fn location(&self) -> String;
    /// A value that changes whenever another process (another replica) commits to the store.
    /// Our own writes do not change it: they update the in-memory index directly.
    fn external_change_marker(&self) -> StoreResult<i64>;
    /// Whether a read is answered from this process's own connections and the OS page cache
    /// (SQLite), in microseconds and without a network round trip: the server then runs reads on
    /// the request's own task instead of handing them to the blocking pool.
    fn reads_are_local(&self) -> bool {
        false
    }
    /// The change feed between replicas, for backends several processes share (PostgreSQL).
    fn change_feed(&self) -> Option<&dyn ChangeFeed> {
        None
    }
}

/// Revisions of access changes, shared by the replicas of one store.
pub trait ChangeFeed: Send + Sync {
    /// Call `wake` soon after any replica commits an access change, and whenever the
    /// notification connection is (re)established (changes may have been missed meanwhile).
    /// Stops once `wake` is dropped.
    fn watch(&self, wake: std::sync::Weak<dyn Fn() + Send + Sync>);
    /// The revision of the last committed access change.
    fn current_revision(&self) -> StoreResult<i64>;
    /// Record that this replica's index has applied `revision` (also its heartbeat).
    fn report_applied(&self, revision: i64) -> StoreResult<()>;
    /// How many other replicas with a heartbeat within `live_within` have not applied `revision`.
    fn lagging_replicas(&self, revision: i64, live_within: std::time::Duration) -> StoreResult<u64>;
}
