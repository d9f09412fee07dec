//! The console's pages. Each handler finds its [`Viewer`] (the session, signed in as the mode
//! requires, tokens refreshed on the server), acts through the API router as that principal, and
//! renders the answer: a page, the API's message (409 last Admin, 422 validation), or for a 403 an
//! explanation of what the viewer holds and what the action needs.

pub mod access_keys;
pub mod audit;
pub mod me;
pub mod members;
pub mod platform;
pub mod why;
pub mod workspaces;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use nmp_core::Principal;

use super::api::{self, Answer};
use super::session::{self, Session};
use super::templates::{self, ErrorPage, Layout};
use super::{SignInMode, StudioState};

/// Workspace roles, weakest first (the role picker's order).
pub const WORKSPACE_ROLES: [&str; 3] = ["Viewer", "Editor", "Admin"];

/// Who is looking at a page: their session and, with auth on, their signed-in identity.
pub struct Viewer {
    pub session: Session,
    /// The session was made by this request: its cookie must be set.
    fresh: bool,
    /// The page request's `X-Request-Id`, carried into the API requests it makes, so the audit
    /// trail names the request the browser saw.
    request_id: Option<HeaderValue>,
}

impl Viewer {
    pub fn principal(&self) -> Option<Principal> {
        self.session.user().map(|u| u.principal())
    }

    pub fn layout(&self, studio: &StudioState, title: impl Into<String>, nav: &'static str) -> Layout {
        let user = self.session.user();
        let platform_admin = match (studio.mode(), user) {
            (SignInMode::AuthOff, _) => true,
            (_, Some(user)) => {
                studio.app.access.has_role(&user.principal(), nmp_core::SYSTEM_WORKSPACE, "PlatformAdmin")
            }
            _ => false,
        };
        Layout {
            title: title.into(),
            nav,
            signed_in: user.is_some() || studio.mode() == &SignInMode::AuthOff,
            user: user.map(|u| u.display_name().to_string()),
            csrf: self.session.data.csrf.clone(),
            auth_off: studio.mode() == &SignInMode::AuthOff,
            quickstart: studio.mode() == &SignInMode::Quickstart,
            platform_admin,
            access_keys: user.is_some() && studio.app.settings.access_keys.is_some(),
        }
    }

    /// The response, with the session cookie when the session is new.
    pub fn finish(&self, studio: &StudioState, headers: &HeaderMap, response: impl IntoResponse) -> Response {
        let mut response = response.into_response();
        if self.fresh {
            response.headers_mut().append(header::SET_COOKIE, self.session.set_cookie(studio, headers));
        }
        response
    }

    /// Act through the API as this viewer.
    pub async fn call(
        &self,
        studio: &StudioState,
        method: axum::http::Method,
        uri: &str,
        body: Option<serde_json::Value>,
    ) -> Answer {
        studio.call_as(self.principal().as_ref(), method, uri, body, self.request_id.clone()).await
    }

    /// The page for an API refusal: sign-in again (401), an explanation (403), not found (404),
    /// or the API's own message.
    pub fn refusal(
        &self,
        studio: &StudioState,
        headers: &HeaderMap,
        answer: &Answer,
        action: &str,
        workspace: Option<&str>,
    ) -> Response {
        let (heading, explanation) = match answer.status {
            StatusCode::UNAUTHORIZED => return Redirect::to("/studio/auth/sign-in").into_response(),
            StatusCode::FORBIDDEN => {
                ("Not allowed".to_string(), self.explain(studio, action, workspace, answer))
            }
            StatusCode::NOT_FOUND => ("Not found".to_string(), answer.detail()),
            status if status.is_server_error() => (
                "Something went wrong".to_string(),
                "The server could not do this now; try again later.".into(),
            ),
            _ => ("Could not do that".to_string(), answer.detail()),
        };
        let why_link = match (&answer.asked, self.principal()) {
            (Some((method, uri)), Some(_)) if answer.status == StatusCode::FORBIDDEN => Some(format!(
                "/studio/me?{}#why",
                api::query(&[("method", method.as_str()), ("path", uri.as_str())])
            )),
            _ => None,
        };
        let layout = self.layout(studio, heading.clone(), "");
        self.finish(
            studio,
            headers,
            templates::page(answer.status, &ErrorPage { layout, heading, explanation, why_link }),
        )
    }

