//! Access insight (`/apis/auth/v2/...`, our own API): whoami, explain, the caller's permissions
//! in a workspace, who-can.

use nmp_proto::insight::{ExplainInput, Explanation, PermissionList, WhoAmI, WhoCan};
use reqwest::Method;

use crate::client::{query_pairs, Client};
use crate::error::Result;

#[derive(Debug, Clone, Copy)]
pub struct InsightApi<'a> {
    pub(crate) client: &'a Client,
}

impl InsightApi<'_> {
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
}
