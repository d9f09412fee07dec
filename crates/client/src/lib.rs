//! nmp-client: the Rust SDK of nmp.
//!
//! - [`Client`] with one handle per resource: [`Client::workspaces`], [`Client::members`],
//!   [`Client::projects`], [`Client::role_bindings`], [`Client::auth`] (discovery, whoami, health).
//! - Typed errors: [`Error::Api`] carries the status and the server's `detail`.
//! - [`config`]: the CLI config file shared with the `nemo` CLI (and the official one).
//! - [`TokenProvider`]: the token for each request, refreshed ≤ 60 s before expiry, one refresh
//!   per process and per machine.
//! - [`oauth`]: device flow, password and refresh grants, scope rules; [`jwt`]: unsigned tokens.
//!
//! ```no_run
//! # async fn demo() -> Result<(), nmp_client::Error> {
//! let client = nmp_client::Client::from_cli_config()?;
//! match client.workspaces().get("ml-team").await {
//!     Ok(workspace) => println!("{}", workspace.id),
//!     Err(error) if error.is_not_found() => println!("no such workspace"),
//!     Err(error) => return Err(error),
//! }
//! # Ok(()) }
//! ```

pub mod api;
mod client;
pub mod clock;
pub mod config;
mod discovery;
mod error;
pub mod jwt;
pub mod oauth;
mod pagination;
mod secret;
pub mod settings;
pub mod tls;
pub mod token;

#[cfg(test)]
mod test_support;

pub use api::{AuditEventQuery, RoleBindingQuery};
pub use client::{Client, ClientBuilder};
pub use error::{ApiDetail, AuthError, Error, Result};
pub use nmp_proto as wire;
pub use pagination::{all_pages, ListParams};
pub use secret::Secret;
pub use settings::{CredentialSource, Settings};
pub use token::{FetchedToken, TokenProvider, TokenSource};
