//! `/apis/entities/v2/workspaces`: create, list (only what the caller may see), get, update, delete.

use crate::json::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use nmp_core::names::{is_reserved_workspace, is_valid_name, NAME_PATTERN};
use nmp_proto::{self as wire, DeleteResponse, ErrorDetail, HttpValidationError, Page};
use nmp_store::{EntityUpdate, Grant, NewWorkspace, SortField};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{list_params, page_of};
use crate::access::BindingChanges;
use crate::audit::Audit;
use crate::convert;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Caller};
use crate::validate::{error, BodyFields, JsonBody, Query};

pub const MAX_DESCRIPTION: usize = 4096;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_workspace, list_workspaces)).routes(routes!(
        get_workspace,
        update_workspace,
        delete_workspace
    ))
}

/// Validate a user-chosen entity name against the reference pattern (422 in the reference shape).
pub(crate) fn check_name(fields: &mut BodyFields<'_>, name: &Option<String>) {
    if let Some(name) = name {
        if !is_valid_name(name) {
            let mut e = error(
                "string_pattern_mismatch",
                &["body", "name"],
                format!("String should match pattern '{NAME_PATTERN}'"),
                json!(name),
            );
            e.ctx = Some(json!({"pattern": NAME_PATTERN}));
            fields.push(e);
        }
    }
}

/// The body of a workspace or project update (`{"description": ...}`) as a store update.
pub(crate) fn description_update(
    state: &AppState,
    caller: &Caller,
    body: &serde_json::Value,
) -> ApiResult<EntityUpdate> {
    let mut fields = BodyFields::new(body)?;
    fields.deny_unknown(&["description"]);
    let description = fields.nullable_string("description", MAX_DESCRIPTION);
    fields.finish(Some(()))?;
    Ok(EntityUpdate { description, actor: caller.actor(), at: state.now() })
}

#[utoipa::path(post, path = "/apis/entities/v2/workspaces", tag = "Workspaces",
    request_body = wire::WorkspaceInput,
    params(("wait_role_propagation" = Option<bool>, Query, description = "Accepted for compatibility; role changes take effect immediately.")),
    responses((status = 201, body = wire::Workspace), (status = 409, body = ErrorDetail), (status = 422, body = HttpValidationError)))]
async fn create_workspace(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Audit(audit): Audit,
    query: Query,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<wire::Workspace>)> {
    let mut query = query;
    query.boolean("wait_role_propagation");
    query.finish()?;
    let mut fields = BodyFields::new(&body)?;
    fields.deny_unknown(&["name", "description"]);
    let name = fields.required_string("name", 63);
    check_name(&mut fields, &name);
    let description = fields.optional_string("description", MAX_DESCRIPTION);
    let name = fields.finish(name)?;
    let at = audit.at;
    // With auth on, the creator becomes the workspace's Admin, keyed by email when there is one.
    let creator_admin = match (&caller.principal, state.auth_enabled()) {
        (Some(principal), true) => {
            let who = principal.email.clone().unwrap_or_else(|| principal.id.to_string());
            Some(Grant {
                name: nmp_core::binding_name_for_api(&who, &name, "Admin"),
                principal: who.into(),
                workspace: name.as_str().into(),
                role: "Admin".into(),
                granted_by: caller.granted_by(),
                at,
            })
        }
        _ => None,
    };
    let new = NewWorkspace { name: name.into(), description, actor: caller.actor(), at };
    let workspace = state
        .commit(move |store| {
            let (workspace, binding) = store.create_workspace(&new, creator_admin.as_ref(), &audit)?;
            Ok((workspace, BindingChanges { granted: binding.into_iter().collect(), ..Default::default() }))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(convert::workspace(workspace))))
}

#[utoipa::path(get, path = "/apis/entities/v2/workspaces", tag = "Workspaces",
    params(
        ("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query, description = "1 to 1000, default 100"),
        ("sort" = Option<String>, Query, description = "created_at, -created_at (default), name, -name"),
        ("filter" = Option<String>, Query, description = "Text (`name:\"ws1\" OR name~\"ml\"`), JSON (`{\"name\":{\"$like\":\"ml\"}}`) or bracket (`filter[name][$like]=ml`) syntax")),
    responses((status = 200, body = Page<wire::Workspace>), (status = 400, body = ErrorDetail), (status = 422, body = HttpValidationError)))]
async fn list_workspaces(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Query,
) -> ApiResult<Json<Page<wire::Workspace>>> {
    let params = list_params(query, 100, "-created_at", &[SortField::CreatedAt, SortField::Name])?;
    // A PlatformAdmin sees every workspace: the decision that let the request in said so already.
    let visible = caller.visible_workspaces(&state.access);
    let list_query = params.query.clone();
    let page = state.read(move |store| store.list_workspaces(&list_query, visible.as_deref())).await?;
    let items = page.items.into_iter().map(convert::workspace).collect();
    Ok(Json(page_of(items, page.total, &params)))
}

#[utoipa::path(get, path = "/apis/entities/v2/workspaces/{name}", tag = "Workspaces",
    params(("name" = String, Path)),
    responses((status = 200, body = wire::Workspace), (status = 404, body = ErrorDetail)))]
async fn get_workspace(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<wire::Workspace>> {
    let workspace = state.read(move |store| store.get_workspace(&name)).await?;
    Ok(Json(convert::workspace(workspace)))
}

#[utoipa::path(put, path = "/apis/entities/v2/workspaces/{name}", tag = "Workspaces",
    params(("name" = String, Path)), request_body = wire::WorkspaceUpdate,
    responses((status = 200, body = wire::Workspace), (status = 404, body = ErrorDetail), (status = 422, body = HttpValidationError)))]
async fn update_workspace(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<wire::Workspace>> {
    let update = description_update(&state, &caller, &body)?;
    let workspace = state.store(move |store| store.update_workspace(&name, &update)).await?;
    Ok(Json(convert::workspace(workspace)))
}

#[utoipa::path(delete, path = "/apis/entities/v2/workspaces/{name}", tag = "Workspaces",
    params(("name" = String, Path)),
    responses((status = 200, body = DeleteResponse), (status = 404, body = ErrorDetail),
        (status = 409, body = ErrorDetail, description = "The workspace still contains entities, or is reserved")))]
async fn delete_workspace(
    State(state): State<AppState>,
    Audit(audit): Audit,
    Path(name): Path<String>,
) -> ApiResult<Json<DeleteResponse>> {
    if is_reserved_workspace(&name) || name == state.settings.file.auth.default_workspace {
        return Err(ApiError::Conflict(format!("Workspace '{name}' is reserved and cannot be deleted")));
    }
    let at = audit.at;
    let deleted = state
        .commit(move |store| {
            let deleted = store.delete_workspace(&name, &audit)?;
            let removed = BindingChanges { removed_workspace: Some(name), ..Default::default() };
            Ok((deleted, removed))
        })
        .await?;
    Ok(Json(DeleteResponse {
        id: deleted.workspace.name.into_string(),
        message: "Workspace deleted".into(),
        deleted_at: Some(wire::timestamps::naive(at)),
        deleted_count: Some(1),
    }))
}
