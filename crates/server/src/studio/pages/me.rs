//! "My access": who the console thinks you are, your roles in each workspace you can see, read
//! from the same bindings the PDP decides with, and "why can't I…?" (`why.rs`).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;

use super::why::{self, WhyParams};
use super::{roles_in, viewer};
use crate::studio::api::query;
use crate::studio::templates::{page, MePage};
use crate::studio::StudioState;

pub async fn show(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Query(params): Query<WhyParams>,
) -> Response {
    let viewer = match viewer(&studio, &headers, &uri).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let answer = viewer
        .call(
            &studio,
            Method::GET,
            &format!("/apis/entities/v2/workspaces?{}", query(&[("page_size", "1000"), ("sort", "name")])),
            None,
        )
        .await;
    if !answer.ok() {
        return viewer.refusal(&studio, &headers, &answer, "list workspaces", None);
    }
    let names: Vec<String> = answer.body["data"]
        .as_array()
        .map(|items| items.iter().filter_map(|w| w["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let user = viewer.session.user();
    let principal = viewer.principal();
    let platform_admin = principal
        .as_ref()
        .is_some_and(|p| studio.app.access.has_role(p, nmp_core::SYSTEM_WORKSPACE, "PlatformAdmin"));
    let rows = names
        .into_iter()
        .map(|name| {
            let mut roles = match &principal {
                Some(p) => roles_in(&studio, p, &name),
                None => vec!["everything (authentication is off)".into()],
            };
            if platform_admin {
                roles.push("PlatformAdmin (everything, everywhere)".into());
            }
            let roles =
                if roles.is_empty() { "none (visible to everyone)".to_string() } else { roles.join(", ") };
            (name, roles)
        })
        .collect();
    let none = || "—".to_string();
    let template = MePage {
        layout: viewer.layout(&studio, "My access", "me"),
        id: user.map(|u| u.id.clone()).unwrap_or_else(|| "anonymous (authentication is off)".into()),
        name: user.and_then(|u| u.name.clone()).unwrap_or_else(none),
        email: user.and_then(|u| u.email.clone()).unwrap_or_else(none),
        groups: user.map(|u| u.groups.join(", ")).filter(|g| !g.is_empty()).unwrap_or_else(none),
        scopes: user
            .and_then(|u| u.scopes.as_ref().map(|s| s.join(" ")))
            .unwrap_or_else(|| "none in the token (scopes not enforced)".into()),
        via: user.map(|u| u.via.clone()).unwrap_or_else(none),
        expires: user
            .and_then(|u| u.access_expires_at)
            .and_then(|at| time::OffsetDateTime::from_unix_timestamp(at).ok())
            .map(nmp_proto::timestamps::utc)
            .unwrap_or_else(none),
        rows,
        why: why::section(&studio, &viewer, &params).await,
    };
    viewer.finish(&studio, &headers, page(StatusCode::OK, &template))
}
