//! Role bindings and workspace members on SQLite.

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, OptionalExtension, Row, Transaction};
use time::OffsetDateTime;

use super::{from_micros, to_micros, unavailable, SqliteStore};
use crate::error::workspace_not_found;
use crate::{
    BindingQuery, BindingStore, Grant, MemberChange, MemberRoles, PageOf, RoleBinding, SeedOutcome,
    StoreError, StoreResult, StringMatch, TimeRange,
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

pub(crate) enum Granted {
    Created(RoleBinding),
    Reactivated(RoleBinding),
    AlreadyActive(RoleBinding),
}

/// Grant inside a transaction: insert, re-activate a revoked row, or report the active one.
pub(crate) fn grant_in(tx: &Transaction<'_>, grant: &Grant) -> StoreResult<Granted> {
    let existing = tx
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM role_bindings WHERE principal = ?1 AND workspace = ?2 AND role = ?3"
            ),
            params![grant.principal, grant.workspace, grant.role],
            binding_from_row,
        )
        .optional()
        .map_err(unavailable)?;
    match existing {
        Some(binding) if binding.is_active() => Ok(Granted::AlreadyActive(binding)),
        Some(mut binding) => {
            tx.execute(
                "UPDATE role_bindings SET revoked_at = NULL, granted_at = ?1, granted_by = ?2 WHERE id = ?3",
                params![to_micros(grant.at), grant.granted_by, binding.id],
            )
            .map_err(unavailable)?;
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
            tx.execute(
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
            Ok(Granted::Created(binding))
        }
    }
}

fn workspace_exists(tx: &rusqlite::Connection, workspace: &str) -> StoreResult<()> {
    let found: Option<i64> = tx
        .query_row("SELECT 1 FROM workspaces WHERE name = ?1", [workspace], |r| r.get(0))
        .optional()
        .map_err(unavailable)?;
    found.map(|_| ()).ok_or_else(|| workspace_not_found(workspace))
}

fn active_of(tx: &rusqlite::Connection, workspace: &str, principal: &str) -> StoreResult<Vec<RoleBinding>> {
    let mut statement = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM role_bindings WHERE workspace = ?1 AND principal = ?2 AND revoked_at IS NULL \
             ORDER BY granted_at, id"
        ))
        .map_err(unavailable)?;
    let rows = statement.query_map(params![workspace, principal], binding_from_row).map_err(unavailable)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(unavailable)
}

/// Refuse when revoking `Admin` from `principal` would leave `workspace` without an active Admin.
fn ensure_not_last_admin(tx: &Transaction<'_>, workspace: &str, principal: &str) -> StoreResult<()> {
    let other_admins: i64 = tx
        .query_row(
            "SELECT count(*) FROM role_bindings WHERE workspace = ?1 AND role = 'Admin' AND revoked_at IS NULL \
             AND principal <> ?2",
            params![workspace, principal],
            |r| r.get(0),
        )
        .map_err(unavailable)?;
    if other_admins == 0 {
        return Err(StoreError::Conflict(format!(
            "Cannot remove Admin role from '{principal}'. This is the last Admin for workspace '{workspace}'. \
             Add another Admin before removing this one."
        )));
    }
    Ok(())
}

