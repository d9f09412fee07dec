//! The external policy decision point: OPA's REST data API (`POST {base}/v1/data/authz/{rule}`
//! for `allow`, `has_permissions` and `has_role`), fed the same input as the embedded PDP. Fail
//! closed: unreachable → 503, timeout → 504, any other problem (HTTP error, undefined result, bad
//! JSON) → 502.

use std::time::Duration;

use nmp_core::Principal;
use serde_json::{json, Value};

/// Why a decision could not be made (external PDP only). Maps to 503/504/502, fail closed.
#[derive(Debug)]
pub enum PdpFailure {
    Unavailable(String),
    Timeout,
    Error(String),
}

#[derive(Debug, Clone)]
pub struct OpaClient {
    http: reqwest::Client,
    base: String,
}

impl OpaClient {
    pub fn new(base: &str, timeout: Duration) -> Result<OpaClient, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(OpaClient { http, base: base.trim_end_matches('/').to_string() })
    }

    /// Ask OPA whether the request is allowed.
    pub async fn allow(
        &self,
        principal: Option<&Principal>,
        method: &str,
        path: &str,
    ) -> Result<bool, PdpFailure> {
        let input = nmp_core::policy::allow_input(principal, method, path);
        let result = self.evaluate("allow", input).await?;
        match result {
            Value::Bool(allowed) => Ok(allowed),
            result => match result.get("allowed") {
                Some(Value::Bool(allowed)) => Ok(*allowed),
                _ => Err(PdpFailure::Error("OPA result has no boolean `allowed`".into())),
            },
        }
    }

    /// Evaluate `data.authz.{rule}` for `input` (`POST {base}/v1/data/authz/{rule}`): OPA's
    /// `result`, or why there is none.
    pub async fn evaluate(&self, rule: &str, input: Value) -> Result<Value, PdpFailure> {
        let url = format!("{}/v1/data/authz/{rule}", self.base);
        let response = self.http.post(&url).json(&json!({"input": input})).send().await.map_err(|e| {
            if e.is_timeout() {
                PdpFailure::Timeout
            } else {
                PdpFailure::Unavailable(e.to_string())
            }
        })?;
        if !response.status().is_success() {
            return Err(PdpFailure::Error(format!("OPA answered {}", response.status())));
        }
        let mut value: Value = response.json().await.map_err(|e| {
            if e.is_timeout() {
                PdpFailure::Timeout
            } else {
                PdpFailure::Error(format!("OPA answer unreadable: {e}"))
            }
        })?;
        // `result` absent means the policy is not loaded (undefined): fail closed.
        match value.get_mut("result") {
            Some(result) => Ok(result.take()),
            None => Err(PdpFailure::Error("OPA returned no result (policy or data not loaded)".into())),
        }
    }
}
