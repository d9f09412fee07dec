//! Workspaces on SQLite.

use std::collections::BTreeSet;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, OptionalExtension, Row};

use super::audit::record;
use super::bindings::binding_from_row;
use super::{from_micros, to_micros, unavailable, SqliteStore};
use crate::access_rules;
use crate::audit::{created_event, deleted_event};
use crate::error::workspace_not_found;
use crate::{
    AuditContext, DeletedWorkspace, EntityUpdate, Grant, ListQuery, NewWorkspace, PageOf, RoleBinding, Sort,
    SortField, StoreError, StoreResult, Workspace, WorkspaceStore,
};

pub(crate) const COLUMNS: &str = "id, name, description, created_at, created_by, updated_at, updated_by";
/// Up to this many visible names go into the query as parameters; more go in as one JSON array.
const MAX_INLINE_NAMES: usize = 64;

pub(crate) fn workspace_from_row(row: &Row<'_>) -> rusqlite::Result<Workspace> {
    Ok(Workspace {
        id: row.get(0)?,
        name: row.get(1)?,
        description: row.get(2)?,
        created_at: from_micros(row.get(3)?),
        created_by: row.get(4)?,
        updated_at: from_micros(row.get(5)?),
        updated_by: row.get(6)?,
    })
}

pub(crate) fn order_by(query: &ListQuery) -> String {
    order_by_sort(query.sort)
}

fn order_by_sort(sort: Sort) -> String {
    let column = match sort.field {
        SortField::CreatedAt => "created_at",
        SortField::UpdatedAt => "updated_at",
        SortField::Name => "name",
    };
    let direction = if sort.descending { "DESC" } else { "ASC" };
    // `id` breaks ties so pages never overlap or skip.
    format!("{column} {direction}, id {direction}")
}

/// The statement of an unfiltered page (the admin's list) for `sort`, with the kept total as its
/// last column: built once per sort, so the most common list formats no SQL per request.
fn unfiltered_page_sql(sort: Sort) -> &'static str {
    static TEXTS: [std::sync::OnceLock<String>; 6] = [const { std::sync::OnceLock::new() }; 6];
    let field = match sort.field {
        SortField::CreatedAt => 0,
        SortField::UpdatedAt => 1,
        SortField::Name => 2,
    };
    TEXTS[field * 2 + usize::from(sort.descending)].get_or_init(|| {
        let order = order_by_sort(sort);
        format!(
            "SELECT {COLUMNS}, (SELECT total FROM workspace_count) FROM workspaces ORDER BY {order} LIMIT ? OFFSET ?"
        )
    })
}

/// The order `order_by` gives in SQL (`<field> <dir>, id <dir>`, byte-wise text comparison).
fn sort_like_sql(rows: &mut [Workspace], query: &ListQuery) {
    rows.sort_by(|a, b| {
        let by_field = match query.sort.field {
            SortField::CreatedAt => a.created_at.cmp(&b.created_at),
            SortField::UpdatedAt => a.updated_at.cmp(&b.updated_at),
            SortField::Name => a.name.cmp(&b.name),
        };
        let ordering = by_field.then_with(|| a.id.cmp(&b.id));
        if query.sort.descending {
            ordering.reverse()
        } else {
            ordering
        }
    });
}

/// The workspaces named in `names` (those that exist), in one statement and so one snapshot:
/// the names as a `VALUES` list, each looked up in the unique index on `name` through one cursor
/// (`CROSS JOIN` keeps the list the outer loop). Cached per count of names. A `UNION ALL` of one
/// `SELECT .. WHERE name = ?` per name opened two cursors per name and cost a user with three
/// workspaces about 2 000 more instructions per list (`docs/benchmarks.md`).
fn lookup_by_names(c: &rusqlite::Connection, names: &BTreeSet<String>) -> rusqlite::Result<Vec<Workspace>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    static TEXTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let texts = TEXTS.get_or_init(|| {
        let mut texts = Vec::with_capacity(MAX_INLINE_NAMES);
        let mut values = String::new();
        for i in 1..=MAX_INLINE_NAMES {
            if i > 1 {
                values.push(',');
            }
            values.push_str(&format!("(?{i})"));
            texts.push(format!(
                "SELECT {COLUMNS} FROM (VALUES {values}) AS v CROSS JOIN workspaces ON workspaces.name = v.column1"
            ));
        }
        texts
    });
    let Some(sql) = texts.get(names.len() - 1) else {
        return Err(rusqlite::Error::InvalidParameterCount(names.len(), MAX_INLINE_NAMES));
    };
    let mut statement = c.prepare_cached(sql)?;
    let rows = statement.query_map(params_from_iter(names.iter()), workspace_from_row)?;
    rows.collect()
}

