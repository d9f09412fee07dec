//! Gateway callouts (ADR 0010):
//! - `GET|POST /apis/auth/authenticate`: token inspection, the closest thing to "whoami";
//! - `/apis/auth/authenticate/{path}` and `/apis/auth/ext-authz/{path}` (any method): forward auth
//!   for Envoy ext_authz, nginx `auth_request`, Traefik forwardAuth and Caddy `forward_auth`.
//!   They authenticate **and** authorize the original method and path, answer 200 with the trusted
//!   `X-NMP-Principal-*` headers, 401 or 403, always with `Cache-Control: no-store`, and never
//!   answer 2xx when something went wrong inside.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::json::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use nmp_core::principal::{
    HEADER_PRINCIPAL_EMAIL, HEADER_PRINCIPAL_GROUPS, HEADER_PRINCIPAL_ID, HEADER_SCOPES,
};
use nmp_core::Principal;
use nmp_proto::{AuthenticateResponse, ErrorDetail};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::memo::ConnectionMemo;
use crate::middleware::{denial, identify, log_decision, pdp_failure, Identity};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(authenticate_get))
        .route("/apis/auth/authenticate", axum::routing::post(authenticate_post))
        .route("/apis/auth/authenticate/{*path}", any(forward_auth_prefixed))
        .route("/apis/auth/ext-authz/{*path}", any(forward_auth_prefixed))
        .route("/apis/auth/ext-authz", any(forward_auth_headers))
        .route("/apis/auth/ext-authz/", get(forward_auth_headers))
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The trusted headers a gateway forwards upstream.
fn principal_header_values(principal: &Principal) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    let mut push = |name: &str, value: &str| {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_str(value)) {
            out.push((name, value));
        }
    };
    push(HEADER_PRINCIPAL_ID, &principal.id);
    if let Some(email) = &principal.email {
        push(HEADER_PRINCIPAL_EMAIL, email);
    }
    if !principal.groups.is_empty() {
        push(HEADER_PRINCIPAL_GROUPS, &principal.groups.join(","));
    }
    if let Some(scopes) = principal.scopes.as_ref().filter(|s| !s.is_empty()) {
        push(HEADER_SCOPES, &scopes.join(" "));
    }
    out
}

/// The peer's address and the connection's memo (none for in-process calls).
fn connection(request: &Request) -> (Option<std::net::IpAddr>, Option<Arc<ConnectionMemo>>) {
    let extensions = request.extensions();
    (extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()), extensions.get().cloned())
}

/// `token_kind` on the wire: the reference's enum, which the official SDK validates
/// (`AuthenticateResponse.token_kind` is a `Literal`). Unsigned quickstart JWTs are reported as
/// `oidc_access_token`, as the reference does; our finer kinds stay internal.
fn wire_token_kind(kind: Option<&'static str>) -> &'static str {
    match kind {
        Some(
            kind @ ("access_key" | "oidc_access_token" | "workload_access_token" | "workload_subject_token"),
        ) => kind,
        _ => "oidc_access_token",
    }
}

/// Token inspection: who does this bearer token say the caller is?
async fn inspect(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<std::net::IpAddr>,
    memo: Option<&ConnectionMemo>,
) -> Response {
    if headers.get(header::AUTHORIZATION).is_none() {
        return no_store(ApiError::unauthorized("Missing bearer token").into_response());
    }
    let identity = match identify(state, headers, peer, memo).await {
        Ok(Identity { principal: Some(principal), token_kind, jti, .. }) => (principal, token_kind, jti),
        Ok(_) => return no_store(ApiError::unauthorized("Missing bearer token").into_response()),
        Err(ApiError::Unauthorized { .. }) => {
            return no_store(
                ApiError::Unauthorized { detail: "Invalid bearer token".into(), token_presented: true }
                    .into_response(),
            )
        }
        Err(other) => return no_store(other.into_response()),
    };
    let (principal, token_kind, jti) = identity;
    let body = AuthenticateResponse {
        principal: principal.id.to_string(),
        email: principal.email.clone(),
        groups: principal.groups.clone(),
        scopes: principal.scopes.clone().unwrap_or_default(),
        jti: jti.as_deref().map(str::to_owned),
        token_kind: wire_token_kind(token_kind).to_string(),
        on_behalf_of: None,
        on_behalf_of_email: None,
        on_behalf_of_groups: Vec::new(),
    };
    let mut response = Json(body).into_response();
    for (name, value) in principal_header_values(&principal) {
        response.headers_mut().insert(name, value);
    }
    no_store(response)
}

#[utoipa::path(get, path = "/apis/auth/authenticate", tag = "Auth",
    description = "Validate the bearer token and say who it identifies (also POST). Gateways forward the returned X-NMP-Principal-* headers.",
    responses((status = 200, body = AuthenticateResponse), (status = 401, body = ErrorDetail)))]
