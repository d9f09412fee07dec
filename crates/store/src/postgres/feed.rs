//! The change feed on PostgreSQL: `LISTEN` on [`CHANGE_CHANNEL`] over a connection of its own
//! (asynchronous `tokio-postgres` on a small runtime in a thread of its own, so the synchronous
//! store stays free of any caller's runtime), and the `replicas` table where each replica records
//! the revision its index has applied, with a heartbeat.
//!
//! A lost listener connection (database restart, `pg_terminate_backend`, network) is reconnected
//! with a short back-off; every (re)connection wakes the caller too, since notifications sent
//! meanwhile are lost. The caller's periodic check is the safety net beneath all this.

use std::sync::Weak;
use std::time::Duration;

use tokio_postgres::AsyncMessage;

use super::{PostgresStore, CHANGE_CHANNEL};
use crate::{ChangeFeed, StoreError, StoreResult};

const RECONNECT_DELAY: Duration = Duration::from_millis(250);

type Wake = Weak<dyn Fn() + Send + Sync>;

fn call(wake: &Wake) -> bool {
    match wake.upgrade() {
        Some(wake) => {
            wake();
            true
        }
        None => false,
    }
}

impl ChangeFeed for PostgresStore {
    fn watch(&self, wake: Wake) {
        let config = self.options.async_config();
        let tls = match self.options.tls_connector() {
            Ok(tls) => tls,
            Err(error) => {
                tracing::error!(%error, "change notifications disabled; relying on the periodic check");
                return;
            }
        };
        let location = self.options.redacted();
        let spawned = std::thread::Builder::new().name("nmp-pg-listen".into()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(error) => {
                    tracing::error!(%error, "change notifications disabled; relying on the periodic check");
                    return;
                }
            };
            runtime.block_on(listen(config, tls, wake, location));
        });
        if let Err(error) = spawned {
            tracing::error!(%error, "change notifications disabled; relying on the periodic check");
        }
    }

    fn current_revision(&self) -> StoreResult<i64> {
        PostgresStore::current_revision(self)
    }

    fn report_applied(&self, revision: i64) -> StoreResult<()> {
        self.read(|c| {
            c.execute(
                "INSERT INTO replicas (instance, applied_revision, heartbeat_at) VALUES ($1, $2, now()) \
                 ON CONFLICT (instance) DO UPDATE SET \
                 applied_revision = greatest(replicas.applied_revision, excluded.applied_revision), \
                 heartbeat_at = now()",
                &[&self.instance, &revision],
            )
            .map(|_| ())
        })
    }

    fn lagging_replicas(&self, revision: i64, live_within: Duration) -> StoreResult<u64> {
        let seconds = live_within.as_secs_f64();
        let lagging: i64 = self.read(|c| {
            c.query_one(
                "SELECT count(*) FROM replicas WHERE instance <> $1 AND applied_revision < $2 \
                 AND heartbeat_at > now() - make_interval(secs => $3)",
                &[&self.instance, &revision, &seconds],
            )
            .map(|row| row.get(0))
        })?;
        u64::try_from(lagging).map_err(|_| StoreError::Unavailable("negative replica count".into()))
    }
}

async fn listen(
    config: tokio_postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    wake: Wake,
    location: String,
) {
    let mut connected_before = false;
    while wake.strong_count() > 0 {
        match config.connect(tls.clone()).await {
            Ok((client, mut connection)) => {
                let (notified, mut notifications) = tokio::sync::mpsc::unbounded_channel::<()>();
                // The connection delivers notifications only while it is polled.
                let driver = tokio::spawn(async move {
                    loop {
                        match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                            Some(Ok(AsyncMessage::Notification(_))) => {
                                if notified.send(()).is_err() {
                                    return;
                                }
                            }
                            Some(Ok(_)) => {}
                            Some(Err(_)) | None => return,
                        }
                    }
                });
                if let Err(error) = client.batch_execute(&format!("LISTEN {CHANGE_CHANNEL}")).await {
                    tracing::warn!(%error, %location, "LISTEN failed; reconnecting");
                    driver.abort();
                } else {
                    if connected_before {
                        tracing::info!(%location, "change notifications restored");
                    }
                    connected_before = true;
                    // Catch up on whatever was committed while we were not listening.
                    if !call(&wake) {
                        return;
                    }
                    let mut liveness = tokio::time::interval(Duration::from_secs(1));
                    loop {
                        tokio::select! {
                            received = notifications.recv() => match received {
                                Some(()) => if !call(&wake) { return },
                                None => break,
                            },
                            _ = liveness.tick() => if wake.strong_count() == 0 { return },
                        }
                    }
                    tracing::warn!(%location, "change notification connection lost; reconnecting");
                    call(&wake);
                }
                drop(client);
            }
            Err(error) => {
                tracing::debug!(%error, %location, "change notification connection failed; retrying");
            }
        }
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}
