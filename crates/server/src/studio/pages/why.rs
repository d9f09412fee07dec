//! "Why can't I…?" on My access: the viewer names an action on a workspace (or any API request by
//! method and path), and the page shows what `POST /apis/auth/v2/explain` answers for them, the
//! very explanation `nemo auth explain` prints, from the decision code the server enforces with:
//! the verdict, the rule that decided, what the request needs, what they hold, and the remedy.

use axum::http::{Method, StatusCode};
use nmp_proto::insight::{Explanation, SuggestedChange};
use serde::Deserialize;
use serde_json::json;

use super::Viewer;
use crate::studio::api::segment;
use crate::studio::StudioState;

/// The actions the form offers: value, label, method, path (`{w}` = the workspace).
const ACTIONS: &[(&str, &str, &str, &str)] = &[
    ("view", "see a workspace", "GET", "/apis/entities/v2/workspaces/{w}"),
    ("members", "list its members", "GET", "/apis/entities/v2/workspaces/{w}/members"),
    ("add-member", "add a member", "POST", "/apis/entities/v2/workspaces/{w}/members"),
    ("change-role", "change a member's roles", "PUT", "/apis/entities/v2/workspaces/{w}/members/someone"),
    ("remove-member", "remove a member", "DELETE", "/apis/entities/v2/workspaces/{w}/members/someone"),
    ("update", "edit the workspace", "PUT", "/apis/entities/v2/workspaces/{w}"),
    ("delete", "delete the workspace", "DELETE", "/apis/entities/v2/workspaces/{w}"),
    ("audit", "read its audit trail", "GET", "/apis/auth/v2/workspaces/{w}/audit-events"),
    ("create-workspace", "create a workspace (no workspace needed)", "POST", "/apis/entities/v2/workspaces"),
    ("platform-audit", "read the platform audit trail", "GET", "/apis/auth/v2/audit-events"),
    ("platform-roles", "grant platform roles", "POST", "/apis/auth/v2/iam/role-bindings"),
];

/// Methods offered for "any API request".
pub const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

/// The question, from the page's query string (a GET form: asking changes nothing).
#[derive(Debug, Default, Deserialize)]
pub struct WhyParams {
    pub action: Option<String>,
    pub workspace: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
}

/// The form's state, echoed back so the viewer sees what they asked.
#[derive(Debug, Default)]
pub struct WhyForm {
    pub actions: Vec<(String, String)>,
    pub methods: Vec<String>,
    pub action: String,
    pub workspace: String,
    pub method: String,
    pub path: String,
}

/// One explanation, in words.
#[derive(Debug)]
pub struct WhyAnswer {
    pub allowed: bool,
    pub request: String,
    pub summary: String,
    pub rule: String,
    pub endpoint: String,
    pub workspace: String,
    pub needs: String,
    pub scopes: String,
    pub identities: String,
    pub held: Vec<String>,
    pub granting: String,
    pub checked: String,
    /// What would allow it, one sentence each, with the CLI command where there is one.
    pub remedy: Vec<(String, Option<String>)>,
    pub impossible: Option<String>,
}

/// What the section shows: the form, and an answer or why there is none.
#[derive(Debug, Default)]
pub struct WhySection {
    pub form: WhyForm,
    pub answer: Option<WhyAnswer>,
    pub error: Option<String>,
    /// With auth off there is nothing to explain: everything is allowed.
    pub auth_off: bool,
}

impl WhyParams {
    /// The request to explain, or the reason the question is incomplete; `None` when nothing
    /// was asked.
    fn request(&self) -> Option<Result<(String, String), String>> {
        let workspace = self.workspace.as_deref().map(str::trim).unwrap_or_default();
        if let Some(action) = self.action.as_deref().filter(|a| !a.is_empty()) {
            let Some((_, label, method, path)) = ACTIONS.iter().find(|(value, ..)| *value == action) else {
                return Some(Err(format!("Unknown action “{action}”: pick one from the list.")));
            };
            if path.contains("{w}") {
                if workspace.is_empty() {
                    return Some(Err(format!("Name the workspace in which you want to {label}.")));
                }
                return Some(Ok((method.to_string(), path.replace("{w}", &segment(workspace)))));
            }
            return Some(Ok((method.to_string(), path.to_string())));
        }
        let path = self.path.as_deref().map(str::trim).filter(|p| !p.is_empty())?;
        let method = self.method.as_deref().unwrap_or("GET").trim().to_ascii_uppercase();
        Some(Ok((method, path.to_string())))
    }
}

