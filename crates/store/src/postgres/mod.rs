//! The PostgreSQL backend: the synchronous `postgres` driver (the store traits are synchronous and
//! the server calls them on tokio's blocking pool) behind an `r2d2` pool, TLS through rustls.
//!
//! Every transaction that changes access (bindings, workspaces) first bumps the one row of
//! `access_revision` and records the new revision in `access_changes`, then notifies
//! [`CHANGE_CHANNEL`] at commit. That row lock orders access writes across all replicas, so
//! revisions follow commit order and the last-Admin check cannot race; READ COMMITTED is enough
//! because every statement after the lock sees the latest commits.

mod access_keys;
pub mod audit;
mod bindings;
mod feed;
mod migrate;
mod options;
mod projects;
mod sessions;
mod transfer;
mod workspaces;

use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Transaction};
use r2d2::{Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;
use tokio_postgres_rustls::MakeRustlsConnect;

pub use migrate::{latest_version, MIGRATIONS};
pub use options::{PostgresOptions, TlsMode};

use crate::sql_filter::SqlParam;
use crate::{ChangeFeed, Store, StoreError, StoreResult};

/// The `LISTEN`/`NOTIFY` channel on which each committed access change announces its revision.
pub const CHANGE_CHANNEL: &str = "nmp_access_changes";

type Manager = PostgresConnectionManager<MakeRustlsConnect>;
type Connection = PooledConnection<Manager>;

pub struct PostgresStore {
    pool: PoolHandle,
    options: PostgresOptions,
    /// Identifies this store's writes in `access_changes` (one per process and open).
    instance: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("location", &self.options.redacted()).finish()
    }
}

/// The pool, dropped on a thread of its own: closing a connection of the synchronous driver runs
/// a small runtime of the driver's, which panics ("Cannot start a runtime from within a
/// runtime") when the store's last handle is dropped on an async worker thread, as it is when
/// the server shuts down.
struct PoolHandle(Option<Pool<Manager>>);

impl std::ops::Deref for PoolHandle {
    type Target = Pool<Manager>;

    fn deref(&self) -> &Pool<Manager> {
        #[allow(clippy::expect_used)] // only `drop` takes it out
        self.0.as_ref().expect("the pool is present until drop")
    }
}

impl Drop for PoolHandle {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            let _ = std::thread::Builder::new()
                .name("nmp-pg-close".into())
                .spawn(move || drop(pool))
                .map(|t| t.join());
        }
    }
}

/// A parameter list built at run time.
pub(crate) type Params = Vec<Box<dyn ToSql + Sync + Send>>;

pub(crate) fn refs(params: &Params) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
}

