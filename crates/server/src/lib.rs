//! The nmp platform server: HTTP routes, authentication and authorization middleware, seeding and
//! configuration. Only this crate knows HTTP; storage and decisions live in `nmp-store` and `nmp-core`.

pub mod access;
pub mod app;
pub mod cli;
pub mod config;
mod convert;
pub mod error;
pub mod middleware;
pub mod routes;
pub mod seed;
pub mod state;
pub mod validate;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use nmp_store::sqlite::SqliteStore;
use nmp_store::Store;
use tokio::net::TcpListener;

use crate::access::Access;
use crate::config::Settings;
use crate::state::{AppState, Clock, SystemClock};

/// Open the store, seed it and build the shared state.
pub async fn prepare(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
    let path = settings.database_path();
    let store: Arc<dyn Store> = {
        let open_path = path.clone();
        let store = tokio::task::spawn_blocking(move || SqliteStore::open(&open_path))
            .await?
            .with_context(|| format!("opening the database at {}", path.display()))?;
        Arc::new(store)
    };
    let access = Arc::new(Access::new(settings.file.auth.enabled));
    let state = AppState { settings: Arc::new(settings), store, access, clock, started: Instant::now() };
    let (store, auth, at) = (Arc::clone(&state.store), state.settings.file.auth.clone(), state.now());
    tokio::task::spawn_blocking(move || seed::seed(store.as_ref(), &auth, at)).await?.context("seeding")?;
    let store = Arc::clone(&state.store);
    let active = tokio::task::spawn_blocking(move || store.active_bindings())
        .await?
        .context("loading role bindings")?;
    state.access.load(&active);
    Ok(state)
}

/// Serve until `shutdown` resolves, then finish in-flight requests.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = app::build(state);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")
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
        let state = prepare(settings, Arc::new(SystemClock)).await?;
        let listener = TcpListener::bind(bind).await.with_context(|| format!("binding {bind}"))?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(state.clone(), listener, async move {
            let _ = rx.await;
        }));
        Ok(RunningServer { addr, state, shutdown: Some(tx), task })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.await?
    }
}