/// The section for `params`: asks the explain API as the viewer when a question was asked.
pub async fn section(studio: &StudioState, viewer: &Viewer, params: &WhyParams) -> WhySection {
    let form = WhyForm {
        actions: ACTIONS.iter().map(|(value, label, ..)| (value.to_string(), label.to_string())).collect(),
        methods: METHODS.iter().map(|m| m.to_string()).collect(),
        action: params.action.clone().unwrap_or_default(),
        workspace: params.workspace.clone().unwrap_or_default(),
        method: params.method.clone().unwrap_or_else(|| "GET".into()),
        path: params.path.clone().unwrap_or_default(),
    };
    let mut section = WhySection { form, ..WhySection::default() };
    if !studio.app.auth_enabled() {
        section.auth_off = true;
        return section;
    }
    let (method, path) = match params.request() {
        None => return section,
        Some(Err(message)) => {
            section.error = Some(message);
            return section;
        }
        Some(Ok(request)) => request,
    };
    let answer = viewer
        .call(studio, Method::POST, "/apis/auth/v2/explain", Some(json!({"method": method, "path": path})))
        .await;
    match answer.status {
        StatusCode::OK => match serde_json::from_value::<Explanation>(answer.body) {
            Ok(explanation) => section.answer = Some(in_words(&explanation)),
            Err(error) => {
                tracing::error!(%error, "studio: unreadable explain answer");
                section.error = Some("The server's explanation could not be read; try again.".into());
            }
        },
        status if status.is_server_error() => {
            section.error = Some("The server could not explain this now; try again later.".into())
        }
        _ => section.error = Some(answer.detail()),
    }
    section
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "—".into()
    } else {
        items.join(", ")
    }
}

fn in_words(e: &Explanation) -> WhyAnswer {
    let held = e
        .bindings
        .iter()
        .map(|b| {
            let through = match (&b.through, &b.through_kind) {
                (Some(who), Some(kind)) if kind == "wildcard" => format!("through “{who}” (everyone)"),
                (Some(who), Some(kind)) => format!("through {kind} “{who}”"),
                _ => "implicitly (a service)".to_string(),
            };
            let grants =
                if b.grants.is_empty() { "none of what this needs".to_string() } else { b.grants.join(", ") };
            format!("{} in “{}” {through}; grants {grants}", b.role, b.workspace)
        })
        .collect();
    let remedy = e
        .suggestion
        .iter()
        .map(|change| match change {
            SuggestedChange::AddScope { scope, accepted } => (
                format!(
                    "Sign in again with a token that carries the scope {scope} (any of {}).",
                    accepted.join(", ")
                ),
                None,
            ),
            SuggestedChange::Grant { principal, workspace, role } if workspace == nmp_core::SYSTEM_WORKSPACE => (
                format!("Ask a PlatformAdmin to give “{principal}” the {role} role on the platform (workspace “{workspace}”)."),
                change.command(),
            ),
            SuggestedChange::Grant { principal, workspace, role } => (
                format!(
                    "Ask an Admin of “{workspace}” (or a PlatformAdmin) to give “{principal}” the {role} role there."
                ),
                change.command(),
            ),
        })
        .collect();
    let scopes = format!(
        "accepts {}; your token has {}",
        list(&e.accepted_scopes),
        e.token_scopes.as_deref().map(list).unwrap_or_else(|| "no scope claim (not narrowed)".into())
    );
    WhyAnswer {
        allowed: e.allowed,
        request: format!("{} {}", e.method, e.path),
        summary: e.summary.clone(),
        rule: e.reason.clone(),
        endpoint: e.endpoint.clone().unwrap_or_else(|| "(no endpoint matches)".into()),
        workspace: e.role_workspace.clone().or_else(|| e.workspace.clone()).unwrap_or_else(|| "—".into()),
        needs: list(&e.required_permissions),
        scopes,
        identities: list(
            &e.identities.iter().map(|i| format!("{} ({})", i.value, i.kind)).collect::<Vec<_>>(),
        ),
        held,
        granting: list(&e.granting_roles),
        checked: e
            .layers
            .iter()
            .map(|l| format!("{} {}", l.layer, if l.passed { "passed" } else { "failed" }))
            .collect::<Vec<_>>()
            .join(" → "),
        remedy,
        impossible: e.impossible.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::WhyParams;

    fn ask(action: &str, workspace: &str) -> Option<Result<(String, String), String>> {
        WhyParams { action: Some(action.into()), workspace: Some(workspace.into()), ..WhyParams::default() }
            .request()
    }

    #[test]
    fn actions_become_requests_with_the_workspace_encoded() {
        assert_eq!(
            ask("add-member", "team-a"),
            Some(Ok(("POST".into(), "/apis/entities/v2/workspaces/team-a/members".into())))
        );
        assert_eq!(
            ask("view", "a/../b"),
            Some(Ok(("GET".into(), "/apis/entities/v2/workspaces/a%2F..%2Fb".into())))
        );
        assert_eq!(
            ask("create-workspace", ""),
            Some(Ok(("POST".into(), "/apis/entities/v2/workspaces".into())))
        );
        assert!(matches!(ask("view", " "), Some(Err(m)) if m.contains("Name the workspace")));
        assert!(matches!(ask("<script>", "x"), Some(Err(m)) if m.contains("Unknown action")));
    }

    #[test]
    fn a_method_and_path_are_asked_as_given() {
        let params = WhyParams {
            method: Some("delete".into()),
            path: Some(" /apis/entities/v2/workspaces/x ".into()),
            ..WhyParams::default()
        };
        assert_eq!(params.request(), Some(Ok(("DELETE".into(), "/apis/entities/v2/workspaces/x".into()))));
        assert_eq!(WhyParams::default().request(), None);
    }
}
