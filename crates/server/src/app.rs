//! Assembling the router: routes, the generated OpenAPI document, middleware and limits.

use std::sync::Arc;

use crate::json::Json;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::middleware::authenticate_and_authorize;
use crate::routes;
use crate::state::AppState;
use crate::{metrics, shutdown};

#[derive(OpenApi)]
#[openapi(
    info(title = "nmp", description = "NeMo Platform security layer and control plane, in Rust."),
    tags(
        (name = "Workspaces"), (name = "Members"), (name = "Projects"), (name = "IAM"), (name = "Auth"), (name = "Health")
    )
)]
struct ApiDoc;

/// All routes with their OpenAPI description.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::workspaces::router())
        .merge(routes::members::router())
        .merge(routes::projects::router())
        .merge(routes::iam::router())
        .merge(routes::insight::router())
        .merge(routes::audit::router())
        .merge(routes::discovery::router())
        .merge(routes::authn::router())
        .merge(routes::access_keys::router())
        .merge(routes::authz::router())
        .merge(routes::bundle::router())
        .merge(routes::health::router())
}

/// The OpenAPI document of our API, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut openapi = api_router().split_for_parts().1;
    add_name_patterns(&mut openapi);
    openapi
}

/// The name pattern of the inputs that create named entities, from the one constant validation
/// uses too (`utoipa` takes only a literal in `#[schema(pattern = ...)]`).
fn add_name_patterns(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::RefOr;
    let Some(components) = openapi.components.as_mut() else { return };
    for input in ["WorkspaceInput", "ProjectInput"] {
        let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(input) else { continue };
        if let Some(RefOr::T(Schema::Object(name))) = object.properties.get_mut("name") {
            name.pattern = Some(nmp_proto::names::NAME_PATTERN.to_string());
        }
    }
}

pub fn build(state: AppState) -> Router {
    let (router, _) = api_router().split_for_parts();
    // Serialized once; a failure is a bug, answered as one (500) rather than an empty document.
    let openapi_json = Arc::new(serde_json::to_value(openapi()).map_err(|e| e.to_string()));
    let max_body = state.settings.file.server.max_body_bytes;
    let timeout = state.settings.timings.request_timeout;
    let router = if state.settings.metrics_address.is_none() {
        router.route("/metrics", get(metrics::serve_metrics))
    } else {
        router
    };
    let router = router
        .route(
            "/openapi.json",
            get(move || async move {
                match openapi_json.as_ref() {
                    Ok(document) => Ok(Json(document.clone())),
                    Err(error) => Err(ApiError::Internal(format!("OpenAPI document: {error}"))),
                }
            }),
        )
        .fallback(|| async { ApiError::NotFound("Not Found".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    // Only a store with a change feed (replicas on PostgreSQL) has propagation to wait for; a
    // layer that does nothing would still be cloned for every request.
    let router = if state.store.change_feed().is_some() {
        router.layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::replication::wait_for_propagation,
        ))
    } else {
        router
    };
    let router: Router = router
        .layer(axum::middleware::from_fn_with_state(state.clone(), authenticate_and_authorize))
        .with_state::<()>(state.clone());
    // Studio's pages sit beside the API, outside its authentication layer (they have their own:
    // the session), and act through the API router itself.
    let router =
        if state.settings.studio.enabled { crate::studio::router(state.clone(), router) } else { router };
    router
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&state.metrics), metrics::record_requests))
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(axum::middleware::from_fn_with_state(state.shutdown.clone(), shutdown::track_requests))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(crate::audit::MakeId))
        .layer(axum::middleware::from_fn(crate::audit::sanitize_request_id))
}

/// `/metrics` alone, for `server.metrics_address`.
pub fn metrics_only(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::serve_metrics))
        .fallback(|| async { ApiError::NotFound("Not Found".into()) })
        .layer(axum::middleware::from_fn_with_state(state.shutdown.clone(), shutdown::track_requests))
        .with_state(state)
}
