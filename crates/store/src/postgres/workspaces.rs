//! Workspaces on PostgreSQL.

use std::collections::BTreeSet;

use postgres::{GenericClient, Row};

use super::audit::record;
use super::bindings::{binding_from_row, COLUMNS as BINDING_COLUMNS};
use super::{boxed, is_unique_violation, numbered, refs, unavailable, Params, PostgresStore};
use crate::access_rules;
use crate::audit::{created_event, deleted_event};
use crate::error::workspace_not_found;
use crate::sql_filter::{push_condition, Dialect, ENTITY_COLUMNS};
use crate::{
    AuditContext, DeletedWorkspace, EntityUpdate, Grant, ListQuery, NewWorkspace, PageOf, RoleBinding,
    SortField, StoreError, StoreResult, Workspace, WorkspaceStore,
};

pub(crate) const COLUMNS: &str = "id, name, description, created_at, created_by, updated_at, updated_by";

fn workspace_from_row(row: &Row) -> Workspace {
    Workspace {
        id: row.get(0),
        name: row.get(1),
        description: row.get(2),
        created_at: row.get(3),
        created_by: row.get(4),
        updated_at: row.get(5),
        updated_by: row.get(6),
    }
}

pub(crate) fn order_by(query: &ListQuery) -> String {
    let column = match query.sort.field {
        SortField::CreatedAt => "created_at",
        SortField::UpdatedAt => "updated_at",
        SortField::Name => "name",
    };
    let direction = if query.sort.descending { "DESC" } else { "ASC" };
    // `id` breaks ties so pages never overlap or skip.
    format!("{column} {direction}, id {direction}")
}

/// Append `AND <filter>` over the entity columns, with `$n` numbering continuing after `params`.
pub(crate) fn push_filter(query: &ListQuery, sql: &mut String, params: &mut Params) -> StoreResult<()> {
    if let Some(filter) = &query.filter {
        let mut condition = String::new();
        let mut generic = Vec::new();
        push_condition(Dialect::Postgres, filter, ENTITY_COLUMNS, &mut condition, &mut generic)?;
        sql.push_str(" AND ");
        sql.push_str(&condition);
        params.extend(generic.into_iter().map(boxed));
    }
    Ok(())
}

fn insert(tx: &mut impl GenericClient, new: &NewWorkspace) -> Result<Workspace, postgres::Error> {
    let workspace = Workspace {
        id: crate::new_id("workspace"),
        name: new.name.clone(),
        description: new.description.clone(),
        created_at: new.at,
        created_by: new.actor.clone(),
        updated_at: new.at,
        updated_by: new.actor.clone(),
    };
    tx.execute(
        &format!("INSERT INTO workspaces ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $4, $5)"),
        &[&workspace.id, &workspace.name, &workspace.description, &new.at, &new.actor],
    )?;
    Ok(workspace)
}

