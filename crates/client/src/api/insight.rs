//! Access insight (`/apis/auth/v2/...`, our own API): whoami, explain, the caller's permissions
//! in a workspace, who-can, the audit trail and the access-state export.

use futures_util::Stream;
use nmp_proto::insight::{
    AccessState, AuditEvent, ExplainInput, Explanation, PermissionList, WhoAmI, WhoCan,
};
use nmp_proto::Page;
use reqwest::Method;

use crate::client::{query_pairs, Client};
use crate::error::Result;
use crate::pagination::all_pages;

/// Filters and paging of the audit trail. With `workspace`, the workspace's own endpoint is
/// asked (open to its Admins); without, the platform-wide one (PlatformAdmins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditEventQuery {
    pub workspace: Option<String>,
    pub principal: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// RFC 3339.
    pub since: Option<String>,
    pub until: Option<String>,
    pub page: Option<u64>,
    pub page_size: Option<u64>,
    /// `created_at` (oldest first) or `-created_at` (newest first, the default).
    pub sort: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct InsightApi<'a> {
    pub(crate) client: &'a Client,
}

impl<'a> InsightApi<'a> {
    /// Identity, groups, scopes, token kind and expiry, platform roles.
    pub async fn whoami(&self) -> Result<WhoAmI> {
        self.client.send(Method::GET, &["apis", "auth", "v2", "whoami"], &[], None).await
    }

    /// Why a request is allowed or denied (for the caller, or `input.principal`).
    pub async fn explain(&self, input: &ExplainInput) -> Result<Explanation> {
        self.client.send(Method::POST, &["apis", "auth", "v2", "explain"], &[], Some(input)).await
    }

    /// The caller's permissions in `workspace` (only `permission`, when given).
    pub async fn permissions(&self, workspace: &str, permission: Option<&str>) -> Result<PermissionList> {
        let query = query_pairs(&[("permission", permission.map(str::to_string))]);
        self.client
            .send(Method::GET, &["apis", "auth", "v2", "workspaces", workspace, "permissions"], &query, None)
            .await
    }

    /// Every principal holding `permission` in `workspace`, and through which binding.
    pub async fn who_can(&self, workspace: &str, permission: &str) -> Result<WhoCan> {
        let query = query_pairs(&[("permission", Some(permission.to_string()))]);
        self.client
            .send(Method::GET, &["apis", "auth", "v2", "workspaces", workspace, "who-can"], &query, None)
            .await
    }

    /// One page of the audit trail.
    pub async fn audit_events(&self, query: &AuditEventQuery) -> Result<Page<AuditEvent>> {
        let pairs = query_pairs(&[
            ("principal", query.principal.clone()),
            ("actor", query.actor.clone()),
            ("action", query.action.clone()),
            ("since", query.since.clone()),
            ("until", query.until.clone()),
            ("page", query.page.map(|p| p.to_string())),
            ("page_size", query.page_size.map(|p| p.to_string())),
            ("sort", query.sort.clone()),
        ]);
        match &query.workspace {
            Some(workspace) => {
                let path = ["apis", "auth", "v2", "workspaces", workspace.as_str(), "audit-events"];
                self.client.send(Method::GET, &path, &pairs, None).await
            }
            None => {
                self.client.send(Method::GET, &["apis", "auth", "v2", "audit-events"], &pairs, None).await
            }
        }
    }

    /// Every matching audit event, page after page from `query.page` (default 1).
    pub fn audit_events_all(&self, query: AuditEventQuery) -> impl Stream<Item = Result<AuditEvent>> + 'a {
        let api = *self;
        all_pages(query.page.unwrap_or(1), move |page| {
            let query = AuditEventQuery { page: Some(page), ..query.clone() };
            async move { api.audit_events(&query).await }
        })
    }

    /// Who holds which role where (every active binding).
    pub async fn access_state(&self) -> Result<AccessState> {
        self.client.send(Method::GET, &["apis", "auth", "v2", "access-state"], &[], None).await
    }

    /// The same as CSV text (`workspace,principal,role,granted_by,granted_at`).
    pub async fn access_state_csv(&self) -> Result<String> {
        let query = [("format".to_string(), "csv".to_string())];
        self.client.send_text(Method::GET, &["apis", "auth", "v2", "access-state"], &query).await
    }
}
