//! Projects on SQLite.

use nmp_core::WorkspaceName;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, OptionalExtension, Row};

use super::workspaces::order_by;
use super::{from_micros, to_micros, unavailable, SqliteStore};
use crate::error::workspace_not_found;
use crate::{EntityUpdate, ListQuery, NewProject, PageOf, Project, ProjectStore, StoreError, StoreResult};

pub(crate) const COLUMNS: &str =
    "id, workspace, name, description, created_at, created_by, updated_at, updated_by";

pub(crate) fn project_from_row(row: &Row<'_>) -> rusqlite::Result<Project> {
    Ok(Project {
        id: row.get(0)?,
        workspace: row.get(1)?,
        name: row.get(2)?,
        description: row.get(3)?,
        created_at: from_micros(row.get(4)?),
        created_by: row.get(5)?,
        updated_at: from_micros(row.get(6)?),
        updated_by: row.get(7)?,
    })
}

fn project_not_found(workspace: &str, name: &str) -> StoreError {
    StoreError::NotFound(format!("Project '{name}' not found in workspace '{workspace}'"))
}

fn require_workspace(c: &rusqlite::Connection, workspace: &str) -> StoreResult<()> {
    let found: Option<i64> = c
        .query_row("SELECT 1 FROM workspaces WHERE name = ?1", [workspace], |r| r.get(0))
        .optional()
        .map_err(unavailable)?;
    found.map(|_| ()).ok_or_else(|| workspace_not_found(workspace))
}

impl ProjectStore for SqliteStore {
    fn create_project(&self, new: &NewProject) -> StoreResult<Project> {
        self.write(|tx| {
            require_workspace(tx, &new.workspace)?;
            let project = Project {
                id: crate::new_id("project"),
                workspace: new.workspace.clone(),
                name: new.name.clone(),
                description: new.description.clone(),
                created_at: new.at,
                created_by: new.actor.clone(),
                updated_at: new.at,
                updated_by: new.actor.clone(),
            };
            tx.execute(
                &format!("INSERT INTO projects ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5, ?6)"),
                params![
                    project.id,
                    project.workspace,
                    project.name,
                    project.description,
                    to_micros(new.at),
                    new.actor
                ],
            )
            .map_err(|e| {
                if super::is_unique_violation(&e) {
                    StoreError::Conflict(format!(
                        "Project '{}' already exists in workspace '{}'",
                        new.name, new.workspace
                    ))
                } else {
                    unavailable(e)
                }
            })?;
            Ok(project)
        })
    }

    fn get_project(&self, workspace: &WorkspaceName, name: &str) -> StoreResult<Project> {
        let found = self.read(|c| {
            c.prepare_cached(&format!("SELECT {COLUMNS} FROM projects WHERE workspace = ?1 AND name = ?2"))?
                .query_row([workspace, name], project_from_row)
                .optional()
        })?;
        match found {
            Some(project) => Ok(project),
            None => {
                self.read(|c| Ok(require_workspace(c, workspace)))??;
                Err(project_not_found(workspace, name))
            }
        }
    }

    fn list_projects(&self, workspace: &WorkspaceName, query: &ListQuery) -> StoreResult<PageOf<Project>> {
        self.read(|c| Ok(require_workspace(c, workspace)))??;
        let mut condition = String::from("workspace = ?");
        let mut params: Vec<SqlValue> = vec![SqlValue::Text(workspace.to_string())];
        if let Some(filter) = &query.filter {
            condition.push_str(" AND ");
            super::push_filter(filter, &mut condition, &mut params)?;
        }
        let offset = query.page.saturating_sub(1).saturating_mul(query.page_size);
        let order = order_by(query);
        self.read(|c| {
            let total: i64 = c.query_row(
                &format!("SELECT count(*) FROM projects WHERE {condition}"),
                params_from_iter(params.iter()),
                |r| r.get(0),
            )?;
            let mut statement = c.prepare(&format!(
                "SELECT {COLUMNS} FROM projects WHERE {condition} ORDER BY {order} LIMIT {} OFFSET {offset}",
                query.page_size
            ))?;
            let items = statement
                .query_map(params_from_iter(params.iter()), project_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(PageOf { items, total: u64::try_from(total).unwrap_or(0) })
        })
    }

    fn update_project(
        &self,
        workspace: &WorkspaceName,
        name: &str,
        update: &EntityUpdate,
    ) -> StoreResult<Project> {
        self.write(|tx| {
            require_workspace(tx, workspace)?;
            let changed = match &update.description {
                Some(description) => tx.execute(
                    "UPDATE projects SET description = ?1, updated_at = ?2, updated_by = ?3 \
                     WHERE workspace = ?4 AND name = ?5",
                    params![description, to_micros(update.at), update.actor, workspace, name],
                ),
                None => tx.execute(
                    "UPDATE projects SET updated_at = ?1, updated_by = ?2 WHERE workspace = ?3 AND name = ?4",
                    params![to_micros(update.at), update.actor, workspace, name],
                ),
            }
            .map_err(unavailable)?;
            if changed == 0 {
                return Err(project_not_found(workspace, name));
            }
            tx.query_row(
                &format!("SELECT {COLUMNS} FROM projects WHERE workspace = ?1 AND name = ?2"),
                [workspace, name],
                project_from_row,
            )
            .map_err(unavailable)
        })
    }

    fn delete_project(&self, workspace: &WorkspaceName, name: &str) -> StoreResult<Project> {
        self.write(|tx| {
            require_workspace(tx, workspace)?;
            let project = tx
                .query_row(
                    &format!("SELECT {COLUMNS} FROM projects WHERE workspace = ?1 AND name = ?2"),
                    [workspace, name],
                    project_from_row,
                )
                .optional()
                .map_err(unavailable)?
                .ok_or_else(|| project_not_found(workspace, name))?;
            tx.execute("DELETE FROM projects WHERE id = ?1", [&project.id]).map_err(unavailable)?;
            Ok(project)
        })
    }
}
