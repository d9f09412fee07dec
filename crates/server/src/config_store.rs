//! The `store:` section: which backend, where it is, and the reference's `DATABASE_*`
//! environment variables, resolved into a [`Database`] the server opens at start.
//!
//! Rules (also in docs/configuration.md):
//! - `store.backend` is `sqlite` (default: `nmp-platform.db` in the data directory) or `postgres`
//!   (`store.url`, or `store.url_file` naming a file that holds the URL, so the password need
//!   not sit in the config or the environment).
//! - The reference's variables are read after the file and `NMP_STORE_*`, and win: `DATABASE_URL`
//!   (a `postgres[ql]://` or `sqlite://` URL), else a URL made of `DATABASE_HOST`, `DATABASE_PORT`,
//!   `DATABASE_NAME`, `DATABASE_USER`, `DATABASE_PASSWORD`; `DATABASE_DIALECT` (`postgresql` or
//!   `sqlite`) picks the backend, and when it is unset any connection variable means PostgreSQL.
//!   `DATABASE_CONNECTIONS_LIMIT` is the pool size, `DATABASE_CONNECT_TIMEOUT_SECONDS` the
//!   connect timeout.
//! - No message ever contains the password: URLs are shown redacted.

use std::path::PathBuf;
use std::time::Duration;

use nmp_store::postgres::PostgresOptions;
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    #[default]
    Sqlite,
    Postgres,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Directory of the embedded database (default `$XDG_DATA_HOME/nmp`, else `~/.local/share/nmp`).
    pub data_dir: Option<PathBuf>,
    /// `sqlite` or `postgres`.
    pub backend: StoreBackend,
    /// `postgres://user:password@host:port/database?sslmode=...` (PostgreSQL).
    pub url: Option<String>,
    /// A file holding the URL (read at start, surrounding whitespace ignored).
    pub url_file: Option<PathBuf>,
    /// Most connections one replica opens to PostgreSQL.
    pub pool_size: u32,
    /// Connecting to PostgreSQL, and waiting for a free pooled connection, give up after this.
    pub connect_timeout_seconds: u64,
    /// PostgreSQL cancels any statement running longer (0: no limit).
    pub statement_timeout_seconds: u64,
    /// Shared store: with no successful catch-up check for this long, decided requests get 503.
    pub max_staleness_seconds: u64,
    /// Shared store: longest wait of `wait_role_propagation` for the other replicas.
    pub propagation_timeout_seconds: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            data_dir: None,
            backend: StoreBackend::Sqlite,
            url: None,
            url_file: None,
            pool_size: 10,
            connect_timeout_seconds: 10,
            statement_timeout_seconds: 30,
            max_staleness_seconds: 10,
            propagation_timeout_seconds: 5,
        }
    }
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("data_dir", &self.data_dir)
            .field("backend", &self.backend)
            .field("url", &self.url.as_ref().map(|_| "[redacted]"))
            .field("url_file", &self.url_file)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout_seconds", &self.connect_timeout_seconds)
            .field("statement_timeout_seconds", &self.statement_timeout_seconds)
            .field("max_staleness_seconds", &self.max_staleness_seconds)
            .field("propagation_timeout_seconds", &self.propagation_timeout_seconds)
            .finish()
    }
}

/// The database the server opens.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite { path: PathBuf },
    Postgres(Box<PostgresOptions>),
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key, message: message.into() }
}