impl WorkspaceStore for PostgresStore {
    fn create_workspace(
        &self,
        new: &NewWorkspace,
        creator_admin: Option<&Grant>,
        audit: &AuditContext,
    ) -> StoreResult<(Workspace, Option<RoleBinding>)> {
        self.write_access(|tx| {
            let workspace = insert(tx, new).map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict(format!("Workspace '{}' already exists", new.name))
                } else {
                    unavailable(e)
                }
            })?;
            record(tx, &created_event(audit, &workspace))?;
            let binding = match creator_admin {
                Some(grant) => Some(access_rules::grant_audited(tx, grant, audit)?),
                None => None,
            };
            Ok((workspace, binding))
        })
    }

    fn ensure_workspace(&self, new: &NewWorkspace) -> StoreResult<bool> {
        self.write_access(|tx| {
            let exists = tx
                .query_opt("SELECT 1 FROM workspaces WHERE name = $1", &[&new.name])
                .map_err(unavailable)?;
            if exists.is_some() {
                return Ok(false);
            }
            let workspace = insert(tx, new).map_err(unavailable)?;
            record(tx, &created_event(&AuditContext::new(new.actor.clone(), new.at), &workspace))?;
            Ok(true)
        })
    }

    fn get_workspace(&self, name: &str) -> StoreResult<Workspace> {
        self.read(|c| c.query_opt(&format!("SELECT {COLUMNS} FROM workspaces WHERE name = $1"), &[&name]))?
            .map(|row| workspace_from_row(&row))
            .ok_or_else(|| workspace_not_found(name))
    }

    fn list_workspaces(
        &self,
        query: &ListQuery,
        visible: Option<&BTreeSet<String>>,
    ) -> StoreResult<PageOf<Workspace>> {
        let mut condition = String::from("TRUE");
        let mut params: Params = Vec::new();
        push_filter(query, &mut condition, &mut params)?;
        if let Some(names) = visible {
            condition.push_str(" AND name = ANY(?)");
            params.push(Box::new(names.iter().cloned().collect::<Vec<String>>()));
        }
        let offset = query.page.saturating_sub(1).saturating_mul(query.page_size);
        let limit = i64::try_from(query.page_size).unwrap_or(i64::MAX);
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        // One statement for the page and the total, so both come from one snapshot. Unfiltered,
        // the total is the count the triggers keep (migration 0006); otherwise a window count
        // over the filtered rows.
        let unfiltered = query.filter.is_none() && visible.is_none();
        let total_column =
            if unfiltered { "(SELECT total FROM workspace_count)" } else { "count(*) OVER ()" };
        let sql = numbered(&format!(
            "SELECT {COLUMNS}, {total_column} FROM workspaces WHERE {condition} ORDER BY {} LIMIT ? OFFSET ?",
            order_by(query)
        ));
        let count_sql = if unfiltered {
            "SELECT total FROM workspace_count".to_string()
        } else {
            numbered(&format!("SELECT count(*) FROM workspaces WHERE {condition}"))
        };
        let mut all = refs(&params);
        all.push(&limit);
        all.push(&offset);
        self.read(|c| {
            let rows = c.query(&sql, &all)?;
            let total = match rows.first() {
                Some(row) => row.get::<_, i64>(7),
                // Past the end the window gives no row to read the total from.
                None if query.page > 1 => c.query_one(&count_sql, &refs(&params))?.get(0),
                None => 0,
            };
            let items = rows.iter().map(workspace_from_row).collect();
            Ok(PageOf { items, total: u64::try_from(total).unwrap_or(0) })
        })
    }

    fn update_workspace(&self, name: &str, update: &EntityUpdate) -> StoreResult<Workspace> {
        self.write_access(|tx| {
            let row = match &update.description {
                Some(description) => tx.query_opt(
                    &format!(
                        "UPDATE workspaces SET description = $1, updated_at = $2, updated_by = $3 \
                         WHERE name = $4 RETURNING {COLUMNS}"
                    ),
                    &[description, &update.at, &update.actor, &name],
                ),
                None => tx.query_opt(
                    &format!(
                        "UPDATE workspaces SET updated_at = $1, updated_by = $2 WHERE name = $3 RETURNING {COLUMNS}"
                    ),
                    &[&update.at, &update.actor, &name],
                ),
            }
            .map_err(unavailable)?;
            row.map(|row| workspace_from_row(&row)).ok_or_else(|| workspace_not_found(name))
        })
    }

    fn delete_workspace(&self, name: &str, audit: &AuditContext) -> StoreResult<DeletedWorkspace> {
        self.write_access(|tx| {
            let workspace = tx
                .query_opt(&format!("SELECT {COLUMNS} FROM workspaces WHERE name = $1 FOR UPDATE"), &[&name])
                .map_err(unavailable)?
                .map(|row| workspace_from_row(&row))
                .ok_or_else(|| workspace_not_found(name))?;
            let projects: i64 = tx
                .query_one("SELECT count(*) FROM projects WHERE workspace = $1", &[&name])
                .map_err(unavailable)?
                .get(0);
            if projects > 0 {
                return Err(StoreError::Conflict(format!(
                    "Cannot delete workspace '{name}': workspace contains entities that must be deleted first: \
                     project ({projects})"
                )));
            }
            let removed_bindings = tx
                .query(
                    &format!("DELETE FROM role_bindings WHERE workspace = $1 RETURNING {BINDING_COLUMNS}"),
                    &[&name],
                )
                .map_err(unavailable)?
                .iter()
                .map(binding_from_row)
                .collect::<Vec<_>>();
            tx.execute("DELETE FROM workspaces WHERE name = $1", &[&name]).map_err(unavailable)?;
            record(tx, &deleted_event(audit, &workspace, &removed_bindings))?;
            Ok(DeletedWorkspace { workspace, removed_bindings })
        })
    }
}