/// Turn `?` placeholders (as the shared filter code writes them) into `$1`, `$2`, ...
pub(crate) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 0;
    for c in sql.chars() {
        if c == '?' {
            next += 1;
            out.push_str(&format!("${next}"));
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn boxed(param: SqlParam) -> Box<dyn ToSql + Sync + Send> {
    match param {
        SqlParam::Text(text) => Box::new(text),
        SqlParam::Time(at) => Box::new(at),
    }
}

/// A driver error as a store error: unique violations are the caller's business (they know the
/// message); everything else means the database cannot serve this request now.
pub(crate) fn unavailable(error: postgres::Error) -> StoreError {
    match error.as_db_error() {
        Some(db) => StoreError::Unavailable(format!("{}: {}", db.code().code(), db.message())),
        None => StoreError::Unavailable(error.to_string()),
    }
}

pub(crate) fn is_unique_violation(error: &postgres::Error) -> bool {
    error.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// The connection itself failed (closed by the server, reset, restarted database), as opposed to
/// a statement failing: worth one retry on a fresh connection when nothing was done yet.
fn is_broken_connection(error: &postgres::Error) -> bool {
    error.is_closed()
        || matches!(error.code(), Some(code) if *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW)
        || (error.as_db_error().is_none()
            && std::error::Error::source(error).is_some_and(|s| s.is::<std::io::Error>()))
}

impl PostgresStore {
    /// Connect, apply pending migrations (once across replicas starting together: they wait on
    /// an advisory lock), and open the pool. Errors name the database (never the password) and
    /// say what went wrong: unreachable, wrong password, missing database, bad TLS.
    pub fn open(options: &PostgresOptions) -> StoreResult<PostgresStore> {
        let tls = options.tls_connector()?;
        let config = options.driver_config();
        let mut client = config.connect(tls.clone()).map_err(|e| describe_connect_error(&e, options))?;
        migrate::migrate(&mut client)?;
        drop(client);
        let manager = PostgresConnectionManager::new(config, tls);
        let pool = Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(options.connect_timeout.max(Duration::from_millis(100)))
            // A broken connection is found on use and retried once (see `read`/`write`) instead
            // of paying a round trip on every checkout.
            .test_on_check_out(false)
            .build_unchecked(manager);
        Ok(PostgresStore {
            pool: PoolHandle(Some(pool)),
            options: options.clone(),
            instance: crate::new_id("replica"),
        })
    }

    /// This store's instance id, as recorded in `access_changes.writer`.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn options(&self) -> &PostgresOptions {
        &self.options
    }

    fn connection(&self) -> StoreResult<Connection> {
        self.pool.get().map_err(|e| {
            StoreError::Unavailable(format!("no database connection to {}: {e}", self.options.redacted()))
        })
    }

    /// Run a read; retried once on a fresh connection when the pooled one turns out broken.
    pub(crate) fn read<T>(&self, work: impl Fn(&mut Client) -> Result<T, postgres::Error>) -> StoreResult<T> {
        let mut connection = self.connection()?;
        match work(&mut connection) {
            Err(error) if is_broken_connection(&error) => {
                drop(connection);
                let mut fresh = self.connection()?;
                work(&mut fresh).map_err(unavailable)
            }
            other => other.map_err(unavailable),
        }
    }

    /// Run `work` in one transaction: committed if it returns Ok, rolled back otherwise.
    pub(crate) fn write<T>(
        &self,
        work: impl FnOnce(&mut Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut connection = self.connection()?;
        match connection.transaction() {
            Ok(transaction) => return commit_after(transaction, work),
            // Nothing was sent but BEGIN: a fresh connection may run the whole transaction.
            Err(error) if is_broken_connection(&error) => {}
            Err(error) => return Err(unavailable(error)),
        }
        drop(connection);
        let mut fresh = self.connection()?;
        let transaction = fresh.transaction().map_err(unavailable)?;
        commit_after(transaction, work)
    }

    /// A write that changes access: takes the next revision first (which orders it after every
    /// other access write), records it, and notifies the replicas at commit.
    pub(crate) fn write_access<T>(
        &self,
        work: impl FnOnce(&mut Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.write(|tx| {
            let revision: i64 = tx
                .query_one("UPDATE access_revision SET revision = revision + 1 RETURNING revision", &[])
                .map_err(unavailable)?
                .get(0);
            let value = work(tx)?;
            tx.execute(
                "INSERT INTO access_changes (revision, writer) VALUES ($1, $2)",
                &[&revision, &self.instance],
            )
            .map_err(unavailable)?;
            tx.execute("SELECT pg_notify($1, $2)", &[&CHANGE_CHANNEL, &revision.to_string()])
                .map_err(unavailable)?;
            Ok(value)
        })
    }

    /// The revision of the last committed access change (0 before any).
    pub fn current_revision(&self) -> StoreResult<i64> {
        self.read(|c| c.query_one("SELECT revision FROM access_revision", &[]).map(|row| row.get(0)))
    }
}

fn commit_after<T>(
    mut transaction: Transaction<'_>,
    work: impl FnOnce(&mut Transaction<'_>) -> StoreResult<T>,
) -> StoreResult<T> {
    let value = work(&mut transaction)?;
    transaction.commit().map_err(unavailable)?;
    Ok(value)
}

fn describe_connect_error(error: &postgres::Error, options: &PostgresOptions) -> StoreError {
    let location = options.redacted();
    let reason = match error.code() {
        Some(code) if *code == SqlState::INVALID_PASSWORD => {
            "password authentication failed (check the user and password)".to_string()
        }
        Some(code) if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
            "the server refused this user (check pg_hba.conf and the user name)".to_string()
        }
        Some(code) if *code == SqlState::INVALID_CATALOG_NAME => "the database does not exist".to_string(),
        _ => match error.as_db_error() {
            Some(db) => db.message().to_string(),
            None => {
                let mut text = error.to_string();
                let mut source = std::error::Error::source(error);
                while let Some(inner) = source {
                    text.push_str(&format!(": {inner}"));
                    source = inner.source();
                }
                text
            }
        },
    };
    StoreError::Unavailable(format!("cannot connect to the database at {location}: {reason}"))
}

impl Store for PostgresStore {
    fn ping(&self) -> StoreResult<()> {
        self.read(|c| c.query_one("SELECT 1 FROM access_revision", &[]).map(|_| ()))
    }

    fn backend_name(&self) -> &'static str {
        "postgres"
    }

    fn location(&self) -> String {
        self.options.redacted()
    }

    fn external_change_marker(&self) -> StoreResult<i64> {
        // The newest revision some other replica committed: our own writes do not move it.
        self.read(|c| {
            c.query_one(
                "SELECT coalesce(max(revision), 0) FROM access_changes WHERE writer <> $1",
                &[&self.instance],
            )
            .map(|row| row.get(0))
        })
    }

    fn change_feed(&self) -> Option<&dyn ChangeFeed> {
        Some(self)
    }
}
