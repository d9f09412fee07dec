//! Issue 4 end to end: real IdP tokens for a Viewer, an Editor, an Admin, the PlatformAdmin and a
//! user with no role, against every endpoint of our server, each answer checked exactly.

use nmp_testkit::TestIdp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::oidc::{login, oidc_yaml, start_idp, wait_ready};
use super::support::TestServer;

const SCOPES: &str = "openid email platform:read platform:write";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    PlatformAdmin,
    Admin,
    Editor,
    Viewer,
    NoRole,
}

const EVERYONE: &[Who] = &[Who::PlatformAdmin, Who::Admin, Who::Editor, Who::Viewer, Who::NoRole];

/// One endpoint: who may call it, what success looks like, and what to (re)create first.
struct Case {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    allowed: &'static [Who],
    success: StatusCode,
    /// Run as the platform admin before each allowed attempt, so every attempt sees the same state.
    setup: Option<(Method, &'static str, Value)>,
}

fn case(
    method: Method,
    path: &'static str,
    body: Option<Value>,
    allowed: &'static [Who],
    success: StatusCode,
) -> Case {
    Case { method, path, body, allowed, success, setup: None }
}

const ADMIN_UP: &[Who] = &[Who::PlatformAdmin, Who::Admin];
const EDITOR_UP: &[Who] = &[Who::PlatformAdmin, Who::Admin, Who::Editor];
const VIEWER_UP: &[Who] = &[Who::PlatformAdmin, Who::Admin, Who::Editor, Who::Viewer];
const PLATFORM: &[Who] = &[Who::PlatformAdmin];

fn cases() -> Vec<Case> {
    let ws = "/apis/entities/v2/workspaces/ws1";
    let _ = ws;
    vec![
        case(Method::GET, "/apis/entities/v2/workspaces", None, EVERYONE, StatusCode::OK),
        case(Method::GET, "/apis/entities/v2/workspaces/ws1", None, VIEWER_UP, StatusCode::OK),
        case(
            Method::PUT,
            "/apis/entities/v2/workspaces/ws1",
            Some(json!({"description": "d"})),
            ADMIN_UP,
            StatusCode::OK,
        ),
        case(Method::GET, "/apis/entities/v2/workspaces/ws1/members", None, VIEWER_UP, StatusCode::OK),
        case(
            Method::POST,
            "/apis/entities/v2/workspaces/ws1/members",
            Some(json!({"principal": "zed@example.com", "roles": ["Viewer"]})),
            ADMIN_UP,
            StatusCode::CREATED,
        ),
        case(
            Method::PUT,
            "/apis/entities/v2/workspaces/ws1/members/zed@example.com",
            Some(json!({"roles": ["Editor"]})),
            ADMIN_UP,
            StatusCode::OK,
        ),
        Case {
            setup: Some((
                Method::POST,
                "/apis/entities/v2/workspaces/ws1/members",
                json!({"principal": "yve@example.com", "roles": ["Viewer"]}),
            )),
            ..case(
                Method::DELETE,
                "/apis/entities/v2/workspaces/ws1/members/yve@example.com",
                None,
                ADMIN_UP,
                StatusCode::OK,
            )
        },
        case(Method::GET, "/apis/entities/v2/workspaces/ws1/projects", None, VIEWER_UP, StatusCode::OK),
        Case {
            setup: Some((Method::DELETE, "/apis/entities/v2/workspaces/ws1/projects/p-new", json!(null))),
            ..case(
                Method::POST,
                "/apis/entities/v2/workspaces/ws1/projects",
                Some(json!({"name": "p-new"})),
                EDITOR_UP,
                StatusCode::CREATED,
            )
        },
        case(Method::GET, "/apis/entities/v2/workspaces/ws1/projects/p1", None, VIEWER_UP, StatusCode::OK),
        case(
            Method::PUT,
            "/apis/entities/v2/workspaces/ws1/projects/p1",
            Some(json!({"description": "x"})),
            EDITOR_UP,
            StatusCode::OK,
        ),
        Case {
            setup: Some((
                Method::POST,
                "/apis/entities/v2/workspaces/ws1/projects",
                json!({"name": "p-gone"}),
            )),
            ..case(
                Method::DELETE,
                "/apis/entities/v2/workspaces/ws1/projects/p-gone",
                None,
                EDITOR_UP,
                StatusCode::OK,
            )
        },
        case(Method::GET, "/apis/auth/v2/iam/role-bindings", None, PLATFORM, StatusCode::OK),
        Case {
            setup: Some((
                Method::DELETE,
                "/apis/entities/v2/workspaces/ws1/members/xan@example.com",
                json!(null),
            )),
            ..case(
                Method::POST,
                "/apis/auth/v2/iam/role-bindings",
                Some(json!({"principal": "xan@example.com", "workspace": "ws1", "role": "Viewer"})),
                PLATFORM,
                StatusCode::CREATED,
            )
        },
        case(
            Method::GET,
            "/apis/auth/v2/iam/role-bindings/wildcard-default-editor",
            None,
            PLATFORM,
            StatusCode::OK,
        ),
        case(Method::GET, "/apis/auth/v2/iam/opa-bundle.tar.gz", None, PLATFORM, StatusCode::OK),
        case(Method::GET, "/apis/auth/authenticate", None, EVERYONE, StatusCode::OK),
    ]
}

struct World {
    server: TestServer,
    _idp: TestIdp,
    tokens: Vec<(Who, String)>,
}

impl World {
    fn token(&self, who: Who) -> &str {
        &self.tokens.iter().find(|(w, _)| *w == who).expect("a token").1
    }