fn revoke_in(tx: &Transaction<'_>, binding: &RoleBinding, at: OffsetDateTime) -> StoreResult<RoleBinding> {
    tx.execute("UPDATE role_bindings SET revoked_at = ?1 WHERE id = ?2", params![to_micros(at), binding.id])
        .map_err(unavailable)?;
    Ok(RoleBinding { revoked_at: Some(at), ..binding.clone() })
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
    fn create_binding(&self, grant: &Grant) -> StoreResult<RoleBinding> {
        self.write(|tx| {
            workspace_exists(tx, &grant.workspace)?;
            match grant_in(tx, grant)? {
                Granted::Created(b) | Granted::Reactivated(b) => Ok(b),
                Granted::AlreadyActive(_) => Err(StoreError::Conflict(format!(
                    "Role binding for '{}' with role '{}' in workspace '{}' already exists",
                    grant.principal, grant.role, grant.workspace
                ))),
            }
        })
    }

    fn ensure_seed_binding(&self, grant: &Grant) -> StoreResult<SeedOutcome> {
        self.write(|tx| {
            let existing: Option<Option<i64>> = tx
                .query_row(
                    "SELECT revoked_at FROM role_bindings WHERE principal = ?1 AND workspace = ?2 AND role = ?3",
                    params![grant.principal, grant.workspace, grant.role],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            match existing {
                Some(None) => Ok(SeedOutcome::AlreadyActive),
                Some(Some(_)) => Ok(SeedOutcome::RevokedByOperator),
                None => match grant_in(tx, grant)? {
                    Granted::Created(b) | Granted::Reactivated(b) => Ok(SeedOutcome::Created(b)),
                    Granted::AlreadyActive(_) => Ok(SeedOutcome::AlreadyActive),
                },
            }
        })
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

    fn revoke_binding(&self, name: &str, at: OffsetDateTime) -> StoreResult<RoleBinding> {
        self.write(|tx| {
            let binding = tx
                .query_row(
                    &format!("SELECT {COLUMNS} FROM role_bindings WHERE name = ?1"),
                    [name],
                    binding_from_row,
                )
                .optional()
                .map_err(unavailable)?
                .ok_or_else(|| StoreError::NotFound("Role binding not found".into()))?;
            if !binding.is_active() {
                return Err(StoreError::Conflict("Role binding is already revoked".into()));
            }
            if binding.role == "Admin" {
                ensure_not_last_admin(tx, &binding.workspace, &binding.principal)?;
            }
            revoke_in(tx, &binding, at)
        })
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

    fn add_member(&self, change: &MemberRoles) -> StoreResult<MemberChange> {
        self.write(|tx| {
            workspace_exists(tx, &change.workspace)?;
            let mut granted = Vec::new();
            for role in change.unique_roles() {
                let grant = change.grant(role);
                match grant_in(tx, &grant)? {
                    Granted::Created(b) | Granted::Reactivated(b) => granted.push(b),
                    Granted::AlreadyActive(_) => {}
                }
            }
            let current = active_of(tx, &change.workspace, &change.principal)?;
            Ok(MemberChange { granted, revoked: Vec::new(), current })
        })
    }

    fn set_member_roles(&self, change: &MemberRoles) -> StoreResult<MemberChange> {
        self.write(|tx| {
            workspace_exists(tx, &change.workspace)?;
            let wanted = change.unique_roles();
            let before = active_of(tx, &change.workspace, &change.principal)?;
            let mut revoked = Vec::new();
            for binding in before.iter().filter(|b| !wanted.contains(b.role.as_str())) {
                if binding.role == "Admin" {
                    ensure_not_last_admin(tx, &change.workspace, &change.principal)?;
                }
                revoked.push(revoke_in(tx, binding, change.at)?);
            }
            let mut granted = Vec::new();
            for role in wanted {
                if let Granted::Created(b) | Granted::Reactivated(b) = grant_in(tx, &change.grant(role))? {
                    granted.push(b);
                }
            }
            let current = active_of(tx, &change.workspace, &change.principal)?;
            Ok(MemberChange { granted, revoked, current })
        })
    }

    fn remove_member(
        &self,
        workspace: &str,
        principal: &str,
        at: OffsetDateTime,
    ) -> StoreResult<MemberChange> {
        self.write(|tx| {
            workspace_exists(tx, workspace)?;
            let before = active_of(tx, workspace, principal)?;
            if before.is_empty() {
                return Err(StoreError::NotFound(format!(
                    "Member '{principal}' not found in workspace '{workspace}'"
                )));
            }
            if before.iter().any(|b| b.role == "Admin") {
                ensure_not_last_admin(tx, workspace, principal)?;
            }
            let revoked = before.iter().map(|b| revoke_in(tx, b, at)).collect::<StoreResult<Vec<_>>>()?;
            Ok(MemberChange { granted: Vec::new(), revoked, current: Vec::new() })
        })
    }
}
