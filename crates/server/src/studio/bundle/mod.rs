//! The official Studio bundle (the single-page app of the official `nemo-platform` wheel) served
//! at `/studio/` in place of our console, as the reference serves it: the `STUDIO_UI_*` markers
//! written at start, the SPA fallback, `/apis/plugins`. Two modes (`studio.bundle_mode`):
//!
//! - `reference`: the SPA signs in at the IdP itself and calls the API with the bearer token, which
//!   the API verifies like any other.
//! - `bff`: the SPA runs with its own sign-in off; the bundle is gated by our session (signing in
//!   through our sign-in pages) and its API calls, carrying the session cookie and
//!   `X-Source: NeMo Studio` from our own origin, are authenticated by the session on the server
//!   ([`session_bridge`]). Tokens stay on the server.

mod files;
pub mod settings;

use crate::json::Json;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

pub use files::Bundle;
pub use settings::{BundleMode, BundleSettings};

use super::api::SessionIdentity;
use super::templates::{self, Layout};
use super::{auth, pages, session, SignInMode, StudioState};
use crate::error::ApiError;

/// The header every API call of the official SPA carries (its axios client sets it).
pub const SOURCE_HEADER: &str = "x-source";
pub const SOURCE_VALUE: &str = "NeMo Studio";

/// The routes of `/`, `/studio…` and `/apis/plugins` when a bundle is configured, merged with the
/// API router (which, in `bff` mode, also accepts the session).
pub fn router(studio: StudioState, bundle: &BundleSettings, api: Router) -> Router {
    let gated = bundle.mode == BundleMode::Bff;
    let mut routes = Router::new()
        // 301 and 307, as the reference answers.
        .route("/", get(|| async { (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, "/studio")]) }))
        .route("/studio", get(|| async { Redirect::temporary("/studio/") }))
        .route("/studio/", get(serve))
        .route("/studio/{*path}", get(serve))
        .route("/apis/plugins", get(plugins))
        .layer(axum::middleware::from_fn_with_state(studio.clone(), bundle_headers));
    if gated {
        // Our own sign-in (and sign-out) pages, with the console's strict headers.
        let sign_in = Router::new()
            .route("/studio/assets/studio.css", get(super::stylesheet))
            .route("/studio/auth/sign-in", get(auth::sign_in_page))
            .route("/studio/auth/login", get(auth::start_oidc))
            .route("/studio/auth/quickstart", post(auth::quickstart))
            .route("/studio/auth/success", get(auth::callback))
            .route("/studio/auth/sign-out", get(sign_out_page).post(auth::sign_out))
            .route("/studio/auth/signed-out", get(auth::signed_out))
            .layer(axum::middleware::from_fn_with_state(studio.clone(), super::security_headers));
        routes = routes.merge(sign_in);
    }
    let api = if gated && matches!(studio.mode(), SignInMode::Oidc | SignInMode::Quickstart) {
        api.layer(axum::middleware::from_fn_with_state(studio.clone(), session_bridge))
    } else {
        api
    };
    routes.with_state(studio).merge(api)
}

fn settings(studio: &StudioState) -> Option<&BundleSettings> {
    studio.app.settings.studio.bundle.as_ref()
}

/// `GET /apis/plugins`: the Studio plugins installed with the platform. We serve none.
async fn plugins() -> Json<Vec<serde_json::Value>> {
    Json(Vec::new())
}

fn not_found() -> Response {
    ApiError::NotFound("Not Found".into()).into_response()
}

/// A file of the bundle, or `index.html` for the SPA's routes; in `bff` mode only to a signed-in
/// session (pages redirect to sign in; other files answer 401).
async fn serve(State(studio): State<StudioState>, headers: HeaderMap, uri: Uri) -> Response {
    let Some(bundle) = settings(&studio) else { return not_found() };
    let raw = uri.path().strip_prefix("/studio/").unwrap_or("");
    let Ok(rest) = percent_encoding::percent_decode_str(raw).decode_utf8() else { return not_found() };
    let files::Resolved::File { file, html } = bundle.files.resolve(&rest) else { return not_found() };
    let gated = bundle.mode == BundleMode::Bff && studio.mode() != &SignInMode::AuthOff;
    let mut set_cookie = None;
    if gated {
        if html {
            match pages::viewer(&studio, &headers, &uri).await {
                Ok(viewer) => set_cookie = Some(viewer),
                Err(response) => return response,
            }
        } else if !signed_in(&studio, &headers).await {
            return ApiError::unauthorized("Sign in to Studio first").into_response();
        }
    }
    let cache = match (file.immutable, html, gated) {
        (_, true, _) => "no-cache",
        (true, false, false) => "public, max-age=31536000, immutable",
        (true, false, true) => "private, max-age=31536000, immutable",
        (false, false, _) => "no-cache",
    };
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == file.etag || tag.trim() == "*"));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, HeaderValue::from_static(file.content_type))], file.body.clone())
            .into_response()
    };
    let response_headers = response.headers_mut();
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(etag) = HeaderValue::from_str(&file.etag) {
        response_headers.insert(header::ETAG, etag);
    }
    match set_cookie {
        Some(viewer) => viewer.finish(&studio, &headers, response),
        None => response,
    }
}

/// Whether the request carries a live, signed-in session (no session is made for it).
async fn signed_in(studio: &StudioState, headers: &HeaderMap) -> bool {
    matches!(session::load(studio, headers).await, Ok(Some(session)) if session.user().is_some())
}

