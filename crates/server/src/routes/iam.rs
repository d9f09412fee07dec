//! `/apis/auth/v2/iam/role-bindings`: the raw role-binding API (PlatformAdmin and services only).

use crate::json::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use nmp_proto::{
    self as wire, timestamps, DeleteResponse, ErrorDetail, HttpValidationError, Page, PaginationData,
};
use nmp_store::{BindingQuery, Grant, StringMatch, TimeRange};
use serde_json::{json, Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::members::{check_principal, check_roles};
use crate::access::BindingChanges;
use crate::audit::Audit;
use crate::convert;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Caller};
use crate::validate::{error, BodyFields, JsonBody, Query};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_role_bindings, create_role_binding))
        .routes(routes!(get_role_binding, revoke_role_binding))
}

/// Read `filter[field]`, `filter[field][$op]` and `filter[field][gte]` parameters (OpenAPI deepObject).
fn binding_query(query: &mut Query) -> ApiResult<(BindingQuery, Option<Value>)> {
    let mut result = BindingQuery {
        page: query.integer("page", 1, 1, u64::from(u32::MAX)),
        page_size: query.integer("page_size", 10, 1, 1000),
        ..Default::default()
    };
    match query.string("sort").unwrap_or("created_at") {
        "created_at" => result.descending = false,
        "-created_at" => result.descending = true,
        other => query.errors.push(error(
            "enum",
            &["query", "sort"],
            "Input should be 'created_at' or '-created_at'",
            json!(other),
        )),
    }
    let mut echo = Map::new();
    let pairs: Vec<(String, String)> =
        query.with_prefix("filter[").map(|(k, v)| (k.to_string(), v.to_string())).collect();
    for (key, value) in pairs {
        let parts: Vec<&str> = key["filter".len()..]
            .split(']')
            .filter(|p| !p.is_empty())
            .map(|p| p.trim_start_matches('['))
            .collect();
        let bad = || ApiError::BadRequest(format!("Invalid filter query: cannot read `{key}`"));
        let string_match = |op: Option<&str>| -> ApiResult<StringMatch> {
            let list = || value.split(',').map(str::to_string).collect::<Vec<_>>();
            Ok(match op {
                None | Some("$eq") => StringMatch::Eq(value.clone()),
                Some("$like") => StringMatch::Like(value.clone()),
                Some("$in") => StringMatch::In(list()),
                Some("$nin") => StringMatch::NotIn(list()),
                Some(_) => return Err(bad()),
            })
        };
        let time = |text: &str| {
            timestamps::parse(text).ok_or_else(|| {
                ApiError::BadRequest(format!("Invalid filter query: `{text}` is not a timestamp"))
            })
        };
        match parts.as_slice() {
            ["principal", rest @ ..] if rest.len() <= 1 => {
                result.principal = Some(string_match(rest.first().copied())?)
            }
            ["role", rest @ ..] if rest.len() <= 1 => {
                result.role = Some(string_match(rest.first().copied())?)
            }
            ["granted_by", rest @ ..] if rest.len() <= 1 => {
                result.granted_by = Some(string_match(rest.first().copied())?)
            }
            ["workspace"] => result.workspace = Some(value.clone()),
            ["is_active"] => match value.as_str() {
                "true" | "True" | "1" => result.is_active = Some(true),
                "false" | "False" | "0" => result.is_active = Some(false),
                _ => {
                    return Err(ApiError::BadRequest(format!(
                        "Invalid filter query: `{value}` is not a boolean"
                    )))
                }
            },
            [field @ ("granted_at" | "revoked_at"), bound @ ("gte" | "lte")] => {
                let range: &mut TimeRange =
                    if *field == "granted_at" { &mut result.granted_at } else { &mut result.revoked_at };
                if *bound == "gte" {
                    range.gte = Some(time(&value)?);
                } else {
                    range.lte = Some(time(&value)?);
                }
            }
            _ => return Err(bad()),
        }
        echo.insert(key["filter".len()..].to_string(), json!(value));
    }
    Ok((result, (!echo.is_empty()).then_some(Value::Object(echo))))
}

#[utoipa::path(get, path = "/apis/auth/v2/iam/role-bindings", tag = "IAM",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query, description = "Default 10"),
        ("sort" = Option<String>, Query, description = "created_at (default) or -created_at"),
        ("filter[principal]" = Option<String>, Query), ("filter[workspace]" = Option<String>, Query),
        ("filter[role]" = Option<String>, Query), ("filter[granted_by]" = Option<String>, Query),
        ("filter[is_active]" = Option<bool>, Query), ("filter[granted_at][gte]" = Option<String>, Query),
        ("filter[granted_at][lte]" = Option<String>, Query)),
    responses((status = 200, body = Page<wire::RoleBinding>), (status = 422, body = HttpValidationError)))]
