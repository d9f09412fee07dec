//! Keeping this replica's bindings index in step with the other replicas sharing its store.
//!
//! - **Catching up**: a background task reloads the index when another replica committed an
//!   access change. It wakes on the store's change notifications (PostgreSQL `LISTEN`), and every
//!   `auth.policy_data_refresh_interval` as a safety net (the only trigger on SQLite). On a shared
//!   store it also records the revision its index has applied, which is its heartbeat.
//! - **Bounded staleness**: on a shared store, when no check has succeeded for
//!   `store.max_staleness_seconds` (database or notifications down), decided requests answer 503
//!   until a check succeeds again: the replica never keeps serving allows that a revocation it
//!   could not see would have removed.
//! - **`wait_role_propagation`**: a successful access change made with it (true unless the query
//!   says false) answers only once every other live replica has applied its revision, or after
//!   `store.propagation_timeout_seconds` with a warning in the log.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::{AppState, Clock};

/// How often a waiting request asks whether the other replicas have caught up.
const PROPAGATION_POLL: Duration = Duration::from_millis(5);

tokio::task_local! {
    /// Set by [`note_access_commit`] when the current request committed an access change.
    static COMMITTED: Arc<AtomicBool>;
}

/// Called by the access commit path after a successful access write.
pub fn note_access_commit() {
    let _ = COMMITTED.try_with(|flag| flag.store(true, Ordering::Relaxed));
}

/// Whether this replica's index is known to be recent enough to decide with.
#[derive(Debug)]
pub struct ReplicaSync {
    clock: Arc<dyn Clock>,
    origin: Instant,
    /// Milliseconds after `origin` of the last check that found the index up to date.
    fresh_at_ms: AtomicU64,
    max_staleness: Duration,
    /// Only a store shared through a change feed can go stale (SQLite replicas poll, as before).
    shared: bool,
}

impl ReplicaSync {
    pub fn new(clock: Arc<dyn Clock>, max_staleness: Duration, shared: bool) -> ReplicaSync {
        let origin = clock.instant();
        ReplicaSync { clock, origin, fresh_at_ms: AtomicU64::new(0), max_staleness, shared }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.clock.instant().saturating_duration_since(self.origin).as_millis())
            .unwrap_or(u64::MAX)
    }

    pub fn mark_fresh(&self) {
        self.fresh_at_ms.store(self.elapsed_ms(), Ordering::Relaxed);
    }

    /// How long since the index was last known to be up to date.
    pub fn staleness(&self) -> Duration {
        Duration::from_millis(self.elapsed_ms().saturating_sub(self.fresh_at_ms.load(Ordering::Relaxed)))
    }

    /// Whether this replica shares its store with others through a change feed (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// The propagation lag this replica may have: how long since its index was last known to
    /// be up to date with the change feed; zero for a store no other replica writes through a
    /// change feed.
    pub fn lag(&self) -> Duration {
        if self.shared {
            self.staleness()
        } else {
            Duration::ZERO
        }
    }

    pub fn is_stale(&self) -> bool {
        self.shared && self.staleness() > self.max_staleness
    }
}

