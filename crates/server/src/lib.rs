//! The nmp platform server: HTTP routes, authentication and authorization middleware, seeding and
//! configuration. Only this crate knows HTTP; storage and decisions live in `nmp-store` and `nmp-core`.

pub mod access;
pub mod access_keys;
pub mod app;
pub mod audit;
pub mod check;
pub mod cli;
pub mod config;
pub mod config_access_keys;
pub mod config_doc;
pub mod config_store;
mod convert;
pub mod error;
pub mod gateway_trust;
pub mod json;
pub mod key_registry;
pub mod listen;
pub mod memo;
pub mod metrics;
pub mod middleware;
pub mod migrate_store;
pub mod opa;
pub mod replication;
pub mod routes;
pub mod seed;
pub mod shutdown;
pub mod state;
pub mod studio;
pub mod tls;
pub mod validate;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use nmp_store::postgres::PostgresStore;
use nmp_store::sqlite::SqliteStore;
use nmp_store::Store;
use tokio::net::TcpListener;

use crate::access::Access;
use crate::config::Settings;
use crate::state::{AppState, Clock, SystemClock};

/// Open the store, seed it and build the shared state.
pub async fn prepare(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
    let store = open_store(&settings.database).await?;
    let access = Arc::new(build_access(&settings, Arc::clone(&clock))?);
    let started = clock.instant();
    let replication = Arc::new(replication::ReplicaSync::new(
        Arc::clone(&clock),
        settings.timings.max_staleness,
        store.change_feed().is_some(),
    ));
    let metrics = Arc::new(metrics::Metrics::new(
        access.authenticator.clone(),
        Arc::clone(&replication),
        Arc::clone(&clock),
    ));
    let state = AppState::new(state::AppStateParts {
        settings: Arc::new(settings),
        store,
        access,
        clock,
        started,
        replication,
        metrics,
        shutdown: shutdown::Shutdown::new(),
    });
    let (store, auth, at) = (Arc::clone(&state.store), state.settings.file.auth.clone(), state.now());
    tokio::task::spawn_blocking(move || seed::seed(store.as_ref(), &auth, at)).await?.context("seeding")?;
    let (store, access) = (Arc::clone(&state.store), Arc::clone(&state.access));
    let loaded_at = tokio::task::spawn_blocking(move || -> nmp_store::StoreResult<i64> {
        // On a shared store, the revision first (the bindings read after it include every change
        // up to it), and this replica registers as having applied it before it serves anything:
        // another replica's `wait_role_propagation` then waits for it from its first request on.
        let revision = store.change_feed().map(|feed| feed.current_revision()).transpose()?;
        // The marker of other processes' writes, read before the load as well: the catch-up task
        // reloads only once it moves (a write made during the load included), not again at once.
        let marker = store.external_change_marker()?;
        access.reload(|builder| store.for_each_active_binding(&mut |binding| builder.add(binding)))?;
        if let (Some(feed), Some(revision)) = (store.change_feed(), revision) {
            feed.report_applied(revision)?;
        }
        Ok(marker)
    })
    .await?
    .context("loading role bindings")?;
    let (store, access) = (Arc::clone(&state.store), Arc::clone(&state.access));
    tokio::task::spawn_blocking(move || access.reload_access_keys(|| store.all_access_keys()))
        .await?
        .context("loading the access-key registry")?;
    replication::spawn(&state, loaded_at);
    audit::spawn_retention(&state);
    if state.settings.studio.enabled {
        studio::spawn_session_purge(&state);
    }
    if let Some(authenticator) = &state.access.authenticator {
        // Key loading runs in the background: a cold start with the IdP down still starts,
        // and `/health/ready` says not ready until keys are loaded.
        authenticator.spawn_background_refresh();
    }
    Ok(state)
}

/// Open (and migrate) the configured store on the blocking pool. The error names the database
/// (a path, or the URL without its password) and what went wrong.
pub async fn open_store(database: &config::Database) -> anyhow::Result<Arc<dyn Store>> {
    let database = database.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<Arc<dyn Store>> {
        match &database {
            config::Database::Sqlite { path } => {
                let store = SqliteStore::open(path)
                    .with_context(|| format!("opening the database at {}", path.display()))?;
                Ok(Arc::new(store))
            }
            config::Database::Postgres(options) => {
                let store = PostgresStore::open(options)
                    .with_context(|| format!("opening the database at {}", options.redacted()))?;
                Ok(Arc::new(store))
            }
        }
    })
    .await?
}