/// The bundle's CSP, shaped like the reference's: scripts from us and the import map's hash;
/// styles inline (the SPA sets them) and NVIDIA's web fonts; the IdP in `connect-src` and
/// `frame-src` only in reference mode, where the browser talks to it. Unlike the reference, no
/// `https:` images (an exfiltration channel), and in reference mode our own pages may frame the
/// SPA's callback, so its silent renewal can work.
fn csp(bundle: &BundleSettings) -> String {
    let hashes = bundle.files.inline_script_hashes.join(" ");
    let issuer = bundle.issuer_origin.as_deref().map(|o| format!(" {o}")).unwrap_or_default();
    let (frame_src, frame_ancestors) = match bundle.mode {
        BundleMode::Reference => (format!("'self'{issuer}"), "'self'"),
        BundleMode::Bff => ("'none'".to_string(), "'none'"),
    };
    format!(
        "default-src 'self'; script-src 'self' {hashes}; \
         style-src 'self' 'unsafe-inline' https://webassets.nvidia.com; \
         font-src 'self' https://webassets.nvidia.com https://brand-assets.cne.ngc.nvidia.com data:; \
         img-src 'self' data: blob:; connect-src 'self'{issuer}; frame-src {frame_src}; \
         frame-ancestors {frame_ancestors}; object-src 'none'; base-uri 'self'; form-action 'self'"
    )
}

/// Headers on the bundle's responses: its CSP, no MIME sniffing, no referrer to other origins
/// (the callback URL carries a code), no framing by others, HSTS over https.
async fn bundle_headers(State(studio): State<StudioState>, request: Request, next: Next) -> Response {
    let https = studio.is_https(request.headers());
    let mut response = next.run(request).await;
    let Some(bundle) = settings(&studio) else { return response };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp(bundle)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    let frame = if bundle.mode == BundleMode::Reference { "SAMEORIGIN" } else { "DENY" };
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static(frame));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if https {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    response
}

/// Whether a request asks to be authenticated by its Studio session: no credential of its own
/// (bearer token or gateway headers), and the header the official SPA sets on every API call.
fn wants_session(headers: &HeaderMap) -> bool {
    let has_own_credential = headers.contains_key(header::AUTHORIZATION)
        || headers.keys().any(|name| name.as_str().starts_with("x-nmp-principal"));
    let from_studio =
        headers.get(SOURCE_HEADER).and_then(|v| v.to_str().ok()).is_some_and(|v| v == SOURCE_VALUE);
    !has_own_credential && from_studio && headers.contains_key(header::COOKIE)
}

/// `bff` mode, on the API router: a request from the official SPA (session cookie plus
/// `X-Source: NeMo Studio`, from our own origin) is authenticated as the session's user, exactly as
/// our own pages' in-process calls are; the PDP then decides as for any caller. The custom header
/// cannot be sent cross-site without a CORS preflight (which we never grant), and a foreign
/// `Origin`/`Sec-Fetch-Site` is refused outright, so a cookie alone authenticates nothing.
pub async fn session_bridge(State(studio): State<StudioState>, mut request: Request, next: Next) -> Response {
    if request.extensions().get::<SessionIdentity>().is_some() || !wants_session(request.headers()) {
        return next.run(request).await;
    }
    let headers = request.headers();
    if !session::same_origin(&studio.origin(headers), headers) {
        tracing::info!(path = request.uri().path(), "studio: cross-site API call with the session refused");
        return ApiError::Forbidden(
            "Cross-site request refused: Studio's session works only from Studio's own origin".into(),
        )
        .into_response();
    }
    let mut found = match session::load(&studio, headers).await {
        Ok(found) => found,
        Err(error) => return error.into_response(),
    };
    if let Some(session) = found.as_mut().filter(|session| session.user().is_some()) {
        let principal = match auth::refresh_if_needed(&studio, headers, session).await {
            Ok(()) => session.user().map(|user| user.principal()),
            Err(()) => {
                // The IdP no longer renews this sign-in: the session ends (the next page load signs in again).
                let _ = session::destroy(&studio, session).await;
                None
            }
        };
        if let Some(principal) = principal {
            request.extensions_mut().insert(SessionIdentity(Some(principal)));
        }
    }
    // Without a live session the API answers as for any request without credentials (401).
    next.run(request).await
}

/// The official SPA has no sign-out of its own when its sign-in is off: this page offers ours
/// (`GET /studio/auth/sign-out`; the form posts back with the session's anti-CSRF token).
#[derive(askama::Template)]
#[template(path = "studio/bundle_sign_out.html")]
struct SignOutPage {
    layout: Layout,
    who: String,
}

async fn sign_out_page(State(studio): State<StudioState>, headers: HeaderMap, uri: Uri) -> Response {
    let viewer = match pages::viewer(&studio, &headers, &uri).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let who = viewer.session.user().map(|u| u.display_name().to_string()).unwrap_or_default();
    let layout = Layout {
        title: "Sign out".into(),
        csrf: viewer.session.data.csrf.clone(),
        quickstart: studio.mode() == &SignInMode::Quickstart,
        ..Layout::default()
    };
    let page = templates::page(StatusCode::OK, &SignOutPage { layout, who });
    viewer.finish(&studio, &headers, page)
}
