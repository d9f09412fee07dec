//! Importing a [`Snapshot`] into PostgreSQL in one transaction (one access revision, so running
//! replicas reload), refusing a database that already holds workspaces unless told to replace it.

use super::bindings::COLUMNS as BINDING_COLUMNS;
use super::projects::COLUMNS as PROJECT_COLUMNS;
use super::workspaces::COLUMNS as WORKSPACE_COLUMNS;
use super::{unavailable, PostgresStore};
use crate::transfer::{Counts, Snapshot};
use crate::{StoreError, StoreResult};

impl PostgresStore {
    /// Copy `snapshot` in. With `replace`, whatever the database held is deleted first (same
    /// transaction); without it, a database holding any workspace is refused with `Conflict`.
    pub fn import(&self, snapshot: &Snapshot, replace: bool) -> StoreResult<Counts> {
        self.write_access(|tx| {
            let existing: i64 = tx.query_one("SELECT count(*) FROM workspaces", &[]).map_err(unavailable)?.get(0);
            if existing > 0 && !replace {
                return Err(StoreError::Conflict(format!(
                    "the target database already holds {existing} workspace(s); use --force to replace its contents"
                )));
            }
            tx.batch_execute("DELETE FROM projects; DELETE FROM role_bindings; DELETE FROM workspaces;")
                .map_err(unavailable)?;
            for w in &snapshot.workspaces {
                tx.execute(
                    &format!("INSERT INTO workspaces ({WORKSPACE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
                    &[&w.id, &w.name, &w.description, &w.created_at, &w.created_by, &w.updated_at, &w.updated_by],
                )
                .map_err(unavailable)?;
            }
            for p in &snapshot.projects {
                tx.execute(
                    &format!("INSERT INTO projects ({PROJECT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
                    &[
                        &p.id,
                        &p.workspace,
                        &p.name,
                        &p.description,
                        &p.created_at,
                        &p.created_by,
                        &p.updated_at,
                        &p.updated_by,
                    ],
                )
                .map_err(unavailable)?;
            }
            for b in &snapshot.bindings {
                tx.execute(
                    &format!("INSERT INTO role_bindings ({BINDING_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
                    &[&b.id, &b.name, &b.principal, &b.workspace, &b.role, &b.granted_by, &b.granted_at, &b.revoked_at],
                )
                .map_err(unavailable)?;
            }
            Ok(snapshot.counts())
        })
    }
}
