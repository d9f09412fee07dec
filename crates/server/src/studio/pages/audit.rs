//! The audit trail: who changed whose access, where and when, with filters (workspace, principal,
//! actor, action, a time range, order) and pages. A workspace's trail comes from
//! `GET /apis/auth/v2/workspaces/{workspace}/audit-events` (its Admins), the whole platform's
//! from `GET /apis/auth/v2/audit-events` (PlatformAdmins); the API decides, and its 403 renders
//! as the explanation page.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use nmp_proto::insight::AuditEvent;
use nmp_proto::Page;
use serde::Deserialize;
use serde_json::Value;

use super::viewer;
use crate::studio::api::{query, segment, Answer};
use crate::studio::templates::{page, Layout};
use crate::studio::{SignInMode, StudioState};

const DEFAULT_PAGE_SIZE: u64 = 25;
const MAX_PAGE_SIZE: u64 = 200;

/// The actions the trail records, for the filter's picker.
const ACTIONS: &[&str] = &[
    "workspace.created",
    "workspace.deleted",
    "member.added",
    "member.roles_changed",
    "member.removed",
    "binding.granted",
    "binding.revoked",
    "access_key.created",
    "access_key.suspended",
    "access_key.unsuspended",
    "access_key.revoked",
];

#[derive(Debug, Default, Deserialize)]
pub struct AuditParams {
    #[serde(default)]
    pub workspace: String,
    #[serde(default)]
    pub principal: String,
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub since: String,
    #[serde(default)]
    pub until: String,
    #[serde(default)]
    pub sort: String,
    pub page: Option<u64>,
    pub page_size: Option<u64>,
}

pub struct EventRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub workspace: String,
    pub principal: String,
    pub before: String,
    pub after: String,
    pub request_id: String,
}

#[derive(Template)]
#[template(path = "studio/audit.html")]
pub struct AuditPage {
    pub layout: Layout,
    pub error: Option<String>,
    pub notice: Option<String>,
    pub filters: AuditParams,
    pub actions: Vec<String>,
    pub events: Vec<EventRow>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
    pub prev_link: Option<String>,
    pub next_link: Option<String>,
}

/// A time from the filter form: RFC 3339 as typed, or the `datetime-local` input's
/// `2026-11-30T08:15` (seconds optional), read as UTC.
fn time_filter(text: &str) -> String {
    let text = text.trim();
    let has_offset = text.ends_with('Z')
        || text.ends_with('z')
        || text.get(19..).is_some_and(|rest| rest.contains('+') || rest.contains('-'));
    if text.is_empty() || has_offset {
        return text.to_string();
    }
    match text.len() {
        16 => format!("{text}:00Z"),
        _ => format!("{text}Z"),
    }
}

impl AuditParams {
    /// The API query: only the filters that are set.
    fn api_pairs(&self, page: u64, page_size: u64) -> Vec<(String, String)> {
        let mut pairs =
            vec![("page".to_string(), page.to_string()), ("page_size".to_string(), page_size.to_string())];
        for (name, value) in [
            ("principal", self.principal.trim().to_string()),
            ("actor", self.actor.trim().to_string()),
            ("action", self.action.trim().to_string()),
            ("since", time_filter(&self.since)),
            ("until", time_filter(&self.until)),
            ("sort", self.sort.trim().to_string()),
        ] {
            if !value.is_empty() {
                pairs.push((name.to_string(), value));
            }
        }
        pairs
    }

    /// This page's own link for another page number, keeping every filter.
    fn link(&self, page: u64, page_size: u64) -> String {
        let mut pairs = self.api_pairs(page, page_size);
        // The form's own text for the times, not the API's.
        pairs.retain(|(name, _)| name != "since" && name != "until");
        for (name, value) in [("since", &self.since), ("until", &self.until), ("workspace", &self.workspace)]
        {
            if !value.trim().is_empty() {
                pairs.push((name.to_string(), value.trim().to_string()));
            }
        }
        if page_size == DEFAULT_PAGE_SIZE {
            pairs.retain(|(name, _)| name != "page_size");
        }
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        format!("/studio/audit?{}", query(&pairs))
    }
}

/// `before`/`after` in a line: `key: value` pairs, lists joined by commas.
fn change_text(value: &Option<Value>) -> String {
    fn scalar(value: &Value) -> String {
        match value {
            Value::String(text) => text.clone(),
            Value::Null => "—".into(),
            Value::Array(items) if items.is_empty() => "none".into(),
            Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
            other => other.to_string(),
        }
    }
    match value {
        None | Some(Value::Null) => "—".into(),
        Some(Value::Object(fields)) => fields
            .iter()
            .map(|(key, value)| format!("{key}: {}", scalar(value)))
            .collect::<Vec<_>>()
            .join("; "),
        Some(other) => scalar(other),
    }
}

