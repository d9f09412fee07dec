//! Shared state of the server: settings, the store, the access layer, the clock (one `Clock`,
//! shared with the authenticator).

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use nmp_core::clock::{Clock, SystemClock};
use nmp_core::Principal;
use nmp_store::Store;
use time::OffsetDateTime;

use crate::access::{Access, BindingChanges};
use crate::config::Settings;
use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;

/// The server's shared state: one `Arc`, so the per-request clones the router and its layers
/// make cost one reference count, not one per part (a profile of `/health/live` spent about a
/// tenth of its CPU cloning and dropping the parts one by one).
#[derive(Clone)]
pub struct AppState(Arc<AppStateParts>);

impl AppState {
    pub fn new(parts: AppStateParts) -> AppState {
        AppState(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppStateParts;
    fn deref(&self) -> &AppStateParts {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct AppStateParts {
    pub settings: Arc<Settings>,
    pub store: Arc<dyn Store>,
    pub access: Arc<Access>,
    pub clock: Arc<dyn Clock>,
    pub started: Instant,
    /// Whether the bindings index is in step with the other replicas (replication.rs).
    pub replication: Arc<crate::replication::ReplicaSync>,
    pub metrics: Arc<Metrics>,
    /// Set on SIGTERM: readiness turns 503 and the server drains.
    pub shutdown: Shutdown,
}

impl AppState {
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// How long the server has been up, on the monotonic clock.
    pub fn uptime(&self) -> Duration {
        self.clock.instant().saturating_duration_since(self.started)
    }

    pub fn auth_enabled(&self) -> bool {
        self.settings.file.auth.enabled
    }

    /// Run a store call on the blocking pool (SQLite calls block).
    pub async fn store<T, F>(&self, work: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, nmp_store::StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        let (metrics, clock) = (Arc::clone(&self.metrics), Arc::clone(&self.clock));
        tokio::task::spawn_blocking(move || timed_store_call(store.as_ref(), &metrics, clock.as_ref(), work))
            .await
            .map_err(|e| ApiError::Internal(format!("store task failed: {e}")))?
            .map_err(ApiError::from)
    }

    /// Run a store read: on this task when the store's reads are local (SQLite: microseconds
    /// from the page cache, where the blocking-pool hand-off, two thread wake-ups, cost more
    /// than the read itself), else on the blocking pool like [`AppState::store`].
    pub async fn read<T, F>(&self, work: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, nmp_store::StoreError> + Send + 'static,
    {
        if self.store.reads_are_local() {
            return timed_store_call(self.store.as_ref(), &self.metrics, self.clock.as_ref(), work)
                .map_err(ApiError::from);
        }
        self.store(work).await
    }
}

impl AppState {
    /// Commit a store write that changes access ([`Access::commit`]) on the blocking pool: the
    /// only way handlers change bindings.
    pub async fn commit<T, F>(&self, work: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<(T, BindingChanges), nmp_store::StoreError> + Send + 'static,
    {
        let access = Arc::clone(&self.access);
        self.store(move |store| access.commit(|| work(store)))
            .await
            .inspect(|_| crate::replication::note_access_commit())
    }
}

/// Who is making the request, as the middleware established it. Handlers read it for attribution.
/// The principal is shared: extracting `Extension<Caller>` clones the extension, and a principal
/// is several strings.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub principal: Option<Arc<Principal>>,
    /// How the principal proved who it is (for `whoami`).
    pub credential: crate::middleware::Credential,
    /// This request was allowed as the principal's own PlatformAdmin (not on behalf of anyone):
    /// a handler need not ask the index again which workspaces it may see (all of them).
    pub platform_admin: bool,
    /// The connection's memo, when the principal is the one its bearer memo handed out.
    pub memo: Option<Arc<crate::memo::ConnectionMemo>>,
}

impl Caller {
    /// The workspaces the caller may list (`None`: all of them); the connection remembers them
    /// while the index is unchanged.
    pub fn visible_workspaces(
        &self,
        access: &crate::access::Access,
    ) -> Option<Arc<std::collections::BTreeSet<String>>> {
        if self.platform_admin {
            return None;
        }
        match (&self.memo, &self.principal) {
            (Some(memo), Some(principal)) => memo.visible_workspaces(access, principal),
            _ => access.visible_workspaces(self.principal.as_deref()).map(Arc::new),
        }
    }

    /// `created_by` / `updated_by`: the principal id, or "" when nobody identified themselves.
    pub fn actor(&self) -> String {
        self.principal.as_ref().map(|p| p.id.to_string()).unwrap_or_default()
    }

    /// `granted_by`: the principal id, or `system`.
    pub fn granted_by(&self) -> String {
        self.principal
            .as_ref()
            .map(|p| p.id.to_string())
            .unwrap_or_else(|| nmp_core::SYSTEM_ACTOR.to_string())
    }
}

/// One store call, recorded in the metrics (duration, and whether the store was unavailable).
fn timed_store_call<T>(
    store: &dyn Store,
    metrics: &Metrics,
    clock: &dyn Clock,
    work: impl FnOnce(&dyn Store) -> Result<T, nmp_store::StoreError>,
) -> Result<T, nmp_store::StoreError> {
    let started = clock.instant();
    let outcome = work(store);
    let unavailable = matches!(outcome, Err(nmp_store::StoreError::Unavailable(_)));
    metrics.store_call(clock.instant().saturating_duration_since(started).as_secs_f64(), unavailable);
    outcome
}
