//! Workspace members over HTTP, including the last-Admin rule under concurrent demotions.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::support::TestServer;

const MEMBERS: &str = "/apis/entities/v2/workspaces/ws1/members";

async fn with_workspace() -> TestServer {
    let server = TestServer::auth_off().await;
    let (status, _) = server.post("/apis/entities/v2/workspaces", json!({"name": "ws1"})).await;
    assert_eq!(status, StatusCode::CREATED);
    server
}

#[tokio::test]
async fn add_list_update_remove() {
    let server = with_workspace().await;
    let (status, member) =
        server.post(MEMBERS, json!({"principal": "bob@example.com", "roles": ["Viewer"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    assert_eq!(member["principal"], "bob@example.com");
    assert_eq!(member["roles"], json!(["Viewer"]));
    assert!(member["granted_at"].as_str().unwrap().ends_with('Z'));
    // Idempotent per role.
    let (status, again) =
        server.post(MEMBERS, json!({"principal": "bob@example.com", "roles": ["Viewer", "Editor"]})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again["roles"], json!(["Viewer", "Editor"]));
    let (_, list) = server.get(MEMBERS).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"][0]["roles"], json!(["Viewer", "Editor"]));
    assert!(list.get("pagination").is_none(), "the members list has no pagination object");
    let (status, updated) =
        server.put(&format!("{MEMBERS}/bob@example.com"), json!({"roles": ["Admin"]})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["roles"], json!(["Admin"]));
    // PUT on a non-member creates it (the reference upserts).
    let (status, zed) = server.put(&format!("{MEMBERS}/zed@example.com"), json!({"roles": ["Viewer"]})).await;
    assert_eq!((status, &zed["roles"]), (StatusCode::OK, &json!(["Viewer"])));
    let (status, removed) = server.delete(&format!("{MEMBERS}/zed@example.com")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(removed["message"], "Member removed from workspace 'ws1'");
    assert_eq!(removed["id"], "zed@example.com");
    let (status, body) = server.delete(&format!("{MEMBERS}/zed@example.com")).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"detail": "Member 'zed@example.com' not found in workspace 'ws1'"}))
    );
    // Newest member first.
    server.post(MEMBERS, json!({"principal": "carol@example.com", "roles": ["Viewer"]})).await;
    let (_, list) = server.get(MEMBERS).await;
    let order: Vec<&str> =
        list["data"].as_array().unwrap().iter().map(|m| m["principal"].as_str().unwrap()).collect();
    assert_eq!(order, vec!["carol@example.com", "bob@example.com"]);
}

#[tokio::test]
async fn missing_workspace_is_404_everywhere() {
    let server = TestServer::auth_off().await;
    let missing = json!({"detail": "Workspace 'nope' not found"});
    let base = "/apis/entities/v2/workspaces/nope/members";
    assert_eq!(server.get(base).await, (StatusCode::NOT_FOUND, missing.clone()));
    assert_eq!(
        server.post(base, json!({"principal": "bob"})).await,
        (StatusCode::NOT_FOUND, missing.clone())
    );
    assert_eq!(
        server.put(&format!("{base}/bob"), json!({"roles": ["Viewer"]})).await,
        (StatusCode::NOT_FOUND, missing.clone())
    );
    assert_eq!(server.delete(&format!("{base}/bob")).await, (StatusCode::NOT_FOUND, missing));
}

#[tokio::test]
async fn unknown_and_misplaced_roles_are_rejected() {
    let server = with_workspace().await;
    let (status, body) =
        server.post(MEMBERS, json!({"principal": "carol@example.com", "roles": ["Superuser"]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = body["detail"][0]["msg"].as_str().unwrap();
    assert!(message.contains("Superuser") && message.contains("Viewer, Editor, Admin"), "{message}");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "roles", 0]));
    let (status, _) =
        server.post(MEMBERS, json!({"principal": "carol@example.com", "roles": ["PlatformAdmin"]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = server.post(MEMBERS, json!({"principal": "carol@example.com", "roles": []})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = server.post(MEMBERS, json!({"principal": "bad principal!", "roles": ["Viewer"]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, list) = server.get(MEMBERS).await;
    assert_eq!(list, json!({"data": []}), "nothing was written");
}

#[tokio::test]
async fn last_admin_cannot_be_demoted_or_removed() {
    let server = with_workspace().await;
    server.post(MEMBERS, json!({"principal": "alice", "roles": ["Admin"]})).await;
    let message = "Cannot remove Admin role from 'alice'. This is the last Admin for workspace 'ws1'. Add another Admin before removing this one.";
    let (status, body) = server.put(&format!("{MEMBERS}/alice"), json!({"roles": ["Viewer"]})).await;
    assert_eq!((status, body), (StatusCode::CONFLICT, json!({"detail": message})));
    let (status, body) = server.delete(&format!("{MEMBERS}/alice")).await;
    assert_eq!((status, body), (StatusCode::CONFLICT, json!({"detail": message})));
    let (_, list) = server.get(MEMBERS).await;
    assert_eq!(list["data"][0]["roles"], json!(["Admin"]));
}

#[tokio::test]
async fn concurrent_demotions_leave_exactly_one_admin() {
    let server = with_workspace().await;
    let admins: Vec<String> = (0..10).map(|i| format!("admin{i}")).collect();
    for admin in &admins {
        server.post(MEMBERS, json!({"principal": admin, "roles": ["Admin"]})).await;
    }
    let paths: Vec<String> = admins.iter().map(|admin| format!("{MEMBERS}/{admin}")).collect();
    let requests =
        paths.iter().map(|path| server.call(Method::PUT, path, Some(json!({"roles": ["Viewer"]})), &[]));
    let results = futures::future::join_all(requests).await;
    let ok = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let conflicts = results.iter().filter(|(s, _)| *s == StatusCode::CONFLICT).count();
    assert_eq!((ok, conflicts), (9, 1), "{results:?}");
    let (_, list) = server.get(MEMBERS).await;
    let admins_left =
        list["data"].as_array().unwrap().iter().filter(|m| m["roles"] == json!(["Admin"])).count();
    assert_eq!(admins_left, 1);
}
