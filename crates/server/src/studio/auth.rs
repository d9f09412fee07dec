//! Signing in and out: the sign-in page, the OIDC start and callback (`/studio/auth/success`, the
//! reference's path), the quickstart email form, sign-out (the server session, then the IdP's
//! session when it offers RP-initiated logout), and the server-side token refresh.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use serde_json::json;

use super::pages::{csrf_refused, poster, safe_return_to, store_failure};
use super::session::{self, PendingSignIn, Session, SessionData, SignedInUser};
use super::templates::{self, Layout, SignInPage};
use super::{SignInMode, StudioState};

/// Refresh this long before the access token expires (at most half its lifetime, so a short-lived
/// token is not refreshed the moment it arrives).
const REFRESH_MARGIN_SECONDS: i64 = 30;

#[derive(Debug, Deserialize, Default)]
pub struct ReturnTo {
    return_to: Option<String>,
}

fn sign_in_layout(studio: &StudioState, csrf: String) -> Layout {
    Layout {
        title: "Sign in".into(),
        csrf,
        quickstart: studio.mode() == &SignInMode::Quickstart,
        auth_off: studio.mode() == &SignInMode::AuthOff,
        ..Layout::default()
    }
}

pub async fn sign_in_page(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    Query(params): Query<ReturnTo>,
) -> Response {
    let return_to = safe_return_to(params.return_to.as_deref().unwrap_or(""));
    if studio.mode() == &SignInMode::AuthOff {
        return Redirect::to("/studio/").into_response();
    }
    let (session, fresh) = match session::load_or_create(&studio, &headers).await {
        Ok(found) => found,
        Err(error) => return store_failure(error),
    };
    if session.user().is_some() {
        return Redirect::to(&return_to).into_response();
    }
    let oidc_link = (studio.mode() == &SignInMode::Oidc)
        .then(|| format!("/studio/auth/login?{}", super::api::query(&[("return_to", &return_to)])));
    let template = SignInPage {
        layout: sign_in_layout(&studio, session.data.csrf.clone()),
        error: None,
        notice: None,
        quickstart_form: studio.mode() == &SignInMode::Quickstart,
        oidc_link,
        return_to,
    };
    with_cookie(&studio, &headers, &session, fresh, templates::page(StatusCode::OK, &template))
}

fn with_cookie(
    studio: &StudioState,
    headers: &HeaderMap,
    session: &Session,
    set: bool,
    response: impl IntoResponse,
) -> Response {
    let mut response = response.into_response();
    if set {
        response.headers_mut().append(header::SET_COOKIE, session.set_cookie(studio, headers));
    }
    response
}

fn failure_page(status: StatusCode, heading: &str, explanation: &str) -> Response {
    (status, templates::render_error(status, heading, explanation)).into_response()
}

/// Start an OIDC sign-in: remember state, nonce and the PKCE verifier in this browser's session,
/// then send the browser to the IdP.
pub async fn start_oidc(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    Query(params): Query<ReturnTo>,
) -> Response {
    if studio.mode() != &SignInMode::Oidc {
        return Redirect::to("/studio/auth/sign-in").into_response();
    }
    let return_to = safe_return_to(params.return_to.as_deref().unwrap_or(""));
    let (mut session, fresh) = match session::load_or_create(&studio, &headers).await {
        Ok(found) => found,
        Err(error) => return store_failure(error),
    };
    if session.user().is_some() {
        return Redirect::to(&return_to).into_response();
    }
    let settings = &studio.app.settings.studio;
    let (url, pending) =
        match studio.provider.start(settings, &studio.redirect_uri(&headers), return_to).await {
            Ok(started) => started,
            Err(error) => {
                tracing::warn!(%error, "studio: cannot start sign-in");
                return failure_page(
                    StatusCode::BAD_GATEWAY,
                    "Sign-in is unavailable",
                    "The identity provider cannot be reached right now; try again shortly.",
                );
            }
        };
    session.data.pending = Some(pending);
    if let Err(error) = session::save(&studio, &mut session).await {
        return store_failure(error);
    }
    with_cookie(&studio, &headers, &session, fresh, Redirect::to(&url))
}

