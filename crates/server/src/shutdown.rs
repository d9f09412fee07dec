//! Graceful shutdown: what SIGTERM sets in motion.
//!
//! [`Shutdown::begin`] marks the server as draining: `/health/ready` answers 503 from then on,
//! the accept loops stop (new connections are refused), responses on connections still open carry
//! `Connection: close`, and the server exits once no request is in flight or
//! `server.shutdown_grace_seconds` have passed, whichever comes first.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::watch;

/// The shared drain state of one server. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    draining: watch::Sender<bool>,
    in_flight: watch::Sender<usize>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown {
            inner: Arc::new(Inner { draining: watch::Sender::new(false), in_flight: watch::Sender::new(0) }),
        }
    }

    /// Start draining (idempotent).
    pub fn begin(&self) {
        self.inner.draining.send_if_modified(|draining| !std::mem::replace(draining, true));
    }

    pub fn is_draining(&self) -> bool {
        *self.inner.draining.borrow()
    }

    /// Resolves once [`Shutdown::begin`] has been called.
    pub async fn draining(&self) {
        let mut receiver = self.inner.draining.subscribe();
        let _ = receiver.wait_for(|draining| *draining).await;
    }

    /// Requests being served right now.
    pub fn in_flight(&self) -> usize {
        *self.inner.in_flight.borrow()
    }

    /// Resolves once no request is in flight.
    pub async fn idle(&self) {
        let mut receiver = self.inner.in_flight.subscribe();
        let _ = receiver.wait_for(|count| *count == 0).await;
    }

    fn track(&self) -> InFlight {
        self.inner.in_flight.send_modify(|count| *count += 1);
        InFlight { shutdown: self.clone() }
    }
}

/// One request being served; the count drops when the response has been produced.
struct InFlight {
    shutdown: Shutdown,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.shutdown.inner.in_flight.send_modify(|count| *count = count.saturating_sub(1));
    }
}

/// Counts requests in flight; while draining, asks the client to close the connection.
pub async fn track_requests(State(shutdown): State<Shutdown>, request: Request, next: Next) -> Response {
    let _in_flight = shutdown.track();
    let mut response = next.run(request).await;
    if shutdown.is_draining() {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Resolves on SIGINT or SIGTERM.
pub async fn termination_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn begin_is_seen_by_waiters_and_idle_waits_for_requests() {
        let shutdown = Shutdown::new();
        assert!(!shutdown.is_draining());
        let waiter = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { shutdown.draining().await }
        });
        shutdown.begin();
        shutdown.begin();
        waiter.await.unwrap();
        assert!(shutdown.is_draining());

        let request = shutdown.track();
        assert_eq!(shutdown.in_flight(), 1);
        let idle = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { shutdown.idle().await }
        });
        tokio::task::yield_now().await;
        assert!(!idle.is_finished());
        drop(request);
        idle.await.unwrap();
        assert_eq!(shutdown.in_flight(), 0);
    }
}
