//! Projects over HTTP.

use reqwest::StatusCode;
use serde_json::json;

use super::support::{names, TestServer};

#[tokio::test]
async fn project_crud_pagination_and_errors() {
    let server = TestServer::auth_off().await;
    server.post("/apis/entities/v2/workspaces", json!({"name": "ws1"})).await;
    let base = "/apis/entities/v2/workspaces/ws1/projects";
    let (status, project) = server.post(base, json!({"name": "nlp", "description": "d"})).await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    assert_eq!((project["workspace"].as_str(), project["name"].as_str()), (Some("ws1"), Some("nlp")));
    assert!(project["id"].as_str().unwrap().starts_with("project-"));
    let (status, body) = server.post(base, json!({"name": "nlp"})).await;
    assert_eq!(
        (status, body),
        (StatusCode::CONFLICT, json!({"detail": "Project 'nlp' already exists in workspace 'ws1'"}))
    );
    server.post(base, json!({"name": "cv"})).await;
    let (_, page) = server.get(&format!("{base}?sort=name&page_size=1")).await;
    assert_eq!(names(&page), vec!["cv"]);
    assert_eq!(page["pagination"]["total_results"], 2);
    let (_, page) = server.get(&format!("{base}?filter=description:%22d%22")).await;
    assert_eq!(names(&page), vec!["nlp"]);
    let (status, updated) = server.put(&format!("{base}/nlp"), json!({"description": null})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["description"], serde_json::Value::Null);
    assert_eq!(server.get(&format!("{base}/nlp")).await.1, updated);
    let (status, _) = server.delete(&format!("{base}/nlp")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = server.get(&format!("{base}/nlp")).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"detail": "Project 'nlp' not found in workspace 'ws1'"}))
    );
    let (status, body) = server.get("/apis/entities/v2/workspaces/nope/projects").await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"detail": "Workspace 'nope' not found"})));
    let (status, _) = server.post(base, json!({"name": "Bad Name"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
