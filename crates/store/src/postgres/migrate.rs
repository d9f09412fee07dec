//! Versioned, forward-only schema migrations for PostgreSQL, applied at start.
//!
//! Replicas starting together must migrate once: the runner holds a session-level advisory lock
//! (`pg_advisory_lock`) while it reads `schema_migrations` and applies what is missing, each
//! migration in its own transaction with its row. The others wait on the lock, then find nothing
//! to do. The lock is released with the session, so a replica killed mid-migration blocks no one
//! (and its transaction rolls back). A database migrated by a newer nmp is refused rather than
//! used with an older schema. (The migration libraries we looked at apply migrations without
//! such a cross-process lock; this runner is the few lines that need it.)

use postgres::Client;

use super::unavailable;
use crate::{StoreError, StoreResult};

/// (version, name, SQL), in order. Never edit a released entry: add the next one.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/postgres/0001_init.sql")),
    (2, "replicas", include_str!("../../migrations/postgres/0002_replicas.sql")),
    (3, "access_keys", include_str!("../../migrations/postgres/0003_access_keys.sql")),
    (4, "audit", include_str!("../../migrations/postgres/0004_audit.sql")),
    (5, "studio_sessions", include_str!("../../migrations/postgres/0005_studio_sessions.sql")),
    (6, "workspace_count", include_str!("../../migrations/postgres/0006_workspace_count.sql")),
];

/// Key of the advisory lock that serializes migrations ("nmp-mig" in ASCII).
const MIGRATION_LOCK: i64 = 0x006e_6d70_2d6d_6967;

pub fn latest_version() -> i32 {
    MIGRATIONS.last().map(|(version, _, _)| *version).unwrap_or(0)
}

pub(crate) fn migrate(client: &mut Client) -> StoreResult<()> {
    // Waiting for another replica's migration, or a long migration, is not a slow statement.
    client.batch_execute("SET statement_timeout = 0").map_err(unavailable)?;
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).map_err(unavailable)?;
    let result = apply_pending(client);
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).map_err(unavailable);
    client.batch_execute("RESET statement_timeout").map_err(unavailable)?;
    result.and(unlocked.map(|_| ()))
}

fn apply_pending(client: &mut Client) -> StoreResult<()> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    INTEGER PRIMARY KEY,
                 name       TEXT NOT NULL,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .map_err(unavailable)?;
    let applied: i32 = client
        .query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[])
        .map_err(unavailable)?
        .get(0);
    if applied > latest_version() {
        return Err(StoreError::Unavailable(format!(
            "the database schema is at version {applied}, newer than this nmp knows ({}): upgrade nmp",
            latest_version()
        )));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|(version, _, _)| *version > applied) {
        let mut tx = client.transaction().map_err(unavailable)?;
        tx.batch_execute(sql).map_err(|e| {
            StoreError::Unavailable(format!("migration {version} ({name}) failed: {}", unavailable(e)))
        })?;
        tx.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", &[version, name])
            .map_err(unavailable)?;
        tx.commit().map_err(unavailable)?;
        tracing::info!(version, name, "applied database migration");
    }
    Ok(())
}
