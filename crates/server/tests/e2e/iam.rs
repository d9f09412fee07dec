//! The IAM role-bindings API over HTTP.

use reqwest::StatusCode;
use serde_json::json;

use super::support::TestServer;

const BINDINGS: &str = "/apis/auth/v2/iam/role-bindings";

#[tokio::test]
async fn seed_bindings_are_listed_with_reference_names() {
    let server = TestServer::start("auth:\n  admin_email: admin@example.com\n").await;
    let (status, page) = server.get(&format!("{BINDINGS}?page_size=100")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut found: Vec<(String, String, String, String)> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let s = |k: &str| b[k].as_str().unwrap().to_string();
            (s("name"), s("principal"), s("workspace"), s("role"))
        })
        .collect();
    found.sort();
    let expected = vec![
        ("admin-example-com-system-platformadmin", "admin@example.com", "system", "PlatformAdmin"),
        ("wildcard-default-editor", "*", "default", "Editor"),
        ("wildcard-system-viewer", "*", "system", "Viewer"),
        ("wildcard-system-workspacecreator", "*", "system", "WorkspaceCreator"),
    ];
    let expected: Vec<(String, String, String, String)> =
        expected.into_iter().map(|(a, b, c, d)| (a.into(), b.into(), c.into(), d.into())).collect();
    assert_eq!(found, expected);
    assert!(page["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["granted_by"] == "system" && b["revoked_at"].is_null()));
}

#[tokio::test]
async fn create_get_filter_and_revoke() {
    let server = TestServer::auth_off().await;
    server.post("/apis/entities/v2/workspaces", json!({"name": "ws1"})).await;
    let (status, binding) = server
        .post(BINDINGS, json!({"principal": "bob@example.com", "workspace": "ws1", "role": "Viewer"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{binding}");
    let name = binding["name"].as_str().unwrap().to_string();
    assert!(name.starts_with("rb-") && name.len() == 27, "{name}");
    assert!(binding["id"].as_str().unwrap().starts_with("role-binding-"));
    let (status, again) = server
        .post(BINDINGS, json!({"principal": "bob@example.com", "workspace": "ws1", "role": "Viewer"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    // No workspace means a platform-level binding in `system`.
    let (status, platform) =
        server.post(BINDINGS, json!({"principal": "ops@example.com", "role": "PlatformAdmin"})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(platform["workspace"], "system");
    assert_eq!(server.get(&format!("{BINDINGS}/{name}")).await, (StatusCode::OK, binding.clone()));
    let (_, page) = server.get(&format!("{BINDINGS}?filter[principal]=bob@example.com")).await;
    assert_eq!(page["pagination"]["total_results"], 1);
    let (_, page) = server.get(&format!("{BINDINGS}?filter[workspace]=ws1&filter[role]=Viewer")).await;
    assert_eq!(page["data"][0]["name"], name.as_str());
    let (status, revoked) = server.delete(&format!("{BINDINGS}/{name}")).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert!(revoked["deleted_at"].is_string());
    let (_, got) = server.get(&format!("{BINDINGS}/{name}")).await;
    assert!(got["revoked_at"].is_string());
    let (status, body) = server.delete(&format!("{BINDINGS}/{name}")).await;
    assert_eq!((status, body), (StatusCode::CONFLICT, json!({"detail": "Role binding is already revoked"})));
    let (_, active) = server.get(&format!("{BINDINGS}?filter[is_active]=true&filter[workspace]=ws1")).await;
    assert_eq!(active["pagination"]["total_results"], 0);
    let (_, inactive) = server.get(&format!("{BINDINGS}?filter[is_active]=false")).await;
    assert_eq!(inactive["pagination"]["total_results"], 1);
    let (status, body) = server.get(&format!("{BINDINGS}/nope")).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"detail": "Role binding not found"})));
    let (status, _) = server.get(&format!("{BINDINGS}?filter[secret]=x")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) =
        server.post(BINDINGS, json!({"principal": "x", "workspace": "nope", "role": "Viewer"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
