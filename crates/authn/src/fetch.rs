//! Outbound HTTP to the IdP: one GET with a total timeout, no redirects, a body size cap
//! enforced while streaming, and the discovery document's shape. Only URLs from configuration
//! or from the configured issuer's discovery document are ever fetched; nothing a token says.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

/// Why a fetch failed. The cached state is kept on any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("request to `{url}` failed: {detail}")]
    Transport { url: String, detail: String },
    #[error("`{url}` answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("`{url}` answered more than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("`{url}` answered something that is not the expected JSON")]
    BadDocument { url: String },
    #[error("discovery document names issuer `{found}`, configured `{expected}`")]
    IssuerMismatch { expected: String, found: String },
    #[error("no jwks_uri: none configured and none in the discovery document")]
    NoJwksUri,
    #[error("`{field}` from the discovery document is refused: {detail}")]
    InsecureUrl { field: &'static str, detail: String },
}

/// A bounded HTTP client for discovery and JWKS.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_bytes: usize,
}

impl Fetcher {
    pub fn new(timeout: Duration, max_bytes: usize) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirect could lead anywhere (OIDC-12); IdPs serve these URLs directly.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| FetchError::Transport { url: String::new(), detail: error.to_string() })?;
        Ok(Fetcher { client, max_bytes })
    }

    /// GET `url`, insisting on 200 and at most `max_bytes` of body.
    pub async fn get(&self, url: &Url) -> Result<Vec<u8>, FetchError> {
        let transport =
            |error: reqwest::Error| FetchError::Transport { url: url.to_string(), detail: error.to_string() };
        let mut response = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(transport)?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(FetchError::Status { url: url.to_string(), status: response.status().as_u16() });
        }
        let too_large = || FetchError::TooLarge { url: url.to_string(), limit: self.max_bytes };
        if response.content_length().is_some_and(|length| length > self.max_bytes as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// The members of `/.well-known/openid-configuration` we use.
#[derive(Debug, Clone, Deserialize)]
pub struct DiscoveryDocument {
    pub issuer: String,
    #[serde(default)]
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
}

/// `{issuer}/.well-known/openid-configuration` (OIDC Discovery §4.1: a trailing `/` on the
/// issuer is removed before appending).
pub fn discovery_url(issuer: &Url) -> Result<Url, FetchError> {
    let base = issuer.as_str().trim_end_matches('/');
    Url::parse(&format!("{base}/.well-known/openid-configuration"))
        .map_err(|_| FetchError::BadDocument { url: issuer.to_string() })
}

/// Parse a discovery document and check that it speaks for the configured issuer, exactly
/// (OIDC-10: a trailing slash difference counts).
pub fn parse_discovery(
    bytes: &[u8],
    url: &Url,
    expected_issuer: &str,
) -> Result<DiscoveryDocument, FetchError> {
    let document: DiscoveryDocument =
        serde_json::from_slice(bytes).map_err(|_| FetchError::BadDocument { url: url.to_string() })?;
    if document.issuer != expected_issuer {
        return Err(FetchError::IssuerMismatch {
            expected: expected_issuer.to_owned(),
            found: document.issuer,
        });
    }
    Ok(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_url_appends_well_known_path() {
        let issuer = Url::parse("https://idp.example/realms/nmp/").expect("url");
        assert_eq!(
            discovery_url(&issuer).expect("url").as_str(),
            "https://idp.example/realms/nmp/.well-known/openid-configuration"
        );
    }

    #[test]
    fn oidc_10_discovery_issuer_must_match_exactly() {
        let url = Url::parse("https://idp/.well-known/openid-configuration").expect("url");
        let doc = br#"{"issuer":"https://idp","jwks_uri":"https://idp/jwks"}"#;
        assert!(parse_discovery(doc, &url, "https://idp").is_ok());
        assert!(matches!(parse_discovery(doc, &url, "https://idp/"), Err(FetchError::IssuerMismatch { .. })));
        assert!(matches!(
            parse_discovery(b"<html>", &url, "https://idp"),
            Err(FetchError::BadDocument { .. })
        ));
    }
}
