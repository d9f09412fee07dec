//! The console acts through the API router itself, in-process (no socket): a page's action is
//! the API request a CLI would send, authenticated by the session instead of a bearer token, then
//! authorized by the same middleware and PDP, validated by the same code and committed through
//! the same path. Nothing about access is cached in the session.

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use nmp_core::Principal;
use serde_json::Value;
use tower::ServiceExt;

use super::StudioState;

/// Set by the console on its in-process API requests: the signed-in principal (`None` with auth
/// off). A request extension, so nothing on the wire can forge it; the middleware uses it in
/// place of a bearer token and still asks the PDP.
#[derive(Debug, Clone)]
pub struct SessionIdentity(pub Option<Principal>);

/// An API answer: status and JSON body, and the request it answers.
#[derive(Debug, Default)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    /// The method and URI asked (`None` for answers made up by a page).
    pub asked: Option<(Method, String)>,
}

impl Answer {
    pub fn ok(&self) -> bool {
        self.status.is_success()
    }

    /// The API's `detail`: a string, or the 422 list's messages joined.
    pub fn detail(&self) -> String {
        match self.body.get("detail") {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    let field = item
                        .get("loc")
                        .and_then(Value::as_array)
                        .and_then(|loc| loc.get(1))
                        .map(|f| f.as_str().map(str::to_string).unwrap_or_else(|| f.to_string()))
                        .unwrap_or_default();
                    let message = item.get("msg").and_then(Value::as_str).unwrap_or("invalid");
                    if field.is_empty() {
                        message.to_string()
                    } else {
                        format!("{field}: {message}")
                    }
                })
                .collect::<Vec<_>>()
                .join("; "),
            _ => self.status.canonical_reason().unwrap_or("error").to_string(),
        }
    }
}

/// Percent-encode one path segment (principal ids may hold `@`, `:`, `/`, `+`).
pub fn segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, SEGMENT).to_string()
}

/// Everything but RFC 3986's unreserved characters.
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A query string from pairs.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        serializer.append_pair(key, value);
    }
    serializer.finish()
}

impl StudioState {
    /// Send one API request as `who` and read the JSON answer.
    pub async fn call(
        &self,
        who: Option<&Principal>,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> Answer {
        self.call_as(who, method, uri, body, None).await
    }

    /// [`Self::call`] within the page request `request_id` (its `X-Request-Id`), which the API
    /// request then carries, as header and as the request-id layer's extension, so an audit
    /// event names the request the browser made.
    pub async fn call_as(
        &self,
        who: Option<&Principal>,
        method: Method,
        uri: &str,
        body: Option<Value>,
        request_id: Option<HeaderValue>,
    ) -> Answer {
        let asked = Some((method.clone(), uri.to_string()));
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(id) = &request_id {
            request = request.header("x-request-id", id.clone());
        }
        let body = match body {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        let mut request = match request.body(body) {
            Ok(request) => request,
            Err(error) => return internal(&error.to_string()),
        };
        request.extensions_mut().insert(SessionIdentity(who.cloned()));
        if let Some(id) = request_id {
            request.extensions_mut().insert(tower_http::request_id::RequestId::new(id));
        }
        let response = match self.api.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status();
        let limit = self.app.settings.file.server.max_body_bytes.max(16 * 1024 * 1024);
        match axum::body::to_bytes(response.into_body(), limit).await {
            Ok(bytes) => {
                Answer { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null), asked }
            }
            Err(error) => internal(&error.to_string()),
        }
    }
}

fn internal(message: &str) -> Answer {
    tracing::error!(error = message, "studio: in-process API call failed");
    Answer {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        body: serde_json::json!({"detail": "Internal Server Error"}),
        asked: None,
    }
}
