//! JSON responses: [`Json`] answers like `axum::Json`, with one allocation per body.
//!
//! `axum::Json` serializes into a 128-byte buffer that doubles as it fills, so a 1 KB workspace
//! list reallocates three times. Each `realloc` takes the malloc arena's lock (the thread cache
//! serves only `malloc` and `free`), and the two request workers take the same arena locks
//! whenever a buffer one of them allocated is freed by the other: on a two-core server those
//! waits were most of the futex calls a list request made, and how many there were changed from
//! one server process to the next (`docs/benchmarks.md`, "Ours after the JSON responses"). Here
//! each worker thread serializes into its own reused buffer and the body is one exact-size copy.

use std::cell::RefCell;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A reused buffer larger than this after a response is dropped, so that one large answer
/// (a 1 000-item page) does not pin its memory to the thread for the life of the process.
const KEEP_AT_MOST: usize = 64 * 1024;

/// The capacity a thread's buffer starts with (and restarts with after a large answer).
const START_CAPACITY: usize = 4 * 1024;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(START_CAPACITY));
}

/// A JSON response body (`application/json`), as `axum::Json` but allocated once.
#[derive(Debug, Clone, Copy, Default)]
#[must_use]
pub struct Json<T>(pub T);

/// `value` serialized as JSON, in a buffer of exactly its length.
pub fn to_bytes<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Bytes> {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut buffer) => {
            buffer.clear();
            let result = serde_json::to_writer(&mut *buffer, value).map(|()| Bytes::copy_from_slice(&buffer));
            if buffer.capacity() > KEEP_AT_MOST {
                *buffer = Vec::with_capacity(START_CAPACITY);
            }
            result
        }
        // Only if serializing re-entered this function (a `Serialize` impl that builds a response):
        // a buffer of its own, as axum would.
        Err(_) => serde_json::to_vec(value).map(Bytes::from),
    })
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match to_bytes(&self.0) {
            Ok(body) => {
                let mut response = Response::new(Body::from(body));
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                response
            }
            // As axum::Json does: a 500 naming the serializer's error, as plain text.
            Err(error) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))],
                error.to_string(),
            )
                .into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> Bytes {
        axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap()
    }

    #[tokio::test]
    async fn answers_as_axum_json_does() {
        let value = serde_json::json!({"data": [{"name": "ws1", "description": null}], "total": 1});
        let ours = Json(&value).into_response();
        let theirs = axum::Json(&value).into_response();
        assert_eq!(ours.status(), theirs.status());
        assert_eq!(ours.headers(), theirs.headers());
        assert_eq!(body_of(ours).await, body_of(theirs).await);
    }

    #[test]
    fn the_body_is_exactly_the_json_and_the_buffer_is_reused() {
        let small = to_bytes(&vec!["a"; 3]).unwrap();
        assert_eq!(&small[..], br#"["a","a","a"]"#);
        // A second, shorter answer on the same thread holds nothing of the first.
        assert_eq!(&to_bytes(&1u8).unwrap()[..], b"1");
        // A large one is whole, and the thread keeps no more than KEEP_AT_MOST afterwards.
        let large: Vec<String> = (0..20_000).map(|i| format!("workspace-{i}")).collect();
        let bytes = to_bytes(&large).unwrap();
        assert!(bytes.len() > KEEP_AT_MOST);
        assert_eq!(serde_json::from_slice::<Vec<String>>(&bytes).unwrap(), large);
        SCRATCH.with(|scratch| assert!(scratch.borrow().capacity() <= KEEP_AT_MOST));
    }

    #[tokio::test]
    async fn a_value_that_cannot_be_serialized_is_a_500_naming_the_error() {
        let mut map = std::collections::BTreeMap::new();
        map.insert(vec![1u8], 1); // a JSON object's keys must be strings
        let response = Json(map).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_of(response).await;
        assert!(String::from_utf8_lossy(&body).contains("key must be a string"), "{body:?}");
    }
}
