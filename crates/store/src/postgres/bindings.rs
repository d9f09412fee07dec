//! Role bindings and workspace members on PostgreSQL. Every write runs in
//! [`PostgresStore::write_access`], whose revision lock serializes it against all other access
//! writes (every replica's), which is what keeps the last-Admin check exact.

use nmp_core::{BindingRef, PrincipalId, WorkspaceName};
use postgres::Row;
use time::OffsetDateTime;

use super::{is_unique_violation, numbered, refs, unavailable, Params, PostgresStore};
use crate::access_rules::{self, AccessTx};
use crate::error::workspace_not_found;
use crate::sql_filter::like_pattern;
use crate::{
    AuditContext, BindingQuery, BindingStore, Grant, MemberChange, MemberRoles, NewAuditEvent, PageOf,
    RoleBinding, SeedOutcome, StoreError, StoreResult, StringMatch, TimeRange,
};

pub(crate) const COLUMNS: &str = "id, name, principal, workspace, role, granted_by, granted_at, revoked_at";

pub(crate) fn binding_from_row(row: &Row) -> RoleBinding {
    RoleBinding {
        id: row.get(0),
        name: row.get(1),
        principal: row.get(2),
        workspace: row.get(3),
        role: row.get(4),
        granted_by: row.get(5),
        granted_at: row.get(6),
        revoked_at: row.get(7),
    }
}

/// The access rules' statements on PostgreSQL, inside a transaction of
/// [`PostgresStore::write_access`] (or any client).
impl AccessTx for postgres::Transaction<'_> {
    fn workspace_exists(&mut self, workspace: &str) -> StoreResult<bool> {
        let found =
            self.query_opt("SELECT 1 FROM workspaces WHERE name = $1", &[&workspace]).map_err(unavailable)?;
        Ok(found.is_some())
    }

    fn find_binding(
        &mut self,
        principal: &str,
        workspace: &str,
        role: &str,
    ) -> StoreResult<Option<RoleBinding>> {
        let row = self
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM role_bindings WHERE principal = $1 AND workspace = $2 AND role = $3"
                ),
                &[&principal, &workspace, &role],
            )
            .map_err(unavailable)?;
        Ok(row.map(|row| binding_from_row(&row)))
    }

    fn find_binding_named(&mut self, name: &str) -> StoreResult<Option<RoleBinding>> {
        let row = self
            .query_opt(&format!("SELECT {COLUMNS} FROM role_bindings WHERE name = $1"), &[&name])
            .map_err(unavailable)?;
        Ok(row.map(|row| binding_from_row(&row)))
    }

    fn insert_binding(&mut self, binding: &RoleBinding) -> StoreResult<()> {
        self.execute(
            &format!("INSERT INTO role_bindings ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)"),
            &[
                &binding.id,
                &binding.name,
                &binding.principal,
                &binding.workspace,
                &binding.role,
                &binding.granted_by,
                &binding.granted_at,
            ],
        )
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict(format!("Role binding '{}' already exists", binding.name))
            } else {
                unavailable(e)
            }
        })?;
        Ok(())
    }

    fn reactivate_binding(&mut self, id: &str, at: OffsetDateTime, granted_by: &str) -> StoreResult<()> {
        self.execute(
            "UPDATE role_bindings SET revoked_at = NULL, granted_at = $1, granted_by = $2 WHERE id = $3",
            &[&at, &granted_by, &id],
        )
        .map_err(unavailable)?;
        Ok(())
    }

    fn mark_revoked(&mut self, id: &str, at: OffsetDateTime) -> StoreResult<()> {
        self.execute("UPDATE role_bindings SET revoked_at = $1 WHERE id = $2", &[&at, &id])
            .map_err(unavailable)?;
        Ok(())
    }

    fn active_of(&mut self, workspace: &str, principal: &str) -> StoreResult<Vec<RoleBinding>> {
        let rows = self
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM role_bindings WHERE workspace = $1 AND principal = $2 \
                     AND revoked_at IS NULL ORDER BY granted_at, id"
                ),
                &[&workspace, &principal],
            )
            .map_err(unavailable)?;
        Ok(rows.iter().map(binding_from_row).collect())
    }

    fn other_active_admins(&mut self, workspace: &str, principal: &str) -> StoreResult<i64> {
        Ok(self
            .query_one(
                "SELECT count(*) FROM role_bindings WHERE workspace = $1 AND role = 'Admin' AND revoked_at IS NULL \
                 AND principal <> $2",
                &[&workspace, &principal],
            )
            .map_err(unavailable)?
            .get(0))
    }

    fn record_audit(&mut self, event: &NewAuditEvent) -> StoreResult<()> {
        super::audit::record(self, event)
    }
}

fn push_match(column: &str, matcher: &StringMatch, sql: &mut String, params: &mut Params) {
    match matcher {
        StringMatch::Eq(value) => {
            sql.push_str(&format!(" AND {column} = ?"));
            params.push(Box::new(value.clone()));
        }
        StringMatch::Like(value) => {
            // Case-insensitive like SQLite's LIKE, so both backends answer the same.
            sql.push_str(&format!(" AND {column} ILIKE ? ESCAPE '\\'"));
            params.push(Box::new(like_pattern(value)));
        }
        StringMatch::In(values) => {
            sql.push_str(&format!(" AND {column} = ANY(?)"));
            params.push(Box::new(values.clone()));
        }
        StringMatch::NotIn(values) => {
            sql.push_str(&format!(" AND NOT ({column} = ANY(?))"));
            params.push(Box::new(values.clone()));
        }
    }
}

fn push_range(column: &str, range: &TimeRange, sql: &mut String, params: &mut Params) {
    if let Some(gte) = range.gte {
        sql.push_str(&format!(" AND {column} >= ?"));
        params.push(Box::new(gte));
    }
    if let Some(lte) = range.lte {
        sql.push_str(&format!(" AND {column} <= ?"));
        params.push(Box::new(lte));
    }
}

