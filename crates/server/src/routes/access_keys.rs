//! Scoped Access Keys over HTTP (`/apis/auth/v2/access-keys`) and the platform JWKS
//! (`/apis/auth/jwks`). Handlers validate input in the reference's 422 shape (before the
//! "feature off" answer, as the reference does), then call `crate::access_keys`.

use crate::json::Json;
use axum::extract::{Path, State};
use axum::Extension;
use nmp_proto::access_keys::{
    AccessKeyCreateResponse, AccessKeyListResponse, AccessKeyRevokeResponse, AccessKeyStatusChangeResponse,
};
use nmp_proto::{ErrorDetail, HttpValidationError};
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access_keys::{self, CreateInput};
use crate::audit::Audit;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Caller};
use crate::validate::{error, JsonBody, Query};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_access_key, list_access_keys))
        .routes(routes!(revoke_access_key))
        .routes(routes!(suspend_access_key))
        .routes(routes!(unsuspend_access_key))
        .routes(routes!(jwks))
}

const JTI_PATTERN: &str = "^ak_[0-9a-f]{32}$";
const SERVICE_ACCOUNT_PATTERN: &str = "^[a-zA-Z0-9][a-zA-Z0-9._+/-]*$";

fn check_jti(jti: &str) -> ApiResult<()> {
    if nmp_authn::is_valid_jti(jti) {
        return Ok(());
    }
    let mut e = error(
        "string_pattern_mismatch",
        &["path", "jti"],
        format!("String should match pattern '{JTI_PATTERN}'"),
        json!(jti),
    );
    e.ctx = Some(json!({ "pattern": JTI_PATTERN }));
    Err(ApiError::Validation(vec![e]))
}

fn is_service_account_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '/' | '-'))
}

/// A nullable string field with pydantic's length errors; `None` when absent, null or invalid.
fn text_field(
    body: &serde_json::Map<String, Value>,
    field: &str,
    min: usize,
    max: usize,
    errors: &mut Vec<nmp_proto::ValidationError>,
) -> Option<String> {
    let value = body.get(field)?;
    let text = match value {
        Value::Null => return None,
        Value::String(text) => text,
        other => {
            errors.push(error(
                "string_type",
                &["body", field],
                "Input should be a valid string",
                other.clone(),
            ));
            return None;
        }
    };
    let length = text.chars().count();
    if length < min {
        let mut e = error(
            "string_too_short",
            &["body", field],
            format!("String should have at least {min} character{}", if min == 1 { "" } else { "s" }),
            value.clone(),
        );
        e.ctx = Some(json!({ "min_length": min }));
        errors.push(e);
        return None;
    }
    if length > max {
        let mut e = error(
            "string_too_long",
            &["body", field],
            format!("String should have at most {max} characters"),
            value.clone(),
        );
        e.ctx = Some(json!({ "max_length": max }));
        errors.push(e);
        return None;
    }
    Some(text.clone())
}

/// `expires_in_seconds`: an integer ≥ 1 (a numeric string is coerced), or null.
fn expiry_field(value: &Value, errors: &mut Vec<nmp_proto::ValidationError>) -> Option<Option<u64>> {
    let loc = ["body", "expires_in_seconds"];
    let number = match value {
        Value::Null => return Some(None),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.as_i64().unwrap_or(i64::MAX),
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0 && f.abs() < 9e15) => {
            n.as_f64().unwrap_or_default() as i64
        }
        Value::Number(_) => {
            errors.push(error(
                "int_from_float",
                &loc,
                "Input should be a valid integer, got a number with a fractional part",
                value.clone(),
            ));
            return None;
        }
        Value::String(text) => match text.trim().parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                errors.push(error(
                    "int_parsing",
                    &loc,
                    "Input should be a valid integer, unable to parse string as an integer",
                    value.clone(),
                ));
                return None;
            }
        },
        other => {
            errors.push(error("int_type", &loc, "Input should be a valid integer", other.clone()));
            return None;
        }
    };
    if number < 1 {
        let mut e =
            error("greater_than_equal", &loc, "Input should be greater than or equal to 1", value.clone());
        e.ctx = Some(json!({ "ge": 1 }));
        errors.push(e);
        return None;
    }
    Some(Some(u64::try_from(number).unwrap_or(u64::MAX)))
}

