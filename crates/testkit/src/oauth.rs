//! The client side of the OAuth calls the testkit makes on a test's behalf: device authorization,
//! token endpoint grants, PKCE, and reading a JWT without verifying it. These are test
//! conveniences; the CLI's own OAuth client is what end-to-end tests put under test.

use std::fmt;

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Tokens from a token endpoint response. `Debug` never prints token material.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSet {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub token_type: String,
    pub expires_in: u64,
    pub scope: Option<String>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |token: &Option<String>| token.as_ref().map(|_| "[redacted]");
        formatter
            .debug_struct("TokenSet")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &redacted(&self.refresh_token))
            .field("id_token", &redacted(&self.id_token))
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// An OAuth error response (RFC 6749 §5.2), e.g. `invalid_grant` or `authorization_pending`.
/// Returned inside `anyhow::Error`; get it back with `error.downcast_ref::<OAuthError>()`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OAuthError {
    #[serde(skip)]
    pub status: u16,
    pub error: String,
    pub error_description: Option<String>,
}

impl fmt::Display for OAuthError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "HTTP {}: {}", self.status, self.error)?;
        if let Some(description) = &self.error_description {
            write!(formatter, " ({description})")?;
        }
        Ok(())
    }
}

impl std::error::Error for OAuthError {}

/// A device authorization response (RFC 8628 §3.2). `Debug` hides the device code.
#[derive(Clone, Deserialize)]
pub struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_in: u64,
    pub interval: Option<u64>,
}

impl fmt::Debug for DeviceAuthorization {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("DeviceAuthorization")
            .field("device_code", &"[redacted]")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("verification_uri_complete", &self.verification_uri_complete)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: String,
    refresh_token: Option<String>,
    id_token: Option<String>,
    expires_in: Option<u64>,
    scope: Option<String>,
}

pub(crate) async fn post_form<T: for<'de> Deserialize<'de>>(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
    basic_auth: Option<(&str, &str)>,
) -> Result<T> {
    let mut request = http.post(url).form(form);
    if let Some((user, password)) = basic_auth {
        request = request.basic_auth(user, Some(password));
    }
    let response = request.send().await.with_context(|| format!("POST {url}"))?;
    let status = response.status();
    let body = response.text().await.with_context(|| format!("reading the answer of POST {url}"))?;
    if !status.is_success() {
        if let Ok(mut error) = serde_json::from_str::<OAuthError>(&body) {
            error.status = status.as_u16();
            return Err(anyhow::Error::new(error).context(format!("POST {url}")));
        }
        bail!("POST {url}: HTTP {status}: {body}");
    }
    serde_json::from_str(&body).with_context(|| format!("POST {url}: unexpected answer: {body}"))
}

pub(crate) async fn token_request(
    http: &reqwest::Client,
    token_endpoint: &str,
    form: &[(&str, &str)],
    basic_auth: Option<(&str, &str)>,
) -> Result<TokenSet> {
    let response: TokenResponse = post_form(http, token_endpoint, form, basic_auth).await?;
    if !response.token_type.eq_ignore_ascii_case("bearer") {
        bail!("token endpoint returned token_type `{}`, expected Bearer", response.token_type);
    }
    Ok(TokenSet {
        access_token: response.access_token,
        refresh_token: response.refresh_token,
        id_token: response.id_token,
        token_type: response.token_type,
        expires_in: response.expires_in.unwrap_or_default(),
        scope: response.scope,
    })
}

/// A PKCE verifier and its S256 challenge (RFC 7636).
pub(crate) struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Pkce {
        let verifier = random_token();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Pkce { verifier, challenge }
    }
}

pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The header and payload of a compact JWS, **without** checking the signature. For assertions
/// in tests only.
pub fn decode_jwt_unverified(token: &str) -> Result<(serde_json::Value, serde_json::Value)> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        bail!("not a compact JWS (expected three dot-separated parts)");
    };
    let decode = |part: &str, what: &str| -> Result<serde_json::Value> {
        let bytes = URL_SAFE_NO_PAD.decode(part).with_context(|| format!("JWT {what} is not base64url"))?;
        serde_json::from_slice(&bytes).with_context(|| format!("JWT {what} is not JSON"))
    };
    Ok((decode(header, "header")?, decode(payload, "payload")?))
}

/// Whether `error` (from a testkit call) holds the OAuth error `code`, e.g. `invalid_grant`.
pub fn is_oauth_error(error: &anyhow::Error, code: &str) -> bool {
    error.downcast_ref::<OAuthError>().is_some_and(|oauth| oauth.error == code)
}
