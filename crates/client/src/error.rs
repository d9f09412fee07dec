//! Errors of the SDK: API answers (status + the server's `detail`), transport, config and auth.

use crate::config::ConfigError;

/// The `detail` of an error answer: a message, or (422) the validation list kept as JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiDetail {
    Message(String),
    /// A 422 list `[{"type","loc","msg","input"}]`, kept as received.
    Validation(serde_json::Value),
    /// A body that was not `{"detail": ...}` (proxies, HTML error pages).
    Raw(String),
}

impl ApiDetail {
    /// Parse an error body into a detail, never failing.
    pub fn from_body(body: &str) -> ApiDetail {
        let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
        match parsed.as_ref().and_then(|value| value.get("detail")) {
            Some(serde_json::Value::String(message)) => ApiDetail::Message(message.clone()),
            Some(list @ serde_json::Value::Array(_)) => ApiDetail::Validation(list.clone()),
            Some(other) => ApiDetail::Message(other.to_string()),
            None => ApiDetail::Raw(body.trim().to_string()),
        }
    }
}

impl std::fmt::Display for ApiDetail {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiDetail::Message(message) | ApiDetail::Raw(message) => formatter.write_str(message),
            ApiDetail::Validation(list) => {
                let entries = list.as_array().map(Vec::as_slice).unwrap_or_default();
                let rendered: Vec<String> = entries.iter().map(render_validation_entry).collect();
                formatter.write_str(&rendered.join("; "))
            }
        }
    }
}

/// `body.name: String should match pattern '…' (input: "Bad Name!")`.
fn render_validation_entry(entry: &serde_json::Value) -> String {
    let location: Vec<String> = entry
        .get("loc")
        .and_then(|loc| loc.as_array())
        .map(|parts| {
            parts
                .iter()
                .map(|part| match part {
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    let message = entry.get("msg").and_then(|msg| msg.as_str()).unwrap_or("invalid value");
    let mut line =
        if location.is_empty() { message.to_string() } else { format!("{}: {message}", location.join(".")) };
    if let Some(input) = entry.get("input") {
        if !input.is_object() || input.as_object().is_some_and(|map| !map.is_empty()) {
            line.push_str(&format!(" (input: {input})"));
        }
    }
    line
}

/// Failures of token acquisition and OAuth flows.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("not logged in: context `{context}` has no credentials")]
    NotLoggedIn { context: String },
    #[error("Your access token has expired and could not be refreshed.")]
    TokenExpired,
    #[error("No refresh token available. Re-run 'nemo auth login' with 'offline_access' scope.")]
    NoRefreshToken,
    #[error("OIDC not configured on cluster.")]
    OidcNotConfigured,
    /// The IdP refused the grant (`invalid_grant`, `access_denied`, ...): log in again.
    #[error("the identity provider rejected the request: {code}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Rejected { code: String, description: Option<String> },
    /// The IdP could not be reached or answered 5xx; stored credentials were kept.
    #[error("the identity provider is unavailable: {0}")]
    IdpUnavailable(String),
    /// The IdP answered something that is not a usable token response.
    #[error("invalid token response: {0}")]
    InvalidTokenResponse(String),
    #[error("device authorization expired before it was approved")]
    DeviceCodeExpired,
    #[error("device authorization was denied")]
    AccessDenied,
    /// `invalid_grant` while polling: the code expired (and was dropped) or was already used.
    #[error("the device code is no longer valid (expired or already used: {description}); run `nemo auth login` again")]
    DeviceCodeInvalid { description: String },
    #[error("could not lock `{path}`: {source}")]
    Lock {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Every error of the SDK.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error status.
    #[error("({status}) {detail}")]
    Api { status: u16, detail: ApiDetail },
    /// The request did not get an answer.
    #[error("could not reach `{url}`: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The answer was not what the API promises.
    #[error("unexpected answer from `{url}`: {message}")]
    Decode { url: String, message: String },
    #[error("invalid base url `{0}`")]
    InvalidBaseUrl(String),
    /// The CA file to trust for https cannot be used.
    #[error("CA certificate file `{path}`: {message}")]
    CaFile { path: std::path::PathBuf, message: String },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl Error {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's `detail`, for API errors.
    pub fn detail(&self) -> Option<&ApiDetail> {
        match self {
            Error::Api { detail, .. } => Some(detail),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    pub fn is_forbidden(&self) -> bool {
        self.status() == Some(403)
    }

    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }

    pub fn is_validation(&self) -> bool {
        self.status() == Some(422)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_detail_is_shown_as_is() {
        let detail = ApiDetail::from_body(r#"{"detail":"Workspace 'ws1' already exists"}"#);
        let error = Error::Api { status: 409, detail };
        assert!(error.is_conflict());
        assert_eq!(error.to_string(), "(409) Workspace 'ws1' already exists");
    }

    #[test]
    fn validation_detail_is_kept_as_json_and_rendered_readably() {
        let body = r#"{"detail":[{"type":"string_pattern_mismatch","loc":["body","name"],"msg":"String should match pattern 'x'","input":"Bad Name!"},{"type":"missing","loc":["body","roles"],"msg":"Field required","input":{}}]}"#;
        let detail = ApiDetail::from_body(body);
        assert!(
            matches!(detail, ApiDetail::Validation(ref list) if list.as_array().map(Vec::len) == Some(2))
        );
        assert_eq!(
            detail.to_string(),
            "body.name: String should match pattern 'x' (input: \"Bad Name!\"); body.roles: Field required"
        );
    }

    #[test]
    fn non_json_body_is_kept_raw() {
        assert_eq!(
            ApiDetail::from_body("<html>bad gateway</html>\n"),
            ApiDetail::Raw("<html>bad gateway</html>".into())
        );
    }
}