    async fn call(&self, who: Who, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.server.as_token(self.token(who), method, path, body).await
    }
}

/// ws1 with alice (by subject) Admin, bob Editor, carol Viewer (by email); `nobody` is carol
/// against ws2, where she has no role, so the no-role column uses the same routes on ws2.
async fn world() -> World {
    let idp = start_idp().await;
    let server = TestServer::start(&oidc_yaml(&idp, 300, "")).await;
    wait_ready(&server).await;
    let admin = login(&idp, "admin@example.com", SCOPES).await;
    let (status, body) = server
        .as_token(&admin, Method::POST, "/apis/entities/v2/workspaces", Some(json!({"name": "ws1"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for (principal, role) in
        [("u-alice", "Admin"), ("bob@example.com", "Editor"), ("carol@example.com", "Viewer")]
    {
        let member = json!({"principal": principal, "roles": [role]});
        let (status, body) = server
            .as_token(&admin, Method::POST, "/apis/entities/v2/workspaces/ws1/members", Some(member))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, _) = server
        .as_token(
            &admin,
            Method::POST,
            "/apis/entities/v2/workspaces/ws1/projects",
            Some(json!({"name": "p1"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let tokens = vec![
        (Who::PlatformAdmin, admin),
        (Who::Admin, login(&idp, "alice@example.com", SCOPES).await),
        (Who::Editor, login(&idp, "bob@example.com", SCOPES).await),
        (Who::Viewer, login(&idp, "carol@example.com", SCOPES).await),
        (Who::NoRole, login(&idp, "carol@example.com", SCOPES).await),
    ];
    World { server, _idp: idp, tokens }
}

#[tokio::test]
async fn every_role_against_every_endpoint() {
    let world = world().await;
    // The no-role caller is refused the same way whether or not the workspace exists (ADR 0014).
    let mut failures = Vec::new();
    for case in cases() {
        for &who in EVERYONE {
            let allowed = case.allowed.contains(&who);
            // The no-role user is carol: on ws1 she is a Viewer, so she is checked on ws2 instead.
            let path =
                if who == Who::NoRole { case.path.replace("/ws1", "/ws2") } else { case.path.to_string() };
            if allowed {
                if let Some((method, setup_path, body)) = &case.setup {
                    let body = if body.is_null() { None } else { Some(body.clone()) };
                    world.call(Who::PlatformAdmin, method.clone(), setup_path, body).await;
                }
            }
            let (status, body) = world.call(who, case.method.clone(), &path, case.body.clone()).await;
            let expected = if allowed { case.success } else { StatusCode::FORBIDDEN };
            if status != expected {
                failures.push(format!(
                    "{who:?} {} {path}: expected {expected}, got {status} {body}",
                    case.method
                ));
            }
            if !allowed && body != json!({"detail": "Forbidden"}) {
                failures.push(format!("{who:?} {} {path}: denial body {body}", case.method));
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn only_admins_delete_workspaces_and_revocation_is_immediate() {
    let world = world().await;
    for who in [Who::Editor, Who::Viewer] {
        let (status, _) = world.call(who, Method::DELETE, "/apis/entities/v2/workspaces/ws1", None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who:?}");
    }
    // Bob (Editor) loses his role: his very next request is denied.
    let (status, _) = world.call(Who::Editor, Method::GET, "/apis/entities/v2/workspaces/ws1", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = world
        .call(Who::Admin, Method::DELETE, "/apis/entities/v2/workspaces/ws1/members/bob@example.com", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = world.call(Who::Editor, Method::GET, "/apis/entities/v2/workspaces/ws1", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Escalation: the Admin of ws1 cannot make anyone PlatformAdmin, nor act on another workspace.
    let grant = json!({"principal": "u-alice", "roles": ["PlatformAdmin"]});
    let (status, _) = world
        .call(Who::Admin, Method::POST, "/apis/entities/v2/workspaces/system/members", Some(grant))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let grant = json!({"principal": "u-alice", "roles": ["Admin"]});
    let (status, _) = world
        .call(Who::Admin, Method::POST, "/apis/entities/v2/workspaces/default/members", Some(grant))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The Admin may delete once the workspace is empty.
    world.call(Who::Admin, Method::DELETE, "/apis/entities/v2/workspaces/ws1/projects/p1", None).await;
    let (status, body) =
        world.call(Who::Admin, Method::DELETE, "/apis/entities/v2/workspaces/ws1", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
