//! The accept loop: one task per connection, plain HTTP or TLS, HTTP/1.1 and HTTP/2, until the
//! server drains (see [`crate::shutdown`]). Then the listener is closed, so new connections are
//! refused, requests in flight finish within the grace period, and open connections are closed.
//!
//! `server.header_read_timeout_seconds` is handed to hyper (with the timer it needs): it runs
//! whenever an HTTP/1 connection waits for a request head (at accept and after each response), so
//! one limit closes a slow-header client, a silent client and an idle keep-alive connection alike;
//! it does not run while a request is being handled (`server.request_timeout_seconds` does).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

use crate::memo::ConnectionMemo;
use crate::shutdown::Shutdown;
use crate::tls::TlsReloader;

/// How long a client may take to complete the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serve `app` on `listener` until `shutdown` drains, then wait up to `grace` for requests in flight.
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<TlsReloader>>,
    shutdown: Shutdown,
    grace: Duration,
    header_read_timeout: Duration,
) {
    let connections = GracefulShutdown::new();
    // The protocol is known before the first byte: plain connections and TLS without ALPN `h2`
    // speak HTTP/1.1 (no sniffing, so the header-read timeout starts at accept); ALPN `h2` gets
    // HTTP/2.
    let mut http1 = auto::Builder::new(TokioExecutor::new()).http1_only();
    http1.http1().timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
    let http2 = auto::Builder::new(TokioExecutor::new()).http2_only();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.draining() => break,
        };
        let _ = stream.set_nodelay(true);
        let (app, tls, http1, http2) = (app.clone(), tls.clone(), http1.clone(), http2.clone());
        let watcher = connections.watcher();
        tokio::spawn(async move {
            let memo = Arc::new(ConnectionMemo::default());
            let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.extensions_mut().insert(Arc::clone(&memo));
                app.clone().oneshot(request.map(axum::body::Body::new))
            });
            match tls {
                None => {
                    let connection = http1.serve_connection(TokioIo::new(stream), service).into_owned();
                    log_connection_error(watcher.watch(connection).await);
                }
                Some(tls) => {
                    let Some(stream) = handshake(&tls, stream, peer).await else { return };
                    let builder =
                        if stream.get_ref().1.alpn_protocol() == Some(b"h2") { http2 } else { http1 };
                    let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                    log_connection_error(watcher.watch(connection).await);
                }
            }
        });
    }
    drop(listener);
    let drained = tokio::time::timeout(grace, async {
        shutdown.idle().await;
        // Idle keep-alive connections are closed now; one mid-response finishes it first.
        connections.shutdown().await;
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            in_flight = shutdown.in_flight(),
            "shutdown grace period over with requests still in flight; closing their connections"
        );
    }
}

async fn handshake(
    tls: &TlsReloader,
    stream: TcpStream,
    peer: SocketAddr,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, tls.acceptor().accept(stream)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(error)) => {
            tracing::debug!(%peer, %error, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            None
        }
    }
}

fn log_connection_error(outcome: Result<(), Box<dyn std::error::Error + Send + Sync>>) {
    if let Err(error) = outcome {
        tracing::debug!(%error, "connection ended with an error");
    }
}
