//! End-to-end runs of the `nemo` binary against the real server (`nmp-server`, in this process or
//! started by `nemo quickstart up`) and the real test IdP (`nmp-testkit`), all on 127.0.0.1.

// Test scaffolding: a panic is the right failure here.
#![allow(clippy::unwrap_used)]

mod api_errors;
mod device_edges;
mod device_login;
mod guide;
mod insight;
mod prompts;
mod quickstart_story;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use nmp_server::config::{FileConfig, Settings};
use nmp_server::RunningServer;
use serde_json::Value;

/// A runtime for the IdP helpers and the in-process server; the test body stays synchronous.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// The real server on 127.0.0.1:0 with the platform config `yaml`, running on `runtime`.
pub struct Platform {
    pub base_url: String,
    server: Option<RunningServer>,
    _dir: tempfile::TempDir,
}

impl Platform {
    pub fn start(runtime: &tokio::runtime::Runtime, yaml: &str) -> Platform {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("platform.yaml");
        std::fs::write(&path, yaml).unwrap();
        let file = FileConfig::load(Some(&path)).expect("platform config loads");
        let settings = Settings::validate(file, Some(dir.path().join("data")), &Default::default())
            .expect("platform config validates");
        let server = runtime
            .block_on(RunningServer::start(settings, "127.0.0.1:0".parse().unwrap()))
            .expect("server starts");
        let base_url = server.base_url();
        Platform { base_url, server: Some(server), _dir: dir }
    }

    /// Waits (up to 30 s) for `/health/ready` and, with OIDC on, for discovery to name the
    /// IdP's token and device endpoints (learned from the IdP in the background).
    pub fn wait_ready(&self, runtime: &tokio::runtime::Runtime, oidc: bool) -> Value {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (ready, discovery) = runtime.block_on(async {
                let ready = http
                    .get(format!("{}/health/ready", self.base_url))
                    .send()
                    .await
                    .is_ok_and(|response| response.status().is_success());
                let discovery: Value =
                    match http.get(format!("{}/apis/auth/discovery", self.base_url)).send().await {
                        Ok(response) => response.json().await.unwrap_or(Value::Null),
                        Err(_) => Value::Null,
                    };
                (ready, discovery)
            });
            let endpoints_known = !oidc
                || (discovery["oidc"]["token_endpoint"].is_string()
                    && discovery["oidc"]["device_authorization_endpoint"].is_string());
            if ready && endpoints_known {
                return discovery;
            }
            assert!(Instant::now() < deadline, "the server did not become ready: {discovery}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn stop(mut self, runtime: &tokio::runtime::Runtime) {
        if let Some(server) = self.server.take() {
            runtime.block_on(server.stop()).unwrap();
        }
    }
}

/// Runs a command to completion, killing it (and failing the test) after `limit`.
pub fn run_bounded(command: &mut Command, limit: Duration) -> Output {
    let child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    wait_bounded(child, limit)
}

/// Waits for a child with piped stdout/stderr, killing it (and failing the test) after `limit`.
pub fn wait_bounded(mut child: Child, limit: Duration) -> Output {
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let err = stderr.map(|handle| handle.join().unwrap_or_default()).unwrap_or_default();
            panic!("a nemo process ran longer than {limit:?}; stderr: {}", String::from_utf8_lossy(&err));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let collect = |handle: Option<std::thread::JoinHandle<Vec<u8>>>| {
        handle.map(|handle| handle.join().unwrap_or_default()).unwrap_or_default()
    };
    Output { status, stdout: collect(stdout), stderr: collect(stderr) }
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = pipe.read_to_end(&mut buffer);
        buffer
    })
}

/// Forwards the lines of a pipe to a channel (and keeps them all for failure messages).
pub fn lines_of(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Reads lines until one starts with `prefix` (returning the rest of it), within `limit`.
pub fn wait_for_line(
    lines: &Receiver<String>,
    prefix: &str,
    limit: Duration,
    seen: &mut Vec<String>,
) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if let Some(rest) = line.strip_prefix(prefix) {
                    return rest.trim().to_string();
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                panic!("no line starting with {prefix:?} within {limit:?}: {seen:?}")
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!("the process closed its output before {prefix:?}: {seen:?}")
            }
        }
    }
}

/// The `name`s of a workspace list printed as JSON (a bare list or a `{"data": [...]}` page).
pub fn names(json: &Value) -> Vec<String> {
    let items = json.get("data").unwrap_or(json);
    items
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {json}"))
        .iter()
        .map(|item| item["name"].as_str().unwrap().to_string())
        .collect()
}

/// A free port on 127.0.0.1 (free when asked; good enough for a test).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub const LIMIT: Duration = Duration::from_secs(60);