#[derive(Debug, Deserialize, Default)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The IdP's answer. The `state` must be the one this browser's session is waiting for; it is
/// consumed before the code is exchanged, so neither a replayed callback nor a second code works.
pub async fn callback(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Response {
    let refused = |why: &str| {
        tracing::info!(reason = why, "studio: sign-in callback refused");
        failure_page(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "This sign-in answer does not belong to a sign-in started in this browser, or it was already used. Start again from the sign-in page.",
        )
    };
    if studio.mode() != &SignInMode::Oidc {
        return refused("oidc is not enabled");
    }
    let mut session = match session::load(&studio, &headers).await {
        Ok(Some(session)) => session,
        Ok(None) => return refused("no session"),
        Err(error) => return store_failure(error),
    };
    let Some(pending) = session.data.pending.take() else { return refused("no sign-in pending") };
    if let Err(error) = session::save(&studio, &mut session).await {
        return store_failure(error);
    }
    let state_matches = params.state.as_deref().is_some_and(|state| {
        bool::from(subtle::ConstantTimeEq::ct_eq(state.as_bytes(), pending.state.as_bytes()))
    });
    if !state_matches {
        return refused("state mismatch");
    }
    if let Some(error) = params.error.as_deref() {
        tracing::info!(error, "studio: the identity provider refused the sign-in");
        return failure_page(
            StatusCode::FORBIDDEN,
            "Sign-in was not completed",
            "The identity provider did not sign you in (access denied or cancelled).",
        );
    }
    let Some(code) = params.code else { return refused("no code") };
    let user = match complete_oidc(&studio, &headers, &pending, code).await {
        Ok(user) => user,
        Err(why) => return refused(&why),
    };
    finish_sign_in(&studio, &headers, &session, user, &pending.return_to).await
}

async fn complete_oidc(
    studio: &StudioState,
    headers: &HeaderMap,
    pending: &PendingSignIn,
    code: String,
) -> Result<SignedInUser, String> {
    let settings = &studio.app.settings.studio;
    let tokens = studio
        .provider
        .finish(settings, &studio.redirect_uri(headers), pending, code)
        .await
        .map_err(|e| e.to_string())?;
    let mut user = user_from_access_token(studio, &tokens.access_token).await?;
    user.name = tokens.name;
    user.refresh_token = tokens.refresh_token;
    user.id_token = tokens.id_token;
    Ok(user)
}

/// The identity in an access token, verified exactly as the API verifies bearer tokens.
async fn user_from_access_token(studio: &StudioState, access_token: &str) -> Result<SignedInUser, String> {
    let Some(authenticator) = &studio.app.access.authenticator else {
        return Err("no authenticator configured".into());
    };
    let verified = authenticator.authenticate(access_token).await.map_err(|e| e.to_string())?;
    let principal = std::sync::Arc::unwrap_or_clone(verified.principal);
    if principal.is_service() {
        return Err("service principals cannot sign in to the console".into());
    }
    Ok(SignedInUser {
        id: principal.id.into_string(),
        email: principal.email,
        name: None,
        groups: principal.groups,
        scopes: principal.scopes,
        via: "oidc".into(),
        signed_in_at: studio.app.now().unix_timestamp(),
        access_token: Some(access_token.to_string()),
        access_expires_at: Some(verified.expires_at),
        access_obtained_at: Some(studio.app.now().unix_timestamp()),
        refresh_token: None,
        id_token: None,
    })
}

/// Rotate to a new signed-in session, make sure the personal workspace exists, go back.
async fn finish_sign_in(
    studio: &StudioState,
    headers: &HeaderMap,
    old: &Session,
    user: SignedInUser,
    return_to: &str,
) -> Response {
    let principal = user.principal();
    let data = SessionData { user: Some(user), ..session::new_data() };
    let session = match session::rotate(studio, old, data).await {
        Ok(session) => session,
        Err(error) => return store_failure(error),
    };
    ensure_personal_workspace(studio, &principal).await;
    with_cookie(studio, headers, &session, true, Redirect::to(&safe_return_to(return_to)))
}

/// The reference's first-sign-in behaviour: a workspace named after the email's local part
/// (lowercased here, so `Bob.Smith@x` does not fail), created by the user, who becomes its Admin.
async fn ensure_personal_workspace(studio: &StudioState, principal: &nmp_core::Principal) {
    let Some(email) = &principal.email else { return };
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    if !nmp_core::names::is_valid_name(&local) || nmp_core::names::is_reserved_workspace(&local) {
        tracing::info!(
            "studio: no personal workspace (the email's local part is not a valid workspace name)"
        );
        return;
    }
    let body = json!({"name": local, "description": format!("Personal workspace of {email}")});
    let answer = studio.call(Some(principal), Method::POST, "/apis/entities/v2/workspaces", Some(body)).await;
    if !answer.ok() && answer.status != StatusCode::CONFLICT {
        tracing::info!(status = answer.status.as_u16(), "studio: personal workspace not created");
    }
}

#[derive(Debug, Deserialize)]
pub struct QuickstartForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    return_to: String,
}