impl BindingStore for PostgresStore {
    fn create_binding(&self, grant: &Grant, audit: &AuditContext) -> StoreResult<RoleBinding> {
        self.write_access(|tx| access_rules::create_binding(tx, grant, audit))
    }

    fn ensure_seed_binding(&self, grant: &Grant) -> StoreResult<SeedOutcome> {
        self.write_access(|tx| access_rules::ensure_seed_binding(tx, grant))
    }

    fn get_binding(&self, name: &str) -> StoreResult<RoleBinding> {
        self.read(|c| c.query_opt(&format!("SELECT {COLUMNS} FROM role_bindings WHERE name = $1"), &[&name]))?
            .map(|row| binding_from_row(&row))
            .ok_or_else(|| StoreError::NotFound("Role binding not found".into()))
    }

    fn list_bindings(&self, query: &BindingQuery) -> StoreResult<PageOf<RoleBinding>> {
        let mut condition = String::from("TRUE");
        let mut params: Params = Vec::new();
        if let Some(m) = &query.principal {
            push_match("principal", m, &mut condition, &mut params);
        }
        if let Some(workspace) = &query.workspace {
            push_match("workspace", &StringMatch::Eq(workspace.clone()), &mut condition, &mut params);
        }
        if let Some(m) = &query.role {
            push_match("role", m, &mut condition, &mut params);
        }
        if let Some(m) = &query.granted_by {
            push_match("granted_by", m, &mut condition, &mut params);
        }
        match query.is_active {
            Some(true) => condition.push_str(" AND revoked_at IS NULL"),
            Some(false) => condition.push_str(" AND revoked_at IS NOT NULL"),
            None => {}
        }
        push_range("granted_at", &query.granted_at, &mut condition, &mut params);
        push_range("revoked_at", &query.revoked_at, &mut condition, &mut params);
        let order = if query.descending { "DESC" } else { "ASC" };
        let offset = query.page.saturating_sub(1).saturating_mul(query.page_size);
        let count_sql = numbered(&format!("SELECT count(*) FROM role_bindings WHERE {condition}"));
        let page_sql = numbered(&format!(
            "SELECT {COLUMNS} FROM role_bindings WHERE {condition} ORDER BY granted_at {order}, id {order} \
             LIMIT {} OFFSET {offset}",
            query.page_size
        ));
        self.read(|c| {
            let total: i64 = c.query_one(&count_sql, &refs(&params))?.get(0);
            let items = c.query(&page_sql, &refs(&params))?.iter().map(binding_from_row).collect();
            Ok(PageOf { items, total: u64::try_from(total).unwrap_or(0) })
        })
    }

    fn revoke_binding(&self, name: &str, audit: &AuditContext) -> StoreResult<RoleBinding> {
        self.write_access(|tx| access_rules::revoke_binding(tx, name, audit))
    }

    fn active_bindings(&self) -> StoreResult<Vec<RoleBinding>> {
        self.read(|c| {
            let rows = c.query(
                &format!(
                    "SELECT {COLUMNS} FROM role_bindings WHERE revoked_at IS NULL ORDER BY granted_at, id"
                ),
                &[],
            )?;
            Ok(rows.iter().map(binding_from_row).collect())
        })
    }

    fn for_each_active_binding(&self, visit: &mut dyn FnMut(BindingRef<'_>)) -> StoreResult<()> {
        // Rows are streamed as they arrive, not collected. No retry on a broken connection
        // (unlike `read`): a second pass would mix two snapshots into one index.
        let mut connection = self.connection()?;
        let mut rows = connection
            .query_raw(
                "SELECT principal, workspace, role FROM role_bindings WHERE revoked_at IS NULL \
                 ORDER BY principal, workspace, role",
                std::iter::empty::<&str>(),
            )
            .map_err(unavailable)?;
        while let Some(row) =
            postgres::fallible_iterator::FallibleIterator::next(&mut rows).map_err(unavailable)?
        {
            visit(BindingRef { principal: row.get(0), workspace: row.get(1), role: row.get(2) });
        }
        Ok(())
    }

    fn list_members(&self, workspace: &str) -> StoreResult<Vec<RoleBinding>> {
        let (found, rows) = self.read(|c| {
            // One snapshot for both answers: a repeatable-read transaction.
            let mut tx = c
                .build_transaction()
                .read_only(true)
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .start()?;
            let found = tx.query_opt("SELECT 1 FROM workspaces WHERE name = $1", &[&workspace])?.is_some();
            let rows = tx.query(
                &format!(
                    "SELECT {COLUMNS} FROM role_bindings WHERE workspace = $1 AND revoked_at IS NULL \
                     ORDER BY granted_at, id"
                ),
                &[&workspace],
            )?;
            tx.commit()?;
            Ok((found, rows))
        })?;
        if !found {
            return Err(workspace_not_found(workspace));
        }
        Ok(rows.iter().map(binding_from_row).collect())
    }

    fn add_member(&self, change: &MemberRoles, audit: &AuditContext) -> StoreResult<MemberChange> {
        self.write_access(|tx| access_rules::add_member(tx, change, audit))
    }

    fn set_member_roles(&self, change: &MemberRoles, audit: &AuditContext) -> StoreResult<MemberChange> {
        self.write_access(|tx| access_rules::set_member_roles(tx, change, audit))
    }

    fn remove_member(
        &self,
        workspace: &WorkspaceName,
        principal: &PrincipalId,
        audit: &AuditContext,
    ) -> StoreResult<MemberChange> {
        self.write_access(|tx| access_rules::remove_member(tx, workspace, principal, audit))
    }
}
