//! A fake IdP on 127.0.0.1:0: serves discovery and a JWKS it can change, fail, delay or bloat,
//! and counts every request (including ones to paths nobody should call).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

/// How the JWKS (and discovery) endpoints answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    Normal,
    Status(u16),
    Html,
    Garbage,
    Delay(Duration),
    Oversized(usize),
    /// Redirect to another URL.
    Redirect(String),
}

#[derive(Default)]
pub struct Counters {
    pub discovery: AtomicUsize,
    pub jwks: AtomicUsize,
    pub other: AtomicUsize,
}

pub struct IdpState {
    pub issuer: String,
    /// `http://127.0.0.1:port`; the issuer is this plus an optional path.
    pub origin: String,
    pub keys: Mutex<Vec<Value>>,
    pub jwks_behaviour: Mutex<Behaviour>,
    pub discovery_behaviour: Mutex<Behaviour>,
    /// Overrides the discovery document's `issuer` (OIDC-10).
    pub discovery_issuer: Mutex<Option<String>>,
    pub jwks_path: Mutex<String>,
    /// Overrides the discovery document's whole `jwks_uri` (OIDC-12).
    pub discovery_jwks_uri: Mutex<Option<String>>,
    pub counters: Counters,
}

pub struct FakeIdp {
    pub addr: SocketAddr,
    pub state: Arc<IdpState>,
}

impl FakeIdp {
    pub async fn start(keys: Vec<Value>) -> FakeIdp {
        FakeIdp::start_at(keys, "").await
    }

    /// An IdP whose issuer has a path (`/realms/nmp`, `/oauth2/default`, `/` ...), with its
    /// discovery document under that path, as real providers publish it.
    pub async fn start_at(keys: Vec<Value>, issuer_path: &str) -> FakeIdp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let discovery_path =
            format!("{}/.well-known/openid-configuration", issuer_path.trim_end_matches('/'));
        let state = Arc::new(IdpState {
            issuer: format!("http://{addr}{issuer_path}"),
            origin: format!("http://{addr}"),
            keys: Mutex::new(keys),
            jwks_behaviour: Mutex::new(Behaviour::Normal),
            discovery_behaviour: Mutex::new(Behaviour::Normal),
            discovery_issuer: Mutex::new(None),
            jwks_path: Mutex::new("/jwks".to_owned()),
            discovery_jwks_uri: Mutex::new(None),
            counters: Counters::default(),
        });
        let app = Router::new()
            .route(&discovery_path, get(discovery))
            .fallback(get(other))
            .with_state(Arc::clone(&state));
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        FakeIdp { addr, state }
    }

    pub fn issuer(&self) -> String {
        self.state.issuer.clone()
    }

    pub fn set_keys(&self, keys: Vec<Value>) {
        *self.state.keys.lock().expect("lock") = keys;
    }

    pub fn set_jwks_behaviour(&self, behaviour: Behaviour) {
        *self.state.jwks_behaviour.lock().expect("lock") = behaviour;
    }

    pub fn set_discovery_behaviour(&self, behaviour: Behaviour) {
        *self.state.discovery_behaviour.lock().expect("lock") = behaviour;
    }

    pub fn set_discovery_issuer(&self, issuer: &str) {
        *self.state.discovery_issuer.lock().expect("lock") = Some(issuer.to_owned());
    }

    pub fn set_discovery_jwks_uri(&self, uri: &str) {
        *self.state.discovery_jwks_uri.lock().expect("lock") = Some(uri.to_owned());
    }

    pub fn set_jwks_path(&self, path: &str) {
        *self.state.jwks_path.lock().expect("lock") = path.to_owned();
    }

    pub fn jwks_hits(&self) -> usize {
        self.state.counters.jwks.load(Ordering::SeqCst)
    }

    pub fn discovery_hits(&self) -> usize {
        self.state.counters.discovery.load(Ordering::SeqCst)
    }

    pub fn other_hits(&self) -> usize {
        self.state.counters.other.load(Ordering::SeqCst)
    }
}

async fn answer(behaviour: Behaviour, body: Value) -> Response {
    match behaviour {
        Behaviour::Normal => axum::Json(body).into_response(),
        Behaviour::Status(code) => {
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR).into_response()
        }
        Behaviour::Html => {
            ([("content-type", "text/html")], "<html><body>Service Unavailable</body></html>").into_response()
        }
        Behaviour::Garbage => ([("content-type", "application/json")], "{\"keys\": [").into_response(),
        Behaviour::Delay(pause) => {
            tokio::time::sleep(pause).await;
            axum::Json(body).into_response()
        }
        Behaviour::Oversized(bytes) => {
            let mut padded = serde_json::to_string(&body).expect("json");
            padded.pop();
            padded.push_str(",\"padding\":\"");
            padded.push_str(&"x".repeat(bytes));
            padded.push_str("\"}");
            ([("content-type", "application/json")], padded).into_response()
        }
        Behaviour::Redirect(location) => (StatusCode::FOUND, [("location", location)]).into_response(),
    }
}

async fn discovery(State(state): State<Arc<IdpState>>) -> Response {
    state.counters.discovery.fetch_add(1, Ordering::SeqCst);
    let issuer = state.discovery_issuer.lock().expect("lock").clone().unwrap_or_else(|| state.issuer.clone());
    let jwks_path = state.jwks_path.lock().expect("lock").clone();
    let body = json!({
        "issuer": issuer,
        "jwks_uri": state
            .discovery_jwks_uri
            .lock()
            .expect("lock")
            .clone()
            .unwrap_or_else(|| format!("{}{}", state.origin, jwks_path)),
        "authorization_endpoint": format!("{}/authorize", state.origin),
        "token_endpoint": format!("{}/token", state.origin),
        "device_authorization_endpoint": format!("{}/device", state.origin),
        "userinfo_endpoint": format!("{}/userinfo", state.origin),
    });
    let behaviour = state.discovery_behaviour.lock().expect("lock").clone();
    answer(behaviour, body).await
}

async fn other(State(state): State<Arc<IdpState>>, uri: Uri) -> Response {
    let jwks_path = state.jwks_path.lock().expect("lock").clone();
    if uri.path() == jwks_path {
        state.counters.jwks.fetch_add(1, Ordering::SeqCst);
        let body = json!({ "keys": state.keys.lock().expect("lock").clone() });
        let behaviour = state.jwks_behaviour.lock().expect("lock").clone();
        return answer(behaviour, body).await;
    }
    state.counters.other.fetch_add(1, Ordering::SeqCst);
    (StatusCode::OK, axum::Json(json!({"keys": []}))).into_response()
}
