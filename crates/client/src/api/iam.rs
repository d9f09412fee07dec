//! `/apis/auth/v2/iam/role-bindings` (PlatformAdmin and service principals).

use futures_util::Stream;
use nmp_proto::{DeleteResponse, Page, RoleBinding, RoleBindingInput};
use reqwest::Method;

use crate::client::{query_pairs, wait_query, Client};
use crate::error::Result;
use crate::pagination::all_pages;

const BASE: [&str; 6] = ["apis", "auth", "v2", "iam", "role-bindings", ""];

/// Filters and paging of the role-binding list (`filter[principal]=...`, deepObject style).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleBindingQuery {
    pub principal: Option<String>,
    pub workspace: Option<String>,
    pub role: Option<String>,
    pub granted_by: Option<String>,
    /// `true`: only bindings not revoked.
    pub is_active: Option<bool>,
    pub page: Option<u64>,
    pub page_size: Option<u64>,
    pub sort: Option<String>,
}

impl RoleBindingQuery {
    fn query(&self) -> Vec<(String, String)> {
        query_pairs(&[
            ("filter[principal]", self.principal.clone()),
            ("filter[workspace]", self.workspace.clone()),
            ("filter[role]", self.role.clone()),
            ("filter[granted_by]", self.granted_by.clone()),
            ("filter[is_active]", self.is_active.map(|active| active.to_string())),
            ("page", self.page.map(|page| page.to_string())),
            ("page_size", self.page_size.map(|size| size.to_string())),
            ("sort", self.sort.clone()),
        ])
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RoleBindingsApi<'a> {
    pub(crate) client: &'a Client,
}

impl<'a> RoleBindingsApi<'a> {
    fn base(&self) -> [&'static str; 5] {
        [BASE[0], BASE[1], BASE[2], BASE[3], BASE[4]]
    }

    fn one<'n>(&self, name: &'n str) -> [&'n str; 6] {
        [BASE[0], BASE[1], BASE[2], BASE[3], BASE[4], name]
    }

    pub async fn list(&self, query: &RoleBindingQuery) -> Result<Page<RoleBinding>> {
        self.client.send(Method::GET, &self.base(), &query.query(), None).await
    }

    /// Every matching binding, page after page.
    pub fn list_all(&self, query: RoleBindingQuery) -> impl Stream<Item = Result<RoleBinding>> + 'a {
        let api = *self;
        all_pages(query.page.unwrap_or(1), move |page| {
            let query = RoleBindingQuery { page: Some(page), ..query.clone() };
            async move { api.list(&query).await }
        })
    }

    /// 409 when an identical active binding exists.
    pub async fn create(
        &self,
        input: &RoleBindingInput,
        wait_role_propagation: Option<bool>,
    ) -> Result<RoleBinding> {
        self.client.send(Method::POST, &self.base(), &wait_query(wait_role_propagation), Some(input)).await
    }

    pub async fn get(&self, name: &str) -> Result<RoleBinding> {
        self.client.send(Method::GET, &self.one(name), &[], None).await
    }

    /// Soft revoke (sets `revoked_at`); 409 if already revoked.
    pub async fn delete(&self, name: &str, wait_role_propagation: Option<bool>) -> Result<DeleteResponse> {
        self.client.send(Method::DELETE, &self.one(name), &wait_query(wait_role_propagation), None).await
    }
}
