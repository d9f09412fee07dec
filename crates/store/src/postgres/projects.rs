//! Projects on PostgreSQL. Project writes change no access, so they take no revision.

use nmp_core::WorkspaceName;
use postgres::{GenericClient, Row};

use super::workspaces::{order_by, push_filter};
use super::{is_unique_violation, numbered, refs, unavailable, Params, PostgresStore};
use crate::error::workspace_not_found;
use crate::{EntityUpdate, ListQuery, NewProject, PageOf, Project, ProjectStore, StoreError, StoreResult};

pub(crate) const COLUMNS: &str =
    "id, workspace, name, description, created_at, created_by, updated_at, updated_by";

fn project_from_row(row: &Row) -> Project {
    Project {
        id: row.get(0),
        workspace: row.get(1),
        name: row.get(2),
        description: row.get(3),
        created_at: row.get(4),
        created_by: row.get(5),
        updated_at: row.get(6),
        updated_by: row.get(7),
    }
}

fn project_not_found(workspace: &str, name: &str) -> StoreError {
    StoreError::NotFound(format!("Project '{name}' not found in workspace '{workspace}'"))
}

fn require_workspace(c: &mut impl GenericClient, workspace: &str) -> StoreResult<()> {
    let found =
        c.query_opt("SELECT 1 FROM workspaces WHERE name = $1", &[&workspace]).map_err(unavailable)?;
    found.map(|_| ()).ok_or_else(|| workspace_not_found(workspace))
}

impl ProjectStore for PostgresStore {
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
                &format!("INSERT INTO projects ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $5, $6)"),
                &[&project.id, &project.workspace, &project.name, &project.description, &new.at, &new.actor],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict(format!(
                        "Project '{}' already exists in workspace '{}'",
                        new.name, new.workspace
                    ))
                } else if e.code() == Some(&postgres::error::SqlState::FOREIGN_KEY_VIOLATION) {
                    // The workspace was deleted between the check and the insert.
                    workspace_not_found(&new.workspace)
                } else {
                    unavailable(e)
                }
            })?;
            Ok(project)
        })
    }

    fn get_project(&self, workspace: &WorkspaceName, name: &str) -> StoreResult<Project> {
        let (project, workspace_found) = self.read(|c| {
            let project = c.query_opt(
                &format!("SELECT {COLUMNS} FROM projects WHERE workspace = $1 AND name = $2"),
                &[&workspace, &name],
            )?;
            let workspace_found = match project {
                Some(_) => true,
                None => c.query_opt("SELECT 1 FROM workspaces WHERE name = $1", &[&workspace])?.is_some(),
            };
            Ok((project, workspace_found))
        })?;
        match project {
            Some(row) => Ok(project_from_row(&row)),
            None if !workspace_found => Err(workspace_not_found(workspace)),
            None => Err(project_not_found(workspace, name)),
        }
    }

    fn list_projects(&self, workspace: &WorkspaceName, query: &ListQuery) -> StoreResult<PageOf<Project>> {
        let mut condition = String::from("workspace = ?");
        let mut params: Params = vec![Box::new(workspace.to_string())];
        push_filter(query, &mut condition, &mut params)?;
        let offset = query.page.saturating_sub(1).saturating_mul(query.page_size);
        let count_sql = numbered(&format!("SELECT count(*) FROM projects WHERE {condition}"));
        let page_sql = numbered(&format!(
            "SELECT {COLUMNS} FROM projects WHERE {condition} ORDER BY {} LIMIT {} OFFSET {offset}",
            order_by(query),
            query.page_size
        ));
        let (found, total, rows) = self.read(|c| {
            if c.query_opt("SELECT 1 FROM workspaces WHERE name = $1", &[&workspace])?.is_none() {
                return Ok((false, 0, Vec::new()));
            }
            let total: i64 = c.query_one(&count_sql, &refs(&params))?.get(0);
            let rows = c.query(&page_sql, &refs(&params))?;
            Ok((true, total, rows))
        })?;
        if !found {
            return Err(workspace_not_found(workspace));
        }
        Ok(PageOf {
            items: rows.iter().map(project_from_row).collect(),
            total: u64::try_from(total).unwrap_or(0),
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
            let row = match &update.description {
                Some(description) => tx.query_opt(
                    &format!(
                        "UPDATE projects SET description = $1, updated_at = $2, updated_by = $3 \
                         WHERE workspace = $4 AND name = $5 RETURNING {COLUMNS}"
                    ),
                    &[description, &update.at, &update.actor, &workspace, &name],
                ),
                None => tx.query_opt(
                    &format!(
                        "UPDATE projects SET updated_at = $1, updated_by = $2 WHERE workspace = $3 AND name = $4 \
                         RETURNING {COLUMNS}"
                    ),
                    &[&update.at, &update.actor, &workspace, &name],
                ),
            }
            .map_err(unavailable)?;
            row.map(|row| project_from_row(&row)).ok_or_else(|| project_not_found(workspace, name))
        })
    }

    fn delete_project(&self, workspace: &WorkspaceName, name: &str) -> StoreResult<Project> {
        self.write(|tx| {
            require_workspace(tx, workspace)?;
            tx.query_opt(
                &format!("DELETE FROM projects WHERE workspace = $1 AND name = $2 RETURNING {COLUMNS}"),
                &[&workspace, &name],
            )
            .map_err(unavailable)?
            .map(|row| project_from_row(&row))
            .ok_or_else(|| project_not_found(workspace, name))
        })
    }
}
