//! Liveness, readiness and status: public, never authorized.

use crate::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live))
        .routes(routes!(ready))
        .routes(routes!(status))
        .routes(routes!(cluster_info))
}

#[derive(Serialize, ToSchema)]
pub struct HealthStatus {
    pub status: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

#[utoipa::path(get, path = "/health/live", tag = "Health", responses((status = 200, body = HealthStatus)))]
async fn live() -> Json<HealthStatus> {
    Json(HealthStatus { status: "live".into(), problems: Vec::new() })
}

/// Why the server cannot serve requests right now (empty: ready).
pub async fn readiness_problems(state: &AppState) -> Vec<String> {
    let mut problems = Vec::new();
    if state.shutdown.is_draining() {
        // SIGTERM: take this replica out of rotation at once (no store call needed).
        problems.push("shutting down".to_string());
        return problems;
    }
    if let Err(e) = state.store(|store| store.ping()).await {
        tracing::warn!(error = ?e, "readiness: store unavailable");
        problems.push("store unavailable".to_string());
    }
    if !state.access.keys_ready() {
        problems.push("identity provider keys not loaded".to_string());
    }
    problems
}

#[utoipa::path(get, path = "/health/ready", tag = "Health",
    responses((status = 200, body = HealthStatus), (status = 503, body = HealthStatus)))]
async fn ready(State(state): State<AppState>) -> (StatusCode, Json<HealthStatus>) {
    let problems = readiness_problems(&state).await;
    if problems.is_empty() {
        (StatusCode::OK, Json(HealthStatus { status: "ready".into(), problems }))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(HealthStatus { status: "not_ready".into(), problems }))
    }
}

#[derive(Serialize, ToSchema)]
pub struct PlatformStatus {
    pub status: String,
    pub version: String,
    pub store: String,
    pub auth_enabled: bool,
    pub uptime_seconds: u64,
    pub problems: Vec<String>,
}

#[utoipa::path(get, path = "/status", tag = "Health", responses((status = 200, body = PlatformStatus)))]
async fn status(State(state): State<AppState>) -> Json<PlatformStatus> {
    let problems = readiness_problems(&state).await;
    Json(PlatformStatus {
        status: if problems.is_empty() { "healthy" } else { "degraded" }.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        store: state.store.backend_name().into(),
        auth_enabled: state.auth_enabled(),
        uptime_seconds: state.uptime().as_secs(),
        problems,
    })
}

#[derive(Serialize, ToSchema)]
pub struct ClusterInfo {
    pub platform_version: String,
    pub revision: String,
}

#[utoipa::path(get, path = "/cluster-info", tag = "Health", responses((status = 200, body = ClusterInfo)))]
async fn cluster_info() -> Json<ClusterInfo> {
    Json(ClusterInfo { platform_version: env!("CARGO_PKG_VERSION").into(), revision: "nmp".into() })
}