fn insert(tx: &rusqlite::Connection, new: &NewWorkspace) -> rusqlite::Result<Workspace> {
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
        &format!("INSERT INTO workspaces ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?5)"),
        params![workspace.id, workspace.name, workspace.description, to_micros(new.at), new.actor],
    )?;
    Ok(workspace)
}

fn already_exists(name: &str) -> StoreError {
    StoreError::Conflict(format!("Workspace '{name}' already exists"))
}

impl WorkspaceStore for SqliteStore {
    fn create_workspace(
        &self,
        new: &NewWorkspace,
        creator_admin: Option<&Grant>,
        audit: &AuditContext,
    ) -> StoreResult<(Workspace, Option<RoleBinding>)> {
        self.write(|tx| {
            let workspace = insert(tx, new).map_err(|e| {
                if super::is_unique_violation(&e) {
                    already_exists(&new.name)
                } else {
                    unavailable(e)
                }
            })?;
            record(tx, &created_event(audit, &workspace))?;
            let binding = match creator_admin {
                Some(grant) => Some(access_rules::grant_audited(&mut { tx }, grant, audit)?),
                None => None,
            };
            Ok((workspace, binding))
        })
    }

    fn ensure_workspace(&self, new: &NewWorkspace) -> StoreResult<bool> {
        self.write(|tx| {
            let exists: Option<i64> = tx
                .query_row("SELECT 1 FROM workspaces WHERE name = ?1", [&new.name], |r| r.get(0))
                .optional()
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
        self.read(|c| {
            c.prepare_cached(&format!("SELECT {COLUMNS} FROM workspaces WHERE name = ?1"))?
                .query_row([name], workspace_from_row)
                .optional()
        })?
        .ok_or_else(|| workspace_not_found(name))
    }

    fn list_workspaces(
        &self,
        query: &ListQuery,
        visible: Option<&BTreeSet<String>>,
    ) -> StoreResult<PageOf<Workspace>> {
        let mut condition = String::from("1");
        let mut params: Vec<SqlValue> = Vec::new();
        if let Some(filter) = &query.filter {
            condition.push_str(" AND ");
            super::push_filter(filter, &mut condition, &mut params)?;
        }
        match visible {
            Some(names) if names.len() <= MAX_INLINE_NAMES => {
                // The usual case (a user in a few workspaces): look the few rows up by name and
                // sort and page them here, which costs SQLite no sorter and no window. Without a
                // filter, one unique-index lookup per name ([`lookup_by_names`]): `name IN (...)`
                // would build an ephemeral b-tree (its own pager and page cache) per request.
                let mut rows = if query.filter.is_none() {
                    self.read(|c| lookup_by_names(c, names))?
                } else {
                    let marks = vec!["?"; names.len()].join(",");
                    condition.push_str(&format!(" AND name IN ({marks})"));
                    params.extend(names.iter().cloned().map(SqlValue::Text));
                    self.read(|c| {
                        let mut statement =
                            c.prepare_cached(&format!("SELECT {COLUMNS} FROM workspaces WHERE {condition}"))?;
                        let rows =
                            statement.query_map(params_from_iter(params.iter()), workspace_from_row)?;
                        rows.collect::<rusqlite::Result<Vec<_>>>()
                    })?
                };
                sort_like_sql(&mut rows, query);
                let total = rows.len() as u64;
                let start = usize::try_from(query.page.saturating_sub(1).saturating_mul(query.page_size))
                    .unwrap_or(usize::MAX);
                let items = rows
                    .into_iter()
                    .skip(start)
                    .take(usize::try_from(query.page_size).unwrap_or(usize::MAX))
                    .collect();
                return Ok(PageOf { items, total });
            }
            Some(names) => {
                // One JSON parameter, so the visible set can be any size.
                condition.push_str(" AND name IN (SELECT value FROM json_each(?))");
                params.push(SqlValue::Text(serde_json::to_string(names).unwrap_or_else(|_| "[]".into())));
            }
            None => {}
        }
        let offset = query.page.saturating_sub(1).saturating_mul(query.page_size);
        // Unfiltered, the total is the count the triggers keep (migration 0005), read in the
        // same statement, so in the same snapshot as the page.
        let unfiltered = query.filter.is_none() && visible.is_none();
        self.read(|c| {
            let mut statement = if unfiltered {
                c.prepare_cached(unfiltered_page_sql(query.sort))?
            } else {
                let order = order_by(query);
                c.prepare_cached(&format!(
                    "SELECT {COLUMNS}, NULL FROM workspaces WHERE {condition} ORDER BY {order} LIMIT ? OFFSET ?"
                ))?
            };
            let mut all_params = params.clone();
            all_params.push(SqlValue::Integer(i64::try_from(query.page_size).unwrap_or(i64::MAX)));
            all_params.push(SqlValue::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
            let mut kept: Option<i64> = None;
            let items = statement
                .query_map(params_from_iter(all_params.iter()), |row| {
                    kept = row.get(7)?;
                    workspace_from_row(row)
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            // A short first page already is the whole result; only otherwise count (the most
            // common list, a few workspaces, then costs one statement).
            let total = if let Some(kept) = kept {
                u64::try_from(kept).unwrap_or(0)
            } else if query.page == 1 && (items.len() as u64) < query.page_size {
                items.len() as u64
            } else if unfiltered {
                // Past the last page: no row carried the kept total.
                let kept: i64 = c.prepare_cached("SELECT total FROM workspace_count")?.query_row([], |r| r.get(0))?;
                u64::try_from(kept).unwrap_or(0)
            } else {
                let counted: i64 = c
                    .prepare_cached(&format!("SELECT count(*) FROM workspaces WHERE {condition}"))?
                    .query_row(params_from_iter(params.iter()), |r| r.get(0))?;
                u64::try_from(counted).unwrap_or(0)
            };
            Ok(PageOf { items, total })
        })
    }

    fn update_workspace(&self, name: &str, update: &EntityUpdate) -> StoreResult<Workspace> {
        self.write(|tx| {
            let changed = match &update.description {
                Some(description) => tx.execute(
                    "UPDATE workspaces SET description = ?1, updated_at = ?2, updated_by = ?3 WHERE name = ?4",
                    params![description, to_micros(update.at), update.actor, name],
                ),
                None => tx.execute(
                    "UPDATE workspaces SET updated_at = ?1, updated_by = ?2 WHERE name = ?3",
                    params![to_micros(update.at), update.actor, name],
                ),
            }
            .map_err(unavailable)?;
            if changed == 0 {
                return Err(workspace_not_found(name));
            }
            tx.query_row(&format!("SELECT {COLUMNS} FROM workspaces WHERE name = ?1"), [name], workspace_from_row)
                .map_err(unavailable)
        })
    }

    fn delete_workspace(&self, name: &str, audit: &AuditContext) -> StoreResult<DeletedWorkspace> {
        self.write(|tx| {
            let workspace = tx
                .query_row(&format!("SELECT {COLUMNS} FROM workspaces WHERE name = ?1"), [name], workspace_from_row)
                .optional()
                .map_err(unavailable)?
                .ok_or_else(|| workspace_not_found(name))?;
            let projects: i64 = tx
                .query_row("SELECT count(*) FROM projects WHERE workspace = ?1", [name], |r| r.get(0))
                .map_err(unavailable)?;
            if projects > 0 {
                return Err(StoreError::Conflict(format!(
                    "Cannot delete workspace '{name}': workspace contains entities that must be deleted first: \
                     project ({projects})"
                )));
            }
            let removed_bindings = {
                let mut statement = tx
                    .prepare("SELECT id, name, principal, workspace, role, granted_by, granted_at, revoked_at \
                              FROM role_bindings WHERE workspace = ?1")
                    .map_err(unavailable)?;
                let rows = statement.query_map([name], binding_from_row).map_err(unavailable)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(unavailable)?
            };
            tx.execute("DELETE FROM role_bindings WHERE workspace = ?1", [name]).map_err(unavailable)?;
            tx.execute("DELETE FROM workspaces WHERE name = ?1", [name]).map_err(unavailable)?;
            record(tx, &deleted_event(audit, &workspace, &removed_bindings))?;
            Ok(DeletedWorkspace { workspace, removed_bindings })
        })
    }
}
