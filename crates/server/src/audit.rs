//! The audit side of access changes: request ids (`X-Request-Id`, kept from the client when it
//! sends a sane one, else made here, echoed on the response), the [`Audit`] extractor that gives
//! every access-changing handler its `AuditContext` (who, when, which request), and the
//! retention task that prunes events older than `server.audit_retention_days`.
//!
//! The events themselves are written by the store in the transaction of the change
//! (`nmp_store::audit`); nothing here writes one.

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Request};
use nmp_store::AuditContext;
use tower_http::request_id::{MakeRequestId, RequestId};

use crate::error::ApiError;
use crate::state::{AppState, Caller};

/// The longest client-sent request id we keep; longer or odd ones are replaced.
const MAX_REQUEST_ID: usize = 128;
/// How often the retention task runs.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Makes a request id for requests that come without a usable `X-Request-Id`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let id = format!("{:032x}", rand::random::<u128>());
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// A client-sent request id is kept only if short and plain (it ends up in the audit trail).
pub fn usable_request_id(value: &HeaderValue) -> Option<String> {
    value.to_str().ok().filter(|text| is_plain_request_id(text)).map(str::to_string)
}

/// [`usable_request_id`] without copying it (checked on every request).
fn is_usable_request_id(value: &HeaderValue) -> bool {
    value.to_str().is_ok_and(is_plain_request_id)
}

fn is_plain_request_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_REQUEST_ID
        && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// Who changes access in this request, when, and the request id: the `AuditContext` handed to
/// the store with the change.
#[derive(Debug, Clone)]
pub struct Audit(pub AuditContext);

impl FromRequestParts<AppState> for Audit {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let actor = parts
            .extensions
            .get::<Caller>()
            .and_then(|caller| caller.principal.as_deref())
            .map(|principal| principal.id.to_string())
            .unwrap_or_else(|| "anonymous".to_string());
        let request_id =
            parts.extensions.get::<RequestId>().and_then(|id| usable_request_id(id.header_value()));
        Ok(Audit(AuditContext { actor, request_id, at: state.now() }))
    }
}

/// Replace a client's unusable `X-Request-Id` with one of ours before anything reads it.
pub async fn sanitize_request_id(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let header = axum::http::header::HeaderName::from_static("x-request-id");
    if let Some(value) = request.headers().get(&header) {
        if !is_usable_request_id(value) {
            request.headers_mut().remove(&header);
        }
    }
    next.run(request).await
}

/// Prune audit events older than the retention, now and every hour, until the server stops.
pub fn spawn_retention(state: &AppState) {
    let days = state.settings.file.server.audit_retention_days;
    if days == 0 {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        loop {
            // Config validation bounds `days`; should a cut-off still not fit a date, nothing
            // can be that old, so there is nothing to prune this round (and nothing to panic on).
            if let Some(before) = retention_cutoff(state.now(), days) {
                match state.store(move |store| store.prune_audit_events(before)).await {
                    Ok(0) => {}
                    Ok(removed) => tracing::info!(removed, days, "pruned audit events past their retention"),
                    Err(error) => tracing::warn!(?error, "pruning audit events failed; retrying later"),
                }
            }
            tokio::time::sleep(PRUNE_EVERY).await;
        }
    });
}

/// The instant before which events are pruned: `now` minus `days` days, or `None` when that
/// date does not exist (checked arithmetic all the way: any `days` is safe).
pub fn retention_cutoff(now: time::OffsetDateTime, days: u64) -> Option<time::OffsetDateTime> {
    let seconds = i64::try_from(days).ok()?.checked_mul(86_400)?;
    now.checked_sub(time::Duration::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::retention_cutoff;

    #[test]
    fn retention_cutoff_is_checked_for_any_number_of_days() {
        let now = time::macros::datetime!(2026-11-30 12:00 UTC);
        assert_eq!(retention_cutoff(now, 30), Some(time::macros::datetime!(2026-10-31 12:00 UTC)));
        assert_eq!(retention_cutoff(now, 10_u64.pow(12)), None);
        assert_eq!(retention_cutoff(now, u64::MAX), None);
        assert_eq!(retention_cutoff(now, i64::MAX as u64 / 86_400), None);
    }
}
