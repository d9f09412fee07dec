//! The pages' templates (askama: compiled into the binary and HTML-escaped by default, so user
//! text such as workspace names, descriptions and IdP claims is inert everywhere).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// What every page's frame shows.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub title: String,
    pub nav: &'static str,
    pub signed_in: bool,
    pub user: Option<String>,
    pub csrf: String,
    pub auth_off: bool,
    pub quickstart: bool,
    pub platform_admin: bool,
    /// Access keys are on and the viewer is signed in: the navigation links to them.
    pub access_keys: bool,
}

pub struct WorkspaceRow {
    pub name: String,
    pub description: String,
    pub created_by: String,
}

#[derive(Template)]
#[template(path = "studio/workspaces.html")]
pub struct WorkspacesPage {
    pub layout: Layout,
    pub error: Option<String>,
    pub notice: Option<String>,
    pub q: String,
    pub items: Vec<WorkspaceRow>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
    pub prev_link: Option<String>,
    pub next_link: Option<String>,
}

pub struct MemberRow {
    pub principal: String,
    pub roles: String,
    /// The strongest role held, preselected in the role picker.
    pub top_role: String,
}

#[derive(Template)]
#[template(path = "studio/workspace.html")]
pub struct WorkspacePage {
    pub layout: Layout,
    pub error: Option<String>,
    pub notice: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub members: Vec<MemberRow>,
    pub roles: Vec<String>,
    /// The viewer may read this workspace's audit trail: link to it.
    pub audit_link: Option<String>,
}

#[derive(Template)]
#[template(path = "studio/confirm_delete.html")]
pub struct ConfirmDeletePage {
    pub layout: Layout,
    pub error: Option<String>,
    pub notice: Option<String>,
    pub name: String,
}

#[derive(Template)]
#[template(path = "studio/me.html")]
pub struct MePage {
    pub layout: Layout,
    pub id: String,
    pub name: String,
    pub email: String,
    pub groups: String,
    pub scopes: String,
    pub via: String,
    pub expires: String,
    pub rows: Vec<(String, String)>,
    pub why: super::pages::why::WhySection,
}

pub struct BindingRow {
    pub name: String,
    pub principal: String,
    pub role: String,
    pub granted_by: String,
}

#[derive(Template)]
#[template(path = "studio/platform.html")]
pub struct PlatformPage {
    pub layout: Layout,
    pub error: Option<String>,
    pub notice: Option<String>,
    pub bindings: Vec<BindingRow>,
}

#[derive(Template)]
#[template(path = "studio/sign_in.html")]
pub struct SignInPage {
    pub layout: Layout,
    pub error: Option<String>,
    pub notice: Option<String>,
    pub quickstart_form: bool,
    pub oidc_link: Option<String>,
    pub return_to: String,
}

#[derive(Template)]
#[template(path = "studio/error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub heading: String,
    pub explanation: String,
    /// For a 403 to a signed-in person: "why can't I…?" on My access, asked about that request.
    pub why_link: Option<String>,
}

/// Render a template, or a generic 500 (the details go to the log).
pub fn render(template: &impl Template) -> Html<String> {
    match template.render() {
        Ok(html) => Html(html),
        Err(error) => {
            tracing::error!(%error, "studio: template failed");
            Html("<!doctype html><title>Error</title><p>Internal Server Error</p>".into())
        }
    }
}

/// A page with `status` for `template`.
pub fn page(status: StatusCode, template: &impl Template) -> Response {
    (status, render(template)).into_response()
}

/// An error page without a session (no navigation).
pub fn render_error(status: StatusCode, heading: &str, explanation: &str) -> Html<String> {
    let layout = Layout { title: status.canonical_reason().unwrap_or("Error").into(), ..Layout::default() };
    render(&ErrorPage { layout, heading: heading.into(), explanation: explanation.into(), why_link: None })
}
