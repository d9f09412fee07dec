//! `/apis/entities/v2/workspaces/{workspace}/members`.

use nmp_proto::{
    DeleteResponse, WorkspaceMember, WorkspaceMemberInput, WorkspaceMemberListResponse, WorkspaceMemberUpdate,
};
use reqwest::Method;

use crate::client::{wait_query, Client};
use crate::error::Result;

#[derive(Debug, Clone, Copy)]
pub struct MembersApi<'a> {
    pub(crate) client: &'a Client,
    pub(crate) workspace: &'a str,
}

impl MembersApi<'_> {
    fn base(&self) -> [&str; 6] {
        ["apis", "entities", "v2", "workspaces", self.workspace, "members"]
    }

    fn one<'p>(&'p self, principal: &'p str) -> [&'p str; 7] {
        let [a, b, c, d, e, f] = self.base();
        [a, b, c, d, e, f, principal]
    }

    /// Every member with their roles (the answer has no pagination).
    pub async fn list(&self) -> Result<WorkspaceMemberListResponse> {
        self.client.send(Method::GET, &self.base(), &[], None).await
    }

    /// Grant roles (server default `["Editor"]` when none). `wait_role_propagation`: `None` = server default.
    pub async fn create(
        &self,
        input: &WorkspaceMemberInput,
        wait_role_propagation: Option<bool>,
    ) -> Result<WorkspaceMember> {
        self.client.send(Method::POST, &self.base(), &wait_query(wait_role_propagation), Some(input)).await
    }

    /// Replace a member's roles.
    pub async fn update(
        &self,
        principal: &str,
        update: &WorkspaceMemberUpdate,
        wait_role_propagation: Option<bool>,
    ) -> Result<WorkspaceMember> {
        self.client
            .send(Method::PUT, &self.one(principal), &wait_query(wait_role_propagation), Some(update))
            .await
    }

    /// Revoke all of a member's roles.
    pub async fn delete(
        &self,
        principal: &str,
        wait_role_propagation: Option<bool>,
    ) -> Result<DeleteResponse> {
        self.client.send(Method::DELETE, &self.one(principal), &wait_query(wait_role_propagation), None).await
    }
}
