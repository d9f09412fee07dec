//! Health, status, discovery and the OpenAPI document.

use reqwest::StatusCode;
use serde_json::json;

use super::support::TestServer;

#[tokio::test]
async fn health_status_and_discovery() {
    let server = TestServer::auth_off().await;
    assert_eq!(server.get("/health/live").await.0, StatusCode::OK);
    let (status, ready) = server.get("/health/ready").await;
    assert_eq!((status, &ready["status"]), (StatusCode::OK, &json!("ready")));
    let (status, body) = server.get("/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (body["status"].as_str(), body["store"].as_str(), body["auth_enabled"].as_bool()),
        (Some("healthy"), Some("sqlite"), Some(false))
    );
    assert_eq!(
        server.get("/apis/auth/discovery").await,
        (StatusCode::OK, json!({"auth_enabled": false, "oidc": null}))
    );
    let (status, body) = server.get("/no/such/route").await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"detail": "Not Found"})));
    let (status, _) = server.call(reqwest::Method::PATCH, "/apis/entities/v2/workspaces", None, &[]).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn readiness_fails_while_the_store_is_gone_and_liveness_holds() {
    let server = TestServer::auth_off().await;
    let db = server.dir.path().join("data/nmp-platform.db");
    std::fs::rename(&db, db.with_extension("moved")).unwrap();
    let (status, body) = server.get("/health/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(server.get("/health/live").await.0, StatusCode::OK);
    std::fs::rename(db.with_extension("moved"), &db).unwrap();
    assert_eq!(server.get("/health/ready").await.0, StatusCode::OK);
}

#[tokio::test]
async fn openapi_document_is_served_and_covers_every_route() {
    let server = TestServer::auth_off().await;
    let (status, doc) = server.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/apis/entities/v2/workspaces",
        "/apis/entities/v2/workspaces/{name}",
        "/apis/entities/v2/workspaces/{workspace}/members",
        "/apis/entities/v2/workspaces/{workspace}/members/{principal_id}",
        "/apis/entities/v2/workspaces/{workspace}/projects",
        "/apis/entities/v2/workspaces/{workspace}/projects/{name}",
        "/apis/auth/v2/iam/role-bindings",
        "/apis/auth/v2/iam/role-bindings/{name}",
        "/apis/auth/discovery",
        "/health/ready",
    ] {
        assert!(paths.contains_key(path), "{path} missing from /openapi.json");
    }
    // The name rule validation applies is the one the schema publishes.
    for input in ["WorkspaceInput", "ProjectInput"] {
        let pattern = &doc["components"]["schemas"][input]["properties"]["name"]["pattern"];
        assert_eq!(pattern.as_str(), Some(nmp_core::names::NAME_PATTERN), "{input}.name pattern");
    }
}
