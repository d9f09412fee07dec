//! `GET /apis/auth/discovery`: what clients need to log in (public).

use crate::json::Json;
use axum::extract::State;
use nmp_proto::{AuthDiscoveryResponse, OidcDiscovery};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(discovery))
}

#[utoipa::path(get, path = "/apis/auth/discovery", tag = "Auth", responses((status = 200, body = AuthDiscoveryResponse)))]
async fn discovery(State(state): State<AppState>) -> Json<AuthDiscoveryResponse> {
    let auth = &state.settings.file.auth;
    let oidc = (auth.enabled && auth.oidc.enabled && !auth.oidc.issuer.is_empty()).then(|| {
        let discovered = state.access.provider_endpoints();
        let pick = |configured: &Option<String>, found: Option<String>| configured.clone().or(found);
        OidcDiscovery {
            issuer: auth.oidc.issuer.clone(),
            authorization_endpoint: pick(
                &auth.oidc.authorization_endpoint,
                discovered.authorization_endpoint,
            ),
            token_endpoint: pick(&auth.oidc.token_endpoint, discovered.token_endpoint),
            device_authorization_endpoint: pick(
                &auth.oidc.device_authorization_endpoint,
                discovered.device_authorization_endpoint,
            ),
            userinfo_endpoint: pick(&auth.oidc.userinfo_endpoint, discovered.userinfo_endpoint),
            client_id: auth.oidc.client_id.clone(),
            default_scopes: auth.oidc.default_scopes.clone(),
            scope_prefix: auth.oidc.scope_prefix.clone(),
        }
    });
    Json(AuthDiscoveryResponse { auth_enabled: auth.enabled, oidc })
}
