//! Establishes who is calling (the [`Caller`]) for every request and, with auth on, asks the PDP
//! whether they may. Public paths skip both; the gateway callouts do their own work.
//!
//! Identity sources, in order: `X-NMP-Principal-*` headers (with auth on, only from a trusted
//! gateway: ADR 0008), then a bearer token. With auth off, headers serve attribution only and
//! bearer tokens are not examined, as in the reference.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use nmp_authn::{AuthorizationError, RejectReason, VerifiedBearer};
use nmp_core::policy::{classify, Allow, Decision, Deny, PathClass, Verdict};
use nmp_core::principal::{self, PrincipalHeaders};
use nmp_core::Principal;

use crate::access::PdpFailure;
use crate::error::ApiError;
use crate::memo::{AllowOutcome, ConnectionMemo};
use crate::state::{AppState, Caller};
use crate::validate::BodyLimit;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(Some)
            .map_err(|_| ApiError::BadRequest(format!("{name} contains invalid characters"))),
    }
}

/// What every `X-NMP-*` header name starts with, in the lower case `HeaderMap` keeps names in.
const PRINCIPAL_HEADER_PREFIX: &str = "x-nmp-";

pub(crate) fn principal_headers(headers: &HeaderMap) -> Result<PrincipalHeaders<'_>, ApiError> {
    // Most requests carry none: one pass over the few names present instead of seven lookups.
    if !headers.keys().any(|name| name.as_str().starts_with(PRINCIPAL_HEADER_PREFIX)) {
        return Ok(PrincipalHeaders::default());
    }
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

/// Who a request says it is, once verified.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// Shared with the token cache (or, on a keep-alive connection, with the connection's memo:
    /// ADR 0037); never copied per request.
    pub principal: Option<Arc<Principal>>,
    /// `oidc_access_token`, `unsigned_token` or `gateway_headers`.
    pub token_kind: Option<&'static str>,
    pub jti: Option<Arc<str>>,
    /// The token's `exp` (seconds since the epoch), for `whoami`.
    pub expires_at: Option<i64>,
    /// The principal came from a bearer token: the connection's bearer memo, when there is one,
    /// holds this very principal.
    pub bearer: bool,
}

/// How the caller proved who they are, for `whoami` (part of [`Caller`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Credential {
    pub token_kind: Option<&'static str>,
    pub expires_at: Option<i64>,
}

