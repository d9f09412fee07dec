//! Bad input gets a clear 4xx naming the problem, and writes nothing.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::support::{names, TestServer};

const WORKSPACES: &str = "/apis/entities/v2/workspaces";

async fn raw(
    server: &TestServer,
    method: Method,
    path: &str,
    body: &'static str,
) -> (StatusCode, serde_json::Value) {
    let response = server
        .request(method, path)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("sent");
    super::support::read(response).await
}

#[tokio::test]
async fn malformed_json_and_wrong_types_are_422() {
    let server = TestServer::auth_off().await;
    let (status, body) = raw(&server, Method::POST, WORKSPACES, "{\"name\": ").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "json_invalid");
    let (status, body) = raw(&server, Method::POST, WORKSPACES, "[1, 2]").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "model_attributes_type");
    let (status, body) = server.post(WORKSPACES, json!({"name": 42})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["detail"][0],
        json!({"type": "string_type", "loc": ["body", "name"], "msg": "Input should be a valid string", "input": 42})
    );
    let (status, body) = server.post(WORKSPACES, json!({})).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"detail": [{"type": "missing", "loc": ["body", "name"], "msg": "Field required", "input": {}}]})
        )
    );
    let (status, body) = raw(&server, Method::POST, WORKSPACES, "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = server
        .post("/apis/entities/v2/workspaces/default/members", json!({"principal": "bob", "roles": "Viewer"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "list_type");
}

#[tokio::test]
async fn names_follow_the_reference_pattern() {
    let server = TestServer::auth_off().await;
    let (status, body) = server.post(WORKSPACES, json!({"name": "Bad Name!"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let pattern = r"^[a-z](?!.*--)[a-z0-9\-@.+_]{1,62}(?<!-)$";
    assert_eq!(
        body["detail"][0],
        json!({"type": "string_pattern_mismatch", "loc": ["body", "name"], "msg": format!("String should match pattern '{pattern}'"), "input": "Bad Name!", "ctx": {"pattern": pattern}})
    );
    let long = "a".repeat(64);
    let (status, body) = server.post(WORKSPACES, json!({"name": long})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "string_too_long");
    let (status, _) =
        server.post(WORKSPACES, json!({"name": "ok-name", "description": "x".repeat(5000)})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, page) = server.get(WORKSPACES).await;
    assert_eq!(names(&page).len(), 2, "nothing was created");
}

#[tokio::test]
async fn unknown_body_fields_are_refused() {
    let server = TestServer::auth_off().await;
    let (status, body) = server.post(WORKSPACES, json!({"name": "ws1", "owner": "mallory"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "extra_forbidden");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "owner"]));
    assert_eq!(server.get("/apis/entities/v2/workspaces/ws1").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn huge_bodies_are_413_with_and_without_content_length() {
    let server = TestServer::auth_off().await;
    let big = format!("{{\"name\": \"ws1\", \"description\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let response = server
        .request(Method::POST, WORKSPACES)
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Chunked, no Content-Length: the limit still applies while streaming.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.into_bytes().chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let stream = futures::stream::iter(chunks);
    let response = server
        .request(Method::POST, WORKSPACES)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(server.get("/apis/entities/v2/workspaces/ws1").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn dos_02_a_slow_body_hits_the_request_deadline() {
    let server = TestServer::start("server:\n  request_timeout_seconds: 1\n").await;
    let drip = futures::stream::unfold(0u32, |sent| async move {
        if sent > 30 {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        Some((Ok::<Vec<u8>, std::io::Error>(b" ".to_vec()), sent + 1))
    });
    let started = std::time::Instant::now();
    let response = server
        .request(Method::POST, WORKSPACES)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(drip))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn dos_03_too_many_headers_are_refused_and_dos_08_trace_is_not_allowed() {
    let server = TestServer::auth_off().await;
    let mut request = server.request(Method::GET, WORKSPACES);
    for i in 0..200 {
        request = request.header(format!("x-filler-{i}"), "x");
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    let response = server.request(Method::TRACE, WORKSPACES).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}