/// Apply the reference's `DATABASE_*` variables (read through `get`) over the loaded section.
pub fn apply_database_env(
    store: &mut StoreConfig,
    get: impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
    let dialect = match get("DATABASE_DIALECT").as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => None,
        Some("postgresql" | "postgres") => Some(StoreBackend::Postgres),
        Some("sqlite") => Some(StoreBackend::Sqlite),
        Some(other) => {
            return Err(invalid("DATABASE_DIALECT", format!("`{other}` is not `postgresql` or `sqlite`")))
        }
    };
    let parts = ["DATABASE_HOST", "DATABASE_PORT", "DATABASE_NAME", "DATABASE_USER", "DATABASE_PASSWORD"];
    let any_part = parts.iter().any(|name| get(name).is_some());
    let url = match get("DATABASE_URL") {
        Some(url) => Some(url),
        None if any_part && dialect != Some(StoreBackend::Sqlite) => Some(url_from_parts(&get)?),
        None => None,
    };
    if let Some(url) = &url {
        let from_scheme =
            if url.starts_with("sqlite:") { StoreBackend::Sqlite } else { StoreBackend::Postgres };
        store.backend = dialect.unwrap_or(from_scheme);
        match store.backend {
            StoreBackend::Postgres => {
                store.url = Some(url.clone());
                store.url_file = None;
            }
            StoreBackend::Sqlite => {
                // SQLAlchemy's form: `sqlite:///relative.db`, `sqlite:////absolute.db`.
                let rest = url.trim_start_matches("sqlite:");
                let path = rest.strip_prefix("//").unwrap_or(rest);
                let path = path.strip_prefix('/').unwrap_or(path);
                if path.is_empty() || path.ends_with('/') {
                    return Err(invalid("DATABASE_URL", "a sqlite URL must name a file"));
                }
                store.url = Some(format!("sqlite://{path}"));
            }
        }
    } else if let Some(backend) = dialect {
        store.backend = backend;
    }
    if let Some(limit) = get("DATABASE_CONNECTIONS_LIMIT") {
        store.pool_size = limit
            .trim()
            .parse()
            .map_err(|_| invalid("DATABASE_CONNECTIONS_LIMIT", format!("`{limit}` is not a whole number")))?;
    }
    if let Some(timeout) = get("DATABASE_CONNECT_TIMEOUT_SECONDS") {
        let seconds: f64 = timeout.trim().parse().map_err(|_| {
            invalid("DATABASE_CONNECT_TIMEOUT_SECONDS", format!("`{timeout}` is not a number of seconds"))
        })?;
        store.connect_timeout_seconds = seconds.ceil().max(0.0) as u64;
    }
    Ok(())
}

fn url_from_parts(get: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let mut url =
        reqwest::Url::parse("postgresql://localhost").map_err(|e| invalid("DATABASE_HOST", e.to_string()))?;
    if let Some(host) = get("DATABASE_HOST") {
        url.set_host(Some(host.trim()))
            .map_err(|_| invalid("DATABASE_HOST", format!("`{}` is not a host name", host.trim())))?;
    }
    let port = match get("DATABASE_PORT") {
        Some(port) => port
            .trim()
            .parse::<u16>()
            .map_err(|_| invalid("DATABASE_PORT", format!("`{}` is not a port number", port.trim())))?,
        None => 5432,
    };
    let _ = url.set_port(Some(port));
    let user = get("DATABASE_USER").unwrap_or_else(|| "postgres".to_string());
    let _ = url.set_username(&user);
    if let Some(password) = get("DATABASE_PASSWORD") {
        let _ = url.set_password(Some(&password));
    }
    url.set_path(&get("DATABASE_NAME").unwrap_or_else(|| user.clone()));
    Ok(url.to_string())
}

