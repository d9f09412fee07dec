//! Accepting and serving HTTP/1.1 connections with a header-read timeout, so that clients which
//! never finish their request head (slowloris), connect and send nothing, or keep an idle
//! keep-alive connection open cannot pile up until the process runs out of file descriptors.
//!
//! `server.header_read_timeout_seconds` is handed to hyper, which needs a timer for it (one that
//! `axum::serve` does not give it). hyper starts the timer whenever the connection waits for a
//! request head: at accept, and again after each response. So one limit closes a slow-header
//! client, a silent client and an idle keep-alive connection alike; it does not run while a
//! request is being handled (the request deadline, `server.request_timeout_seconds`, does).
//!
//! Graceful shutdown: when `shutdown` resolves, the listener is closed, every connection is asked
//! to finish (in-flight requests complete, idle ones close), and `serve` returns when all are gone.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Serve `app` on `listener` until `shutdown` resolves, then let open connections finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
    // Every connection task holds a receiver; `closed()` resolves once all of them are gone.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors, or a connection reset before accept: keep serving.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(
            TokioIo::new(stream),
            remote,
            app.clone(),
            builder.clone(),
            stop_rx.clone(),
        ));
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(());
    stop_tx.closed().await;
    Ok(())
}

/// Serve one accepted connection (any byte stream: TCP, or TLS on top of it).
async fn serve_connection<I>(
    io: TokioIo<I>,
    remote: SocketAddr,
    app: Router,
    builder: http1::Builder,
    mut stop: tokio::sync::watch::Receiver<()>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(remote));
        app.clone().oneshot(request.map(axum::body::Body::new))
    });
    let connection = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        // Header timeouts, resets and malformed requests land here; nothing to answer.
        tracing::debug!(%remote, %error, "connection ended with an error");
    }
}
