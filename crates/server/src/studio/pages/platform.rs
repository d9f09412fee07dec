//! Platform role bindings (`PlatformAdmin` in `system`): list, grant, revoke. Shown in the
//! navigation to PlatformAdmins only; the API refuses everyone else, and the page says why.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use serde_json::json;

use super::workspaces::text;
use super::{notice, poster, viewer, NoticeParam, Viewer};
use crate::studio::api::{query, segment};
use crate::studio::templates::{page, BindingRow, PlatformPage};
use crate::studio::StudioState;

pub async fn show(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Query(params): Query<NoticeParam>,
) -> Response {
    let viewer = match viewer(&studio, &headers, &uri).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    render(&studio, &headers, &viewer, None, notice(params.notice.as_deref()), StatusCode::OK).await
}

async fn render(
    studio: &StudioState,
    headers: &HeaderMap,
    viewer: &Viewer,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let pairs = [("filter[workspace]", "system"), ("filter[is_active]", "true"), ("page_size", "1000")];
    let answer = viewer
        .call(studio, Method::GET, &format!("/apis/auth/v2/iam/role-bindings?{}", query(&pairs)), None)
        .await;
    if !answer.ok() {
        return viewer.refusal(studio, headers, &answer, "see platform role bindings", None);
    }
    let bindings = answer.body["data"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter(|b| b["role"] == "PlatformAdmin")
                .map(|b| BindingRow {
                    name: text(&b["name"]),
                    principal: text(&b["principal"]),
                    role: text(&b["role"]),
                    granted_by: text(&b["granted_by"]),
                })
                .collect()
        })
        .unwrap_or_default();
    let template =
        PlatformPage { layout: viewer.layout(studio, "Platform roles", "platform"), error, notice, bindings };
    viewer.finish(studio, headers, page(status, &template))
}

#[derive(Debug, Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    principal: String,
}

pub async fn grant(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Form(form): Form<GrantForm>,
) -> Response {
    let viewer = match poster(&studio, &headers, &uri, &form.csrf).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let body = json!({"principal": form.principal.trim(), "workspace": null, "role": "PlatformAdmin"});
    let answer = viewer.call(&studio, Method::POST, "/apis/auth/v2/iam/role-bindings", Some(body)).await;
    outcome(&studio, &headers, &viewer, answer, "grant platform roles", "granted").await
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

pub async fn revoke(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Form(form): Form<RevokeForm>,
) -> Response {
    let viewer = match poster(&studio, &headers, &uri, &form.csrf).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let uri = format!("/apis/auth/v2/iam/role-bindings/{}", segment(&form.name));
    let answer = viewer.call(&studio, Method::DELETE, &uri, None).await;
    outcome(&studio, &headers, &viewer, answer, "revoke platform roles", "revoked").await
}

async fn outcome(
    studio: &StudioState,
    headers: &HeaderMap,
    viewer: &Viewer,
    answer: crate::studio::api::Answer,
    action: &str,
    done: &str,
) -> Response {
    match answer.status {
        status if status.is_success() => {
            Redirect::to(&format!("/studio/platform?notice={done}")).into_response()
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
            viewer.refusal(studio, headers, &answer, action, None)
        }
        status => render(studio, headers, viewer, Some(answer.detail()), None, status).await,
    }
}
