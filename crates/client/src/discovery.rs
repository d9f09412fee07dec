//! Where a platform is and how it authenticates: base-URL parsing and `GET /apis/auth/discovery`,
//! which the token provider needs before any API client exists.

use nmp_proto::AuthDiscoveryResponse;

use crate::error::{ApiDetail, Error, Result};

/// Parse and normalise a base URL so that joining path segments keeps any path prefix.
pub(crate) fn parse_base_url(text: &str) -> Result<url::Url> {
    let normalized = crate::config::normalize_base_url(text);
    let parsed = url::Url::parse(&normalized).map_err(|_| Error::InvalidBaseUrl(text.to_string()))?;
    if parsed.cannot_be_a_base() || !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::InvalidBaseUrl(text.to_string()));
    }
    Ok(parsed)
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
    decode(url, response).await
}

/// A response's JSON body as `T`; a non-2xx answer becomes [`Error::Api`] with the server's detail.
pub(crate) async fn decode<T: serde::de::DeserializeOwned>(
    url: url::Url,
    response: reqwest::Response,
) -> Result<T> {
    let status = response.status();
    let text = response.text().await.map_err(|source| Error::Transport { url: url.to_string(), source })?;
    if !status.is_success() {
        return Err(Error::Api { status: status.as_u16(), detail: ApiDetail::from_body(&text) });
    }
    serde_json::from_str(&text)
        .map_err(|error| Error::Decode { url: url.to_string(), message: error.to_string() })
}
