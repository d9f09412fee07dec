//! A workspace's page: its members and their roles; add a member with a role, change a member's
//! role, remove a member. The last-Admin refusal (409) is shown as the API words it.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use serde_json::json;

use super::workspaces::text;
use super::{notice, poster, viewer, NoticeParam, Viewer, WORKSPACE_ROLES};
use crate::studio::api::segment;
use crate::studio::templates::{page, MemberRow, WorkspacePage};
use crate::studio::StudioState;

pub async fn show(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Path(workspace): Path<String>,
    Query(params): Query<NoticeParam>,
) -> Response {
    let viewer = match viewer(&studio, &headers, &uri).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    render(&studio, &headers, &viewer, &workspace, None, notice(params.notice.as_deref()), StatusCode::OK)
        .await
}

async fn render(
    studio: &StudioState,
    headers: &HeaderMap,
    viewer: &Viewer,
    workspace: &str,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let base = format!("/apis/entities/v2/workspaces/{}", segment(workspace));
    let found = viewer.call(studio, Method::GET, &base, None).await;
    if !found.ok() {
        return viewer.refusal(studio, headers, &found, "see this workspace", Some(workspace));
    }
    let members = viewer.call(studio, Method::GET, &format!("{base}/members"), None).await;
    if !members.ok() {
        return viewer.refusal(studio, headers, &members, "see this workspace's members", Some(workspace));
    }
    let rows = members.body["data"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|m| {
                    let roles: Vec<String> = m["roles"]
                        .as_array()
                        .map(|r| r.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                        .unwrap_or_default();
                    let top_role = WORKSPACE_ROLES
                        .iter()
                        .rev()
                        .find(|role| roles.iter().any(|r| r == *role))
                        .map(|r| r.to_string())
                        .unwrap_or_default();
                    MemberRow { principal: text(&m["principal"]), roles: roles.join(", "), top_role }
                })
                .collect()
        })
        .unwrap_or_default();
    let template = WorkspacePage {
        layout: viewer.layout(studio, workspace.to_string(), "workspaces"),
        error,
        notice,
        name: workspace.to_string(),
        description: found.body["description"].as_str().map(str::to_string),
        members: rows,
        roles: WORKSPACE_ROLES.iter().map(|r| r.to_string()).collect(),
        audit_link: super::audit::may_read(
            studio,
            viewer,
            &format!("/apis/auth/v2/workspaces/{}/audit-events", segment(workspace)),
        )
        .then(|| format!("/studio/audit?{}", crate::studio::api::query(&[("workspace", workspace)]))),
    };
    viewer.finish(studio, headers, page(status, &template))
}

#[derive(Debug, Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    principal: String,
    #[serde(default)]
    role: String,
}

/// One member change from a form: the session and its anti-CSRF token checked, the API request
/// made as the viewer, then back to the workspace page with a notice, or the refusal.
#[derive(Clone, Copy)]
enum Change {
    Add,
    SetRole,
    Remove,
}

async fn act(
    studio: StudioState,
    headers: HeaderMap,
    uri: Uri,
    workspace: String,
    form: MemberForm,
    change: Change,
) -> Response {
    let viewer = match poster(&studio, &headers, &uri, &form.csrf).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let members = format!("/apis/entities/v2/workspaces/{}/members", segment(&workspace));
    let member = format!("{members}/{}", segment(&form.principal));
    let (method, path, body, action, done) = match change {
        Change::Add => (
            Method::POST,
            members,
            Some(json!({"principal": form.principal.trim(), "roles": [form.role]})),
            "add members",
            "added",
        ),
        Change::SetRole => {
            (Method::PUT, member, Some(json!({"roles": [form.role]})), "change roles", "changed")
        }
        Change::Remove => (Method::DELETE, member, None, "remove members", "removed"),
    };
    let answer = viewer.call(&studio, method, &path, body).await;
    match answer.status {
        status if status.is_success() => {
            Redirect::to(&format!("/studio/workspaces/{}?notice={done}", segment(&workspace))).into_response()
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
            viewer.refusal(&studio, &headers, &answer, action, Some(&workspace))
        }
        status => render(&studio, &headers, &viewer, &workspace, Some(answer.detail()), None, status).await,
    }
}

pub async fn add(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Path(workspace): Path<String>,
    Form(form): Form<MemberForm>,
) -> Response {
    act(studio, headers, uri, workspace, form, Change::Add).await
}

pub async fn change(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Path(workspace): Path<String>,
    Form(form): Form<MemberForm>,
) -> Response {
    act(studio, headers, uri, workspace, form, Change::SetRole).await
}

pub async fn remove(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Path(workspace): Path<String>,
    Form(form): Form<MemberForm>,
) -> Response {
    act(studio, headers, uri, workspace, form, Change::Remove).await
}
