//! Assembling the router: routes, the generated OpenAPI document, middleware and limits.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::middleware::authenticate_and_authorize;
use crate::routes;
use crate::state::AppState;

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
        .merge(routes::discovery::router())
        .merge(routes::authn::router())
        .merge(routes::authz::router())
        .merge(routes::bundle::router())
        .merge(routes::health::router())
}

/// The OpenAPI document of our API, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().split_for_parts().1
}

pub fn build(state: AppState) -> Router {
    let (router, openapi) = api_router().split_for_parts();
    let openapi_json = serde_json::to_value(&openapi).unwrap_or_default();
    let max_body = state.settings.file.server.max_body_bytes;
    let timeout = state.settings.request_timeout();
    router
        .route("/openapi.json", get(move || async move { Json(openapi_json) }))
        .fallback(|| async { ApiError::NotFound("Not Found".into()) })
        .method_not_allowed_fallback(|| async {
            (StatusCode::METHOD_NOT_ALLOWED, Json(serde_json::json!({"detail": "Method Not Allowed"})))
                .into_response()
        })
        .layer(axum::middleware::from_fn_with_state(state.clone(), authenticate_and_authorize))
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .with_state(state)
}