/// The policy (shipped data plus operator extensions), the authenticator and the PDP client.
pub fn build_access(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Access> {
    let auth = &settings.file.auth;
    let policy =
        nmp_core::policy::PolicyData::with_extensions(&auth.policy).context("config key `auth.policy`")?;
    let opa = if auth.policy_decision_point_provider == config::PdpProvider::Opa {
        Some(opa::OpaClient::new(&auth.policy_decision_point_base_url, settings.timings.pdp_request_timeout)?)
    } else {
        None
    };
    let access_key_verifier = settings.access_keys.as_ref().filter(|keys| keys.accept_keys).map(|keys| {
        nmp_authn::AccessKeyVerifier::new(
            Arc::clone(&keys.keys),
            keys.issuer.clone(),
            keys.audience.clone(),
            Arc::clone(&clock),
        )
    });
    // One authenticator for both kinds of bearer token (one verified-token cache); with access
    // keys but neither OIDC nor unsigned tokens, it refuses every other token as not configured.
    let authn = match (&settings.authn, &access_key_verifier) {
        (Some(authn), _) => Some(authn.clone()),
        (None, Some(_)) => Some(nmp_authn::AuthnSettings {
            token_cache_capacity: auth.token_cache_max_entries,
            ..nmp_authn::AuthnSettings::default()
        }),
        (None, None) => None,
    };
    let authenticator = match authn {
        Some(authn) => Some(
            nmp_authn::Authenticator::with_access_keys(authn, Arc::clone(&clock), access_key_verifier)
                .map_err(|e| anyhow::anyhow!("config key `auth.oidc`: {e}"))?,
        ),
        None => None,
    };
    Ok(Access::new(auth.enabled, policy, authenticator, auth.policy_decision_point_provider, opa))
}

/// The TLS files of the settings, loaded (and reloaded on SIGHUP), when TLS is served directly.
pub fn load_tls(settings: &Settings) -> anyhow::Result<Option<Arc<tls::TlsReloader>>> {
    let Some(files) = &settings.tls else { return Ok(None) };
    let reloader = Arc::new(tls::TlsReloader::load(files.clone())?);
    tls::spawn_sighup_reload(&reloader);
    Ok(Some(reloader))
}

/// Serve until `shutdown` resolves, then drain (see [`shutdown`]).
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let tls = load_tls(&state.settings)?;
    let metrics_listener = bind_metrics(&state.settings).await?;
    serve_with_tls(state, listener, tls, metrics_listener, shutdown).await
}

/// The listener of `server.metrics_address`, when set.
pub async fn bind_metrics(settings: &Settings) -> anyhow::Result<Option<TcpListener>> {
    match settings.metrics_address {
        Some(address) => Ok(Some(
            TcpListener::bind(address)
                .await
                .with_context(|| format!("binding server.metrics_address {address}"))?,
        )),
        None => Ok(None),
    }
}

/// [`serve`] with the TLS configuration loaded and the metrics listener bound.
pub async fn serve_with_tls(
    state: AppState,
    listener: TcpListener,
    tls: Option<Arc<tls::TlsReloader>>,
    metrics_listener: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let grace = state.settings.timings.shutdown_grace;
    let header_read_timeout = state.settings.timings.header_read_timeout;
    let drain = state.shutdown.clone();
    let trigger = state.shutdown.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: readiness 503, no new connections, finishing requests in flight");
        trigger.begin();
    });
    let metrics_server = metrics_listener.map(|metrics_listener| {
        let router = app::metrics_only(state.clone());
        tokio::spawn(listen::serve_connections(
            metrics_listener,
            router,
            None,
            drain.clone(),
            grace,
            header_read_timeout,
        ))
    });
    listen::serve_connections(listener, app::build(state), tls, drain, grace, header_read_timeout).await;
    if let Some(metrics_server) = metrics_server {
        let _ = metrics_server.await;
    }
    Ok(())
}

/// A server running in the background (tests and `nemo quickstart` use it).
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    pub async fn start(settings: Settings, bind: SocketAddr) -> anyhow::Result<RunningServer> {
        RunningServer::start_with_clock(settings, bind, Arc::new(SystemClock)).await
    }

    /// [`RunningServer::start`] with the given clock (tests move time to expire keys and tokens).
    pub async fn start_with_clock(
        settings: Settings,
        bind: SocketAddr,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<RunningServer> {
        let state = prepare(settings, clock).await?;
        let listener = TcpListener::bind(bind).await.with_context(|| format!("binding {bind}"))?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(state.clone(), listener, async move {
            let _ = rx.await;
        }));
        Ok(RunningServer { addr, state, shutdown: Some(tx), task })
    }

    pub fn base_url(&self) -> String {
        let scheme = if self.state.settings.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.await?
    }
}
