//! OPS-03: graceful shutdown of the real binary. On SIGTERM the server stops accepting, answers
//! `/health/ready` 503 on connections still open, finishes the requests in flight, and exits 0
//! within `server.shutdown_grace_seconds`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use super::support::{write_config, ProcessServer};

fn sigterm(server: &ProcessServer) {
    let status = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

fn connect(addr: &str) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    stream
}

/// Read one HTTP/1.1 response (status line, headers, Content-Length body) from `reader`.
fn read_response(reader: &mut BufReader<TcpStream>) -> (u16, String, String) {
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status =
        status_line.split_whitespace().nth(1).unwrap_or_else(|| panic!("no status: {status_line:?}"));
    let mut headers = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap();
        }
        headers.push_str(&line);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (status.parse().unwrap(), headers.to_ascii_lowercase(), String::from_utf8_lossy(&body).into_owned())
}

fn get_ready(reader: &mut BufReader<TcpStream>) -> (u16, String, String) {
    reader.get_mut().write_all(b"GET /health/ready HTTP/1.1\r\nHost: nmp\r\n\r\n").unwrap();
    read_response(reader)
}

/// Wait until a new connection is refused (the listener is closed).
fn wait_refused(addr: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(addr).is_err() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn wait_exit(server: &mut ProcessServer, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(status) = server.child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn ops_03_sigterm_finishes_the_request_in_flight_refuses_new_connections_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "server:\n  shutdown_grace_seconds: 20\n");
    let mut server = ProcessServer::spawn(&config, &dir.path().join("data")).unwrap();
    let addr = server.base.trim_start_matches("http://").to_string();

    // A keep-alive connection, open before the signal.
    let mut open = BufReader::new(connect(&addr));
    let (status, _, body) = get_ready(&mut open);
    assert_eq!(status, 200, "{body}");

    // A request in flight: the head and half of the body sent, the rest held back.
    let body = br#"{"name":"created-while-draining","description":"finished after SIGTERM"}"#;
    let (first, rest) = body.split_at(body.len() / 2);
    let mut slow = BufReader::new(connect(&addr));
    let head = format!(
        "POST /apis/entities/v2/workspaces HTTP/1.1\r\nHost: nmp\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    slow.get_mut().write_all(head.as_bytes()).unwrap();
    slow.get_mut().write_all(first).unwrap();
    std::thread::sleep(Duration::from_millis(500)); // let the server start on it

    sigterm(&server);
    assert!(wait_refused(&addr), "new connections must be refused after SIGTERM: {}", server.log());

    let (status, headers, ready) = get_ready(&mut open);
    assert_eq!(status, 503, "readiness while draining: {ready}");
    assert!(ready.contains("shutting down"), "{ready}");
    assert!(headers.contains("connection: close"), "{headers}");
    assert!(server.child.try_wait().unwrap().is_none(), "the server must wait for the request in flight");

    slow.get_mut().write_all(rest).unwrap();
    let (status, _, created) = read_response(&mut slow);
    assert_eq!(status, 201, "the request in flight completes: {created}");
    assert!(created.contains("created-while-draining"), "{created}");

    let exit = wait_exit(&mut server, Duration::from_secs(15)).expect("the server exits once idle");
    assert_eq!(exit.code(), Some(0), "{}", server.log());
}

#[test]
fn ops_03_a_request_outliving_the_grace_period_does_not_hold_the_exit() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "server:\n  shutdown_grace_seconds: 2\n");
    let mut server = ProcessServer::spawn(&config, &dir.path().join("data")).unwrap();
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut stalled = connect(&addr);
    stalled
        .write_all(b"POST /apis/entities/v2/workspaces HTTP/1.1\r\nHost: nmp\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    sigterm(&server);
    let exit =
        wait_exit(&mut server, Duration::from_secs(20)).expect("the server exits after the grace period");
    assert_eq!(exit.code(), Some(0), "{}", server.log());
    assert!(signalled.elapsed() >= Duration::from_secs(2), "it waited for the request first");
    assert!(server.log().contains("grace period over"), "{}", server.log());
}
