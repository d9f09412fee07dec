//! A fake authorization server and NMP discovery endpoint on 127.0.0.1:0, for unit tests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

/// What the fake answers to one request.
pub enum Reply {
    Json(u16, serde_json::Value),
    /// Close the connection without an answer.
    Drop,
}

pub fn oauth_error(code: &str) -> Reply {
    Reply::Json(400, serde_json::json!({ "error": code }))
}

pub fn bearer(access_token: &str, refresh_token: Option<&str>) -> Reply {
    let mut body = serde_json::json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 3600,
    });
    if let Some(refresh) = refresh_token {
        body["refresh_token"] = serde_json::Value::String(refresh.to_string());
    }
    Reply::Json(200, body)
}

type Handler = Arc<dyn Fn(&HashMap<String, String>, usize) -> Reply + Send + Sync>;

pub struct FakeAs {
    pub base_url: String,
    pub token_calls: Arc<AtomicUsize>,
    pub discovery_calls: Arc<AtomicUsize>,
    pub token_forms: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

#[derive(Clone)]
struct Shared {
    base_url: String,
    token_calls: Arc<AtomicUsize>,
    discovery_calls: Arc<AtomicUsize>,
    token_forms: Arc<Mutex<Vec<HashMap<String, String>>>>,
    on_token: Handler,
    token_delay: Duration,
}

impl FakeAs {
    /// Start a fake whose token endpoint answers with `on_token(form, call_number)`.
    pub async fn start(
        token_delay: Duration,
        on_token: impl Fn(&HashMap<String, String>, usize) -> Reply + Send + Sync + 'static,
    ) -> FakeAs {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Shared {
            base_url: base_url.clone(),
            token_calls: Arc::default(),
            discovery_calls: Arc::default(),
            token_forms: Arc::default(),
            on_token: Arc::new(on_token),
            token_delay,
        };
        let fake = FakeAs {
            base_url,
            token_calls: shared.token_calls.clone(),
            discovery_calls: shared.discovery_calls.clone(),
            token_forms: shared.token_forms.clone(),
        };
        let app = Router::new()
            .route("/apis/auth/discovery", get(discovery))
            .route("/token", post(token))
            .route("/device", post(device))
            .with_state(shared);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    pub fn endpoints(&self) -> crate::oauth::OidcEndpoints {
        crate::oauth::OidcEndpoints {
            client_id: "nmp-cli".into(),
            token_endpoint: format!("{}/token", self.base_url),
            device_authorization_endpoint: Some(format!("{}/device", self.base_url)),
        }
    }

    pub fn token_calls(&self) -> usize {
        self.token_calls.load(Ordering::SeqCst)
    }
}

async fn discovery(State(shared): State<Shared>) -> Json<serde_json::Value> {
    shared.discovery_calls.fetch_add(1, Ordering::SeqCst);
    Json(serde_json::json!({
        "auth_enabled": true,
        "oidc": {
            "issuer": shared.base_url,
            "authorization_endpoint": null,
            "token_endpoint": format!("{}/token", shared.base_url),
            "device_authorization_endpoint": format!("{}/device", shared.base_url),
            "userinfo_endpoint": null,
            "client_id": "nmp-cli",
            "default_scopes": "openid platform:read offline_access",
            "scope_prefix": "api://nmp"
        }
    }))
}

async fn device() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "device_code": "secret-device-code",
        "user_code": "ABCD-EFGH",
        "verification_uri": "http://127.0.0.1/activate",
        "verification_uri_complete": "http://127.0.0.1/activate?user_code=ABCD-EFGH",
        "expires_in": 600,
        "interval": 1
    }))
}

async fn token(State(shared): State<Shared>, Form(form): Form<HashMap<String, String>>) -> Response {
    let call = shared.token_calls.fetch_add(1, Ordering::SeqCst);
    shared.token_forms.lock().unwrap().push(form.clone());
    if !shared.token_delay.is_zero() {
        tokio::time::sleep(shared.token_delay).await;
    }
    match (shared.on_token)(&form, call) {
        Reply::Json(status, body) => {
            (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), Json(body))
                .into_response()
        }
        Reply::Drop => panic!("fake AS: simulated dropped connection"),
    }
}
