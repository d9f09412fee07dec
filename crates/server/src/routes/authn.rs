//! Gateway callouts: `/apis/auth/authenticate` (token inspection) and the forward-auth forms.
//! (Wired to the token validator by the authentication work.)

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
