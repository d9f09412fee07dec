//! `/apis/entities/v2/workspaces/{workspace}/members`: who holds which roles in a workspace.

use crate::json::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use nmp_proto::{self as wire, DeleteResponse, ErrorDetail, HttpValidationError};
use nmp_store::{MemberChange, MemberRoles, PrincipalId, RoleName, WorkspaceName};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::BindingChanges;
use crate::audit::Audit;
use crate::convert;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Caller};
use crate::validate::{error, BodyFields, JsonBody, Query};

const MAX_ROLES: usize = 32;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members, add_member))
        .routes(routes!(update_member, remove_member))
}

/// A member principal: an id, email or group in the header charset, or `*`.
pub(crate) fn check_principal(principal: &str) -> Result<(), String> {
    if principal == nmp_core::WILDCARD_PRINCIPAL {
        return Ok(());
    }
    nmp_core::principal::validate_id("principal", principal).map(|_| ()).map_err(|e| e.0)
}

/// Unknown roles are refused naming the valid ones (ADR 0020); platform roles only in `system`.
pub(crate) fn check_roles(state: &AppState, fields: &mut BodyFields<'_>, workspace: &str, roles: &[String]) {
    for (index, role) in roles.iter().enumerate() {
        if let Err(refused) = state.access.policy.check_grantable(workspace, role) {
            let mut e = error("role", &["body", "roles"], refused.to_string(), json!(role));
            e.loc.push(json!(index));
            fields.push(e);
        }
    }
}

/// A member change, and the same change for the index.
fn member_change(change: MemberChange) -> (MemberChange, BindingChanges) {
    let index = BindingChanges {
        granted: change.granted.clone(),
        revoked: change.revoked.clone(),
        removed_workspace: None,
    };
    (change, index)
}

fn query_flags(query: Query) -> ApiResult<()> {
    let mut query = query;
    query.boolean("wait_role_propagation");
    query.finish().map(|_| ())
}

#[utoipa::path(get, path = "/apis/entities/v2/workspaces/{workspace}/members", tag = "Members",
    params(("workspace" = String, Path)),
    responses((status = 200, body = wire::WorkspaceMemberListResponse), (status = 404, body = ErrorDetail)))]
async fn list_members(
    State(state): State<AppState>,
    Path(workspace): Path<String>,
) -> ApiResult<Json<wire::WorkspaceMemberListResponse>> {
    let bindings = state.read(move |store| store.list_members(&workspace)).await?;
    Ok(Json(wire::WorkspaceMemberListResponse { data: convert::members(&bindings) }))
}

#[utoipa::path(post, path = "/apis/entities/v2/workspaces/{workspace}/members", tag = "Members",
    params(("workspace" = String, Path), ("wait_role_propagation" = Option<bool>, Query)),
    request_body = wire::WorkspaceMemberInput,
    responses((status = 201, body = wire::WorkspaceMember), (status = 404, body = ErrorDetail), (status = 422, body = HttpValidationError)))]
async fn add_member(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Audit(audit): Audit,
    Path(workspace): Path<String>,
    query: Query,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<wire::WorkspaceMember>)> {
    query_flags(query)?;
    let mut fields = BodyFields::new(&body)?;
    fields.deny_unknown(&["principal", "roles"]);
    let principal = fields.required_string("principal", nmp_core::principal::MAX_ID_LEN);
    if let Some(Err(message)) = principal.as_deref().map(check_principal) {
        fields.push(error("principal", &["body", "principal"], message, json!(principal)));
    }
    let roles = fields.string_list("roles", Some(wire::default_member_roles()), MAX_ROLES, 64);
    if let Some(roles) = &roles {
        if roles.is_empty() {
            fields.push(error(
                "too_short",
                &["body", "roles"],
                "List should have at least 1 item",
                json!([]),
            ));
        }
        check_roles(&state, &mut fields, &workspace, roles);
    }
    let (principal, roles) = fields.finish(principal.zip(roles))?;
    let change = MemberRoles {
        workspace: workspace.into(),
        principal: principal.as_str().into(),
        roles: roles.into_iter().map(RoleName::from).collect(),
        granted_by: caller.granted_by(),
        at: audit.at,
    };
    let result = state.commit(move |store| Ok(member_change(store.add_member(&change, &audit)?))).await?;
    Ok((StatusCode::CREATED, Json(convert::member(&principal, &result.current))))
}

#[utoipa::path(put, path = "/apis/entities/v2/workspaces/{workspace}/members/{principal_id}", tag = "Members",
    params(("workspace" = String, Path), ("principal_id" = String, Path), ("wait_role_propagation" = Option<bool>, Query)),
    request_body = wire::WorkspaceMemberUpdate,
    responses((status = 200, body = wire::WorkspaceMember), (status = 404, body = ErrorDetail),
        (status = 409, body = ErrorDetail, description = "Would remove the last Admin"), (status = 422, body = HttpValidationError)))]
async fn update_member(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Audit(audit): Audit,
    Path((workspace, principal)): Path<(String, String)>,
    query: Query,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<wire::WorkspaceMember>> {
    query_flags(query)?;
    check_principal(&principal).map_err(ApiError::BadRequest)?;
    let mut fields = BodyFields::new(&body)?;
    fields.deny_unknown(&["roles"]);
    let roles = fields.string_list("roles", None, MAX_ROLES, 64);
    if let Some(roles) = &roles {
        check_roles(&state, &mut fields, &workspace, roles);
    }
    let roles = fields.finish(roles)?;
    let change = MemberRoles {
        workspace: workspace.into(),
        principal: principal.as_str().into(),
        roles: roles.into_iter().map(RoleName::from).collect(),
        granted_by: caller.granted_by(),
        at: audit.at,
    };
    let result =
        state.commit(move |store| Ok(member_change(store.set_member_roles(&change, &audit)?))).await?;
    Ok(Json(convert::member(&principal, &result.current)))
}

#[utoipa::path(delete, path = "/apis/entities/v2/workspaces/{workspace}/members/{principal_id}", tag = "Members",
    params(("workspace" = String, Path), ("principal_id" = String, Path), ("wait_role_propagation" = Option<bool>, Query)),
    responses((status = 200, body = DeleteResponse), (status = 404, body = ErrorDetail),
        (status = 409, body = ErrorDetail, description = "Would remove the last Admin")))]
async fn remove_member(
    State(state): State<AppState>,
    Audit(audit): Audit,
    Path((workspace, principal)): Path<(String, String)>,
    query: Query,
) -> ApiResult<Json<DeleteResponse>> {
    query_flags(query)?;
    let at = audit.at;
    let (ws, who) = (WorkspaceName::from(workspace.as_str()), PrincipalId::from(principal.as_str()));
    let result =
        state.commit(move |store| Ok(member_change(store.remove_member(&ws, &who, &audit)?))).await?;
    Ok(Json(DeleteResponse {
        id: principal,
        message: format!("Member removed from workspace '{workspace}'"),
        deleted_at: Some(wire::timestamps::naive(at)),
        deleted_count: Some(result.revoked.len() as u64),
    }))
}