/// Quickstart sign-in: the email is the identity, as with `nemo auth login --unsigned-token`.
pub async fn quickstart(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    Form(form): Form<QuickstartForm>,
) -> Response {
    if studio.mode() != &SignInMode::Quickstart {
        return failure_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "Quickstart sign-in is not enabled on this server.",
        );
    }
    let session = match session::load(&studio, &headers).await {
        Ok(session) => session,
        Err(error) => return store_failure(error),
    };
    if session::check_csrf(&studio, &headers, session.as_ref(), &form.csrf).is_err() {
        return csrf_refused();
    }
    let Some(session) = session else { return csrf_refused() };
    let email = form.email.trim().to_string();
    let valid = email.contains('@') && nmp_core::principal::validate_id("email", &email).is_ok();
    if !valid {
        let template = SignInPage {
            layout: sign_in_layout(&studio, session.data.csrf.clone()),
            error: Some(format!("`{email}` is not an email address this server accepts.")),
            notice: None,
            quickstart_form: true,
            oidc_link: None,
            return_to: safe_return_to(&form.return_to),
        };
        return templates::page(StatusCode::UNPROCESSABLE_ENTITY, &template);
    }
    let user = SignedInUser {
        id: email.clone(),
        email: Some(email),
        name: None,
        groups: Vec::new(),
        scopes: None,
        via: "quickstart".into(),
        signed_in_at: studio.app.now().unix_timestamp(),
        access_token: None,
        access_expires_at: None,
        access_obtained_at: None,
        refresh_token: None,
        id_token: None,
    };
    finish_sign_in(&studio, &headers, &session, user, &form.return_to).await
}

#[derive(Debug, Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

/// End the session on the server (its cookie is dead everywhere), then the IdP's session.
pub async fn sign_out(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Form(form): Form<SignOutForm>,
) -> Response {
    let viewer = match poster(&studio, &headers, &uri, &form.csrf).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    if let Err(error) = session::destroy(&studio, &viewer.session).await {
        return store_failure(error);
    }
    let signed_out = format!("{}/studio/auth/signed-out", studio.origin(&headers));
    let target = match (studio.mode(), viewer.session.user()) {
        (SignInMode::Oidc, Some(user)) => studio
            .provider
            .logout_url(&studio.app.settings.studio, user.id_token.as_deref(), &signed_out)
            .await
            .unwrap_or_else(|| "/studio/auth/signed-out".into()),
        _ => "/studio/auth/signed-out".into(),
    };
    let mut response = Redirect::to(&target).into_response();
    response.headers_mut().append(header::SET_COOKIE, session::clear_cookie(&studio, &headers));
    response
}

pub async fn signed_out(State(studio): State<StudioState>) -> Response {
    let link = if studio.mode() == &SignInMode::Oidc { "/studio/auth/login" } else { "/studio/auth/sign-in" };
    let template = SignInPage {
        layout: sign_in_layout(&studio, String::new()),
        error: None,
        notice: Some("You are signed out.".into()),
        quickstart_form: false,
        oidc_link: Some(link.into()),
        return_to: "/studio/".into(),
    };
    templates::page(StatusCode::OK, &template)
}

/// Before a page acts for an OIDC user: a new access token from the refresh token when the
/// current one is about to expire, verified like any bearer token. `Err` when the session cannot
/// continue (no refresh token, refused refresh): the caller signs the user out.
pub async fn refresh_if_needed(
    studio: &StudioState,
    headers: &HeaderMap,
    session: &mut Session,
) -> Result<(), ()> {
    let Some(user) = session.data.user.as_ref() else { return Ok(()) };
    if user.via != "oidc" {
        return Ok(());
    }
    let now = studio.app.now().unix_timestamp();
    let lifetime = match (user.access_expires_at, user.access_obtained_at) {
        (Some(exp), Some(obtained)) => exp - obtained,
        _ => 0,
    };
    let margin = REFRESH_MARGIN_SECONDS.min(lifetime / 2);
    if user.access_expires_at.is_some_and(|exp| exp - margin > now) {
        return Ok(());
    }
    let Some(refresh_token) = user.refresh_token.clone() else { return Err(()) };
    let settings = &studio.app.settings.studio;
    let tokens = match studio.provider.refresh(settings, &studio.redirect_uri(headers), &refresh_token).await
    {
        Ok(tokens) => tokens,
        Err(error) => {
            tracing::info!(%error, "studio: token refresh failed; signing the session out");
            return Err(());
        }
    };
    let mut fresh = match user_from_access_token(studio, &tokens.access_token).await {
        Ok(fresh) => fresh,
        Err(error) => {
            tracing::info!(error, "studio: refreshed access token refused; signing the session out");
            return Err(());
        }
    };
    fresh.name = user.name.clone();
    fresh.signed_in_at = user.signed_in_at;
    fresh.refresh_token = tokens.refresh_token.or(Some(refresh_token));
    fresh.id_token = tokens.id_token.or_else(|| user.id_token.clone());
    session.data.user = Some(fresh);
    session::save(studio, session).await.map_err(|_| ())
}
