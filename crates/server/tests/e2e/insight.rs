//! Access insight over real HTTP: `whoami`, `explain` (for oneself and for others), the caller's
//! permissions in a workspace (`can-i --list`) and `who-can`, with quickstart tokens and with
//! tokens from the real test IdP; who may ask, and existence hiding (a foreign workspace and a
//! missing one answer alike).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::oidc::{login, oidc_yaml, start_idp, wait_ready};
use super::support::{user_token, TestServer, QUICKSTART};

const WS: &str = "/apis/entities/v2/workspaces";
const EXPLAIN: &str = "/apis/auth/v2/explain";

fn permissions(workspace: &str) -> String {
    format!("/apis/auth/v2/workspaces/{workspace}/permissions")
}

fn who_can(workspace: &str, permission: &str) -> String {
    format!("/apis/auth/v2/workspaces/{workspace}/who-can?permission={permission}")
}

async fn add_member(server: &TestServer, admin: &str, workspace: &str, principal: &str, role: &str) {
    let (status, body) = server
        .as_token(
            admin,
            Method::POST,
            &format!("{WS}/{workspace}/members"),
            Some(json!({"principal": principal, "roles": [role]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{principal} {role}: {body}");
}

async fn create_workspace(server: &TestServer, token: &str, name: &str) {
    let (status, body) = server.as_token(token, Method::POST, WS, Some(json!({"name": name}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Quickstart world: ws1 with dave as Admin, bob as Viewer, group `ml-readers` as Viewer;
/// ws2 that only the admin belongs to.
struct World {
    server: TestServer,
    admin: String,
    bob: String,
    carol: String,
    dave: String,
    eve: String,
}

async fn world() -> World {
    let server = TestServer::start(QUICKSTART).await;
    let world = World {
        admin: user_token("admin@example.com", &[], None),
        bob: user_token("bob@example.com", &[], None),
        carol: user_token("carol@example.com", &["ml-readers"], None),
        dave: user_token("dave@example.com", &[], None),
        eve: user_token("eve@example.com", &[], None),
        server,
    };
    create_workspace(&world.server, &world.admin, "ws1").await;
    create_workspace(&world.server, &world.admin, "ws2").await;
    add_member(&world.server, &world.admin, "ws1", "dave@example.com", "Admin").await;
    add_member(&world.server, &world.admin, "ws1", "bob@example.com", "Viewer").await;
    add_member(&world.server, &world.admin, "ws1", "ml-readers", "Viewer").await;
    world
}

async fn explain(server: &TestServer, token: &str, body: Value) -> (StatusCode, Value) {
    server.as_token(token, Method::POST, EXPLAIN, Some(body)).await
}

#[tokio::test]
async fn whoami_reports_identity_token_and_platform_roles() {
    let w = world().await;
    let (status, me) = w.server.as_token(&w.carol, Method::GET, "/apis/auth/v2/whoami", None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["principal"], "carol@example.com");
    assert_eq!(me["groups"], json!(["ml-readers"]));
    assert_eq!(me["token_kind"], "unsigned_token");
    assert!(me["expires_at"].as_str().is_some_and(|at| at.ends_with('Z')), "{me}");
    assert_eq!(
        me["platform_roles"],
        json!(["Viewer", "WorkspaceCreator"]),
        "the seed `*` bindings in system"
    );
    assert_eq!(me["platform_admin"], false);
    let (_, admin) = w.server.as_token(&w.admin, Method::GET, "/apis/auth/v2/whoami", None).await;
    assert_eq!(admin["platform_admin"], true, "{admin}");
    assert!(admin["platform_roles"].as_array().unwrap().contains(&json!("PlatformAdmin")));
    // Anonymous: 401 like every other decided path.
    assert_eq!(w.server.get("/apis/auth/v2/whoami").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn explain_names_the_missing_permission_the_role_and_the_fix_that_works() {
    let w = world().await;
    let members = format!("{WS}/ws1/members");
    let (status, why) = explain(&w.server, &w.carol, json!({"method": "post", "path": members})).await;
    assert_eq!(status, StatusCode::OK, "{why}");
    assert_eq!(why["allowed"], false);
    assert_eq!(why["reason"], "MissingPermissions");
    assert_eq!(why["endpoint"], "/apis/entities/v2/workspaces/{workspace}/members");
    assert_eq!(why["workspace"], "ws1");
    assert_eq!(why["required_permissions"], json!(["workspaces.members.create"]));
    assert_eq!(
        why["summary"],
        "denied: needs `workspaces.members.create` in `ws1`: Admin grants it; holds Viewer through group \
         `ml-readers`; to allow it: grant Admin to `carol@example.com` in `ws1`"
    );
    assert_eq!(
        why["bindings"],
        json!([{"workspace": "ws1", "role": "Viewer", "through": "ml-readers", "through_kind": "group", "grants": []}])
    );
    let kinds: Vec<&str> =
        why["identities"].as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["id", "group", "wildcard"], "carol's sub is her email: one identity");
    let suggestion = why["suggestion"].as_array().unwrap();
    assert_eq!(suggestion.len(), 1);
    assert_eq!(
        suggestion[0],
        json!({"kind": "grant", "principal": "carol@example.com", "workspace": "ws1", "role": "Admin"})
    );

    // The request is refused now, and allowed once the suggested binding exists.
    let new_member = json!({"principal": "frank@example.com", "roles": ["Viewer"]});
    assert_eq!(
        w.server.as_token(&w.carol, Method::POST, &members, Some(new_member.clone())).await.0,
        StatusCode::FORBIDDEN
    );
    add_member(&w.server, &w.admin, "ws1", "carol@example.com", "Admin").await;
    assert_eq!(
        w.server.as_token(&w.carol, Method::POST, &members, Some(new_member)).await.0,
        StatusCode::CREATED
    );
    let (_, why) = explain(&w.server, &w.carol, json!({"method": "POST", "path": members})).await;
    assert_eq!(why["allowed"], true, "{why}");
    assert_eq!(why["reason"], "RoleGrants");
    assert_eq!(why["suggestion"], json!([]));

    // A token without the scope: the scope comes first in the fix.
    let scoped = user_token("bob@example.com", &[], Some("entities:read"));
    let (_, why) =
        explain(&w.server, &scoped, json!({"method": "POST", "path": format!("{WS}/ws1/projects")})).await;
    assert_eq!(why["reason"], "MissingScope", "{why}");
    assert_eq!(
        why["suggestion"][0],
        json!({"kind": "add_scope", "scope": "entities:write", "accepted": ["entities:write", "platform:write"]})
    );
    assert_eq!(why["suggestion"][1]["role"], "Editor");
    assert_eq!(why["token_scopes"], json!(["entities:read"]));
}

#[tokio::test]
async fn explaining_a_foreign_or_missing_workspace_tells_nothing_more_than_the_403() {
    let w = world().await;
    // eve holds no role in ws1, which exists with members, nor in ghost, which does not exist.
    for (method, suffix) in [("GET", ""), ("DELETE", ""), ("GET", "/members"), ("POST", "/projects")] {
        let real = format!("{WS}/ws1{suffix}");
        let ghost = format!("{WS}/ghost{suffix}");
        assert_eq!(
            w.server.as_token(&w.eve, method.parse().unwrap(), &real, None).await.0,
            StatusCode::FORBIDDEN
        );
        let (status, on_real) = explain(&w.server, &w.eve, json!({"method": method, "path": real})).await;
        assert_eq!(status, StatusCode::OK);
        let (_, on_ghost) = explain(&w.server, &w.eve, json!({"method": method, "path": ghost})).await;
        assert_eq!(on_real["allowed"], false);
        assert_eq!(
            on_real.to_string().replace("ws1", "W"),
            on_ghost.to_string().replace("ghost", "W"),
            "{method} {suffix}"
        );
        assert!(!on_real.to_string().contains("dave"), "no member of ws1 is named: {on_real}");
    }
    // The same for who-can and for explaining someone else: the middleware's 403, word for word.
    let (real, ghost) = (
        w.server.as_token(&w.eve, Method::GET, &who_can("ws1", "workspaces.read"), None).await,
        w.server.as_token(&w.eve, Method::GET, &who_can("ghost", "workspaces.read"), None).await,
    );
    assert_eq!(real.0, StatusCode::FORBIDDEN);
    assert_eq!(real, ghost);
    let ask = |path: String| json!({"method": "GET", "path": path, "principal": "bob@example.com"});
    let real = explain(&w.server, &w.eve, ask(format!("{WS}/ws1"))).await;
    let ghost = explain(&w.server, &w.eve, ask(format!("{WS}/ghost"))).await;
    assert_eq!(real, (StatusCode::FORBIDDEN, json!({"detail": "Forbidden"})));
    assert_eq!(real, ghost);
    // A member's own permission list in a workspace they cannot see is empty, as for a missing one.
    let (_, real) = w.server.as_token(&w.eve, Method::GET, &permissions("ws1"), None).await;
    let (_, ghost) = w.server.as_token(&w.eve, Method::GET, &permissions("ghost"), None).await;
    assert_eq!(real["permissions"], json!([]));
    assert_eq!(real["roles"], ghost["roles"]);
    assert_eq!(real["permissions"], ghost["permissions"]);
}

#[tokio::test]
async fn explain_for_others_is_for_platform_admins_and_the_workspace_admins() {
    let w = world().await;
    let about_bob = |path: String| json!({"method": "DELETE", "path": path, "principal": "bob@example.com", "email": "bob@example.com"});
    // dave is Admin of ws1: he may explain bob's access there, not in ws2 nor platform-wide.
    let (status, why) = explain(&w.server, &w.dave, about_bob(format!("{WS}/ws1"))).await;
    assert_eq!(status, StatusCode::OK, "{why}");
    assert_eq!(why["principal"], "bob@example.com");
    assert_eq!(why["reason"], "MissingPermissions");
    assert_eq!(why["suggestion"][0]["role"], "Admin");
    assert_eq!(explain(&w.server, &w.dave, about_bob(format!("{WS}/ws2"))).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        explain(&w.server, &w.dave, json!({"method": "GET", "path": "/apis/auth/v2/iam/role-bindings", "principal": "bob@example.com"})).await.0,
        StatusCode::FORBIDDEN
    );
    // bob (a Viewer) may not look at carol's access; the PlatformAdmin may look at anyone's.
    assert_eq!(
        explain(
            &w.server,
            &w.bob,
            json!({"method": "GET", "path": format!("{WS}/ws1"), "principal": "carol@example.com"})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (status, why) = explain(
        &w.server,
        &w.admin,
        json!({"method": "GET", "path": format!("{WS}/ws1/members"), "principal": "c", "groups": ["ml-readers"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{why}");
    assert_eq!(why["allowed"], true);
    assert_eq!(why["bindings"][0]["through"], "ml-readers");
    // Bad input: 422 naming the field.
    for (body, field) in [
        (json!({"method": "GET"}), "path"),
        (json!({"method": "G T", "path": "/x"}), "method"),
        (json!({"method": "GET", "path": "x"}), "path"),
        (json!({"method": "GET", "path": "/x", "email": "a@b.c"}), "principal"),
        (json!({"method": "GET", "path": "/x", "principal": "bad id!"}), "principal"),
        (json!({"method": "GET", "path": "/x", "colour": "red"}), "colour"),
    ] {
        let (status, answer) = explain(&w.server, &w.admin, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["detail"][0]["loc"], json!(["body", field]), "{answer}");
    }
}

#[tokio::test]
async fn can_i_list_and_who_can_with_quickstart_tokens() {
    let w = world().await;
    let (status, mine) = w.server.as_token(&w.bob, Method::GET, &permissions("ws1"), None).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["roles"], json!(["Viewer"]));
    let held: Vec<&str> =
        mine["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert!(held.contains(&"workspaces.read") && held.contains(&"workspaces.members.list"), "{held:?}");
    assert!(!held.contains(&"workspaces.delete") && !held.contains(&"projects.create"), "{held:?}");
    let one = format!("{}?permission=workspaces.delete", permissions("ws1"));
    assert_eq!(w.server.as_token(&w.bob, Method::GET, &one, None).await.1["permissions"], json!([]));
    let one = format!("{}?permission=workspaces.read", permissions("ws1"));
    assert_eq!(
        w.server.as_token(&w.bob, Method::GET, &one, None).await.1["permissions"],
        json!(["workspaces.read"])
    );
    let unknown = format!("{}?permission=workspaces.explode", permissions("ws1"));
    let (status, answer) = w.server.as_token(&w.bob, Method::GET, &unknown, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.to_string().contains("workspaces.explode"), "{answer}");

    // who-can: the workspace's Admin and the PlatformAdmin may ask, a Viewer may not.
    for asker in [&w.admin, &w.dave] {
        let (status, who) =
            w.server.as_token(asker, Method::GET, &who_can("ws1", "workspaces.members.create"), None).await;
        assert_eq!(status, StatusCode::OK, "{who}");
        let holders = who["holders"].as_array().unwrap();
        assert!(holders.contains(&json!({"principal": "dave@example.com", "role": "Admin", "workspace": "ws1", "via": "binding"})), "{who}");
        assert!(holders.contains(&json!({"principal": "admin@example.com", "role": "PlatformAdmin", "workspace": "system", "via": "platform_admin"})), "{who}");
        assert!(!who.to_string().contains("bob@example.com"), "a Viewer cannot add members: {who}");
    }
    let (_, readers) =
        w.server.as_token(&w.dave, Method::GET, &who_can("ws1", "workspaces.read"), None).await;
    let readers = readers["holders"].as_array().unwrap();
    assert!(readers.iter().any(|h| h["principal"] == "ml-readers" && h["via"] == "binding"), "{readers:?}");
    assert!(readers.iter().any(|h| h["principal"] == "bob@example.com"), "{readers:?}");
    assert_eq!(
        w.server.as_token(&w.bob, Method::GET, &who_can("ws1", "workspaces.read"), None).await.0,
        StatusCode::FORBIDDEN
    );
    // The default workspace's seed `*` Editor binding shows up as a wildcard holder.
    let (_, default) =
        w.server.as_token(&w.admin, Method::GET, &who_can("default", "projects.create"), None).await;
    assert!(
        default["holders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["principal"] == "*" && h["via"] == "wildcard"),
        "{default}"
    );
    let (status, answer) =
        w.server.as_token(&w.admin, Method::GET, "/apis/auth/v2/workspaces/ws1/who-can", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
}

#[tokio::test]
async fn insight_with_auth_off_says_everything_is_allowed() {
    let server = TestServer::auth_off().await;
    let (status, body) =
        server.post(EXPLAIN, json!({"method": "GET", "path": "/apis/entities/v2/workspaces"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].as_str().unwrap().contains("auth.enabled: false"), "{body}");
    let (status, me) = server.get("/apis/auth/v2/whoami").await;
    assert_eq!((status, &me["auth_enabled"]), (StatusCode::OK, &json!(false)));
}

#[tokio::test]
async fn can_i_who_can_and_explain_with_idp_tokens() {
    let idp = start_idp().await;
    let server = TestServer::start(&oidc_yaml(&idp, 300, "")).await;
    wait_ready(&server).await;
    let scopes = "openid email platform:read platform:write";
    let admin = login(&idp, "admin@example.com", scopes).await;
    let alice = login(&idp, "alice@example.com", scopes).await;
    let bob = login(&idp, "bob@example.com", "openid email platform:read").await;
    create_workspace(&server, &admin, "idp-team").await;
    add_member(&server, &admin, "idp-team", "ml-team", "Editor").await;
    add_member(&server, &admin, "idp-team", "bob@example.com", "Editor").await;

    let (_, me) = server.as_token(&alice, Method::GET, "/apis/auth/v2/whoami", None).await;
    assert_eq!(me["principal"], "u-alice", "{me}");
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["groups"], json!(["ml-team"]));
    assert_eq!(me["token_kind"], "oidc_access_token");
    assert!(me["scopes"].as_array().unwrap().contains(&json!("platform:write")), "{me}");

    // alice is Editor through her group: may create projects, not delete the workspace.
    let (_, mine) = server.as_token(&alice, Method::GET, &permissions("idp-team"), None).await;
    assert!(mine["permissions"].as_array().unwrap().contains(&json!("projects.create")), "{mine}");
    let (_, why) =
        explain(&server, &alice, json!({"method": "POST", "path": format!("{WS}/idp-team/projects")})).await;
    assert_eq!(why["allowed"], true, "{why}");
    assert_eq!(why["bindings"][0]["through"], "ml-team");
    // bob's token lacks platform:write: Editor is not enough without the scope.
    let (_, why) =
        explain(&server, &bob, json!({"method": "POST", "path": format!("{WS}/idp-team/projects")})).await;
    assert_eq!(why["reason"], "MissingScope", "{why}");
    assert_eq!(
        why["suggestion"],
        json!([{"kind": "add_scope", "scope": "entities:write", "accepted": ["entities:write", "platform:write"]}])
    );
    let (status, _) = server
        .as_token(&bob, Method::POST, &format!("{WS}/idp-team/projects"), Some(json!({"name": "p"})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "and the decision agrees");

    let (status, who) =
        server.as_token(&admin, Method::GET, &who_can("idp-team", "projects.create"), None).await;
    assert_eq!(status, StatusCode::OK, "{who}");
    let holders = who["holders"].as_array().unwrap();
    assert!(
        holders.contains(
            &json!({"principal": "ml-team", "role": "Editor", "workspace": "idp-team", "via": "binding"})
        ),
        "{who}"
    );
    assert!(holders.contains(&json!({"principal": "admin@example.com", "role": "Admin", "workspace": "idp-team", "via": "binding"})), "{who}");
    assert_eq!(
        server.as_token(&alice, Method::GET, &who_can("idp-team", "projects.create"), None).await.0,
        StatusCode::FORBIDDEN
    );
}
