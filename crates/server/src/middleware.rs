//! Establishes who is calling (the [`Caller`]) for every request, and with auth on decides whether
//! they may. Public paths (health, discovery, docs) skip both.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use nmp_core::principal::{self, PrincipalHeaders};

use crate::error::ApiError;
use crate::state::{AppState, Caller};
use crate::validate::BodyLimit;

/// Paths served to anyone, with auth on or off.
pub fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/health/live"
            | "/health/ready"
            | "/status"
            | "/cluster-info"
            | "/apis/auth/discovery"
            | "/openapi.json"
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(Some)
            .map_err(|_| ApiError::BadRequest(format!("{name} contains invalid characters"))),
    }
}

pub(crate) fn principal_headers(headers: &HeaderMap) -> Result<PrincipalHeaders<'_>, ApiError> {
    Ok(PrincipalHeaders {
        id: header(headers, principal::HEADER_PRINCIPAL_ID)?,
        email: header(headers, principal::HEADER_PRINCIPAL_EMAIL)?,
        groups: header(headers, principal::HEADER_PRINCIPAL_GROUPS)?,
        scopes: header(headers, principal::HEADER_SCOPES)?,
        on_behalf_of: header(headers, principal::HEADER_ON_BEHALF_OF)?,
        on_behalf_of_email: header(headers, principal::HEADER_ON_BEHALF_OF_EMAIL)?,
        on_behalf_of_groups: header(headers, principal::HEADER_ON_BEHALF_OF_GROUPS)?,
    })
}

pub async fn authenticate_and_authorize(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    request.extensions_mut().insert(BodyLimit(state.settings.file.server.max_body_bytes));
    let path = request.uri().path().to_string();
    if is_public(&path) {
        request.extensions_mut().insert(Caller::default());
        return next.run(request).await;
    }
    let _peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let caller = match resolve_caller(&state, request.headers()) {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    request.extensions_mut().insert(caller);
    next.run(request).await
}

fn resolve_caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let parsed = principal_headers(headers)?.parse().map_err(|e| ApiError::BadRequest(e.0))?;
    if !state.auth_enabled() {
        // Auth off: headers are used for attribution only, as the reference does.
        return Ok(Caller { principal: parsed });
    }
    Err(ApiError::unauthorized("Unauthorized"))
}
