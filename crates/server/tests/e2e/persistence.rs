//! Acknowledged writes survive `kill -9`; seeding is idempotent across restarts and respects revokes.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::support::{write_config, ProcessServer};

async fn call(method: reqwest::Method, url: String, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    super::support::read(request.send().await.expect("sent")).await
}

#[tokio::test]
async fn writes_survive_kill_9_and_revoked_seeds_stay_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "auth:\n  admin_email: admin@example.com\n");
    let data = dir.path().join("data");
    let server = ProcessServer::spawn(&config, &data).expect("starts");
    let base = server.base.clone();
    let (status, _) = call(
        reqwest::Method::POST,
        format!("{base}/apis/entities/v2/workspaces"),
        Some(json!({"name": "durable"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = call(
        reqwest::Method::POST,
        format!("{base}/apis/entities/v2/workspaces/durable/members"),
        Some(json!({"principal": "bob@example.com", "roles": ["Viewer"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = call(
        reqwest::Method::DELETE,
        format!("{base}/apis/auth/v2/iam/role-bindings/wildcard-default-editor"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    server.kill9();

    let server = ProcessServer::spawn(&config, &data).expect("restarts");
    let base = server.base.clone();
    let (status, workspace) =
        call(reqwest::Method::GET, format!("{base}/apis/entities/v2/workspaces/durable"), None).await;
    assert_eq!(status, StatusCode::OK, "{workspace}");
    let (_, members) =
        call(reqwest::Method::GET, format!("{base}/apis/entities/v2/workspaces/durable/members"), None).await;
    assert_eq!(members["data"][0]["principal"], "bob@example.com");
    let (_, seed) = call(
        reqwest::Method::GET,
        format!("{base}/apis/auth/v2/iam/role-bindings/wildcard-default-editor"),
        None,
    )
    .await;
    assert!(seed["revoked_at"].is_string(), "a revoked seed binding is not re-created: {seed}");
    let (_, all) =
        call(reqwest::Method::GET, format!("{base}/apis/auth/v2/iam/role-bindings?page_size=100"), None)
            .await;
    assert_eq!(all["pagination"]["total_results"], 5, "seeding twice created nothing new: {all}");
    server.kill9();
}
