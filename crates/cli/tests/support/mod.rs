//! Test support: a fake NMP server (discovery, workspaces, members, an OAuth token endpoint)
//! on 127.0.0.1:0, and a scratch HOME to run the real `nemo` binary in.

// Test scaffolding: a panic is the right failure here.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

/// An unsigned JWT for `email` expiring `expires_in` seconds from now.
pub fn jwt(email: &str, expires_in: i64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let claims = json!({"sub": email, "iat": now, "email": email, "exp": now + expires_in});
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// (method, path, Authorization header, JSON body).
pub type Request = (String, String, Option<String>, Value);

#[derive(Clone, Default)]
pub struct Recorded {
    pub requests: Arc<Mutex<Vec<Request>>>,
    pub token_calls: Arc<AtomicUsize>,
}

impl Recorded {
    /// (method, path) of every API request, in order.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(method, path, _, _)| (method.clone(), path.clone()))
            .collect()
    }

    pub fn last_body(&self) -> Value {
        self.requests.lock().unwrap().last().map(|r| r.3.clone()).unwrap_or(Value::Null)
    }

    pub fn last_auth(&self) -> Option<String> {
        self.requests.lock().unwrap().last().and_then(|r| r.2.clone())
    }
}

#[derive(Clone)]
struct Shared {
    base_url: String,
    auth_enabled: bool,
    oidc: bool,
    workspaces: Arc<Mutex<Vec<String>>>,
    recorded: Recorded,
}

pub struct FakeNmp {
    pub base_url: String,
    pub recorded: Recorded,
}

impl FakeNmp {
    /// `auth_enabled`: discovery says so and API calls need a bearer token;
    /// `oidc`: discovery names this server's `/token` as the IdP token endpoint.
    pub fn start(auth_enabled: bool, oidc: bool) -> FakeNmp {
        let (sender, receiver) = std::sync::mpsc::channel();
        let recorded = Recorded::default();
        let thread_recorded = recorded.clone();
        std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let base_url = format!("http://{}", listener.local_addr().unwrap());
                let shared = Shared {
                    base_url: base_url.clone(),
                    auth_enabled,
                    oidc,
                    workspaces: Arc::new(Mutex::new(vec!["default".into(), "system".into()])),
                    recorded: thread_recorded,
                };
                let app = Router::new()
                    .route("/apis/auth/discovery", get(discovery))
                    .route("/token", post(token))
                    .route("/apis/entities/v2/workspaces", get(list).post(create))
                    .route("/apis/entities/v2/workspaces/{name}", get(read))
                    .route("/apis/entities/v2/workspaces/{name}/members", post(add_member))
                    .with_state(shared);
                sender.send(base_url).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        let base_url = receiver.recv_timeout(Duration::from_secs(10)).unwrap();
        FakeNmp { base_url, recorded }
    }
}

async fn discovery(State(shared): State<Shared>) -> Json<Value> {
    let oidc = shared.oidc.then(|| {
        json!({
            "issuer": shared.base_url,
            "authorization_endpoint": null,
            "token_endpoint": format!("{}/token", shared.base_url),
            "device_authorization_endpoint": null,
            "userinfo_endpoint": null,
            "client_id": "nmp-cli",
            "default_scopes": "openid offline_access",
            "scope_prefix": null
        })
    });
    Json(json!({"auth_enabled": shared.auth_enabled, "oidc": oidc}))
}

async fn token(
    State(shared): State<Shared>,
    Form(form): Form<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let call = shared.recorded.token_calls.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    if form.get("grant_type").map(String::as_str) != Some("refresh_token") {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "unsupported_grant_type"})));
    }
    (
        StatusCode::OK,
        Json(json!({
            "access_token": jwt("admin@example.com", 3600),
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": format!("rt-{}", call + 2),
        })),
    )
}

fn record(
    shared: &Shared,
    method: &str,
    path: String,
    headers: &HeaderMap,
    body: Value,
) -> Result<(), (StatusCode, Json<Value>)> {
    let auth = headers.get("authorization").and_then(|value| value.to_str().ok()).map(str::to_string);
    shared.recorded.requests.lock().unwrap().push((method.into(), path, auth.clone(), body));
    if shared.auth_enabled && auth.is_none() {
        return Err((StatusCode::UNAUTHORIZED, Json(json!({"detail": "Unauthorized"}))));
    }
    Ok(())
}

fn workspace(name: &str) -> Value {
    json!({"id": format!("workspace-{name}"), "name": name, "description": null,
           "created_at": "2026-11-28T22:38:57.047742", "created_by": "admin@example.com",
           "updated_at": "2026-11-28T22:38:57.047753", "updated_by": "admin@example.com"})
}

async fn list(State(shared): State<Shared>, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    if let Err(error) = record(&shared, "GET", "/apis/entities/v2/workspaces".into(), &headers, Value::Null) {
        return error;
    }
    let names = shared.workspaces.lock().unwrap().clone();
    let data: Vec<Value> = names.iter().map(|name| workspace(name)).collect();
    let count = data.len();
    (
        StatusCode::OK,
        Json(json!({"data": data, "pagination": {"page": 1, "page_size": 100,
        "current_page_size": count, "total_pages": 1, "total_results": count},
        "sort": "-created_at", "filter": null})),
    )
}

async fn create(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if let Err(error) = record(&shared, "POST", "/apis/entities/v2/workspaces".into(), &headers, body.clone())
    {
        return error;
    }
    let name = body["name"].as_str().unwrap_or_default().to_string();
    let mut names = shared.workspaces.lock().unwrap();
    if names.contains(&name) {
        return (StatusCode::CONFLICT, Json(json!({"detail": format!("Workspace '{name}' already exists")})));
    }
    names.push(name.clone());
    (StatusCode::CREATED, Json(workspace(&name)))
}

async fn read(
    State(shared): State<Shared>,
    headers: HeaderMap,
    UrlPath(name): UrlPath<String>,
) -> (StatusCode, Json<Value>) {
    if let Err(error) =
        record(&shared, "GET", format!("/apis/entities/v2/workspaces/{name}"), &headers, Value::Null)
    {
        return error;
    }
    if name == "secret" {
        return (StatusCode::FORBIDDEN, Json(json!({"detail": "Forbidden"})));
    }
    if shared.workspaces.lock().unwrap().contains(&name) {
        (StatusCode::OK, Json(workspace(&name)))
    } else {
        (StatusCode::NOT_FOUND, Json(json!({"detail": format!("Workspace '{name}' not found")})))
    }
}

async fn add_member(
    State(shared): State<Shared>,
    headers: HeaderMap,
    UrlPath(name): UrlPath<String>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if let Err(error) = record(
        &shared,
        "POST",
        format!("/apis/entities/v2/workspaces/{name}/members"),
        &headers,
        body.clone(),
    ) {
        return error;
    }
    (
        StatusCode::CREATED,
        Json(json!({"principal": body["principal"], "roles": body["roles"],
        "granted_at": "2026-11-28T22:39:02.764396Z", "granted_by": "admin@example.com"})),
    )
}

/// A scratch HOME with XDG dirs, and a way to run `nemo` in it.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch { dir: tempfile::tempdir().unwrap() }
    }

    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.home().join(".config/nmp/config.yaml")
    }

    pub fn config_text(&self) -> String {
        std::fs::read_to_string(self.config_path()).unwrap()
    }

    pub fn config(&self) -> serde_yaml_ng::Value {
        serde_yaml_ng::from_str(&self.config_text()).unwrap()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_nemo"));
        command.args(args).env_clear();
        command
            .env("HOME", self.home())
            .env("XDG_STATE_HOME", self.home().join("state"))
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