    /// Why a 403: who the viewer is, what they hold where they tried, what to ask for.
    fn explain(
        &self,
        studio: &StudioState,
        action: &str,
        workspace: Option<&str>,
        answer: &Answer,
    ) -> String {
        let who = self.session.user().map(|u| u.display_name().to_string()).unwrap_or_else(|| "you".into());
        if answer.detail().to_lowercase().contains("scope") {
            return format!(
                "You ({who}) cannot {action}: your sign-in token lacks the scope this needs ({}). Sign in again with that scope.",
                answer.detail()
            );
        }
        let Some(workspace) = workspace else {
            return format!("You ({who}) cannot {action}: this needs the PlatformAdmin role.");
        };
        let held = self.principal().map(|p| roles_in(studio, &p, workspace)).unwrap_or_default();
        let held = if held.is_empty() { "none".to_string() } else { held.join(", ") };
        format!(
            "You ({who}) cannot {action} in workspace “{workspace}”. Your roles there: {held}. \
             Ask an Admin of “{workspace}” (or a PlatformAdmin) for a role that allows it."
        )
    }
}

/// The workspace roles `principal` holds in `workspace`, by the PDP's own reading of the bindings.
pub fn roles_in(studio: &StudioState, principal: &Principal, workspace: &str) -> Vec<String> {
    WORKSPACE_ROLES
        .iter()
        .filter(|role| studio.app.access.has_role(principal, workspace, role))
        .map(|role| role.to_string())
        .collect()
}

/// The return target after sign-in: only a path of the console on this origin; anything else
/// (another origin, `//host`, `/\host`, `javascript:`, encoded variants) becomes the home page.
pub fn safe_return_to(raw: &str) -> String {
    const HOME: &str = "/studio/";
    let Ok(base) = reqwest::Url::parse("http://studio.invalid/") else { return HOME.into() };
    if raw.is_empty() || raw.contains('\\') || raw.chars().any(char::is_control) || !raw.starts_with('/') {
        return HOME.into();
    }
    match base.join(raw) {
        Ok(url)
            if url.origin() == base.origin()
                && (url.path() == "/studio" || url.path().starts_with("/studio/")) =>
        {
            let decoded = percent_encoding::percent_decode_str(url.path()).decode_utf8_lossy();
            if decoded.contains("//") || decoded.contains('\\') {
                return HOME.into();
            }
            match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_string(),
            }
        }
        _ => HOME.into(),
    }
}

/// The sign-in page for `uri`, keeping where to come back to.
fn to_sign_in(studio: &StudioState, uri: &Uri) -> String {
    let back = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/studio/");
    let path = if studio.mode() == &SignInMode::Oidc { "/studio/auth/login" } else { "/studio/auth/sign-in" };
    format!("{path}?{}", api::query(&[("return_to", back)]))
}

/// The viewer of a page (GET): a session (made now if needed) and, with auth on, a signed-in user,
/// else a redirect to sign in.
pub async fn viewer(studio: &StudioState, headers: &HeaderMap, uri: &Uri) -> Result<Viewer, Response> {
    let (session, fresh) = match session::load_or_create(studio, headers).await {
        Ok(found) => found,
        Err(error) => return Err(store_failure(error)),
    };
    let viewer = Viewer { session, fresh, request_id: request_id(headers) };
    signed_in(studio, headers, uri, viewer).await
}

/// The viewer of a form post: an existing session whose anti-CSRF token the form carries, from
/// our own origin; else 403 and nothing changes.
pub async fn poster(
    studio: &StudioState,
    headers: &HeaderMap,
    uri: &Uri,
    csrf: &str,
) -> Result<Viewer, Response> {
    let session = match session::load(studio, headers).await {
        Ok(session) => session,
        Err(error) => return Err(store_failure(error)),
    };
    if let Err(refusal) = session::check_csrf(studio, headers, session.as_ref(), csrf) {
        tracing::info!(?refusal, path = uri.path(), "studio: form post refused (CSRF check)");
        return Err(csrf_refused());
    }
    let Some(session) = session else { return Err(csrf_refused()) };
    signed_in(studio, headers, uri, Viewer { session, fresh: false, request_id: request_id(headers) }).await
}

