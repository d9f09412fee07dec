//! Auth on with quickstart (unsigned) tokens: the admin, users with roles, users without, and
//! every way to be refused, over real HTTP.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::support::{names, now_unix, unsigned_token, user_token, TestServer, QUICKSTART};

const WS: &str = "/apis/entities/v2/workspaces";

struct Users {
    admin: String,
    bob: String,
    carol: String,
}

async fn setup() -> (TestServer, Users) {
    let server = TestServer::start(QUICKSTART).await;
    let users = Users {
        admin: user_token("admin@example.com", &[], None),
        bob: user_token("bob@example.com", &[], None),
        carol: user_token("carol@example.com", &[], None),
    };
    let (status, ws) = server.as_token(&users.admin, Method::POST, WS, Some(json!({"name": "ws1"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{ws}");
    let (status, _) = server
        .as_token(
            &users.admin,
            Method::POST,
            &format!("{WS}/ws1/members"),
            Some(json!({"principal": "bob@example.com", "roles": ["Viewer"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    (server, users)
}

#[tokio::test]
async fn anonymous_and_bad_tokens_get_401_with_a_challenge() {
    let (server, _) = setup().await;
    let response = server.request(Method::GET, WS).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="nmp""#);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"detail": "Unauthorized"}));
    let response =
        server.request(Method::GET, WS).header("Authorization", "Bearer garbage").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers()["www-authenticate"].to_str().unwrap().contains(r#"error="invalid_token""#));
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"detail": "Invalid or expired token"}));
    let (status, body) =
        server.call(Method::GET, WS, None, &[("Authorization", "Basic YWxpY2U6cGFzcw==")]).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, json!({"detail": "Unauthorized"})));
    let now = now_unix();
    for claims in [
        json!({"sub": "bob@example.com", "iat": now}),
        json!({"sub": "bob@example.com", "exp": now + 60}),
        json!({"email": "bob@example.com", "iat": now, "exp": now + 60}),
        json!({"sub": "bob@example.com", "iat": now - 7200, "exp": now - 3600}),
        json!({"sub": "bob@example.com", "iat": now + 600, "exp": now + 3600}),
        json!({"sub": "bob@example.com", "iat": now, "exp": "9999999999"}),
    ] {
        let (status, body) = server.as_token(&unsigned_token(claims.clone()), Method::GET, WS, None).await;
        assert_eq!(
            (status, body),
            (StatusCode::UNAUTHORIZED, json!({"detail": "Invalid or expired token"})),
            "{claims}"
        );
    }
    // Public paths stay public.
    assert_eq!(server.get("/health/ready").await.0, StatusCode::OK);
    assert_eq!(
        server.get("/apis/auth/discovery").await,
        (StatusCode::OK, json!({"auth_enabled": true, "oidc": null}))
    );
}

#[tokio::test]
async fn unsigned_tokens_are_refused_unless_allowed() {
    let server = TestServer::start("auth:\n  enabled: true\n").await;
    let (status, body) =
        server.as_token(&user_token("bob@example.com", &[], None), Method::GET, WS, None).await;
    assert_eq!(
        (status, body),
        (StatusCode::UNAUTHORIZED, json!({"detail": "Bearer token authentication not configured"}))
    );
    let server = TestServer::start("auth:\n  enabled: true\n  oidc:\n    enabled: true\n    issuer: http://127.0.0.1:9/\n    client_id: nemo-cli\n").await;
    let (status, body) =
        server.as_token(&user_token("bob@example.com", &[], None), Method::GET, WS, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"detail": "Unsigned JWTs are not accepted. Set auth.allow_unsigned_jwt=true for local development."})
    );
}

#[tokio::test]
async fn listing_shows_exactly_what_each_user_may_see() {
    let (server, users) = setup().await;
    let (_, all) = server.as_token(&users.admin, Method::GET, WS, None).await;
    let mut seen = names(&all);
    seen.sort();
    assert_eq!(seen, vec!["default", "system", "ws1"]);
    let (_, bob) = server.as_token(&users.bob, Method::GET, WS, None).await;
    let mut seen = names(&bob);
    seen.sort();
    assert_eq!(seen, vec!["default", "system", "ws1"]);
    let (_, carol) = server.as_token(&users.carol, Method::GET, WS, None).await;
    let mut seen = names(&carol);
    seen.sort();
    assert_eq!(seen, vec!["default", "system"]);
    assert_eq!(carol["pagination"]["total_results"], 2);
}

#[tokio::test]
async fn existence_is_hidden_from_non_members() {
    let (server, users) = setup().await;
    let forbidden = (StatusCode::FORBIDDEN, json!({"detail": "Forbidden"}));
    assert_eq!(server.as_token(&users.carol, Method::GET, &format!("{WS}/ws1"), None).await, forbidden);
    assert_eq!(server.as_token(&users.carol, Method::GET, &format!("{WS}/nope"), None).await, forbidden);
    assert_eq!(server.as_token(&users.bob, Method::GET, &format!("{WS}/nope"), None).await, forbidden);
    let (status, body) = server.as_token(&users.admin, Method::GET, &format!("{WS}/nope"), None).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"detail": "Workspace 'nope' not found"})));
    // A member sees 404 for missing things inside the workspace.
    let (status, _) =
        server.as_token(&users.bob, Method::GET, &format!("{WS}/ws1/projects/missing"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn roles_gate_reads_and_writes() {
    let (server, users) = setup().await;
    let bob = &users.bob;
    assert_eq!(server.as_token(bob, Method::GET, &format!("{WS}/ws1"), None).await.0, StatusCode::OK);
    // ADRs 0013 and 0023: Viewers list members.
    assert_eq!(server.as_token(bob, Method::GET, &format!("{WS}/ws1/members"), None).await.0, StatusCode::OK);
    assert_eq!(
        server.as_token(bob, Method::PUT, &format!("{WS}/ws1"), Some(json!({"description": "x"}))).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        server
            .as_token(bob, Method::POST, &format!("{WS}/ws1/projects"), Some(json!({"name": "p1"})))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    server
        .as_token(
            &users.admin,
            Method::PUT,
            &format!("{WS}/ws1/members/bob@example.com"),
            Some(json!({"roles": ["Editor"]})),
        )
        .await;
    // Effective on the very next request (ADR 0017).
    assert_eq!(
        server
            .as_token(bob, Method::POST, &format!("{WS}/ws1/projects"), Some(json!({"name": "p1"})))
            .await
            .0,
        StatusCode::CREATED
    );
    // Editors still cannot update or delete the workspace, nor manage members (ADR 0013).
    assert_eq!(
        server.as_token(bob, Method::PUT, &format!("{WS}/ws1"), Some(json!({"description": "x"}))).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        server.as_token(bob, Method::DELETE, &format!("{WS}/ws1"), None).await.0,
        StatusCode::FORBIDDEN
    );
    let escalate = json!({"principal": "bob@example.com", "roles": ["Admin"]});
    assert_eq!(
        server.as_token(bob, Method::POST, &format!("{WS}/ws1/members"), Some(escalate)).await.0,
        StatusCode::FORBIDDEN
    );
    // Any user may create a workspace and becomes its Admin.
    let (status, created) =
        server.as_token(&users.carol, Method::POST, WS, Some(json!({"name": "carolws"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["created_by"], "carol@example.com");
    let (_, members) =
        server.as_token(&users.carol, Method::GET, &format!("{WS}/carolws/members"), None).await;
    assert_eq!(
        members["data"][0],
        json!({"principal": "carol@example.com", "roles": ["Admin"], "granted_at": members["data"][0]["granted_at"], "granted_by": "carol@example.com"})
    );
    // An Admin of one workspace cannot grant in another, nor grant PlatformAdmin.
    let grant = json!({"principal": "carol@example.com", "roles": ["Admin"]});
    assert_eq!(
        server.as_token(&users.carol, Method::POST, &format!("{WS}/ws1/members"), Some(grant)).await.0,
        StatusCode::FORBIDDEN
    );
    let platform = json!({"principal": "carol@example.com", "role": "PlatformAdmin"});
    assert_eq!(
        server
            .as_token(&users.carol, Method::POST, "/apis/auth/v2/iam/role-bindings", Some(platform))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let platform = json!({"principal": "carol@example.com", "roles": ["PlatformAdmin"]});
    assert_eq!(
        server.as_token(&users.carol, Method::POST, &format!("{WS}/system/members"), Some(platform)).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn revoked_members_are_denied_on_their_next_request() {
    let (server, users) = setup().await;
    assert_eq!(server.as_token(&users.bob, Method::GET, &format!("{WS}/ws1"), None).await.0, StatusCode::OK);
    let (status, _) = server
        .as_token(&users.admin, Method::DELETE, &format!("{WS}/ws1/members/bob@example.com"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        server.as_token(&users.bob, Method::GET, &format!("{WS}/ws1"), None).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, list) = server.as_token(&users.bob, Method::GET, WS, None).await;
    assert!(!names(&list).contains(&"ws1".to_string()));
}

#[tokio::test]
async fn groups_and_wildcards_grant_access() {
    let (server, users) = setup().await;
    server
        .as_token(
            &users.admin,
            Method::POST,
            &format!("{WS}/ws1/members"),
            Some(json!({"principal": "ml-team", "roles": ["Editor"]})),
        )
        .await;
    let dana = user_token("dana@example.com", &["ml-team"], None);
    assert_eq!(
        server
            .as_token(&dana, Method::POST, &format!("{WS}/ws1/projects"), Some(json!({"name": "p2"})))
            .await
            .0,
        StatusCode::CREATED
    );
    let erin = user_token("erin@example.com", &[], None);
    assert_eq!(
        server.as_token(&erin, Method::GET, &format!("{WS}/ws1"), None).await.0,
        StatusCode::FORBIDDEN
    );
    server
        .as_token(
            &users.admin,
            Method::POST,
            &format!("{WS}/ws1/members"),
            Some(json!({"principal": "*", "roles": ["Viewer"]})),
        )
        .await;
    assert_eq!(server.as_token(&erin, Method::GET, &format!("{WS}/ws1"), None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn token_scopes_narrow_what_roles_allow() {
    let (server, users) = setup().await;
    let admin_read_only = user_token("bob@example.com", &[], Some("platform:read"));
    server
        .as_token(
            &users.admin,
            Method::PUT,
            &format!("{WS}/ws1/members/bob@example.com"),
            Some(json!({"roles": ["Editor"]})),
        )
        .await;
    assert_eq!(
        server.as_token(&admin_read_only, Method::GET, &format!("{WS}/ws1"), None).await.0,
        StatusCode::OK
    );
    let response = server
        .request(Method::POST, &format!("{WS}/ws1/projects"))
        .header("Authorization", format!("Bearer {admin_read_only}"))
        .json(&json!({"name": "p3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers()["www-authenticate"].to_str().unwrap().contains("insufficient_scope"));
    let writer = user_token("bob@example.com", &[], Some("openid platform:read platform:write"));
    assert_eq!(
        server
            .as_token(&writer, Method::POST, &format!("{WS}/ws1/projects"), Some(json!({"name": "p3"})))
            .await
            .0,
        StatusCode::CREATED
    );
    // Only colon-less scopes: the scope layer is skipped.
    let oidc_only = user_token("bob@example.com", &[], Some("openid profile"));
    assert_eq!(
        server
            .as_token(&oidc_only, Method::POST, &format!("{WS}/ws1/projects"), Some(json!({"name": "p4"})))
            .await
            .0,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn principal_headers_are_refused_without_a_trusted_gateway() {
    let (server, users) = setup().await;
    let spoof = [("X-NMP-Principal-Id", "admin@example.com")];
    let (status, body) = server.call(Method::GET, &format!("{WS}/ws1/members"), None, &spoof).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("trusted gateway"));
    let bob = format!("Bearer {}", users.bob);
    let spoof_with_token = [("Authorization", bob.as_str()), ("X-NMP-Principal-Id", "admin@example.com")];
    assert_eq!(
        server.call(Method::DELETE, &format!("{WS}/ws1"), None, &spoof_with_token).await.0,
        StatusCode::UNAUTHORIZED
    );
    let service = [("X-NMP-Principal-Id", "service:jobs")];
    assert_eq!(
        server.call(Method::GET, "/apis/auth/v2/iam/role-bindings", None, &service).await.0,
        StatusCode::UNAUTHORIZED
    );
    // A token cannot claim a service identity either.
    let service_token = user_token("service:jobs", &[], None);
    assert_eq!(
        server.as_token(&service_token, Method::GET, "/apis/auth/v2/iam/role-bindings", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // X-NMP-Authorized is never trusted.
    let carol = format!("Bearer {}", users.carol);
    let authorized = [("Authorization", carol.as_str()), ("X-NMP-Authorized", "true")];
    assert_eq!(
        server.call(Method::GET, &format!("{WS}/ws1"), None, &authorized).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn iam_api_is_for_platform_admins_and_services() {
    let (server, users) = setup().await;
    assert_eq!(
        server.as_token(&users.admin, Method::GET, "/apis/auth/v2/iam/role-bindings", None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        server.as_token(&users.bob, Method::GET, "/apis/auth/v2/iam/role-bindings", None).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, _) = server
        .as_token(&users.bob, Method::POST, "/apis/auth/v2/authz/allow", Some(json!({"input": {}})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server.post("/apis/auth/v2/authz/allow", json!({"input": {}})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
