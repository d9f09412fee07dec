//! The PDP endpoints `POST /apis/auth/v2/authz/{allow,has_permissions,has_role}`
//! (`docs/reference-behaviour.md#the-pdp-endpoint`): answered by the configured PDP (the embedded
//! one, or OPA's same-named rule when the provider is `opa`), for service principals only (an
//! explicit deny of the policy, applied by the middleware).

use crate::json::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use nmp_core::principal::{self, PrincipalHeaderError, PrincipalHeaders};
use nmp_core::Principal;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;
use crate::validate::{error, JsonBody};

const ENTRYPOINTS: &[&str] = &["allow", "has_permissions", "has_role"];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(evaluate))
}

fn string_list(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

/// The principal described by a PDP input (`principal_id`, `principal_email`, `principal_groups`,
/// `scopes`), or the Envoy ext_authz shape (`attributes.request.http`), validated by the same
/// rules as the `X-NMP-Principal-*` headers; a malformed identity is a 400 naming the field.
fn input_principal(input: &Value) -> Result<(Option<Principal>, String, String), ApiError> {
    let invalid = |e: PrincipalHeaderError| ApiError::BadRequest(e.0);
    if let Some(http) = input.pointer("/attributes/request/http") {
        let headers = &http["headers"];
        let get = |name: &str| headers[name].as_str();
        let values = PrincipalHeaders {
            id: get("x-nmp-principal-id").filter(|id| !id.is_empty()),
            email: get("x-nmp-principal-email"),
            groups: get("x-nmp-principal-groups"),
            scopes: get("x-nmp-scopes"),
            ..PrincipalHeaders::default()
        };
        let principal = values.parse().map_err(invalid)?;
        let method = http["method"].as_str().unwrap_or("GET").to_string();
        let path = http["path"].as_str().unwrap_or("/").to_string();
        return Ok((principal, method, path));
    }
    let principal = match input["principal_id"].as_str().filter(|id| !id.is_empty()) {
        None => None,
        Some(id) => Some(Principal {
            id: principal::validate_id("principal_id", id).map_err(invalid)?.into(),
            email: match input["principal_email"].as_str() {
                Some(email) => principal::validate_email("principal_email", email).map_err(invalid)?,
                None => None,
            },
            groups: string_list(&input["principal_groups"])
                .iter()
                .filter(|group| !group.trim().is_empty())
                .map(|group| principal::validate_id("principal_groups", group))
                .collect::<Result<_, _>>()
                .map_err(invalid)?,
            scopes: input["scopes"].as_array().map(|_| string_list(&input["scopes"])),
            on_behalf_of: None,
        }),
    };
    let method = input["method"].as_str().unwrap_or("GET").to_string();
    let path = input["path"].as_str().unwrap_or("/").to_string();
    Ok((principal, method, path))
}

/// `input.<field>` as a list of strings; `None` when absent or not such a list.
fn required_strings(input: &Value, field: &str) -> Option<Vec<String>> {
    let items = input.get(field)?.as_array()?;
    items.iter().map(|item| item.as_str().map(str::to_string)).collect()
}

/// 422 in the reference shape: `input.<field>` is missing or of the wrong type.
fn missing(input: &Value, field: &str, expected: &str) -> Response {
    let value = input.get(field).cloned().unwrap_or(Value::Null);
    let (kind, msg) = if value.is_null() {
        ("missing", "Field required".to_string())
    } else {
        ("type_error", format!("Input should be {expected}"))
    };
    ApiError::Validation(vec![error(kind, &["body", "input", field], msg, value)]).into_response()
}

#[utoipa::path(post, path = "/apis/auth/v2/authz/{entrypoint}", tag = "Auth",
    description = "Ask the policy decision point. Service principals only.",
    params(("entrypoint" = String, Path, description = "allow, has_permissions or has_role")),
    request_body = Object,
    responses((status = 200, body = Object), (status = 400, body = Object)))]
async fn evaluate(
    State(state): State<AppState>,
    Path(entrypoint): Path<String>,
    JsonBody(body): JsonBody,
) -> Response {
    if !ENTRYPOINTS.contains(&entrypoint.as_str()) {
        return ApiError::InvalidEntrypoint { entrypoint, valid: ENTRYPOINTS }.into_response();
    }
    let Some(input) = body.get("input").filter(|i| i.is_object()) else {
        return ApiError::Validation(vec![error(
            "missing",
            &["body", "input"],
            "Field required",
            body.clone(),
        )])
        .into_response();
    };
    let (principal, method, path) = match input_principal(input) {
        Ok(parsed) => parsed,
        Err(error) => return error.into_response(),
    };
    // With an external PDP, its answer is the answer (the embedded one is not consulted).
    if let Some(opa) = &state.access.opa {
        let mut opa_input = nmp_core::policy::identity_input(principal.as_ref());
        match entrypoint.as_str() {
            "allow" => {
                opa_input = match nmp_core::policy::allow_input(principal.as_ref(), &method, &path) {
                    Value::Object(map) => map,
                    _ => opa_input,
                }
            }
            "has_permissions" => {
                opa_input.insert("workspace".into(), input["workspace"].clone());
                opa_input.insert("permissions".into(), input["permissions"].clone());
            }
            _ => {
                opa_input.insert("workspace".into(), input["workspace"].clone());
                opa_input.insert("role".into(), input["role"].clone());
            }
        }
        return match opa.evaluate(&entrypoint, Value::Object(opa_input)).await {
            Ok(result) => Json(json!({"result": result})).into_response(),
            Err(failure) => crate::middleware::pdp_failure(failure).into_response(),
        };
    }
    let result = match entrypoint.as_str() {
        "allow" => {
            let decision = state.access.decide(principal.as_ref(), &method, &path);
            let flag = if decision.allowed() { "true" } else { "false" };
            json!({"allowed": decision.allowed(), "headers": {"X-NMP-Authorized": flag}, "reason": decision.reason_kind()})
        }
        "has_permissions" => {
            let Some(permissions) = required_strings(input, "permissions") else {
                return missing(input, "permissions", "a list of permission names");
            };
            // Absent: only `<workspace>/<permission>` entries can be held.
            let workspace = input["workspace"].as_str().unwrap_or("");
            let allowed =
                principal.as_ref().is_some_and(|p| state.access.has_permissions(p, workspace, &permissions));
            json!({"allowed": allowed})
        }
        _ => {
            let (Some(workspace), Some(role)) = (input["workspace"].as_str(), input["role"].as_str()) else {
                let field = if input["workspace"].is_string() { "role" } else { "workspace" };
                return missing(input, field, "a string");
            };
            let held = principal.as_ref().is_some_and(|p| state.access.has_role(p, workspace, role));
            json!({"has_role": held})
        }
    };
    Json(json!({"result": result})).into_response()
}