async fn authenticate_get(State(state): State<AppState>, request: Request) -> Response {
    let (peer, memo) = connection(&request);
    inspect(&state, request.headers(), peer, memo.as_deref()).await
}

async fn authenticate_post(State(state): State<AppState>, request: Request) -> Response {
    let (peer, memo) = connection(&request);
    inspect(&state, request.headers(), peer, memo.as_deref()).await
}

/// Forward auth where the original path follows the callout prefix.
async fn forward_auth_prefixed(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    let original = ["/apis/auth/authenticate", "/apis/auth/ext-authz"]
        .iter()
        .find_map(|prefix| path.strip_prefix(prefix))
        .unwrap_or("/")
        .to_string();
    let original = match request.uri().query() {
        Some(query) => format!("{original}?{query}"),
        None => original,
    };
    let method = match decided_method(request.method(), request.headers()) {
        Ok(method) => method,
        Err(error) => return no_store(error.into_response()),
    };
    let (peer, memo) = connection(&request);
    forward_auth(&state, request.headers(), peer, memo.as_deref(), &method, &original).await
}

/// Forward auth where the gateway names the original request in headers (Traefik forwardAuth:
/// `X-Forwarded-Method`/`X-Forwarded-Uri`; nginx: `X-Original-Method`/`X-Original-URI`).
async fn forward_auth_headers(State(state): State<AppState>, request: Request) -> Response {
    let headers = request.headers();
    let uri = match single_original(headers, ["x-forwarded-uri", "x-original-uri"]) {
        Ok(Some(uri)) => uri.to_string(),
        Ok(None) => {
            return no_store(
                ApiError::BadRequest(
                    "name the original request with X-Forwarded-Uri or X-Original-URI".into(),
                )
                .into_response(),
            )
        }
        Err(error) => return no_store(error.into_response()),
    };
    let method = match decided_method(request.method(), headers) {
        Ok(method) => method,
        Err(error) => return no_store(error.into_response()),
    };
    let (peer, memo) = connection(&request);
    forward_auth(&state, request.headers(), peer, memo.as_deref(), &method, &uri).await
}

/// The method to decide on (GW-05). Gateways that call out with GET (nginx `auth_request`,
/// Traefik forwardAuth, Caddy `forward_auth`) name the original method in `X-Original-Method` or
/// `X-Forwarded-Method`; Envoy ext_authz replays the original method itself. So those headers
/// count only on a GET or HEAD callout: on a DELETE callout, a client-sent
/// `X-Forwarded-Method: GET` that the gateway let through must not turn the DELETE into a read.
fn decided_method(callout: &Method, headers: &HeaderMap) -> Result<Method, ApiError> {
    if callout != Method::GET && callout != Method::HEAD {
        return Ok(callout.clone());
    }
    let Some(named) = single_original(headers, ["x-forwarded-method", "x-original-method"])? else {
        return Ok(callout.clone());
    };
    Method::from_bytes(named.trim().to_ascii_uppercase().as_bytes())
        .map_err(|_| ApiError::BadRequest(format!("`{named}` is not an HTTP method")))
}

