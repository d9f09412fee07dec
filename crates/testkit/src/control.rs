//! The test's side of the IdP: `/__control/*` calls that change keys, TTLs, faults and
//! discovery, and read request counters. Every call goes to the running IdP, so it fails while
//! the IdP is stopped.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::TestIdp;

/// Requests the IdP has served, by endpoint, since it was started (kept across
/// [`TestIdp::restart`]) or since [`TestIdp::reset_counters`]. Failed and hung requests count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Counters {
    #[serde(default)]
    pub jwks: u64,
    #[serde(default)]
    pub discovery: u64,
    #[serde(default)]
    pub token: u64,
    #[serde(default)]
    pub device_authorization: u64,
}

/// An endpoint whose answers [`TestIdp::set_fault`] can break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Jwks,
    Discovery,
    Token,
    DeviceAuthorization,
}

/// How a broken endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answers normally.
    None,
    /// HTTP 500 with an OAuth-style JSON error body.
    Error,
    /// Never answers (the connection stays open).
    Hang,
    /// HTTP 200 with an HTML body.
    Garbage,
}

/// The IdP's current keys and settings, from `GET /__control/state`.
#[derive(Debug, Clone, Deserialize)]
pub struct IdpState {
    pub access_token_alg: String,
    pub signing_kid: String,
    /// Every key in the JWKS, newest first.
    pub kids: Vec<String>,
    pub device_interval: Option<u64>,
}

impl TestIdp {
    async fn control<T: DeserializeOwned>(&self, path: &str, body: Option<Value>) -> Result<T> {
        let url = format!("{}/__control/{path}", self.ready.issuer);
        let request = match body {
            Some(body) => self.http.post(&url).json(&body),
            None => self.http.get(&url),
        };
        let response = request.send().await.with_context(|| format!("test IdP control call {url}"))?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("test IdP control call {url}: HTTP {status}: {text}");
        }
        serde_json::from_str(&text)
            .with_context(|| format!("test IdP control call {url}: unexpected answer {text}"))
    }

    pub async fn state(&self) -> Result<IdpState> {
        self.control("state", None).await
    }

    /// The JWKS the IdP serves, read without counting as a JWKS fetch.
    pub async fn jwks(&self) -> Result<Value> {
        self.control("jwks", None).await
    }

    /// Adds a new key for `alg` (`RS256`, `ES256` or `EdDSA`) and signs access tokens with it
    /// from now on. Older keys stay in the JWKS until [`TestIdp::remove_old_keys`]. Returns the kid.
    pub async fn rotate_key(&self, alg: &str) -> Result<String> {
        #[derive(Deserialize)]
        struct Rotated {
            kid: String,
        }
        let rotated: Rotated = self.control("keys/rotate", Some(json!({ "alg": alg }))).await?;
        Ok(rotated.kid)
    }

    /// Removes every key that a newer key of the same algorithm replaced; returns their kids.
    pub async fn remove_old_keys(&self) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Removed {
            removed: Vec<String>,
        }
        let removed: Removed = self.control("keys/remove-old", Some(json!({}))).await?;
        Ok(removed.removed)
    }

    /// Signs access tokens with the newest key of `alg` from now on; returns its kid.
    pub async fn set_access_token_alg(&self, alg: &str) -> Result<String> {
        let state: IdpState = self.control("signing-alg", Some(json!({ "alg": alg }))).await?;
        Ok(state.signing_kid)
    }

    /// Lifetime of access tokens issued from now on (whole seconds, at least 1).
    pub async fn set_access_token_ttl(&self, ttl: Duration) -> Result<()> {
        self.set_ttl("access_token", ttl).await
    }

    /// Lifetime of refresh tokens issued from now on (whole seconds, at least 1).
    pub async fn set_refresh_token_ttl(&self, ttl: Duration) -> Result<()> {
        self.set_ttl("refresh_token", ttl).await
    }

    /// Lifetime of device codes requested from now on (whole seconds, at least 1).
    pub async fn set_device_code_ttl(&self, ttl: Duration) -> Result<()> {
        self.set_ttl("device_code", ttl).await
    }

    async fn set_ttl(&self, field: &str, ttl: Duration) -> Result<()> {
        let _: Value = self.control("ttl", Some(json!({ field: ttl.as_secs() }))).await?;
        Ok(())
    }

    /// The `interval` sent in device authorization responses (`None`: omitted, clients wait 5 s).
    pub async fn set_device_interval(&self, seconds: Option<u64>) -> Result<()> {
        let _: Value = self.control("device-interval", Some(json!({ "seconds": seconds }))).await?;
        Ok(())
    }

    pub async fn counters(&self) -> Result<Counters> {
        self.control("counters", None).await
    }

    pub async fn reset_counters(&self) -> Result<()> {
        let _: Value = self.control("counters/reset", Some(json!({}))).await?;
        Ok(())
    }

    /// How many times `/jwks` was requested (including failed and hung requests).
    pub async fn jwks_fetch_count(&self) -> Result<u64> {
        Ok(self.counters().await?.jwks)
    }

    /// How many times the discovery document was requested.
    pub async fn discovery_fetch_count(&self) -> Result<u64> {
        Ok(self.counters().await?.discovery)
    }

    /// Makes `/jwks` answer 500 (`true`) or normally again (`false`).
    pub async fn set_jwks_failing(&self, failing: bool) -> Result<()> {
        self.set_fault(Endpoint::Jwks, if failing { Fault::Error } else { Fault::None }).await
    }

    /// Breaks (or repairs) one endpoint. Faults are cleared by [`TestIdp::restart`].
    pub async fn set_fault(&self, endpoint: Endpoint, fault: Fault) -> Result<()> {
        let endpoint = match endpoint {
            Endpoint::Jwks => "jwks",
            Endpoint::Discovery => "discovery",
            Endpoint::Token => "token",
            Endpoint::DeviceAuthorization => "device_authorization",
        };
        let mode = match fault {
            Fault::None => "ok",
            Fault::Error => "error",
            Fault::Hang => "hang",
            Fault::Garbage => "garbage",
        };
        let _: Value = self.control("fault", Some(json!({ "endpoint": endpoint, "mode": mode }))).await?;
        Ok(())
    }

    /// Fields merged into the discovery document, e.g. `{"issuer": "http://127.0.0.1:1/"}` or
    /// another `jwks_uri`; a field set to `null` is removed; `{}` restores the real document.
    pub async fn set_discovery_overrides(&self, fields: Value) -> Result<()> {
        let _: Value = self.control("discovery-overrides", Some(fields)).await?;
        Ok(())
    }

    /// The `Cache-Control` header of `/jwks` responses (e.g. `max-age=60`); `None` for the default.
    pub async fn set_jwks_cache_control(&self, value: Option<&str>) -> Result<()> {
        let _: Value = self.control("jwks-cache-control", Some(json!({ "value": value }))).await?;
        Ok(())
    }
}
