//! `/apis/entities/v2/workspaces/{workspace}/projects`: the first resource type inside a workspace.

use crate::json::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use nmp_proto::{self as wire, DeleteResponse, ErrorDetail, HttpValidationError, Page};
use nmp_store::{NewProject, SortField, WorkspaceName};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::workspaces::{check_name, description_update, MAX_DESCRIPTION};
use super::{list_params, page_of};
use crate::convert;
use crate::error::ApiResult;
use crate::state::{AppState, Caller};
use crate::validate::{BodyFields, JsonBody, Query};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_project, list_projects)).routes(routes!(
        get_project,
        update_project,
        delete_project
    ))
}

#[utoipa::path(post, path = "/apis/entities/v2/workspaces/{workspace}/projects", tag = "Projects",
    params(("workspace" = String, Path)), request_body = wire::ProjectInput,
    responses((status = 201, body = wire::Project), (status = 404, body = ErrorDetail), (status = 409, body = ErrorDetail), (status = 422, body = HttpValidationError)))]
async fn create_project(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(workspace): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<wire::Project>)> {
    let mut fields = BodyFields::new(&body)?;
    fields.deny_unknown(&["name", "description"]);
    let name = fields.required_string("name", 63);
    check_name(&mut fields, &name);
    let description = fields.optional_string("description", MAX_DESCRIPTION);
    let name = fields.finish(name)?;
    let new =
        NewProject { workspace: workspace.into(), name, description, actor: caller.actor(), at: state.now() };
    let project = state.store(move |store| store.create_project(&new)).await?;
    Ok((StatusCode::CREATED, Json(convert::project(project))))
}

#[utoipa::path(get, path = "/apis/entities/v2/workspaces/{workspace}/projects", tag = "Projects",
    params(("workspace" = String, Path), ("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query),
        ("sort" = Option<String>, Query), ("filter" = Option<String>, Query)),
    responses((status = 200, body = Page<wire::Project>), (status = 404, body = ErrorDetail), (status = 422, body = HttpValidationError)))]
async fn list_projects(
    State(state): State<AppState>,
    Path(workspace): Path<WorkspaceName>,
    query: Query,
) -> ApiResult<Json<Page<wire::Project>>> {
    let params = list_params(
        query,
        100,
        "-created_at",
        &[SortField::CreatedAt, SortField::UpdatedAt, SortField::Name],
    )?;
    let list_query = params.query.clone();
    let page = state.read(move |store| store.list_projects(&workspace, &list_query)).await?;
    let items = page.items.into_iter().map(convert::project).collect();
    Ok(Json(page_of(items, page.total, &params)))
}

#[utoipa::path(get, path = "/apis/entities/v2/workspaces/{workspace}/projects/{name}", tag = "Projects",
    params(("workspace" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = wire::Project), (status = 404, body = ErrorDetail)))]
async fn get_project(
    State(state): State<AppState>,
    Path((workspace, name)): Path<(WorkspaceName, String)>,
) -> ApiResult<Json<wire::Project>> {
    let project = state.read(move |store| store.get_project(&workspace, &name)).await?;
    Ok(Json(convert::project(project)))
}

#[utoipa::path(put, path = "/apis/entities/v2/workspaces/{workspace}/projects/{name}", tag = "Projects",
    params(("workspace" = String, Path), ("name" = String, Path)), request_body = wire::ProjectUpdate,
    responses((status = 200, body = wire::Project), (status = 404, body = ErrorDetail), (status = 422, body = HttpValidationError)))]
async fn update_project(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((workspace, name)): Path<(WorkspaceName, String)>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<wire::Project>> {
    let update = description_update(&state, &caller, &body)?;
    let project = state.store(move |store| store.update_project(&workspace, &name, &update)).await?;
    Ok(Json(convert::project(project)))
}

#[utoipa::path(delete, path = "/apis/entities/v2/workspaces/{workspace}/projects/{name}", tag = "Projects",
    params(("workspace" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = DeleteResponse), (status = 404, body = ErrorDetail)))]
async fn delete_project(
    State(state): State<AppState>,
    Path((workspace, name)): Path<(WorkspaceName, String)>,
) -> ApiResult<Json<DeleteResponse>> {
    let at = state.now();
    let project = state.store(move |store| store.delete_project(&workspace, &name)).await?;
    Ok(Json(DeleteResponse {
        id: project.name,
        message: "Project deleted".into(),
        deleted_at: Some(wire::timestamps::naive(at)),
        deleted_count: Some(1),
    }))
}