/// The one value of a pair of alternative headers (`X-Forwarded-*` / `X-Original-*`). A gateway
/// sets one of them; when the other is there too with a different value, a client slipped it in
/// (the gateway did not strip it), and picking either could decide on the wrong request: refuse.
fn single_original<'a>(headers: &'a HeaderMap, names: [&str; 2]) -> Result<Option<&'a str>, ApiError> {
    let mut found: Option<&str> = None;
    for name in names {
        for value in headers.get_all(name) {
            let value = value
                .to_str()
                .map_err(|_| ApiError::BadRequest(format!("{name} contains invalid characters")))?
                .trim();
            match found {
                Some(previous) if previous != value => {
                    return Err(ApiError::BadRequest(format!(
                        "conflicting values for {} and {}: strip client-sent copies at the gateway",
                        names[0], names[1]
                    )))
                }
                _ => found = Some(value),
            }
        }
    }
    Ok(found)
}

async fn forward_auth(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<std::net::IpAddr>,
    memo: Option<&ConnectionMemo>,
    method: &Method,
    original: &str,
) -> Response {
    // The original path is untrusted input: it must be an absolute path, and the decision is made
    // on its canonical form so `..` or encoded tricks cannot select a more permissive route.
    let Some(path) = canonical_path(original) else {
        return no_store(
            ApiError::BadRequest("the original path is not a canonical absolute path".into()).into_response(),
        );
    };
    let identity = match identify(state, headers, peer, memo).await {
        Ok(identity) => identity,
        Err(error) => return no_store(never_2xx(error.into_response())),
    };
    let principal = identity.principal.as_deref();
    let decision = if state.auth_enabled() {
        match state.access.authorize(principal, method.as_str(), &path).await {
            Ok(decision) => Some(decision),
            Err(failure) => return no_store(pdp_failure(failure).into_response()),
        }
    } else {
        None
    };
    if let Some(decision) = &decision {
        log_decision(state, decision, principal, method.as_str(), &path);
        if !decision.allowed() {
            return no_store(denial(decision).into_response());
        }
    }
    let mut response = StatusCode::OK.into_response();
    if let Some(principal) = principal {
        for (name, value) in principal_header_values(principal) {
            response.headers_mut().insert(name, value);
        }
    }
    no_store(response)
}

/// A defensive guard: whatever produced `response`, a callout must not signal success by accident.
fn never_2xx(response: Response) -> Response {
    if response.status().is_success() {
        return ApiError::Internal("callout produced a success status for an error".into()).into_response();
    }
    response
}

/// Reject paths that are not plain absolute paths: dot segments, empty segments, backslashes,
/// and percent-encoded slashes or dots (which a backend might decode into a different route).
pub fn canonical_path(original: &str) -> Option<String> {
    let path = original.split('?').next().unwrap_or_default();
    if !path.starts_with('/') || path.contains('\\') || path.contains("//") {
        return None;
    }
    let lowered = path.to_ascii_lowercase();
    if lowered.contains("%2f")
        || lowered.contains("%2e")
        || lowered.contains("%5c")
        || lowered.contains("%00")
    {
        return None;
    }
    if path.split('/').any(|segment| segment == "." || segment == "..") {
        return None;
    }
    if path.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    Some(original.to_string())
}

#[cfg(test)]
mod tests {
    use super::{canonical_path, wire_token_kind};

    #[test]
    fn token_kind_on_the_wire_stays_in_the_reference_enum() {
        assert_eq!(wire_token_kind(Some("unsigned_token")), "oidc_access_token");
        assert_eq!(wire_token_kind(Some("gateway_headers")), "oidc_access_token");
        assert_eq!(wire_token_kind(None), "oidc_access_token");
        assert_eq!(wire_token_kind(Some("access_key")), "access_key");
        assert_eq!(wire_token_kind(Some("oidc_access_token")), "oidc_access_token");
    }

    #[test]
    fn canonical_paths() {
        assert!(canonical_path("/apis/entities/v2/workspaces").is_some());
        assert!(canonical_path("/apis/entities/v2/workspaces?page=2").is_some());
        for bad in ["apis", "/a/../b", "/a/./b", "/a//b", "/a/%2e%2e/b", "/a%2Fb", "/a\\b", "/a b"] {
            assert!(canonical_path(bad).is_none(), "{bad}");
        }
    }
}
