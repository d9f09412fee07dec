//! The audit trail and the access-state export, read-only (our own API):
//! `GET /apis/auth/v2/audit-events` (PlatformAdmins: `iam.list` in `system`),
//! `GET /apis/auth/v2/workspaces/{workspace}/audit-events` (the workspace's Admins: `iam.list`
//! there; the middleware's 403 otherwise, the same for a missing workspace), and
//! `GET /apis/auth/v2/access-state?format=json|csv` (PlatformAdmins). No route writes, changes or
//! deletes an event: the store records them with each access change.

use crate::json::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use nmp_proto::insight::{AccessState, AccessStateRow, AuditEvent};
use nmp_proto::{timestamps, ErrorDetail, HttpValidationError, Page, PaginationData};
use nmp_store::AuditQuery;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::validate::{error, Query};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_events))
        .routes(routes!(list_workspace_events))
        .routes(routes!(access_state))
}

/// Filters and paging from the query string; 422 naming a bad parameter.
fn audit_query(query: Query, workspace: Option<String>) -> ApiResult<(AuditQuery, String)> {
    let mut query = query;
    let page = query.integer("page", 1, 1, u64::from(u32::MAX));
    let page_size = query.integer("page_size", 50, 1, 1000);
    let sort = query.string("sort").unwrap_or("-created_at").to_string();
    let oldest_first = match sort.as_str() {
        "created_at" => true,
        "-created_at" => false,
        _ => {
            query.errors.push(error(
                "enum",
                &["query", "sort"],
                "Input should be 'created_at' or '-created_at'",
                json!(sort),
            ));
            false
        }
    };
    let mut time = |name: &str| match query.string(name).map(str::to_string) {
        None => None,
        Some(text) => match timestamps::parse(&text) {
            Some(at) => Some(at),
            None => {
                query.errors.push(error(
                    "datetime_parsing",
                    &["query", name],
                    "Input should be a valid datetime (RFC 3339)",
                    json!(text),
                ));
                None
            }
        },
    };
    let (since, until) = (time("since"), time("until"));
    let text = |name: &str| query.string(name).map(str::to_string);
    let result = AuditQuery {
        workspace: workspace.or_else(|| text("workspace")),
        principal: text("principal"),
        actor: text("actor"),
        action: text("action"),
        since,
        until,
        page,
        page_size,
        oldest_first,
    };
    query.finish()?;
    Ok((result, sort))
}

async fn page_of_events(
    state: &AppState,
    query: AuditQuery,
    sort: String,
) -> ApiResult<Json<Page<AuditEvent>>> {
    let (page, page_size) = (query.page, query.page_size);
    let result = state.store(move |store| store.list_audit_events(&query)).await?;
    Ok(Json(Page {
        pagination: PaginationData::new(page, page_size, result.items.len() as u64, result.total),
        data: result
            .items
            .into_iter()
            .map(|event| AuditEvent {
                id: event.id,
                at: timestamps::utc(event.at),
                actor: event.actor,
                action: event.action,
                workspace: event.workspace,
                principal: event.principal,
                before: event.before,
                after: event.after,
                request_id: event.request_id,
            })
            .collect(),
        sort: Some(sort),
        filter: None,
    }))
}

#[utoipa::path(get, path = "/apis/auth/v2/audit-events", tag = "IAM",
    params(("workspace" = Option<String>, Query), ("principal" = Option<String>, Query, description = "Whose access changed"),
        ("actor" = Option<String>, Query, description = "Who changed it"), ("action" = Option<String>, Query),
        ("since" = Option<String>, Query, description = "RFC 3339, inclusive"), ("until" = Option<String>, Query, description = "RFC 3339, inclusive"),
        ("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query, description = "1 to 1000, default 50"),
        ("sort" = Option<String>, Query, description = "-created_at (default, newest first) or created_at")),
    responses((status = 200, body = Page<AuditEvent>), (status = 403, body = ErrorDetail), (status = 422, body = HttpValidationError)))]
async fn list_events(State(state): State<AppState>, query: Query) -> ApiResult<Json<Page<AuditEvent>>> {
    let (query, sort) = audit_query(query, None)?;
    page_of_events(&state, query, sort).await
}

#[utoipa::path(get, path = "/apis/auth/v2/workspaces/{workspace}/audit-events", tag = "IAM",
    params(("workspace" = String, Path), ("principal" = Option<String>, Query), ("actor" = Option<String>, Query),
        ("action" = Option<String>, Query), ("since" = Option<String>, Query), ("until" = Option<String>, Query),
        ("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("sort" = Option<String>, Query)),
    responses((status = 200, body = Page<AuditEvent>), (status = 403, body = ErrorDetail), (status = 422, body = HttpValidationError)))]
async fn list_workspace_events(
    State(state): State<AppState>,
    Path(workspace): Path<String>,
    query: Query,
) -> ApiResult<Json<Page<AuditEvent>>> {
    if query.string("workspace").is_some_and(|other| other != workspace) {
        return Err(ApiError::Validation(vec![error(
            "value_error",
            &["query", "workspace"],
            "Value error, this endpoint lists the events of the workspace in its path",
            json!(query.string("workspace")),
        )]));
    }
    let (query, sort) = audit_query(query, Some(workspace))?;
    page_of_events(&state, query, sort).await
}

#[utoipa::path(get, path = "/apis/auth/v2/access-state", tag = "IAM",
    params(("format" = Option<String>, Query, description = "json (default) or csv")),
    responses((status = 200, body = AccessState, description = "JSON, or text/csv with the columns of AccessStateRow"),
        (status = 403, body = ErrorDetail), (status = 422, body = HttpValidationError)))]
async fn access_state(State(state): State<AppState>, query: Query) -> ApiResult<Response> {
    let format = query.string("format").unwrap_or("json").to_string();
    if format != "json" && format != "csv" {
        return Err(ApiError::Validation(vec![error(
            "enum",
            &["query", "format"],
            "Input should be 'json' or 'csv'",
            json!(format),
        )]));
    }
    let mut bindings = state.store(|store| store.active_bindings()).await?;
    bindings
        .sort_by(|a, b| (&a.workspace, &a.principal, &a.role).cmp(&(&b.workspace, &b.principal, &b.role)));
    let rows: Vec<AccessStateRow> = bindings
        .into_iter()
        .map(|b| AccessStateRow {
            workspace: b.workspace.into_string(),
            principal: b.principal.into_string(),
            role: b.role.into_string(),
            granted_by: b.granted_by,
            granted_at: timestamps::utc(b.granted_at),
        })
        .collect();
    if format == "json" {
        return Ok(
            Json(AccessState { generated_at: timestamps::utc(state.now()), bindings: rows }).into_response()
        );
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in &rows {
        writer.serialize(row).map_err(|e| ApiError::Internal(format!("access-state CSV: {e}")))?;
    }
    let body = writer.into_inner().map_err(|e| ApiError::Internal(format!("access-state CSV: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response())
}
