//! Workspaces over HTTP: create, list with pagination/sort/filter, get, update, delete.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::support::{names, TestServer};

#[tokio::test]
async fn seeded_workspaces_exist_and_crud_works() {
    let server = TestServer::auth_off().await;
    let (status, page) = server.get("/apis/entities/v2/workspaces").await;
    assert_eq!(status, StatusCode::OK);
    let mut seeded = names(&page);
    seeded.sort();
    assert_eq!(seeded, vec!["default", "system"]);
    let (status, created) =
        server.post("/apis/entities/v2/workspaces", json!({"name": "ws1", "description": "first"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(created["id"].as_str().unwrap().starts_with("workspace-"));
    assert_eq!(created["created_by"], "");
    assert_eq!(created["description"], "first");
    let created_at = created["created_at"].as_str().unwrap();
    assert!(!created_at.ends_with('Z') && created_at.contains('T') && created_at.len() == 26, "{created_at}");
    let (status, got) = server.get("/apis/entities/v2/workspaces/ws1").await;
    assert_eq!((status, &got), (StatusCode::OK, &created));
    let (status, updated) =
        server.put("/apis/entities/v2/workspaces/ws1", json!({"description": "second"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["description"], "second");
    assert_eq!(updated["created_at"], created["created_at"]);
    let (status, deleted) = server.delete("/apis/entities/v2/workspaces/ws1").await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["id"], "ws1");
    let (status, body) = server.get("/apis/entities/v2/workspaces/ws1").await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"detail": "Workspace 'ws1' not found"})));
    let (status, _) = server.delete("/apis/entities/v2/workspaces/ws1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server.put("/apis/entities/v2/workspaces/ws1", json!({"description": "x"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn duplicate_and_reserved_names_conflict() {
    let server = TestServer::auth_off().await;
    server.post("/apis/entities/v2/workspaces", json!({"name": "ws1"})).await;
    let (status, body) = server.post("/apis/entities/v2/workspaces", json!({"name": "ws1"})).await;
    assert_eq!((status, body), (StatusCode::CONFLICT, json!({"detail": "Workspace 'ws1' already exists"})));
    for reserved in ["system", "default"] {
        let (status, body) = server.post("/apis/entities/v2/workspaces", json!({"name": reserved})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let (status, body) = server.delete(&format!("/apis/entities/v2/workspaces/{reserved}")).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("reserved"));
    }
}

#[tokio::test]
async fn list_paginates_sorts_and_filters() {
    let server = TestServer::auth_off().await;
    for name in ["delta", "alpha", "charlie", "bravo"] {
        let (status, _) = server.post("/apis/entities/v2/workspaces", json!({"name": name})).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, page) = server.get("/apis/entities/v2/workspaces").await;
    assert_eq!(page["sort"], "-created_at");
    assert_eq!(page["filter"], serde_json::Value::Null);
    assert_eq!(
        page["pagination"],
        json!({"page": 1, "page_size": 100, "current_page_size": 6, "total_pages": 1, "total_results": 6})
    );
    assert_eq!(names(&page)[..4], ["bravo", "charlie", "alpha", "delta"]);
    let (_, page) = server.get("/apis/entities/v2/workspaces?page=2&page_size=1&sort=name").await;
    assert_eq!(names(&page), vec!["bravo"]);
    assert_eq!(
        page["pagination"],
        json!({"page": 2, "page_size": 1, "current_page_size": 1, "total_pages": 6, "total_results": 6})
    );
    assert_eq!(page["sort"], "name");
    let (_, page) = server.get("/apis/entities/v2/workspaces?sort=-name&page_size=2").await;
    assert_eq!(names(&page), vec!["system", "delta"]);
    let (status, page) = server.get("/apis/entities/v2/workspaces?filter=name:%22alpha%22").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&page), vec!["alpha"]);
    assert_eq!(page["filter"], json!({"name": {"$eq": "alpha"}}));
    let (_, page) = server.get("/apis/entities/v2/workspaces?filter[name][$like]=ar&sort=name").await;
    assert_eq!(names(&page), vec!["charlie"]);
    let json_filter = serde_json::to_string(&json!({"name": {"$in": ["bravo", "delta"]}})).unwrap();
    let response = server
        .request(Method::GET, "/apis/entities/v2/workspaces")
        .query(&[("filter", json_filter.as_str()), ("sort", "name")])
        .send()
        .await
        .unwrap();
    let (_, page) = super::support::read(response).await;
    assert_eq!(names(&page), vec!["bravo", "delta"]);
}

