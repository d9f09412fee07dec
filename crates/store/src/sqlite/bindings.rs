//! Role bindings and workspace members on SQLite.

use nmp_core::{BindingRef, PrincipalId, WorkspaceName};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, OptionalExtension, Row, Transaction};
use time::OffsetDateTime;

use super::{from_micros, to_micros, unavailable, SqliteStore};
use crate::access_rules::{self, AccessTx};
use crate::error::workspace_not_found;
use crate::{
    AuditContext, BindingQuery, BindingStore, Grant, MemberChange, MemberRoles, NewAuditEvent, PageOf,
    RoleBinding, SeedOutcome, StoreError, StoreResult, StringMatch, TimeRange,
};

const COLUMNS: &str = "id, name, principal, workspace, role, granted_by, granted_at, revoked_at";

pub(crate) fn binding_from_row(row: &Row<'_>) -> rusqlite::Result<RoleBinding> {
    Ok(RoleBinding {
        id: row.get(0)?,
        name: row.get(1)?,
        principal: row.get(2)?,
        workspace: row.get(3)?,
        role: row.get(4)?,
        granted_by: row.get(5)?,
        granted_at: from_micros(row.get(6)?),
        revoked_at: row.get::<_, Option<i64>>(7)?.map(from_micros),
    })
}

/// The access rules' statements on SQLite, inside the writer's `BEGIN IMMEDIATE` transaction.
impl AccessTx for &Transaction<'_> {
    fn workspace_exists(&mut self, workspace: &str) -> StoreResult<bool> {
        let found: Option<i64> = self
            .query_row("SELECT 1 FROM workspaces WHERE name = ?1", [workspace], |r| r.get(0))
            .optional()
            .map_err(unavailable)?;
        Ok(found.is_some())
    }

    fn find_binding(
        &mut self,
        principal: &str,
        workspace: &str,
        role: &str,
    ) -> StoreResult<Option<RoleBinding>> {
        self.query_row(
            &format!(
                "SELECT {COLUMNS} FROM role_bindings WHERE principal = ?1 AND workspace = ?2 AND role = ?3"
            ),
            params![principal, workspace, role],
            binding_from_row,
        )
        .optional()
        .map_err(unavailable)
    }

    fn find_binding_named(&mut self, name: &str) -> StoreResult<Option<RoleBinding>> {
        self.query_row(
            &format!("SELECT {COLUMNS} FROM role_bindings WHERE name = ?1"),
            [name],
            binding_from_row,
        )
        .optional()
        .map_err(unavailable)
    }

    fn insert_binding(&mut self, binding: &RoleBinding) -> StoreResult<()> {
        self.execute(
            &format!("INSERT INTO role_bindings ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL)"),
            params![
                binding.id,
                binding.name,
                binding.principal,
                binding.workspace,
                binding.role,
                binding.granted_by,
                to_micros(binding.granted_at)
            ],
        )
        .map_err(|e| {
            if super::is_unique_violation(&e) {
                StoreError::Conflict(format!("Role binding '{}' already exists", binding.name))
            } else {
                unavailable(e)
            }
        })?;
        Ok(())
    }

    fn reactivate_binding(&mut self, id: &str, at: OffsetDateTime, granted_by: &str) -> StoreResult<()> {
        self.execute(
            "UPDATE role_bindings SET revoked_at = NULL, granted_at = ?1, granted_by = ?2 WHERE id = ?3",
            params![to_micros(at), granted_by, id],
        )
        .map_err(unavailable)?;
        Ok(())
    }

    fn mark_revoked(&mut self, id: &str, at: OffsetDateTime) -> StoreResult<()> {
        self.execute("UPDATE role_bindings SET revoked_at = ?1 WHERE id = ?2", params![to_micros(at), id])
            .map_err(unavailable)?;
        Ok(())
    }

    fn active_of(&mut self, workspace: &str, principal: &str) -> StoreResult<Vec<RoleBinding>> {
        let mut statement = self
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM role_bindings WHERE workspace = ?1 AND principal = ?2 AND revoked_at IS NULL \
                 ORDER BY granted_at, id"
            ))
            .map_err(unavailable)?;
        let rows =
            statement.query_map(params![workspace, principal], binding_from_row).map_err(unavailable)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(unavailable)
    }

    fn other_active_admins(&mut self, workspace: &str, principal: &str) -> StoreResult<i64> {
        self.query_row(
            "SELECT count(*) FROM role_bindings WHERE workspace = ?1 AND role = 'Admin' AND revoked_at IS NULL \
             AND principal <> ?2",
            params![workspace, principal],
            |r| r.get(0),
        )
        .map_err(unavailable)
    }

    fn record_audit(&mut self, event: &NewAuditEvent) -> StoreResult<()> {
        super::audit::record(self, event)
    }
}

fn push_match(column: &str, matcher: &StringMatch, sql: &mut String, params: &mut Vec<SqlValue>) {
    match matcher {
        StringMatch::Eq(value) => {
            sql.push_str(&format!(" AND {column} = ?"));
            params.push(SqlValue::Text(value.clone()));
        }
        StringMatch::Like(value) => {
            sql.push_str(&format!(" AND {column} LIKE ? ESCAPE '\\'"));
            params.push(SqlValue::Text(crate::sql_filter::like_pattern(value)));
        }
        StringMatch::In(values) | StringMatch::NotIn(values) => {
            let negate = matches!(matcher, StringMatch::NotIn(_));
            if values.is_empty() {
                sql.push_str(if negate { " AND 1" } else { " AND 0" });
                return;
            }
            let marks = vec!["?"; values.len()].join(",");
            sql.push_str(&format!(" AND {column} {}IN ({marks})", if negate { "NOT " } else { "" }));
            params.extend(values.iter().cloned().map(SqlValue::Text));
        }
    }
}

