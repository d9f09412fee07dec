//! The SQLite backend: one file in WAL mode, `synchronous=FULL` so an acknowledged write survives
//! `kill -9` and power loss, one writer connection (writers are serialized with `BEGIN IMMEDIATE`,
//! which is what makes the last-Admin rule safe under concurrency) and a few reader connections.

mod access_keys;
pub mod audit;
mod bindings;
mod projects;
mod sessions;
mod workspaces;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use rusqlite_migration::{Migrations, M};
use time::OffsetDateTime;

use crate::sql_filter::{push_condition, Dialect, SqlParam, ENTITY_COLUMNS};
use crate::{Filter, Store, StoreError, StoreResult};

const READERS: usize = 4;

pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish()
    }
}

/// The migrations, in order; the database's `user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_access_keys.sql"),
    include_str!("../../migrations/sqlite/0003_audit.sql"),
    include_str!("../../migrations/sqlite/0004_studio_sessions.sql"),
    include_str!("../../migrations/sqlite/0005_workspace_count.sql"),
];

fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect())
}

/// The `user_version` of a fully migrated database.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Switch the file to WAL and apply pending migrations (versioned by `user_version`,
/// forward-only) while holding an exclusive lock on `<database>.migrate.lock`, so processes
/// opening the same new file together neither race on the journal mode (switching to WAL
/// needs an exclusive database lock, and SQLite answers a concurrent switch with "database is
/// locked" without consulting the busy handler) nor on the schema: they migrate once.
fn migrate(writer: &mut Connection, path: &Path) -> StoreResult<()> {
    use fs4::fs_std::FileExt;
    let lock_path = path.with_extension("migrate.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", lock_path.display())))?;
    lock.lock_exclusive()
        .map_err(|e| StoreError::Unavailable(format!("cannot lock {}: {e}", lock_path.display())))?;
    let result = writer.pragma_update(None, "journal_mode", "WAL").map_err(unavailable).and_then(|()| {
        migrations()
            .to_latest(writer)
            .map_err(|e| StoreError::Unavailable(format!("migrating {}: {e}", path.display())))
    });
    let _ = FileExt::unlock(&lock);
    result
}

pub(crate) fn unavailable(error: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

/// Prepared statements kept per connection: every query the store runs, plus one
/// name-lookup statement per count of visible workspaces (up to 64).
const STATEMENT_CACHE: usize = 256;

fn configure(connection: &Connection) -> rusqlite::Result<()> {
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

impl SqliteStore {
    /// Open (creating if needed) the database at `path` and apply pending migrations.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Unavailable(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
        }
        let mut writer = Connection::open(path).map_err(unavailable)?;
        configure(&writer).map_err(unavailable)?;
        migrate(&mut writer, path)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )
            .map_err(unavailable)?;
            configure(&reader).map_err(unavailable)?;
            readers.push(Mutex::new(reader));
        }
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// Run `work` on a reader connection.
    pub(crate) fn read<T>(&self, work: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        // Take the first free reader; if all are busy, wait on the one round-robin picked.
        for offset in 0..self.readers.len() {
            if let Ok(guard) = self.readers[(start + offset) % self.readers.len()].try_lock() {
                return work(&guard).map_err(unavailable);
            }
        }
        let guard = lock(&self.readers[start % self.readers.len()]);
        work(&guard).map_err(unavailable)
    }

    /// Run `work` in one `BEGIN IMMEDIATE` transaction on the writer: committed if it returns Ok,
    /// rolled back otherwise.
    pub(crate) fn write<T>(
        &self,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut guard = lock(&self.writer);
        let transaction =
            guard.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
        let value = work(&transaction)?;
        transaction.commit().map_err(unavailable)?;
        Ok(value)
    }
}

fn lock(mutex: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot leave a transaction half-applied (it rolls back on
    // drop), so the connection is still usable.
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Store for SqliteStore {
    fn ping(&self) -> StoreResult<()> {
        self.read(|c| c.query_row("SELECT count(*) FROM workspaces WHERE name = 'system'", [], |_| Ok(())))?;
        if !self.path.exists() {
            return Err(StoreError::Unavailable(format!("{} is gone", self.path.display())));
        }
        Ok(())
    }

    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    fn reads_are_local(&self) -> bool {
        true
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn external_change_marker(&self) -> StoreResult<i64> {
        // `data_version` on a connection changes when *other* connections commit; the writer is
        // the only connection of this process that commits, so on it the value moves exactly
        // when another process wrote.
        let guard = lock(&self.writer);
        guard.query_row("PRAGMA data_version", [], |row| row.get(0)).map_err(unavailable)
    }
}

pub(crate) fn to_micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

pub(crate) fn from_micros(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(crate) fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// Append the SQLite condition for a list filter over the entity columns.
pub(crate) fn push_filter(
    filter: &Filter,
    sql: &mut String,
    params: &mut Vec<rusqlite::types::Value>,
) -> StoreResult<()> {
    let mut generic = Vec::new();
    push_condition(Dialect::Sqlite, filter, ENTITY_COLUMNS, sql, &mut generic)?;
    params.extend(generic.into_iter().map(|param| match param {
        SqlParam::Text(text) => rusqlite::types::Value::Text(text),
        SqlParam::Time(at) => rusqlite::types::Value::Integer(to_micros(at)),
    }));
    Ok(())
}

impl SqliteStore {
    /// Every row, in creation order (for moving the store to another backend).
    pub fn snapshot(&self) -> StoreResult<crate::transfer::Snapshot> {
        self.read(|c| {
            let workspaces = c
                .prepare(&format!("SELECT {} FROM workspaces ORDER BY created_at, id", workspaces::COLUMNS))?
                .query_map([], workspaces::workspace_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let projects = c
                .prepare(&format!("SELECT {} FROM projects ORDER BY created_at, id", projects::COLUMNS))?
                .query_map([], projects::project_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let bindings = c
                .prepare(
                    "SELECT id, name, principal, workspace, role, granted_by, granted_at, revoked_at \
                     FROM role_bindings ORDER BY granted_at, id",
                )?
                .query_map([], bindings::binding_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let audit_events = c
                .prepare(&format!("SELECT {} FROM audit_events ORDER BY id", audit::COLUMNS))?
                .query_map([], audit::event_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(crate::transfer::Snapshot { workspaces, projects, bindings, audit_events })
        })
    }
}
