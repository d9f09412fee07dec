//! The PDP endpoints for services (`/apis/auth/v2/authz/{allow,has_permissions,has_role}`) and
//! operator policy extensions (custom endpoints and roles from the config) decided end to end.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::support::{user_token, write_config, ProcessServer, TestServer, QUICKSTART};

const SECRET: &str = "a-gateway-secret-of-some-length";

fn with_gateway(extra: &str) -> String {
    format!("{QUICKSTART}  gateway:\n    shared_secret: {SECRET}\n{extra}")
}

async fn as_service(server: &TestServer, path: &str, body: Value) -> (StatusCode, Value) {
    let headers = [("X-NMP-Principal-Id", "service:platform"), ("X-NMP-Gateway-Secret", SECRET)];
    server.call(Method::POST, path, Some(body), &headers).await
}

async fn workspace_with_bob(server: &TestServer, role: &str) {
    let admin = user_token("admin@example.com", &[], None);
    let ws = "/apis/entities/v2/workspaces";
    assert_eq!(
        server.as_token(&admin, Method::POST, ws, Some(json!({"name": "ws1"}))).await.0,
        StatusCode::CREATED
    );
    let member = json!({"principal": "bob@example.com", "roles": [role]});
    let (status, body) =
        server.as_token(&admin, Method::POST, &format!("{ws}/ws1/members"), Some(member)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn services_ask_the_pdp() {
    let server = TestServer::start(&with_gateway("")).await;
    workspace_with_bob(&server, "Viewer").await;
    let bob_reads = json!({"input": {"principal_id": "bob@example.com", "method": "GET", "path": "/apis/entities/v2/workspaces/ws1"}});
    let (status, body) = as_service(&server, "/apis/auth/v2/authz/allow", bob_reads).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["allowed"], true);
    assert_eq!(body["result"]["headers"]["X-NMP-Authorized"], "true");
    let bob_writes = json!({"input": {"principal_id": "bob@example.com", "method": "PUT", "path": "/apis/entities/v2/workspaces/ws1"}});
    let (_, body) = as_service(&server, "/apis/auth/v2/authz/allow", bob_writes).await;
    assert_eq!(body["result"]["headers"]["X-NMP-Authorized"], "false");
    // Envoy's ext_authz input shape.
    let envoy = json!({"input": {"attributes": {"request": {"http": {"method": "GET", "path": "/apis/entities/v2/workspaces/ws1",
        "headers": {"x-nmp-principal-id": "bob@example.com"}}}}}});
    assert_eq!(as_service(&server, "/apis/auth/v2/authz/allow", envoy).await.1["result"]["allowed"], true);
    let permissions = json!({"input": {"principal_id": "bob@example.com", "workspace": "ws1", "permissions": ["projects.read"]}});
    assert_eq!(
        as_service(&server, "/apis/auth/v2/authz/has_permissions", permissions).await.1,
        json!({"result": {"allowed": true}})
    );
    let permissions = json!({"input": {"principal_id": "bob@example.com", "workspace": "ws1", "permissions": ["projects.create"]}});
    assert_eq!(
        as_service(&server, "/apis/auth/v2/authz/has_permissions", permissions).await.1,
        json!({"result": {"allowed": false}})
    );
    let role = json!({"input": {"principal_id": "bob@example.com", "workspace": "ws1", "role": "Viewer"}});
    assert_eq!(
        as_service(&server, "/apis/auth/v2/authz/has_role", role).await.1,
        json!({"result": {"has_role": true}})
    );
    let (status, body) = as_service(&server, "/apis/auth/v2/authz/nope", json!({"input": {}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"]["error"], "Invalid entrypoint: nope");
    assert_eq!(body["detail"]["valid_entrypoints"], json!(["allow", "has_permissions", "has_role"]));
    // Users may not ask.
    let bob = user_token("bob@example.com", &[], None);
    let (status, _) =
        server.as_token(&bob, Method::POST, "/apis/auth/v2/authz/allow", Some(json!({"input": {}}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

const EXTENSIONS: &str = "  policy:
    endpoints:
      - method: GET
        path: /apis/things/v1/workspaces/{workspace}/things
        permissions: [things.items.read]
        scopes: [things:read, platform:read]
    roles:
      - name: ThingReader
        permissions: [things.items.read]
";

#[tokio::test]
async fn operator_endpoints_and_roles_are_enforced_by_the_callout() {
    let server = TestServer::start(&with_gateway(EXTENSIONS)).await;
    workspace_with_bob(&server, "ThingReader").await;
    let path = "/apis/auth/ext-authz/apis/things/v1/workspaces/ws1/things";
    let bob = user_token("bob@example.com", &[], None);
    let carol = user_token("carol@example.com", &[], None);
    assert_eq!(server.as_token(&bob, Method::GET, path, None).await.0, StatusCode::OK);
    assert_eq!(server.as_token(&carol, Method::GET, path, None).await.0, StatusCode::FORBIDDEN);
    // The shipped Viewer role does not include the operator's permission.
    let viewer_path = "/apis/entities/v2/workspaces/ws1/members/bob@example.com";
    let admin = user_token("admin@example.com", &[], None);
    server.as_token(&admin, Method::PUT, viewer_path, Some(json!({"roles": ["Viewer"]}))).await;
    assert_eq!(server.as_token(&bob, Method::GET, path, None).await.0, StatusCode::FORBIDDEN);
}

#[test]
fn a_bad_extension_stops_the_server_naming_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let bad = EXTENSIONS.replace(
        "permissions: [things.items.read]\n        scopes",
        "permissions: [Things.Read]\n        scopes",
    );
    let config = write_config(dir.path(), &with_gateway(&bad));
    let message = match ProcessServer::spawn(&config, &dir.path().join("data")) {
        Ok(server) => {
            server.kill9();
            panic!("started with a bad policy extension");
        }
        Err(message) => message,
    };
    assert!(message.contains("auth.policy") && message.contains("Things.Read"), "{message}");
}
