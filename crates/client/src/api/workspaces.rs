//! `/apis/entities/v2/workspaces`.

use futures_util::Stream;
use nmp_proto::{DeleteResponse, Page, Workspace, WorkspaceInput, WorkspaceUpdate};
use reqwest::Method;

use crate::client::Client;
use crate::error::Result;
use crate::pagination::{all_pages, ListParams};

const BASE: [&str; 4] = ["apis", "entities", "v2", "workspaces"];

#[derive(Debug, Clone, Copy)]
pub struct WorkspacesApi<'a> {
    pub(crate) client: &'a Client,
}

impl<'a> WorkspacesApi<'a> {
    /// `POST /workspaces`; 409 when the name is taken (`Error::is_conflict`).
    pub async fn create(&self, input: &WorkspaceInput) -> Result<Workspace> {
        self.client.send(Method::POST, &BASE, &[], Some(input)).await
    }

    /// One page.
    pub async fn list(&self, params: &ListParams) -> Result<Page<Workspace>> {
        self.client.send(Method::GET, &BASE, &params.query(), None).await
    }

    /// Every workspace, page after page.
    ///
    /// ```no_run
    /// # async fn demo(client: nmp_client::Client) -> Result<(), nmp_client::Error> {
    /// use futures_util::TryStreamExt;
    /// let names: Vec<String> = client
    ///     .workspaces()
    ///     .list_all(nmp_client::ListParams::default())
    ///     .map_ok(|workspace| workspace.name)
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list_all(&self, params: ListParams) -> impl Stream<Item = Result<Workspace>> + 'a {
        let api = *self;
        let first = params.page.unwrap_or(1);
        all_pages(first, move |page| {
            let params = ListParams { page: Some(page), ..params.clone() };
            async move { api.list(&params).await }
        })
    }

    pub async fn get(&self, name: &str) -> Result<Workspace> {
        self.client.send(Method::GET, &path(name), &[], None).await
    }

    pub async fn update(&self, name: &str, update: &WorkspaceUpdate) -> Result<Workspace> {
        self.client.send(Method::PUT, &path(name), &[], Some(update)).await
    }

    pub async fn delete(&self, name: &str) -> Result<DeleteResponse> {
        self.client.send(Method::DELETE, &path(name), &[], None).await
    }
}

fn path(name: &str) -> [&str; 5] {
    [BASE[0], BASE[1], BASE[2], BASE[3], name]
}