/// Establish the caller's identity from trusted headers or a bearer token; `memo`, the
/// connection's memo when there is one, remembers the connection's last bearer token.
pub async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    memo: Option<&ConnectionMemo>,
) -> Result<Identity, ApiError> {
    let values = principal_headers(headers)?;
    if !state.auth_enabled() {
        let principal = values.parse().map_err(|e| ApiError::BadRequest(e.0))?;
        return Ok(Identity { principal: principal.map(Arc::new), ..Identity::default() });
    }
    let metrics = &state.metrics;
    if values.any_present() {
        if !state.settings.trusted_gateway.trusts(peer, headers) {
            metrics.authentication("rejected", "untrusted_gateway_headers");
            return Err(ApiError::unauthorized(
                "X-NMP-Principal-* and X-NMP-Scopes headers are accepted only from a trusted gateway; send a bearer token",
            ));
        }
        let principal = values.parse().map_err(|e| ApiError::BadRequest(e.0))?;
        if let Some(p) = &principal {
            if p.on_behalf_of.is_some() && !p.is_service() {
                return Err(ApiError::BadRequest(
                    "X-NMP-Principal-On-Behalf-Of is honoured only for service principals".into(),
                ));
            }
        }
        metrics.authentication("accepted", "gateway_headers");
        return Ok(Identity {
            principal: principal.map(Arc::new),
            token_kind: Some("gateway_headers"),
            ..Identity::default()
        });
    }
    let mut authorizations = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = authorizations.next() else {
        metrics.authentication("anonymous", "no_credentials");
        return Ok(Identity::default());
    };
    if authorizations.next().is_some() {
        metrics.authentication("rejected", "multiple_authorization_headers");
        return Err(ApiError::InvalidRequest("Multiple Authorization headers".into()));
    }
    // The connection's last token again, the usual request on a keep-alive connection: answered
    // from the memo without parsing the value, whose bytes are the ones verified before.
    let remembered = memo.zip(state.access.authenticator.as_ref()).and_then(|(memo, authenticator)| {
        authenticator.remembered_authorization(value.as_bytes(), &memo.bearer)
    });
    let verified = match remembered {
        Some(verified) => Ok(verified),
        None => {
            let token = match nmp_authn::parse_authorization(value.as_bytes()) {
                Ok(token) => token,
                Err(AuthorizationError::NotBearer) => {
                    metrics.authentication("anonymous", "not_bearer");
                    return Ok(Identity::default());
                }
                Err(AuthorizationError::Malformed) => {
                    metrics.authentication("rejected", "malformed_authorization_header");
                    return Err(ApiError::InvalidRequest("Malformed Authorization header".into()));
                }
                Err(AuthorizationError::TooLong) => {
                    metrics.authentication("rejected", "TooLong");
                    return Err(ApiError::HeaderTooLarge("Authorization header too long".into()));
                }
            };
            let Some(authenticator) = &state.access.authenticator else {
                if nmp_authn::claims_to_be_access_key(token.as_str()) {
                    metrics.authentication("rejected", RejectReason::AccessKeysNotAccepted.label());
                    return Err(ApiError::Unauthorized {
                        detail: nmp_authn::DETAIL_INVALID_TOKEN.into(),
                        token_presented: true,
                    });
                }
                metrics.authentication("rejected", "NotConfigured");
                return Err(ApiError::Unauthorized {
                    detail: nmp_authn::DETAIL_NOT_CONFIGURED.into(),
                    token_presented: true,
                });
            };
            // One call for both kinds of token: a cached token costs a hash and a lookup,
            // nothing of it decoded; a token that claims to be an access key is verified by the
            // platform's keys alone.
            match memo {
                Some(memo) => {
                    authenticator.authenticate_bearer_remembered(token.as_str(), &memo.bearer).await
                }
                None => authenticator.authenticate_bearer(token.as_str()).await,
            }
        }
    };
    match verified {
        Ok(VerifiedBearer::AccessKey(verified)) => crate::access_keys::admit(state, verified, memo).await,
        Ok(VerifiedBearer::Token(verified)) => {
            // `service:` identities come only through a trusted gateway, never from a token
            // (a quickstart token could otherwise claim the all-powerful service role).
            if verified.principal.is_service() {
                tracing::debug!("refused a token whose subject is a service principal");
                metrics.authentication("rejected", "service_subject");
                return Err(ApiError::Unauthorized {
                    detail: nmp_authn::DETAIL_INVALID_TOKEN.into(),
                    token_presented: true,
                });
            }
            let kind = if verified.unsigned { "unsigned_token" } else { "oidc_access_token" };
            metrics.authentication("accepted", kind);
            Ok(Identity {
                principal: Some(verified.principal),
                token_kind: Some(kind),
                jti: verified.jti,
                expires_at: Some(verified.expires_at),
                bearer: true,
            })
        }
        Err(error) if error.is_unavailable() => {
            metrics.authentication("unavailable", "KeysUnavailable");
            Err(ApiError::Unavailable(error.to_string()))
        }
        Err(error) => {
            metrics.authentication("rejected", error.label());
            tracing::debug!(reason = %error, "bearer token rejected");
            Err(ApiError::Unauthorized { detail: error.detail().into(), token_presented: true })
        }
    }
}

/// The answer to a denied decision: 401 for nobody, 403 (scope-aware) for somebody.
pub fn denial(decision: &Decision) -> ApiError {
    match decision.denial() {
        Some(Deny::Anonymous) => ApiError::unauthorized("Unauthorized"),
        Some(Deny::MissingScope) => ApiError::InsufficientScope { scopes: decision.accepted_scopes.to_vec() },
        _ => ApiError::forbidden(),
    }
}

pub fn pdp_failure(failure: PdpFailure) -> ApiError {
    match failure {
        PdpFailure::Unavailable(e) => {
            tracing::error!(error = %e, "policy decision point unreachable");
            ApiError::UnavailableDetail("Authorization service unavailable")
        }
        PdpFailure::Timeout => ApiError::GatewayTimeout("Authorization service timeout".into()),
        PdpFailure::Error(e) => {
            tracing::error!(error = %e, "policy decision point error");
            ApiError::BadGateway("Authorization service error".into())
        }
    }
}

/// ADR 0019: every denial (and optionally every decision) as a structured event, no token.
pub fn log_decision(
    state: &AppState,
    decision: &Decision,
    principal: Option<&Principal>,
    method: &str,
    path: &str,
) {
    state.metrics.decision(decision.allowed(), decision.reason_kind());
    let log = &state.settings.file.auth.decision_log;
    if (decision.allowed() && !log.allowed) || (!decision.allowed() && !log.denials) {
        return;
    }
    let decision_id = format!("{:016x}", rand::random::<u64>());
    tracing::info!(
        target: "nmp::decision",
        decision_id,
        time = %nmp_proto::timestamps::utc(state.now()),
        principal = principal.map(|p| p.id.as_str()).unwrap_or("anonymous"),
        method,
        path,
        workspace = decision.workspace.unwrap_or(""),
        result = if decision.allowed() { "allow" } else { "deny" },
        reason = decision.reason_kind(),
        detail = ?decision.verdict,
    );
}