/// The request id the server's request-id layer gave this page request.
fn request_id(headers: &HeaderMap) -> Option<HeaderValue> {
    headers.get("x-request-id").cloned()
}

pub fn csrf_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        templates::render_error(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form came from another site or from an expired page, so nothing was changed. Reload the page and try again.",
        ),
    )
        .into_response()
}

pub fn store_failure(error: crate::error::ApiError) -> Response {
    tracing::error!(error = ?error, "studio: session store unavailable");
    super::unavailable("Sessions cannot be read right now; try again shortly.")
}

async fn signed_in(
    studio: &StudioState,
    headers: &HeaderMap,
    uri: &Uri,
    mut viewer: Viewer,
) -> Result<Viewer, Response> {
    match studio.mode() {
        SignInMode::AuthOff => return Ok(viewer),
        SignInMode::Unavailable => {
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                templates::render_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Sign-in is not configured",
                    "Authentication is on, but Studio has no way to sign in: enable auth.oidc with a client id (studio.client_id or auth.oidc.client_id), or quickstart tokens (auth.allow_unsigned_jwt).",
                ),
            )
                .into_response())
        }
        SignInMode::Oidc | SignInMode::Quickstart => {}
    }
    if viewer.session.user().is_none() {
        let redirect = Redirect::to(&to_sign_in(studio, uri));
        return Err(viewer.finish(studio, headers, redirect));
    }
    if let Err(()) = super::auth::refresh_if_needed(studio, headers, &mut viewer.session).await {
        let _ = session::destroy(studio, &viewer.session).await;
        let mut response = Redirect::to(&to_sign_in(studio, uri)).into_response();
        response.headers_mut().append(header::SET_COOKIE, session::clear_cookie(studio, headers));
        return Err(response);
    }
    Ok(viewer)
}

/// Unknown console paths.
pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        templates::render_error(StatusCode::NOT_FOUND, "Not found", "There is no such page."),
    )
        .into_response()
}

/// The `?notice=` query parameter of a page.
#[derive(Debug, serde::Deserialize, Default)]
pub struct NoticeParam {
    pub notice: Option<String>,
}

/// `?notice=` codes: fixed messages, so a link cannot make the page say something else.
pub fn notice(code: Option<&str>) -> Option<String> {
    Some(
        match code? {
            "created" => "Workspace created.",
            "deleted" => "Workspace deleted.",
            "added" => "Member added.",
            "changed" => "Role changed.",
            "removed" => "Member removed.",
            "granted" => "Role granted.",
            "revoked" => "Role revoked.",
            "key-revoked" => "Access key revoked: it is refused from its next request on.",
            "key-suspended" => "Access key suspended: it is refused until you unsuspend it.",
            "key-unsuspended" => "Access key unsuspended: it works again.",
            "key-shown-once" => "That form was already used: its key exists, and its secret was shown once and is stored nowhere, so it cannot be shown again. If you did not copy it, revoke that key and create a new one.",
            _ => return None,
        }
        .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn web_04_return_targets_stay_in_the_console() {
        for ok in ["/studio/", "/studio/me", "/studio/workspaces/team-a?notice=added", "/studio"] {
            assert_eq!(safe_return_to(ok), ok, "{ok}");
        }
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example/",
            "javascript:alert(1)",
            "%2F%2Fevil.example",
            "/%2F%2Fevil.example",
            "/studio/..//evil.example",
            "/studio/%2F%2Fevil.example",
            "/studio/%5Cevil.example",
            "/studio/../apis/entities/v2/workspaces",
            "http:evil.example",
            "/apis/auth/discovery",
            "",
            "studio/me",
            "/studio/\n",
        ] {
            assert_eq!(safe_return_to(bad), "/studio/", "{bad}");
        }
    }
}
