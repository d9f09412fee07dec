//! The one mapping from errors to HTTP answers: `{"detail": "..."}` bodies with the reference's
//! messages, 422 validation lists, and generic 5xx bodies (details go to the log only).

use crate::json::Json;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use nmp_proto::{ErrorDetail, HttpValidationError, ValidationError};
use nmp_store::StoreError;

#[derive(Debug)]
pub enum ApiError {
    /// 400 with a message naming the problem.
    BadRequest(String),
    /// 401. `token_presented` adds `error="invalid_token"` to `WWW-Authenticate` (RFC 6750).
    Unauthorized {
        detail: String,
        token_presented: bool,
    },
    Forbidden(String),
    /// 403 because the token's scopes do not cover the endpoint (RFC 6750 `insufficient_scope`).
    InsufficientScope {
        scopes: Vec<String>,
    },
    /// 400 from the PDP endpoint for an entrypoint it does not have, in the reference's shape:
    /// `{"detail": {"error": ..., "valid_entrypoints": [...]}}`.
    InvalidEntrypoint {
        entrypoint: String,
        valid: &'static [&'static str],
    },
    /// 400 for a broken `Authorization` header (RFC 6750 `invalid_request`).
    InvalidRequest(String),
    /// 431: a header over its size limit.
    HeaderTooLarge(String),
    NotFound(String),
    /// 405 `Method Not Allowed`: the path exists, the method does not.
    MethodNotAllowed,
    Conflict(String),
    PayloadTooLarge(String),
    /// 422 in the reference (pydantic) shape.
    Validation(Vec<ValidationError>),
    /// 503: a dependency (store, IdP, PDP) is unavailable. The message goes to the log only.
    Unavailable(String),
    /// 503 with a fixed public `detail` (the reference's wording, e.g. "Authorization service
    /// unavailable" for an unreachable PDP, see `docs/reference-behaviour.md#error-messages`) and
    /// `Retry-After`.
    UnavailableDetail(&'static str),
    /// A bad answer from an external PDP (502) or its timeout (504): reference messages.
    BadGateway(String),
    GatewayTimeout(String),
    /// 500: a bug. The message goes to the log only.
    Internal(String),
    /// 404 `{"detail": "Scoped Access Keys are not enabled", "code": "access_keys_disabled"}`:
    /// the reference's answer on every access-key route while the feature is off.
    AccessKeysDisabled,
}

impl ApiError {
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        ApiError::Unauthorized { detail: detail.into(), token_presented: false }
    }

    pub fn forbidden() -> Self {
        ApiError::Forbidden("Forbidden".into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            ApiError::InvalidRequest(_) | ApiError::InvalidEntrypoint { .. } => StatusCode::BAD_REQUEST,
            ApiError::HeaderTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::NotFound(_) | ApiError::AccessKeysDisabled => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) | ApiError::UnavailableDetail(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(m) => ApiError::NotFound(m),
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::Invalid(m) => ApiError::BadRequest(format!("Invalid filter query: {m}")),
            StoreError::Unavailable(m) => ApiError::Unavailable(m),
        }
    }
}

fn detail(status: StatusCode, message: String) -> Response {
    (status, Json(ErrorDetail { detail: message })).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match self {
            ApiError::Unauthorized { detail: message, token_presented } => {
                let mut response = detail(status, message);
                let challenge = if token_presented {
                    r#"Bearer realm="nmp", error="invalid_token""#
                } else {
                    r#"Bearer realm="nmp""#
                };
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
                response
            }
            ApiError::InsufficientScope { scopes } => {
                let mut response = detail(status, "Forbidden".into());
                let challenge = format!(
                    r#"Bearer realm="nmp", error="insufficient_scope", scope="{}""#,
                    scopes.join(" ")
                );
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
                }
                response
            }
            ApiError::InvalidRequest(message) => {
                let mut response = detail(status, message);
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer realm="nmp", error="invalid_request""#),
                );
                response
            }
            ApiError::Validation(errors) => {
                (status, Json(HttpValidationError { detail: errors })).into_response()
            }
            ApiError::Unavailable(message) => {
                tracing::error!(error = %message, "dependency unavailable");
                let mut response = detail(status, "Service temporarily unavailable".into());
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response
            }
            ApiError::UnavailableDetail(message) => {
                let mut response = detail(status, message.into());
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response
            }
            ApiError::InvalidEntrypoint { entrypoint, valid } => {
                let detail = serde_json::json!({
                    "error": format!("Invalid entrypoint: {entrypoint}"),
                    "valid_entrypoints": valid,
                });
                (status, Json(serde_json::json!({ "detail": detail }))).into_response()
            }
            ApiError::MethodNotAllowed => detail(status, "Method Not Allowed".into()),
            ApiError::AccessKeysDisabled => (
                status,
                Json(nmp_proto::access_keys::AccessKeysDisabled {
                    detail: nmp_proto::access_keys::ACCESS_KEYS_DISABLED_DETAIL.into(),
                    code: nmp_proto::access_keys::ACCESS_KEYS_DISABLED_CODE.into(),
                }),
            )
                .into_response(),
            ApiError::Internal(message) => {
                tracing::error!(error = %message, "internal error");
                detail(status, "Internal server error".into())
            }
            ApiError::BadRequest(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::PayloadTooLarge(m)
            | ApiError::HeaderTooLarge(m)
            | ApiError::BadGateway(m)
            | ApiError::GatewayTimeout(m) => detail(status, m),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
