//! Importing a [`Snapshot`] into PostgreSQL in one transaction (one access revision, so running
//! replicas reload), refusing a database that already holds workspaces unless told to replace it.
//! The audit trail comes along with its ids; the import itself is not an access change anyone
//! made through the API, so it records no event.

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
            tx.batch_execute(
                "DELETE FROM projects; DELETE FROM role_bindings; DELETE FROM workspaces; DELETE FROM audit_events;",
            )
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
            for e in &snapshot.audit_events {
                let json = |value: &Option<serde_json::Value>| value.as_ref().map(serde_json::Value::to_string);
                tx.execute(
                    "INSERT INTO audit_events (id, at, actor, action, workspace, principal, before, after, request_id) \
                     OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8::text::jsonb, $9)",
                    &[
                        &e.id,
                        &e.at,
                        &e.actor,
                        &e.action,
                        &e.workspace,
                        &e.principal,
                        &json(&e.before),
                        &json(&e.after),
                        &e.request_id,
                    ],
                )
                .map_err(unavailable)?;
            }
            // New events continue after the imported ones.
            tx.execute(
                "SELECT setval(pg_get_serial_sequence('audit_events', 'id'), \
                 (SELECT coalesce(max(id), 0) + 1 FROM audit_events), false)",
                &[],
            )
            .map_err(unavailable)?;
            Ok(snapshot.counts())
        })
    }
}