fn row(event: &AuditEvent) -> EventRow {
    let dash = || "—".to_string();
    EventRow {
        at: event.at.clone(),
        actor: event.actor.clone(),
        action: event.action.clone(),
        workspace: event.workspace.clone().unwrap_or_else(dash),
        principal: event.principal.clone().unwrap_or_else(dash),
        before: change_text(&event.before),
        after: change_text(&event.after),
        request_id: event.request_id.clone().unwrap_or_else(dash),
    }
}

/// Whether the viewer may read the trail at `path`, by the PDP's own decision (for links).
pub fn may_read(studio: &StudioState, viewer: &super::Viewer, path: &str) -> bool {
    if studio.mode() == &SignInMode::AuthOff {
        return true;
    }
    let principal = viewer.principal();
    principal.is_some() && studio.app.access.decide(principal.as_ref(), "GET", path).allowed()
}

pub async fn show(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Query(filters): Query<AuditParams>,
) -> Response {
    let viewer = match viewer(&studio, &headers, &uri).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let page_number = filters.page.unwrap_or(1).max(1);
    let page_size = filters.page_size.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
    let workspace = filters.workspace.trim().to_string();
    let base = if workspace.is_empty() {
        "/apis/auth/v2/audit-events".to_string()
    } else {
        format!("/apis/auth/v2/workspaces/{}/audit-events", segment(&workspace))
    };
    let pairs = filters.api_pairs(page_number, page_size);
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let answer = viewer.call(&studio, Method::GET, &format!("{base}?{}", query(&pairs)), None).await;
    let (status, error, listed) = match answer.status {
        StatusCode::OK => match serde_json::from_value::<Page<AuditEvent>>(answer.body) {
            Ok(listed) => (StatusCode::OK, None, Some(listed)),
            Err(error) => {
                tracing::error!(%error, "studio: unreadable audit answer");
                let failed = Answer { status: StatusCode::INTERNAL_SERVER_ERROR, ..Answer::default() };
                return viewer.refusal(&studio, &headers, &failed, "see the audit trail", None);
            }
        },
        // A filter the API refuses (a time it cannot read): the form again, with its message.
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => {
            (answer.status, Some(answer.detail()), None)
        }
        _ => {
            let workspace = (!workspace.is_empty()).then_some(workspace.as_str());
            return viewer.refusal(&studio, &headers, &answer, "see the audit trail", workspace);
        }
    };
    let (events, total, pages) = match &listed {
        Some(listed) => (
            listed.data.iter().map(row).collect(),
            listed.pagination.total_results,
            listed.pagination.total_pages.max(1),
        ),
        None => (Vec::new(), 0, 1),
    };
    let title =
        if workspace.is_empty() { "Audit trail".to_string() } else { format!("Audit trail of {workspace}") };
    let template = AuditPage {
        layout: viewer.layout(&studio, title, "audit"),
        error,
        notice: None,
        actions: ACTIONS.iter().map(|a| a.to_string()).collect(),
        events,
        total,
        page: page_number,
        pages,
        prev_link: (page_number > 1).then(|| filters.link(page_number - 1, page_size)),
        next_link: (page_number < pages).then(|| filters.link(page_number + 1, page_size)),
        filters,
    };
    viewer.finish(&studio, &headers, page(status, &template))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_from_the_form_are_utc() {
        assert_eq!(time_filter("2026-11-30T08:15"), "2026-11-30T08:15:00Z");
        assert_eq!(time_filter("2026-11-30T08:15:07"), "2026-11-30T08:15:07Z");
        assert_eq!(time_filter("2026-11-30T08:15:07Z"), "2026-11-30T08:15:07Z");
        assert_eq!(time_filter("2026-11-30T08:15:07+01:00"), "2026-11-30T08:15:07+01:00");
        assert_eq!(time_filter(" "), "");
    }

    #[test]
    fn page_links_keep_the_filters() {
        let filters = AuditParams {
            workspace: "team-a".into(),
            action: "member.added".into(),
            since: "2026-11-30T08:15".into(),
            ..AuditParams::default()
        };
        let link = filters.link(2, DEFAULT_PAGE_SIZE);
        assert!(link.starts_with("/studio/audit?page=2&action=member.added"), "{link}");
        assert!(link.contains("since=2026-11-30T08%3A15") && link.contains("workspace=team-a"), "{link}");
        assert!(!link.contains("page_size"), "{link}");
        assert!(filters.link(1, 10).contains("page_size=10"));
    }

    #[test]
    fn changes_read_as_key_value_pairs() {
        assert_eq!(change_text(&Some(json!({"roles": ["Viewer", "Editor"]}))), "roles: Viewer, Editor");
        assert_eq!(change_text(&None), "—");
        assert_eq!(change_text(&Some(json!({"roles": []}))), "roles: none");
        assert_eq!(
            change_text(&Some(json!({"status": "ACTIVE", "expires_at": null}))),
            "expires_at: —; status: ACTIVE"
        );
    }
}
