//! The workspaces page: list with search and paging, create, delete with confirmation.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{notice, poster, viewer, Viewer};
use crate::studio::api::{query, segment};
use crate::studio::templates::{page, ConfirmDeletePage, WorkspaceRow, WorkspacesPage};
use crate::studio::StudioState;

const PAGE_SIZE: u64 = 20;

#[derive(Debug, Deserialize, Default)]
pub struct ListParams {
    #[serde(default)]
    q: String,
    page: Option<String>,
    notice: Option<String>,
}

pub async fn list(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Query(params): Query<ListParams>,
) -> Response {
    let viewer = match viewer(&studio, &headers, &uri).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let page_number =
        params.page.as_deref().and_then(|p| p.parse::<u64>().ok()).filter(|p| *p >= 1).unwrap_or(1);
    render_list(
        &studio,
        &headers,
        &viewer,
        params.q.trim(),
        page_number,
        None,
        notice(params.notice.as_deref()),
        StatusCode::OK,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn render_list(
    studio: &StudioState,
    headers: &HeaderMap,
    viewer: &Viewer,
    q: &str,
    page_number: u64,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let page_text = page_number.to_string();
    let size_text = PAGE_SIZE.to_string();
    let mut pairs = vec![("page", page_text.as_str()), ("page_size", size_text.as_str()), ("sort", "name")];
    // The filter language quotes values; a quote in the search cannot be expressed, so drop it.
    let filter = format!("name~\"{}\"", q.replace(['"', '\\'], ""));
    if !q.is_empty() {
        pairs.push(("filter", filter.as_str()));
    }
    let answer = viewer
        .call(studio, Method::GET, &format!("/apis/entities/v2/workspaces?{}", query(&pairs)), None)
        .await;
    if !answer.ok() {
        return viewer.refusal(studio, headers, &answer, "list workspaces", None);
    }
    let items = answer.body["data"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|w| WorkspaceRow {
                    name: text(&w["name"]),
                    description: text(&w["description"]),
                    created_by: text(&w["created_by"]),
                })
                .collect()
        })
        .unwrap_or_default();
    let total = answer.body["pagination"]["total_results"].as_u64().unwrap_or(0);
    let pages = answer.body["pagination"]["total_pages"].as_u64().unwrap_or(1).max(1);
    let link = |n: u64| {
        let n = n.to_string();
        let mut pairs = vec![("page", n.as_str())];
        if !q.is_empty() {
            pairs.push(("q", q));
        }
        format!("/studio/?{}", query(&pairs))
    };
    let template = WorkspacesPage {
        layout: viewer.layout(studio, "Workspaces", "workspaces"),
        error,
        notice,
        q: q.to_string(),
        items,
        total,
        page: page_number,
        pages,
        prev_link: (page_number > 1).then(|| link(page_number - 1)),
        next_link: (page_number < pages).then(|| link(page_number + 1)),
    };
    viewer.finish(studio, headers, page(status, &template))
}

/// A JSON string, or "" for null and anything else.
pub fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

#[derive(Debug, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

pub async fn create(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Form(form): Form<CreateForm>,
) -> Response {
    let viewer = match poster(&studio, &headers, &uri, &form.csrf).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let mut body = json!({"name": form.name.trim()});
    if !form.description.trim().is_empty() {
        body["description"] = json!(form.description.trim());
    }
    let answer = viewer.call(&studio, Method::POST, "/apis/entities/v2/workspaces", Some(body)).await;
    match answer.status {
        status if status.is_success() => {
            Redirect::to(&format!("/studio/workspaces/{}?notice=created", segment(form.name.trim())))
                .into_response()
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            viewer.refusal(&studio, &headers, &answer, "create workspaces", None)
        }
        status => render_list(&studio, &headers, &viewer, "", 1, Some(answer.detail()), None, status).await,
    }
}

pub async fn confirm_delete(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Path(workspace): Path<String>,
) -> Response {
    let viewer = match viewer(&studio, &headers, &uri).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let answer = viewer
        .call(&studio, Method::GET, &format!("/apis/entities/v2/workspaces/{}", segment(&workspace)), None)
        .await;
    if !answer.ok() {
        return viewer.refusal(&studio, &headers, &answer, "see this workspace", Some(&workspace));
    }
    let layout = viewer.layout(&studio, format!("Delete {workspace}"), "workspaces");
    viewer.finish(
        &studio,
        &headers,
        page(StatusCode::OK, &ConfirmDeletePage { layout, error: None, notice: None, name: workspace }),
    )
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

pub async fn delete(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Path(workspace): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Response {
    let viewer = match poster(&studio, &headers, &uri, &form.csrf).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let retry = |error: String, status: StatusCode| {
        let layout = viewer.layout(&studio, format!("Delete {workspace}"), "workspaces");
        page(status, &ConfirmDeletePage { layout, error: Some(error), notice: None, name: workspace.clone() })
    };
    if form.confirm.trim() != workspace {
        return retry(format!("Type “{workspace}” exactly to confirm."), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let answer = viewer
        .call(&studio, Method::DELETE, &format!("/apis/entities/v2/workspaces/{}", segment(&workspace)), None)
        .await;
    match answer.status {
        status if status.is_success() => Redirect::to("/studio/?notice=deleted").into_response(),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
            viewer.refusal(&studio, &headers, &answer, "delete this workspace", Some(&workspace))
        }
        status => retry(answer.detail(), status),
    }
}