pub async fn authenticate_and_authorize(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    request.extensions_mut().insert(BodyLimit(state.settings.file.server.max_body_bytes));
    // Borrowed from the request until the decision is made (a copy, or a clone of the URI,
    // costs an allocation per request).
    let path = request.uri().path();
    if classify(path) != PathClass::Decided {
        request.extensions_mut().insert(Caller::default());
        return next.run(request).await;
    }
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    // Studio's in-process calls carry the session's principal as an extension (never from the
    // wire); it replaces the bearer token, and the PDP below decides as for any caller.
    let session = request.extensions().get::<crate::studio::SessionIdentity>().cloned();
    // The connection's memo (the accept loop's; none for in-process calls), for bearer tokens.
    let mut memo = request.extensions().get::<Arc<ConnectionMemo>>().cloned();
    let identity = match session {
        Some(crate::studio::SessionIdentity(principal)) => Identity {
            principal: principal.map(Arc::new),
            token_kind: Some("studio_session"),
            ..Identity::default()
        },
        None => match identify(&state, request.headers(), peer, memo.as_deref()).await {
            Ok(identity) => identity,
            Err(error) => return error.into_response(),
        },
    };
    if !identity.bearer {
        memo = None;
    }
    if state.auth_enabled() && state.replication.is_stale() {
        // A revocation made through another replica may be missing from our index.
        tracing::warn!(stale_for = ?state.replication.staleness(), "bindings index is stale; answering 503");
        return ApiError::UnavailableDetail("Service unavailable: role bindings are being synchronized")
            .into_response();
    }
    let mut platform_admin = false;
    if state.auth_enabled() {
        let memo = memo.as_deref().zip(identity.principal.as_ref());
        match authorize(&state, identity.principal.as_deref(), request.method(), path, memo).await {
            Ok(as_platform_admin) => platform_admin = as_platform_admin,
            Err(error) => return error.into_response(),
        }
    }
    let credential = Credential { token_kind: identity.token_kind, expires_at: identity.expires_at };
    request.extensions_mut().insert(Caller {
        principal: identity.principal,
        credential,
        platform_admin,
        memo,
    });
    next.run(request).await
}

/// The PDP's answer for the request. On an allow, whether the principal was allowed as its own
/// PlatformAdmin (on behalf of someone, the deciding rule was the other principal's: `false`).
///
/// With the connection's memo and the principal its bearer memo handed out, a repeated allowed
/// request on an unchanged index is answered from the memo ([`crate::memo`]).
async fn authorize(
    state: &AppState,
    principal: Option<&Principal>,
    method: &Method,
    path: &str,
    memo: Option<(&ConnectionMemo, &Arc<Principal>)>,
) -> Result<bool, ApiError> {
    let memo = memo.filter(|(_, p)| {
        p.on_behalf_of.is_none()
            && state.access.decides_alone()
            && !state.settings.file.auth.decision_log.allowed
    });
    let Some((memo, shared)) = memo else {
        let decision = state.access.authorize(principal, method.as_str(), path).await.map_err(pdp_failure)?;
        return allowance(state, &decision, principal, method.as_str(), path);
    };
    if let Some(outcome) = memo.allowed(shared, method, path, state.access.generation()) {
        state.metrics.decision(true, outcome.reason);
        return Ok(outcome.platform_admin);
    }
    let (decision, generation) = state.access.decide_at_generation(Some(shared), method.as_str(), path);
    let platform_admin = allowance(state, &decision, Some(shared), method.as_str(), path)?;
    let outcome = AllowOutcome { reason: decision.reason_kind(), platform_admin };
    memo.remember_allow(shared, method, path, generation, outcome);
    Ok(platform_admin)
}

/// Log and count a decision; on an allow, whether it was the principal's own PlatformAdmin.
fn allowance(
    state: &AppState,
    decision: &Decision,
    principal: Option<&Principal>,
    method: &str,
    path: &str,
) -> Result<bool, ApiError> {
    log_decision(state, decision, principal, method, path);
    if !decision.allowed() {
        return Err(denial(decision));
    }
    let own = principal.is_some_and(|p| p.on_behalf_of.is_none());
    Ok(own && matches!(decision.verdict, Verdict::Allow(Allow::PlatformAdmin)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_principal_header_starts_with_the_prefix_the_fast_path_looks_for() {
        for name in [
            principal::HEADER_PRINCIPAL_ID,
            principal::HEADER_PRINCIPAL_EMAIL,
            principal::HEADER_PRINCIPAL_GROUPS,
            principal::HEADER_SCOPES,
            principal::HEADER_ON_BEHALF_OF,
            principal::HEADER_ON_BEHALF_OF_EMAIL,
            principal::HEADER_ON_BEHALF_OF_GROUPS,
        ] {
            assert!(name.to_ascii_lowercase().starts_with(PRINCIPAL_HEADER_PREFIX), "{name}");
            let mut headers = HeaderMap::new();
            headers.insert(axum::http::HeaderName::from_static("accept"), "*/*".parse().unwrap());
            headers.insert(axum::http::HeaderName::try_from(name).unwrap(), "x".parse().unwrap());
            assert!(principal_headers(&headers).unwrap().any_present(), "{name} is seen");
        }
        assert!(!principal_headers(&HeaderMap::new()).unwrap().any_present());
    }
}