/// The create body: every field optional, unknown fields ignored (as the reference does).
fn create_input(body: &Value) -> ApiResult<CreateInput> {
    let Some(object) = body.as_object() else {
        return Err(ApiError::Validation(vec![error(
            "model_attributes_type",
            &["body"],
            "Input should be a valid dictionary or object to extract fields from",
            body.clone(),
        )]));
    };
    let mut errors = Vec::new();
    let name = text_field(object, "name", 1, 128, &mut errors);
    let description = text_field(object, "description", 0, 1024, &mut errors);
    let expires_in_seconds = object.get("expires_in_seconds").and_then(|v| expiry_field(v, &mut errors));
    let service_account_id = text_field(object, "service_account_id", 1, 240, &mut errors);
    if let Some(id) = service_account_id.as_deref().filter(|id| !is_service_account_id(id)) {
        let mut e = error(
            "string_pattern_mismatch",
            &["body", "service_account_id"],
            format!("String should match pattern '{SERVICE_ACCOUNT_PATTERN}'"),
            json!(id),
        );
        e.ctx = Some(json!({ "pattern": SERVICE_ACCOUNT_PATTERN }));
        errors.push(e);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(CreateInput { name, description, expires_in_seconds, service_account_id })
}

#[utoipa::path(post, path = "/apis/auth/v2/access-keys", tag = "Auth",
    description = "Create a Scoped Access Key for the caller, or (PlatformAdmin) for a service account. The key is in the answer only.",
    responses((status = 200, body = AccessKeyCreateResponse), (status = 400, body = ErrorDetail),
        (status = 403, body = ErrorDetail), (status = 404, body = ErrorDetail), (status = 422, body = HttpValidationError)))]
async fn create_access_key(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Audit(audit): Audit,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<AccessKeyCreateResponse>> {
    let input = create_input(&body)?;
    access_keys::create(&state, caller.principal.as_deref(), input, &audit).await.map(Json)
}

#[utoipa::path(get, path = "/apis/auth/v2/access-keys", tag = "Auth",
    description = "The caller's access keys, newest first (a PlatformAdmin also gets every service-account key).",
    params(("page" = Option<u64>, Query, description = "from 1"), ("page_size" = Option<u64>, Query, description = "1 to 100, default 100")),
    responses((status = 200, body = AccessKeyListResponse), (status = 404, body = ErrorDetail), (status = 422, body = HttpValidationError)))]
async fn list_access_keys(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    mut query: Query,
) -> ApiResult<Json<AccessKeyListResponse>> {
    let page = query.integer("page", 1, 1, u64::from(u32::MAX));
    let page_size = query.integer("page_size", 100, 1, 100);
    query.finish()?;
    access_keys::list(&state, caller.principal.as_deref(), page, page_size).await.map(Json)
}

#[utoipa::path(delete, path = "/apis/auth/v2/access-keys/{jti}", tag = "Auth",
    description = "Revoke an access key (terminal; revoking again answers revoked=false).",
    params(("jti" = String, Path)),
    responses((status = 200, body = AccessKeyRevokeResponse), (status = 404, body = ErrorDetail), (status = 422, body = HttpValidationError)))]
async fn revoke_access_key(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Audit(audit): Audit,
    Path(jti): Path<String>,
) -> ApiResult<Json<AccessKeyRevokeResponse>> {
    check_jti(&jti)?;
    access_keys::revoke(&state, caller.principal.as_deref(), &jti, &audit).await.map(Json)
}

#[utoipa::path(post, path = "/apis/auth/v2/access-keys/{jti}/suspend", tag = "Auth",
    description = "Suspend an access key until it is unsuspended.",
    params(("jti" = String, Path)),
    responses((status = 200, body = AccessKeyStatusChangeResponse), (status = 404, body = ErrorDetail),
        (status = 409, body = ErrorDetail), (status = 422, body = HttpValidationError)))]
async fn suspend_access_key(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Audit(audit): Audit,
    Path(jti): Path<String>,
) -> ApiResult<Json<AccessKeyStatusChangeResponse>> {
    check_jti(&jti)?;
    access_keys::suspend(&state, caller.principal.as_deref(), &jti, true, &audit).await.map(Json)
}

#[utoipa::path(post, path = "/apis/auth/v2/access-keys/{jti}/unsuspend", tag = "Auth",
    description = "Reactivate a suspended access key.",
    params(("jti" = String, Path)),
    responses((status = 200, body = AccessKeyStatusChangeResponse), (status = 404, body = ErrorDetail),
        (status = 409, body = ErrorDetail), (status = 422, body = HttpValidationError)))]
async fn unsuspend_access_key(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Audit(audit): Audit,
    Path(jti): Path<String>,
) -> ApiResult<Json<AccessKeyStatusChangeResponse>> {
    check_jti(&jti)?;
    access_keys::suspend(&state, caller.principal.as_deref(), &jti, false, &audit).await.map(Json)
}

#[utoipa::path(get, path = "/apis/auth/jwks", tag = "Auth",
    description = "The platform's public signing keys (access keys are signed with them); empty while access keys are off.",
    responses((status = 200, body = Object)))]
async fn jwks(State(state): State<AppState>) -> Json<Value> {
    match &state.settings.access_keys {
        Some(settings) => Json(settings.keys.jwks()),
        None => Json(json!({ "keys": [] })),
    }
}
