//! Discovery (`GET /apis/auth/discovery`), whoami (`GET /apis/auth/authenticate`) and health.

use nmp_proto::{AuthDiscoveryResponse, AuthenticateResponse};
use reqwest::Method;

use crate::client::{parse_base_url, Client};
use crate::error::{ApiDetail, Error, Result};

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

/// `GET {base_url}/apis/auth/discovery` with a given HTTP client, without credentials.
pub async fn discover(http: &reqwest::Client, base_url: &str) -> Result<AuthDiscoveryResponse> {
    let mut url = parse_base_url(base_url)?;
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(["apis", "auth", "discovery"]);
    }
    let response = http
        .get(url.clone())
        .send()
        .await
        .map_err(|source| Error::Transport { url: url.to_string(), source })?;
    let status = response.status();
    let text = response.text().await.map_err(|source| Error::Transport { url: url.to_string(), source })?;
    if !status.is_success() {
        return Err(Error::Api { status: status.as_u16(), detail: ApiDetail::from_body(&text) });
    }
    serde_json::from_str(&text)
        .map_err(|error| Error::Decode { url: url.to_string(), message: error.to_string() })
}