async fn list_role_bindings(
    State(state): State<AppState>,
    query: Query,
) -> ApiResult<Json<Page<wire::RoleBinding>>> {
    let mut query = query;
    let (binding_query, echo) = binding_query(&mut query)?;
    let query = query.finish()?;
    let sort = query.string("sort").unwrap_or("created_at").to_string();
    let (page, page_size) = (binding_query.page, binding_query.page_size);
    let result = state.read(move |store| store.list_bindings(&binding_query)).await?;
    Ok(Json(Page {
        pagination: PaginationData::new(page, page_size, result.items.len() as u64, result.total),
        data: result.items.into_iter().map(convert::role_binding).collect(),
        sort: Some(sort),
        filter: echo,
    }))
}

#[utoipa::path(post, path = "/apis/auth/v2/iam/role-bindings", tag = "IAM",
    request_body = wire::RoleBindingInput, params(("wait_role_propagation" = Option<bool>, Query)),
    responses((status = 201, body = wire::RoleBinding), (status = 404, body = ErrorDetail), (status = 409, body = ErrorDetail), (status = 422, body = HttpValidationError)))]
async fn create_role_binding(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Audit(audit): Audit,
    query: Query,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<wire::RoleBinding>)> {
    let mut query = query;
    query.boolean("wait_role_propagation");
    query.finish()?;
    let mut fields = BodyFields::new(&body)?;
    fields.deny_unknown(&["principal", "workspace", "role"]);
    let principal = fields.required_string("principal", nmp_core::principal::MAX_ID_LEN);
    if let Some(Err(message)) = principal.as_deref().map(check_principal) {
        fields.push(error("principal", &["body", "principal"], message, json!(principal)));
    }
    let workspace =
        fields.optional_string("workspace", 63).unwrap_or_else(|| nmp_core::SYSTEM_WORKSPACE.into());
    let role = fields.required_string("role", 64);
    if let Some(role) = &role {
        check_roles(&state, &mut fields, &workspace, std::slice::from_ref(role));
    }
    let (principal, role) = fields.finish(principal.zip(role))?;
    let grant = Grant {
        name: nmp_core::binding_name_for_api(&principal, &workspace, &role),
        principal: principal.into(),
        workspace: workspace.into(),
        role: role.into(),
        granted_by: caller.granted_by(),
        at: audit.at,
    };
    let binding = state
        .commit(move |store| {
            let binding = store.create_binding(&grant, &audit)?;
            Ok((binding.clone(), BindingChanges { granted: vec![binding], ..Default::default() }))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(convert::role_binding(binding))))
}

#[utoipa::path(get, path = "/apis/auth/v2/iam/role-bindings/{name}", tag = "IAM",
    params(("name" = String, Path)),
    responses((status = 200, body = wire::RoleBinding), (status = 404, body = ErrorDetail)))]
async fn get_role_binding(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<wire::RoleBinding>> {
    let binding = state.read(move |store| store.get_binding(&name)).await?;
    Ok(Json(convert::role_binding(binding)))
}

#[utoipa::path(delete, path = "/apis/auth/v2/iam/role-bindings/{name}", tag = "IAM",
    params(("name" = String, Path), ("wait_role_propagation" = Option<bool>, Query)),
    responses((status = 200, body = DeleteResponse), (status = 404, body = ErrorDetail), (status = 409, body = ErrorDetail)))]
async fn revoke_role_binding(
    State(state): State<AppState>,
    Audit(audit): Audit,
    Path(name): Path<String>,
    query: Query,
) -> ApiResult<Json<DeleteResponse>> {
    let mut query = query;
    query.boolean("wait_role_propagation");
    query.finish()?;
    let at = audit.at;
    let binding = state
        .commit(move |store| {
            let binding = store.revoke_binding(&name, &audit)?;
            Ok((binding.clone(), BindingChanges { revoked: vec![binding], ..Default::default() }))
        })
        .await?;
    Ok(Json(DeleteResponse {
        id: binding.id,
        message: "Role binding revoked".into(),
        deleted_at: Some(timestamps::utc(at)),
        deleted_count: Some(1),
    }))
}