fn push_range(column: &str, range: &TimeRange, sql: &mut String, params: &mut Vec<SqlValue>) {
    if let Some(gte) = range.gte {
        sql.push_str(&format!(" AND {column} >= ?"));
        params.push(SqlValue::Integer(to_micros(gte)));
    }
    if let Some(lte) = range.lte {
        sql.push_str(&format!(" AND {column} <= ?"));
        params.push(SqlValue::Integer(to_micros(lte)));
    }
}

impl BindingStore for SqliteStore {
    fn create_binding(&self, grant: &Grant, audit: &AuditContext) -> StoreResult<RoleBinding> {
        self.write(|mut tx| access_rules::create_binding(&mut tx, grant, audit))
    }

    fn ensure_seed_binding(&self, grant: &Grant) -> StoreResult<SeedOutcome> {
        self.write(|mut tx| access_rules::ensure_seed_binding(&mut tx, grant))
    }

    fn get_binding(&self, name: &str) -> StoreResult<RoleBinding> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM role_bindings WHERE name = ?1"),
                [name],
                binding_from_row,
            )
            .optional()
        })?
        .ok_or_else(|| StoreError::NotFound("Role binding not found".into()))
    }

    fn list_bindings(&self, query: &BindingQuery) -> StoreResult<PageOf<RoleBinding>> {
        let mut condition = String::from("1");
        let mut params: Vec<SqlValue> = Vec::new();
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
        self.read(|c| {
            let total: i64 = c.query_row(
                &format!("SELECT count(*) FROM role_bindings WHERE {condition}"),
                params_from_iter(params.iter()),
                |r| r.get(0),
            )?;
            let mut statement = c.prepare(&format!(
                "SELECT {COLUMNS} FROM role_bindings WHERE {condition} ORDER BY granted_at {order}, id {order} \
                 LIMIT {} OFFSET {}",
                query.page_size, offset
            ))?;
            let items = statement
                .query_map(params_from_iter(params.iter()), binding_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(PageOf { items, total: u64::try_from(total).unwrap_or(0) })
        })
    }

    fn revoke_binding(&self, name: &str, audit: &AuditContext) -> StoreResult<RoleBinding> {
        self.write(|mut tx| access_rules::revoke_binding(&mut tx, name, audit))
    }

    fn active_bindings(&self) -> StoreResult<Vec<RoleBinding>> {
        self.read(|c| {
            let mut statement = c.prepare(&format!(
                "SELECT {COLUMNS} FROM role_bindings WHERE revoked_at IS NULL ORDER BY granted_at, id"
            ))?;
            let rows = statement.query_map([], binding_from_row)?;
            rows.collect()
        })
    }

    fn for_each_active_binding(&self, visit: &mut dyn FnMut(BindingRef<'_>)) -> StoreResult<()> {
        self.read(|c| {
            let mut statement =
                // Ordered as the partial index `role_bindings_active` (migration 0005) is, so SQLite
                // scans that index alone and the index builder sees each principal's rows together.
                c.prepare(
                    "SELECT principal, workspace, role FROM role_bindings WHERE revoked_at IS NULL \
                     ORDER BY principal, workspace, role",
                )?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                // Borrowed from SQLite's row buffer: no string is copied per row.
                let text = |i| row.get_ref(i).and_then(|v| v.as_str().map_err(Into::into));
                visit(BindingRef { principal: text(0)?, workspace: text(1)?, role: text(2)? });
            }
            Ok(())
        })
    }

    fn list_members(&self, workspace: &str) -> StoreResult<Vec<RoleBinding>> {
        let found: Option<i64> = self.read(|c| {
            c.query_row("SELECT 1 FROM workspaces WHERE name = ?1", [workspace], |r| r.get(0)).optional()
        })?;
        if found.is_none() {
            return Err(workspace_not_found(workspace));
        }
        self.read(|c| {
            let mut statement = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM role_bindings WHERE workspace = ?1 AND revoked_at IS NULL \
                 ORDER BY granted_at, id"
            ))?;
            let rows = statement.query_map([workspace], binding_from_row)?;
            rows.collect()
        })
    }

    fn add_member(&self, change: &MemberRoles, audit: &AuditContext) -> StoreResult<MemberChange> {
        self.write(|mut tx| access_rules::add_member(&mut tx, change, audit))
    }

    fn set_member_roles(&self, change: &MemberRoles, audit: &AuditContext) -> StoreResult<MemberChange> {
        self.write(|mut tx| access_rules::set_member_roles(&mut tx, change, audit))
    }

    fn remove_member(
        &self,
        workspace: &WorkspaceName,
        principal: &PrincipalId,
        audit: &AuditContext,
    ) -> StoreResult<MemberChange> {
        self.write(|mut tx| access_rules::remove_member(&mut tx, workspace, principal, audit))
    }
}
