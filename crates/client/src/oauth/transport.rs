//! The HTTP client handed to the `oauth2` crate: reqwest, plus one rule of ours.
//!
//! A 5xx answer is reported as a transport failure, never parsed for an OAuth error code:
//! device-flow and grant codes count only on 4xx answers (RFC 6749 §5.2, RFC 8628 §3.5),
//! and a failing IdP must never look like `invalid_grant` (which would mean "log in again").

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};

use oauth2::{AsyncHttpClient, HttpRequest, HttpResponse};
use tokio::sync::Notify;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{0}")]
    Network(String),
    #[error("the identity provider answered HTTP {0}")]
    ServerError(u16),
}

/// Counts consecutive failures and rings `give_up` when `limit` is reached.
#[derive(Debug)]
pub struct FailureBudget {
    pub consecutive: AtomicU32,
    pub limit: u32,
    pub give_up: Notify,
}

/// The `oauth2` crate's HTTP client: reqwest + [`send`], optionally counting failures.
pub struct IdpTransport {
    pub client: reqwest::Client,
    pub budget: Option<std::sync::Arc<FailureBudget>>,
}

impl<'c> AsyncHttpClient<'c> for IdpTransport {
    type Error = TransportError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let result = send(&self.client, request).await;
            if let Some(budget) = &self.budget {
                match &result {
                    Ok(_) => budget.consecutive.store(0, Ordering::SeqCst),
                    Err(error) => {
                        tracing::debug!(%error, "request to the identity provider failed");
                        if budget.consecutive.fetch_add(1, Ordering::SeqCst) + 1 >= budget.limit {
                            budget.give_up.notify_one();
                        }
                    }
                }
            }
            result
        })
    }
}

/// Send one OAuth request.
pub async fn send(client: &reqwest::Client, request: HttpRequest) -> Result<HttpResponse, TransportError> {
    let response = client.call(request).await.map_err(|error| TransportError::Network(error.to_string()))?;
    if response.status().is_server_error() {
        return Err(TransportError::ServerError(response.status().as_u16()));
    }
    Ok(response)
}

/// An HTTP client for the IdP: no redirects (the oauth2 crate's advice against SSRF).
pub fn idp_http_client() -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30));
    // A private CA (see `crate::tls`); an unreadable file was already reported by the API client.
    let builder = match crate::tls::ca_file() {
        Some(path) => match crate::tls::trust_ca_file(builder, &path) {
            Ok(builder) => builder,
            Err(error) => {
                tracing::warn!(%error, "not trusting the CA file for the identity provider");
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(std::time::Duration::from_secs(30))
            }
        },
        None => builder,
    };
    builder.build().unwrap_or_default()
}