#[tokio::test]
async fn list_rejects_bad_parameters() {
    let server = TestServer::auth_off().await;
    let (status, body) = server.get("/apis/entities/v2/workspaces?filter=name:ws1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].as_str().unwrap().starts_with("Invalid filter query: "), "{body}");
    let (status, body) = server.get("/apis/entities/v2/workspaces?filter=secret:%22x%22").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].as_str().unwrap().contains("unknown filter field `secret`"), "{body}");
    for (query, loc) in [
        ("page=0", "page"),
        ("page_size=0", "page_size"),
        ("page_size=1001", "page_size"),
        ("page=abc", "page"),
        ("sort=secret", "sort"),
    ] {
        let (status, body) = server.get(&format!("/apis/entities/v2/workspaces?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["detail"][0]["loc"], json!(["query", loc]), "{query}: {body}");
    }
}

#[tokio::test]
async fn delete_refuses_a_workspace_with_projects() {
    let server = TestServer::auth_off().await;
    server.post("/apis/entities/v2/workspaces", json!({"name": "ml-team"})).await;
    for name in ["p1", "p2", "p3"] {
        let (status, _) =
            server.post("/apis/entities/v2/workspaces/ml-team/projects", json!({"name": name})).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, body) = server.delete("/apis/entities/v2/workspaces/ml-team").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["detail"],
        "Cannot delete workspace 'ml-team': workspace contains entities that must be deleted first: project (3)"
    );
}

#[tokio::test]
async fn principal_headers_attribute_writes_when_auth_is_off() {
    let server = TestServer::auth_off().await;
    let headers =
        [("X-NMP-Principal-Id", "alice@example.com"), ("X-NMP-Principal-Email", "alice@example.com")];
    let (status, ws) = server
        .call(Method::POST, "/apis/entities/v2/workspaces", Some(json!({"name": "ws1"})), &headers)
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(ws["created_by"], "alice@example.com");
    // Auth off: no creator Admin binding is made, as in the reference.
    let (_, members) = server.get("/apis/entities/v2/workspaces/ws1/members").await;
    assert_eq!(members, json!({"data": []}));
    let (status, member) = server
        .call(
            Method::POST,
            "/apis/entities/v2/workspaces/ws1/members",
            Some(json!({"principal": "bob@example.com", "roles": ["Viewer"]})),
            &headers,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(member["granted_by"], "alice@example.com");
    let (_, member) = server
        .post("/apis/entities/v2/workspaces/ws1/members", json!({"principal": "carol@example.com"}))
        .await;
    assert_eq!(member["granted_by"], "system");
    assert_eq!(member["roles"], json!(["Editor"]));
}

#[tokio::test]
async fn invalid_principal_headers_are_rejected_with_reference_messages() {
    let server = TestServer::auth_off().await;
    let long = "a".repeat(257);
    let groups = (0..101).map(|i| format!("g{i}")).collect::<Vec<_>>().join(",");
    let cases = [
        (
            "X-NMP-Principal-Id",
            "bad id!",
            "X-NMP-Principal-Id contains invalid characters; allowed: alphanumeric, @, ., -, _, :, +, /",
        ),
        ("X-NMP-Principal-Id", long.as_str(), "X-NMP-Principal-Id exceeds maximum length of 256 characters"),
        ("X-NMP-Principal-Email", "not-an-email", "X-NMP-Principal-Email is not a valid email address"),
        ("X-NMP-Principal-Groups", groups.as_str(), "X-NMP-Principal-Groups exceeds maximum of 100 groups"),
    ];
    for (header, value, message) in cases {
        let mut headers = vec![(header, value)];
        if header != "X-NMP-Principal-Id" {
            headers.push(("X-NMP-Principal-Id", "alice"));
        }
        let (status, body) = server.call(Method::GET, "/apis/entities/v2/workspaces", None, &headers).await;
        assert_eq!((status, body), (StatusCode::BAD_REQUEST, json!({"detail": message})), "{header}");
    }
}
