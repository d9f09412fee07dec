//! Resource limits under hostile clients. The header-read timeout
//! (`server.header_read_timeout_seconds`): slow-header (slowloris) clients, clients that connect
//! and send nothing, and idle keep-alive connections are all closed within the configured time,
//! while a normal client keeps being served. The verified-token cache (`auth.token_cache_max_entries`) stays at its bound under a
//! flood of distinct valid tokens.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::support::{user_token, TestServer, QUICKSTART};

const HEADER_TIMEOUT: u64 = 2;

#[derive(Debug, Clone, Copy)]
enum Client {
    /// Sends a request line and then one header line every 300 ms, never the blank line.
    SlowHeaders,
    /// Connects and sends nothing.
    Silent,
    /// Completes one request with keep-alive, then stays idle.
    IdleKeepAlive,
}

/// Plays `client` on a new connection; returns when the server closed it, measured from connect.
async fn time_until_closed(mut stream: TcpStream, client: Client) -> Duration {
    let started = Instant::now();
    match client {
        Client::SlowHeaders => {
            stream.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n").await.expect("write");
        }
        Client::Silent => {}
        Client::IdleKeepAlive => {
            stream.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
        }
    }
    let mut buffer = [0u8; 4096];
    let mut header_number = 0;
    loop {
        tokio::select! {
            read = stream.read(&mut buffer) => match read {
                Ok(0) | Err(_) => return started.elapsed(),
                // A response (the keep-alive client's, or an error answer): keep reading to EOF.
                Ok(_) => {}
            },
            () = tokio::time::sleep(Duration::from_millis(300)), if matches!(client, Client::SlowHeaders) => {
                header_number += 1;
                let line = format!("X-Slow-{header_number}: a\r\n");
                if stream.write_all(line.as_bytes()).await.is_err() {
                    return started.elapsed();
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_header_and_idle_connections_are_closed_while_normal_clients_are_served() {
    let yaml = format!("server:\n  header_read_timeout_seconds: {HEADER_TIMEOUT}\n");
    let server = TestServer::start(&yaml).await;
    let addr = server.base.trim_start_matches("http://").to_string();

    let kinds = [Client::SlowHeaders, Client::Silent, Client::IdleKeepAlive];
    let mut tasks = Vec::new();
    for index in 0..400 {
        let kind = kinds[index % kinds.len()];
        // Connected one after the other: a burst of simultaneous connects can overflow the
        // kernel's accept queue, and a silent client whose handshake was dropped there would
        // wait forever for a server that never saw it.
        let stream = TcpStream::connect(&addr).await.expect("connect");
        tasks.push(tokio::spawn(async move {
            let closed = tokio::time::timeout(Duration::from_secs(30), time_until_closed(stream, kind)).await;
            (kind, closed.ok())
        }));
    }

    // Meanwhile a normal client keeps getting answers, on fresh and reused connections.
    let normal = reqwest::Client::new();
    let served_from = Instant::now();
    let mut served = 0;
    while served_from.elapsed() < Duration::from_secs(HEADER_TIMEOUT + 2) {
        let response = normal.get(format!("{}/health/live", server.base)).send().await.expect("served");
        assert_eq!(response.status(), StatusCode::OK);
        served += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served > 10, "the normal client was served {served} times");

    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("client task"));
    }
    let still_open: Vec<String> =
        results.iter().filter(|(_, closed)| closed.is_none()).map(|(kind, _)| format!("{kind:?}")).collect();
    assert!(still_open.is_empty(), "{} connections still open after 30 s: {still_open:?}", still_open.len());
    for (kind, closed) in results {
        let after = closed.unwrap_or_else(|| panic!("{kind:?}: connection still open after 30 s"));
        // Closed by the configured limit: not long before it, and at most 1.5 s after it. (An
        // idle keep-alive connection is waiting for its next request head, so the same limit
        // applies to it, counted from the end of its first response.)
        assert!(
            after >= Duration::from_secs(HEADER_TIMEOUT) - Duration::from_millis(500)
                && after <= Duration::from_secs(HEADER_TIMEOUT) + Duration::from_millis(1500),
            "{kind:?}: closed after {after:?}, limit {HEADER_TIMEOUT} s"
        );
    }
}

#[tokio::test]
async fn a_request_body_slower_than_the_header_timeout_is_not_cut() {
    // The header timer stops once the head is in: a body that takes longer than the header
    // timeout to arrive still gets its answer (the request deadline bounds it instead).
    let server = TestServer::start("server:\n  header_read_timeout_seconds: 1\n").await;
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).await.expect("connect");
    let body = br#"{"name":"slow-body"}"#;
    let head = format!(
        "POST /apis/entities/v2/workspaces HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    for byte in body {
        tokio::time::sleep(Duration::from_millis(150)).await;
        stream.write_all(&[*byte]).await.expect("write body while the request is in flight");
    }
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("answered")
        .expect("read");
    let text = String::from_utf8_lossy(&answer[..read]);
    assert!(text.starts_with("HTTP/1.1 201"), "{text}");
}

#[tokio::test]
async fn a_flood_of_distinct_valid_tokens_keeps_the_token_cache_at_its_configured_bound() {
    let server = TestServer::start(&format!("{QUICKSTART}  token_cache_max_entries: 50\n")).await;
    let authenticator = server._server.state.access.authenticator.clone().expect("auth on");
    for index in 0..500 {
        let token = user_token(&format!("flood-{index}@example.com"), &[], None);
        let (status, _) =
            server.as_token(&token, reqwest::Method::GET, "/apis/auth/authenticate", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(authenticator.cached_tokens() <= 50, "{} cached", authenticator.cached_tokens());
    }
    assert_eq!(authenticator.cached_tokens(), 50, "full, not emptied");
}