/// Start the catch-up task. It ends with the server (it holds only weak references).
/// `loaded_at` is the store's external-change marker read before the bindings were loaded at
/// start: the task reloads when the marker has moved from it, not on its first tick regardless
/// (at a million bindings a reload is 0.4 s of CPU and, while it runs, a second index).
pub fn spawn(state: &AppState, loaded_at: i64) {
    let period = state.settings.timings.policy_data_refresh_interval;
    let wake = Arc::new(tokio::sync::Notify::new());
    let wake_fn: Arc<dyn Fn() + Send + Sync> = {
        let wake = Arc::clone(&wake);
        Arc::new(move || wake.notify_one())
    };
    if let Some(feed) = state.store.change_feed() {
        feed.watch(Arc::downgrade(&wake_fn));
    }
    let store = Arc::downgrade(&state.store);
    let access = Arc::downgrade(&state.access);
    let sync = Arc::downgrade(&state.replication);
    tokio::spawn(async move {
        let _keep_listening = wake_fn;
        let mut last = Some(loaded_at);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = wake.notified() => {}
            }
            let (Some(store), Some(access), Some(sync)) = (store.upgrade(), access.upgrade(), sync.upgrade())
            else {
                return;
            };
            let outcome = tokio::task::spawn_blocking(move || -> nmp_store::StoreResult<i64> {
                let feed = store.change_feed();
                // The revision first: the bindings read after it include every change up to it.
                let revision = feed.map(|f| f.current_revision()).transpose()?;
                let marker = store.external_change_marker()?;
                if last != Some(marker) {
                    // Under the access write lock: no local commit interleaves with the reload.
                    access.reload(|builder| {
                        store.for_each_active_binding(&mut |binding| builder.add(binding))
                    })?;
                    access.reload_access_keys(|| store.all_access_keys())?;
                }
                if let (Some(feed), Some(revision)) = (feed, revision) {
                    feed.report_applied(revision)?;
                }
                Ok(marker)
            })
            .await;
            match outcome {
                Ok(Ok(marker)) => {
                    last = Some(marker);
                    sync.mark_fresh();
                }
                Ok(Err(error)) => {
                    tracing::warn!(%error, stale_for = ?sync.staleness(), "catching up with other replicas failed; retrying")
                }
                Err(error) => tracing::warn!(%error, "catching up with other replicas panicked; retrying"),
            }
        }
    });
}

/// Middleware: after a successful access change, wait (unless `wait_role_propagation=false`)
/// until every other live replica has applied it.
pub async fn wait_for_propagation(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.store.change_feed().is_none() {
        return next.run(request).await;
    }
    let wait = wants_to_wait(request.uri().query());
    let committed = Arc::new(AtomicBool::new(false));
    let response = COMMITTED.scope(Arc::clone(&committed), next.run(request)).await;
    if wait && committed.load(Ordering::Relaxed) && response.status().is_success() {
        await_propagation(&state).await;
    }
    response
}

/// The reference's default is to wait; only an explicit false value turns it off.
fn wants_to_wait(query: Option<&str>) -> bool {
    let Some(query) = query else { return true };
    let Ok(url) = reqwest::Url::parse(&format!("http://local/?{query}")) else { return true };
    !url.query_pairs().any(|(key, value)| {
        key == "wait_role_propagation"
            && matches!(value.to_ascii_lowercase().as_str(), "false" | "0" | "no" | "off" | "f" | "n")
    })
}

async fn await_propagation(state: &AppState) {
    let timeout = state.settings.timings.propagation_timeout;
    // A replica is live while its heartbeat (one per refresh interval) is recent.
    let live_within = (state.settings.timings.policy_data_refresh_interval * 3).max(Duration::from_secs(3));
    let started = state.clock.instant();
    let revision = match state.store(|store| current_revision(store)).await {
        Ok(revision) => revision,
        Err(error) => {
            tracing::warn!(?error, "cannot read the revision to wait for; answering without waiting");
            return;
        }
    };
    loop {
        let lagging =
            state.store(move |store| lagging(store, revision, live_within)).await.unwrap_or(u64::MAX);
        if lagging == 0 {
            return;
        }
        if state.clock.instant().saturating_duration_since(started) >= timeout {
            tracing::warn!(
                revision,
                lagging_replicas = lagging,
                ?timeout,
                "role change not yet applied by every live replica; answering anyway"
            );
            return;
        }
        tokio::time::sleep(PROPAGATION_POLL).await;
    }
}

fn current_revision(store: &dyn nmp_store::Store) -> nmp_store::StoreResult<i64> {
    store.change_feed().map(|feed| feed.current_revision()).unwrap_or(Ok(0))
}

fn lagging(
    store: &dyn nmp_store::Store,
    revision: i64,
    live_within: Duration,
) -> nmp_store::StoreResult<u64> {
    store.change_feed().map(|feed| feed.lagging_replicas(revision, live_within)).unwrap_or(Ok(0))
}
