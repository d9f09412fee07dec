//! One handle per API resource, mirroring the official SDK (`client.workspaces().list(..)`).

mod access_keys;
mod auth;
mod iam;
mod insight;
mod members;
mod projects;
mod workspaces;

pub use access_keys::AccessKeysApi;
pub use auth::{discover, AuthApi};
pub use iam::{RoleBindingQuery, RoleBindingsApi};
pub use insight::{AuditEventQuery, InsightApi};
pub use members::MembersApi;
pub use projects::ProjectsApi;
pub use workspaces::WorkspacesApi;

use crate::client::Client;

impl Client {
    pub fn workspaces(&self) -> WorkspacesApi<'_> {
        WorkspacesApi { client: self }
    }

    /// Members of one workspace.
    pub fn members<'a>(&'a self, workspace: &'a str) -> MembersApi<'a> {
        MembersApi { client: self, workspace }
    }

    /// Projects of one workspace.
    pub fn projects<'a>(&'a self, workspace: &'a str) -> ProjectsApi<'a> {
        ProjectsApi { client: self, workspace }
    }

    pub fn role_bindings(&self) -> RoleBindingsApi<'_> {
        RoleBindingsApi { client: self }
    }

    /// Access insight: whoami, explain, can-i, who-can.
    pub fn insight(&self) -> InsightApi<'_> {
        InsightApi { client: self }
    }

    /// Scoped Access Keys.
    pub fn access_keys(&self) -> AccessKeysApi<'_> {
        AccessKeysApi { client: self }
    }

    /// Discovery, whoami and health.
    pub fn auth(&self) -> AuthApi<'_> {
        AuthApi { client: self }
    }
}
