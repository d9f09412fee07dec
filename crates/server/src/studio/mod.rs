//! Studio: the web console at `/studio`, a backend-for-frontend. Server-rendered pages (askama
//! templates compiled into the binary; one small script file, for a copy button), a session cookie for the browser and every
//! token kept on the server (`session.rs`), sign-in by mode (`oidc.rs` for the IdP; an email form
//! in quickstart; nothing with auth off), and pages that act through the very API router the
//! HTTP API serves (`api.rs`), so authentication, the PDP, validation and the commit path are the
//! ones every other client gets, decided afresh on every page.

mod api;
mod auth;
pub mod bundle;
mod config;
mod oidc;
mod pages;
mod session;
mod templates;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

pub use api::SessionIdentity;
pub use config::{SignInMode, StudioConfig, StudioSettings};

use crate::state::AppState;

/// What the console's handlers share.
#[derive(Clone)]
pub struct StudioState {
    pub app: AppState,
    /// The API router (with its authentication and authorization layers), called in-process.
    pub api: Router,
    pub provider: Arc<oidc::Provider>,
}

impl StudioState {
    /// The console's origin: `studio.public_url`, else what the browser used.
    pub fn origin(&self, headers: &HeaderMap) -> String {
        let settings = &self.app.settings.studio;
        if let Some(url) = &settings.public_url {
            return url.origin().ascii_serialization();
        }
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
        let scheme = if settings.serves_tls { "https" } else { "http" };
        format!("{scheme}://{host}")
    }

    pub fn is_https(&self, headers: &HeaderMap) -> bool {
        self.origin(headers).starts_with("https://")
    }

    pub fn redirect_uri(&self, headers: &HeaderMap) -> String {
        format!("{}/studio/auth/success", self.origin(headers))
    }

    pub fn mode(&self) -> &SignInMode {
        &self.app.settings.studio.mode
    }
}

/// The console's routes, `/` included, merged with `api`, the API router the pages act through.
/// With `studio.bundle_dir` set, the official Studio bundle is served instead ([`bundle`]).
pub fn router(app: AppState, api: Router) -> Router {
    let state = StudioState { app, api: api.clone(), provider: Arc::new(oidc::Provider::default()) };
    if let Some(bundle) = state.app.settings.studio.bundle.clone() {
        return bundle::router(state, &bundle, api);
    }
    Router::new()
        .route("/", get(|| async { Redirect::permanent("/studio") }))
        .route("/studio", get(|| async { Redirect::temporary("/studio/") }))
        .route("/studio/", get(pages::workspaces::list))
        .route("/studio/assets/studio.css", get(stylesheet))
        .route("/studio/assets/copy.js", get(copy_script))
        .route("/studio/workspaces", post(pages::workspaces::create))
        .route("/studio/workspaces/{workspace}", get(pages::members::show))
        .route(
            "/studio/workspaces/{workspace}/delete",
            get(pages::workspaces::confirm_delete).post(pages::workspaces::delete),
        )
        .route("/studio/workspaces/{workspace}/members", post(pages::members::add))
        .route("/studio/workspaces/{workspace}/members/roles", post(pages::members::change))
        .route("/studio/workspaces/{workspace}/members/remove", post(pages::members::remove))
        .route("/studio/me", get(pages::me::show))
        .route("/studio/access-keys", get(pages::access_keys::list).post(pages::access_keys::create))
        .route(
            "/studio/access-keys/{jti}/revoke",
            get(pages::access_keys::confirm_revoke).post(pages::access_keys::revoke),
        )
        .route("/studio/access-keys/{jti}/suspend", post(pages::access_keys::suspend))
        .route("/studio/access-keys/{jti}/unsuspend", post(pages::access_keys::unsuspend))
        .route("/studio/audit", get(pages::audit::show))
        .route("/studio/platform", get(pages::platform::show).post(pages::platform::grant))
        .route("/studio/platform/revoke", post(pages::platform::revoke))
        .route("/studio/auth/sign-in", get(auth::sign_in_page))
        .route("/studio/auth/login", get(auth::start_oidc))
        .route("/studio/auth/quickstart", post(auth::quickstart))
        .route("/studio/auth/success", get(auth::callback))
        .route("/studio/auth/sign-out", post(auth::sign_out))
        .route("/studio/auth/signed-out", get(auth::signed_out))
        .route("/studio/{*rest}", get(pages::not_found))
        .layer(axum::middleware::from_fn_with_state(state.clone(), security_headers))
        .with_state(state)
        .merge(api)
}

/// The only stylesheet.
async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        include_str!("../../assets/studio.css"),
    )
        .into_response()
}

/// The only script: the copy button of the page that shows a new access key (served from here,
/// since the CSP allows scripts from our origin only, and no inline script).
async fn copy_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        include_str!("../../assets/copy.js"),
    )
        .into_response()
}

/// Headers on every console response: a strict CSP (no inline script or style, no framing, forms
/// only to us and the IdP), no MIME sniffing, no referrer to other origins (a callback URL carries a code; `no-referrer` would also make the browser send `Origin: null` on our own form posts), no
/// caching of pages, HSTS over https.
async fn security_headers(State(studio): State<StudioState>, request: Request, next: Next) -> Response {
    let https = studio.is_https(request.headers());
    let mut response = next.run(request).await;
    let mut form_action = String::from("'self'");
    if studio.mode() == &SignInMode::Oidc {
        if let Ok(issuer) = reqwest::Url::parse(&studio.app.settings.studio.issuer) {
            form_action.push(' ');
            form_action.push_str(&issuer.origin().ascii_serialization());
        }
    }
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if https {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    response
}

/// Every ten minutes, delete expired sessions (an expired one is never served; this only frees
/// the rows). Every replica does it; the deletes are idempotent. Stops with the server.
pub fn spawn_session_purge(state: &AppState) {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(600);
    let store = Arc::downgrade(&state.store);
    let clock = Arc::clone(&state.clock);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(EVERY).await;
            let Some(store) = store.upgrade() else { return };
            let now = clock.now();
            match tokio::task::spawn_blocking(move || store.delete_expired_sessions(now)).await {
                Ok(Ok(0)) => {}
                Ok(Ok(purged)) => tracing::debug!(purged, "studio: expired sessions deleted"),
                Ok(Err(error)) => tracing::warn!(%error, "studio: cannot delete expired sessions"),
                Err(error) => tracing::warn!(%error, "studio: session purge task failed"),
            }
        }
    });
}

/// A plain status page for failures outside any page (no session store, no IdP).
pub(crate) fn unavailable(message: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        templates::render_error(StatusCode::SERVICE_UNAVAILABLE, "Unavailable", message),
    )
        .into_response()
}
