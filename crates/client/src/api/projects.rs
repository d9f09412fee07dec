//! `/apis/entities/v2/workspaces/{workspace}/projects`.

use futures_util::Stream;
use nmp_proto::{DeleteResponse, Page, Project, ProjectInput, ProjectUpdate};
use reqwest::Method;

use crate::client::Client;
use crate::error::Result;
use crate::pagination::{all_pages, ListParams};

#[derive(Debug, Clone, Copy)]
pub struct ProjectsApi<'a> {
    pub(crate) client: &'a Client,
    pub(crate) workspace: &'a str,
}

impl<'a> ProjectsApi<'a> {
    fn base(&self) -> [&'a str; 6] {
        ["apis", "entities", "v2", "workspaces", self.workspace, "projects"]
    }

    fn one(&self, name: &'a str) -> [&'a str; 7] {
        let [a, b, c, d, e, f] = self.base();
        [a, b, c, d, e, f, name]
    }

    pub async fn create(&self, input: &ProjectInput) -> Result<Project> {
        self.client.send(Method::POST, &self.base(), &[], Some(input)).await
    }

    pub async fn list(&self, params: &ListParams) -> Result<Page<Project>> {
        self.client.send(Method::GET, &self.base(), &params.query(), None).await
    }

    /// Every project of the workspace, page after page.
    pub fn list_all(&self, params: ListParams) -> impl Stream<Item = Result<Project>> + 'a {
        let api = *self;
        all_pages(params.page.unwrap_or(1), move |page| {
            let params = ListParams { page: Some(page), ..params.clone() };
            async move { api.list(&params).await }
        })
    }

    pub async fn get(&self, name: &'a str) -> Result<Project> {
        self.client.send(Method::GET, &self.one(name), &[], None).await
    }

    pub async fn update(&self, name: &'a str, update: &ProjectUpdate) -> Result<Project> {
        self.client.send(Method::PUT, &self.one(name), &[], Some(update)).await
    }

    pub async fn delete(&self, name: &'a str) -> Result<DeleteResponse> {
        self.client.send(Method::DELETE, &self.one(name), &[], None).await
    }
}