impl StoreConfig {
    /// Check the section and resolve where the data lives (`data_dir` is the resolved directory).
    pub fn database(&self, data_dir: &std::path::Path) -> Result<Database, ConfigError> {
        if self.pool_size == 0 {
            return Err(invalid("store.pool_size", "must be at least 1"));
        }
        if self.max_staleness_seconds == 0 {
            return Err(invalid("store.max_staleness_seconds", "must be at least 1"));
        }
        if self.connect_timeout_seconds == 0 {
            return Err(invalid("store.connect_timeout_seconds", "must be at least 1"));
        }
        match self.backend {
            StoreBackend::Sqlite => {
                if self.url_file.is_some() {
                    return Err(invalid("store.url_file", "only used with store.backend: postgres"));
                }
                let path = match self.url.as_deref().and_then(|u| u.strip_prefix("sqlite://")) {
                    Some(path) => PathBuf::from(path),
                    None if self.url.is_some() => {
                        return Err(invalid("store.url", "only used with store.backend: postgres"))
                    }
                    None => data_dir.join("nmp-platform.db"),
                };
                Ok(Database::Sqlite { path })
            }
            StoreBackend::Postgres => {
                let url = match (&self.url, &self.url_file) {
                    (Some(_), Some(_)) => {
                        return Err(invalid("store.url", "set store.url or store.url_file, not both"))
                    }
                    (Some(url), None) => url.clone(),
                    (None, Some(path)) => std::fs::read_to_string(path)
                        .map_err(|e| {
                            invalid("store.url_file", format!("cannot read `{}`: {e}", path.display()))
                        })?
                        .trim()
                        .to_string(),
                    (None, None) => {
                        return Err(invalid(
                            "store.url",
                            "required with store.backend: postgres (or store.url_file, or DATABASE_URL)",
                        ))
                    }
                };
                let key = if self.url.is_some() { "store.url" } else { "store.url_file" };
                let mut options = PostgresOptions::from_url(&url).map_err(|e| invalid(key, e.to_string()))?;
                options.pool_size = self.pool_size;
                options.connect_timeout = Duration::from_secs(self.connect_timeout_seconds);
                options.statement_timeout = Duration::from_secs(self.statement_timeout_seconds);
                Ok(Database::Postgres(Box::new(options)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn with_env(vars: &[(&str, &str)]) -> Result<StoreConfig, ConfigError> {
        let mut store = StoreConfig::default();
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        apply_database_env(&mut store, |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))?;
        Ok(store)
    }

    fn postgres(store: &StoreConfig) -> PostgresOptions {
        match store.database(std::path::Path::new("/data")).unwrap() {
            Database::Postgres(options) => *options,
            Database::Sqlite { path } => panic!("expected postgres, got sqlite at {}", path.display()),
        }
    }

    #[test]
    fn no_database_variables_leave_sqlite_in_the_data_dir() {
        let store = with_env(&[]).unwrap();
        assert!(matches!(
            store.database(std::path::Path::new("/data")).unwrap(),
            Database::Sqlite { path } if path == std::path::Path::new("/data/nmp-platform.db")
        ));
    }

    #[test]
    fn any_connection_part_without_a_dialect_means_postgresql() {
        let store =
            with_env(&[("DATABASE_HOST", "db.internal"), ("DATABASE_PASSWORD", "pw-secret")]).unwrap();
        assert_eq!(store.backend, StoreBackend::Postgres);
        let options = postgres(&store);
        assert_eq!(options.redacted(), "postgres://postgres@db.internal:5432/postgres");
        assert!(options.has_password());
        assert!(!format!("{store:?} {options:?}").contains("pw-secret"));
        let full = with_env(&[
            ("DATABASE_HOST", "db"),
            ("DATABASE_PORT", "6543"),
            ("DATABASE_NAME", "nmp"),
            ("DATABASE_USER", "app"),
            ("DATABASE_CONNECTIONS_LIMIT", "25"),
            ("DATABASE_CONNECT_TIMEOUT_SECONDS", "3"),
        ])
        .unwrap();
        let options = postgres(&full);
        assert_eq!(options.redacted(), "postgres://app@db:6543/nmp");
        assert_eq!((options.pool_size, options.connect_timeout), (25, Duration::from_secs(3)));
    }

    #[test]
    fn database_url_wins_and_its_scheme_picks_the_backend() {
        let store =
            with_env(&[("DATABASE_URL", "postgresql://u:p@h/d"), ("DATABASE_HOST", "ignored")]).unwrap();
        assert_eq!(postgres(&store).redacted(), "postgres://u@h:5432/d");
        let sqlite = with_env(&[("DATABASE_URL", "sqlite:////var/lib/nmp/nmp.db")]).unwrap();
        assert!(matches!(
            sqlite.database(std::path::Path::new("/data")).unwrap(),
            Database::Sqlite { path } if path == std::path::Path::new("/var/lib/nmp/nmp.db")
        ));
        let explicit = with_env(&[("DATABASE_DIALECT", "sqlite"), ("DATABASE_HOST", "db")]).unwrap();
        assert_eq!(explicit.backend, StoreBackend::Sqlite);
    }

    #[test]
    fn bad_values_name_the_variable_or_key_and_never_the_password() {
        let error = with_env(&[("DATABASE_DIALECT", "mysql")]).unwrap_err().to_string();
        assert!(error.contains("DATABASE_DIALECT"), "{error}");
        let error = with_env(&[("DATABASE_PORT", "five")]).unwrap_err().to_string();
        assert!(error.contains("DATABASE_PORT"), "{error}");
        let store = StoreConfig {
            backend: StoreBackend::Postgres,
            url: Some("postgres://u:hunter2-secret@h:notaport/d".into()),
            ..StoreConfig::default()
        };
        let error = store.database(std::path::Path::new("/data")).unwrap_err().to_string();
        assert!(error.contains("store.url") && !error.contains("hunter2-secret"), "{error}");
        let missing = StoreConfig { backend: StoreBackend::Postgres, ..StoreConfig::default() };
        let error = missing.database(std::path::Path::new("/data")).unwrap_err().to_string();
        assert!(error.contains("required"), "{error}");
    }

    #[test]
    fn the_url_can_come_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("db-url");
        std::fs::write(&file, "postgres://app:from-file@db/nmp\n").unwrap();
        let store =
            StoreConfig { backend: StoreBackend::Postgres, url_file: Some(file), ..StoreConfig::default() };
        let options = postgres(&store);
        assert!(options.has_password());
        assert_eq!(options.redacted(), "postgres://app@db:5432/nmp");
    }
}
