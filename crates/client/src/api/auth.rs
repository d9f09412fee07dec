//! Discovery (`GET /apis/auth/discovery`), whoami (`GET /apis/auth/authenticate`) and health.

use nmp_proto::{AuthDiscoveryResponse, AuthenticateResponse};
use reqwest::Method;

use crate::client::Client;
pub use crate::discovery::discover;
use crate::error::Result;

#[derive(Debug, Clone, Copy)]
pub struct AuthApi<'a> {
    pub(crate) client: &'a Client,
}

impl AuthApi<'_> {
    /// Is auth on, and which IdP? Unauthenticated; never sends a token.
    pub async fn discovery(&self) -> Result<AuthDiscoveryResponse> {
        discover(&reqwest::Client::new(), self.client.base_url()).await
    }

    /// Who the server says the caller is.
    pub async fn whoami(&self) -> Result<AuthenticateResponse> {
        self.client.send(Method::GET, &["apis", "auth", "authenticate"], &[], None).await
    }

    /// `GET /health/ready`: `{"status":"ready"}` once the platform serves.
    pub async fn health_ready(&self) -> Result<serde_json::Value> {
        self.client.send(Method::GET, &["health", "ready"], &[], None).await
    }
}
