//! `Client`: base URL, HTTP client and credentials; sends requests and maps error answers.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use crate::discovery::{decode, parse_base_url};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::token::TokenProvider;

/// The SDK entry point. Cheap to clone; share one per process.
///
/// ```no_run
/// # async fn demo() -> Result<(), nmp_client::Error> {
/// use nmp_client::Client;
/// use nmp_proto::WorkspaceInput;
///
/// // Direct mode: base URL and token given (no discovery call, no config file).
/// let client = Client::with_token("http://127.0.0.1:8080", "eyJ...")?;
/// let created = client
///     .workspaces()
///     .create(&WorkspaceInput { name: "ml-team".into(), description: None })
///     .await?;
/// println!("{}", created.id);
///
/// // Zero-config mode: the active context of the `nemo` CLI config, refreshing as needed.
/// let client = Client::from_cli_config()?;
/// let me = client.auth().whoami().await?;
/// println!("{}", me.principal);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    base_url: url::Url,
    http: reqwest::Client,
    tokens: Option<TokenProvider>,
    workspace: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("tokens", &self.inner.tokens)
            .field("workspace", &self.inner.workspace)
            .finish()
    }
}

/// Builds a [`Client`].
#[derive(Debug, Default)]
pub struct ClientBuilder {
    base_url: String,
    tokens: Option<TokenProvider>,
    http: Option<reqwest::Client>,
    workspace: Option<String>,
    ca_file: Option<std::path::PathBuf>,
}

impl ClientBuilder {
    /// A fixed bearer token (like `NMP_ACCESS_TOKEN`): never refreshed, never stored.
    pub fn token(mut self, token: impl Into<Secret>) -> Self {
        self.tokens = Some(TokenProvider::fixed(token.into()));
        self
    }

    /// A token provider (e.g. reading the CLI config and refreshing).
    pub fn token_provider(mut self, provider: TokenProvider) -> Self {
        self.tokens = Some(provider);
        self
    }

    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Trust the CA certificates in this PEM file for https (beyond the built-in roots). Without
    /// it: see [`crate::tls`] (`--ca-cert`, `NMP_CLIENT_SSL_CERT_FILE`, `SSL_CERT_FILE`).
    pub fn ca_cert_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// The workspace used by helpers that default one (the CLI's `--workspace`).
    pub fn workspace(mut self, workspace: impl Into<String>) -> Self {
        self.workspace = Some(workspace.into());
        self
    }

    pub fn build(self) -> Result<Client> {
        let base_url = parse_base_url(&self.base_url)?;
        let http = match self.http {
            Some(http) => http,
            None => {
                let builder = reqwest::Client::builder()
                    .user_agent(concat!("nmp-client/", env!("CARGO_PKG_VERSION")))
                    .timeout(std::time::Duration::from_secs(60));
                let builder = match self.ca_file.or_else(crate::tls::ca_file) {
                    Some(path) => crate::tls::trust_ca_file(builder, &path)?,
                    None => builder,
                };
                builder.build().map_err(|source| Error::Transport { url: base_url.to_string(), source })?
            }
        };
        Ok(Client {
            inner: Arc::new(Inner { base_url, http, tokens: self.tokens, workspace: self.workspace }),
        })
    }
}

impl Client {
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder { base_url: base_url.into(), ..ClientBuilder::default() }
    }

    /// No credentials (auth-disabled clusters, or public endpoints).
    pub fn new(base_url: impl Into<String>) -> Result<Client> {
        Client::builder(base_url).build()
    }

    /// A fixed bearer token.
    pub fn with_token(base_url: impl Into<String>, token: impl Into<Secret>) -> Result<Client> {
        Client::builder(base_url).token(token).build()
    }

    pub fn base_url(&self) -> &str {
        self.inner.base_url.as_str()
    }

    /// The default workspace (from the CLI context or the builder).
    pub fn default_workspace(&self) -> Option<&str> {
        self.inner.workspace.as_deref()
    }

    pub fn token_provider(&self) -> Option<&TokenProvider> {
        self.inner.tokens.as_ref()
    }

    /// `base_url` + percent-encoded path segments.
    pub(crate) fn url(&self, segments: &[&str]) -> url::Url {
        let mut url = self.inner.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Send a request and decode a JSON answer. On a 401 with a refreshable token,
    /// refresh once and retry once (never loops).
    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(String, String)],
        body: Option<&(dyn erased::JsonBody + Sync)>,
    ) -> Result<T> {
        let url = self.url(segments);
        let token = match &self.inner.tokens {
            Some(tokens) => tokens.token().await?,
            None => None,
        };
        let response = self.execute(&method, &url, query, body, token.as_ref()).await?;
        let response = match (response.status(), &self.inner.tokens, &token) {
            (StatusCode::UNAUTHORIZED, Some(tokens), Some(used)) => {
                match tokens.refresh_after_rejection(used).await {
                    Ok(Some(fresh)) => self.execute(&method, &url, query, body, Some(&fresh)).await?,
                    _ => response,
                }
            }
            _ => response,
        };
        decode(url, response).await
    }

    /// Like [`Client::send`], for an answer that is text (e.g. CSV) rather than JSON; error
    /// answers are decoded as usual.
    pub(crate) async fn send_text(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(String, String)],
    ) -> Result<String> {
        let url = self.url(segments);
        let token = match &self.inner.tokens {
            Some(tokens) => tokens.token().await?,
            None => None,
        };
        let response = self.execute(&method, &url, query, None, token.as_ref()).await?;
        if !response.status().is_success() {
            return decode::<serde_json::Value>(url, response).await.map(|_| String::new());
        }
        response.text().await.map_err(|source| Error::Transport { url: url.to_string(), source })
    }

    async fn execute(
        &self,
        method: &Method,
        url: &url::Url,
        query: &[(String, String)],
        body: Option<&(dyn erased::JsonBody + Sync)>,
        token: Option<&Secret>,
    ) -> Result<reqwest::Response> {
        let mut request = self
            .inner
            .http
            .request(method.clone(), url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token.expose());
        }
        if let Some(body) = body {
            request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.to_json());
        }
        request.send().await.map_err(|source| Error::Transport { url: url.to_string(), source })
    }
}

/// Request bodies as JSON bytes, so `send` can take any `Serialize` without generics.
pub(crate) mod erased {
    pub trait JsonBody {
        fn to_json(&self) -> Vec<u8>;
    }

    impl<T: serde::Serialize> JsonBody for T {
        fn to_json(&self) -> Vec<u8> {
            serde_json::to_vec(self).unwrap_or_default()
        }
    }
}

/// Query pairs from optional values.
pub(crate) fn query_pairs(pairs: &[(&str, Option<String>)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter_map(|(key, value)| value.as_ref().map(|value| (key.to_string(), value.clone())))
        .collect()
}

/// `wait_role_propagation` as a query pair when set.
pub(crate) fn wait_query(wait_role_propagation: Option<bool>) -> Vec<(String, String)> {
    query_pairs(&[("wait_role_propagation", wait_role_propagation.map(|wait| wait.to_string()))])
}
