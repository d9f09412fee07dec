//! The HTTP client handed to the `oauth2` crate: reqwest, plus one rule of ours.
//!
//! A 5xx answer is reported as a transport failure, never parsed for an OAuth error code:
//! device-flow and grant codes count only on 4xx answers (RFC 6749 §5.2, RFC 8628 §3.5),
//! and a failing IdP must never look like `invalid_grant` (which would mean "log in again").

use oauth2::{AsyncHttpClient, HttpRequest, HttpResponse};

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{0}")]
    Network(String),
    #[error("the identity provider answered HTTP {0}")]
    ServerError(u16),
}

/// Send one OAuth request.
pub async fn send(
    client: &reqwest::Client,
    request: HttpRequest,
) -> Result<HttpResponse, TransportError> {
    let response = client
        .call(request)
        .await
        .map_err(|error| TransportError::Network(error.to_string()))?;
    if response.status().is_server_error() {
        return Err(TransportError::ServerError(response.status().as_u16()));
    }
    Ok(response)
}

/// An HTTP client for the IdP: no redirects (the oauth2 crate's advice against SSRF).
pub fn idp_http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}
