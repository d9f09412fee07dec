//! Starting servers for tests and talking to them.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nmp_server::config::{FileConfig, Settings};
use nmp_server::RunningServer;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A server running in this process on 127.0.0.1:0, with its own data directory.
pub struct TestServer {
    /// Held so the server keeps running; dropped with the test.
    pub _server: RunningServer,
    pub base: String,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

pub fn settings_from_yaml(yaml: &str, dir: &Path) -> Settings {
    let path = dir.join("platform.yaml");
    std::fs::write(&path, yaml).expect("write config");
    let file = FileConfig::load(Some(&path)).expect("config loads");
    Settings::validate(file, Some(dir.join("data")), &Default::default()).expect("config validates")
}

impl TestServer {
    pub async fn start(yaml: &str) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        TestServer::start_in(yaml, dir).await
    }

    pub async fn start_in(yaml: &str, dir: tempfile::TempDir) -> TestServer {
        let settings = settings_from_yaml(yaml, dir.path());
        let server = RunningServer::start(settings, "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("server starts");
        let base = server.base_url();
        TestServer { _server: server, base, dir, http: reqwest::Client::new() }
    }

    /// Stop the server (in-flight requests finish) and keep its data directory.
    pub async fn stop(self) -> tempfile::TempDir {
        self._server.stop().await.expect("clean stop");
        self.dir
    }

    /// Auth off, the default.
    pub async fn auth_off() -> TestServer {
        TestServer::start("{}\n").await
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{}", self.base, path))
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut request = self.request(method, path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        read(response).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body), &[]).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body), &[]).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None, &[]).await
    }
}

pub async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

/// The server as a child process (`nmp-server`), so a test can `kill -9` it.
pub struct ProcessServer {
    pub child: Child,
    pub base: String,
    /// Every line the server wrote to stderr so far.
    pub stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ProcessServer {
    pub fn spawn(config: &Path, data_dir: &Path) -> Result<ProcessServer, String> {
        ProcessServer::spawn_with_log(config, data_dir, "warn")
    }

    /// Start with `NMP_LOG` set to `log` (a tracing filter).
    pub fn spawn_with_log(config: &Path, data_dir: &Path, log: &str) -> Result<ProcessServer, String> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nmp-server"))
            .args(["--host", "127.0.0.1", "--port", "0", "--config"])
            .arg(config)
            .arg("--data-dir")
            .arg(data_dir)
            .env("NMP_LOG", log)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let (tx, rx) = std::sync::mpsc::channel::<Result<String, String>>();
        let tail = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let tail_writer = std::sync::Arc::clone(&tail);
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(rest) = line.strip_prefix("nmp listening on ") {
                        let url = rest.split_whitespace().next().unwrap_or_default().to_string();
                        let _ = tx.send(Ok(url));
                        sent = true;
                    }
                }
                tail_writer.lock().expect("lock").push(line);
            }
            if !sent {
                let _ = tx.send(Err("exited before listening".into()));
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(base)) => Ok(ProcessServer { child, base, stderr: tail }),
            outcome => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                let lines = tail.lock().expect("lock").join("\n");
                Err(format!("server did not start ({outcome:?}): {lines}"))
            }
        }
    }

    /// The stderr lines so far, joined.
    pub fn log(&self) -> String {
        self.stderr.lock().expect("lock").join("\n")
    }

    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for ProcessServer {
    /// A test that ends (or panics) with its server still running stops it: no server outlives
    /// its test run.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One request to `base` with a bearer token: the status and the JSON body (`null` when none).
pub async fn call(
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{base}{path}")).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("sent");
    let status = response.status();
    (status, response.json::<Value>().await.unwrap_or(Value::Null))
}

pub fn write_config(dir: &Path, yaml: &str) -> PathBuf {
    let path = dir.join("platform.yaml");
    std::fs::write(&path, yaml).expect("write config");
    path
}

pub fn names(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|w| w["name"].as_str().expect("name").to_string())
        .collect()
}

/// An unsigned quickstart token (`alg: none`), as `nemo auth login --unsigned-token` makes them.
pub fn unsigned_token(claims: Value) -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = engine.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = engine.encode(serde_json::to_vec(&claims).expect("claims"));
    format!("{header}.{payload}.")
}

pub fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64
}

/// A valid quickstart token for `email` (also the subject), with optional groups and scopes.
pub fn user_token(email: &str, groups: &[&str], scope: Option<&str>) -> String {
    let now = now_unix();
    let mut claims = serde_json::json!({"sub": email, "email": email, "iat": now, "exp": now + 3600});
    if !groups.is_empty() {
        claims["groups"] = serde_json::json!(groups);
    }
    if let Some(scope) = scope {
        claims["scope"] = serde_json::json!(scope);
    }
    unsigned_token(claims)
}

/// The quickstart configuration: auth on, unsigned tokens accepted, an admin.
pub const QUICKSTART: &str =
    "auth:\n  enabled: true\n  allow_unsigned_jwt: true\n  admin_email: admin@example.com\n";

impl TestServer {
    /// Call as the holder of `token`.
    pub async fn as_token(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let auth = format!("Bearer {token}");
        self.call(method, path, body, &[("Authorization", auth.as_str())]).await
    }
}
