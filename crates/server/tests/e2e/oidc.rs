//! Auth on with a real OpenID provider (`nmp_testkit::TestIdp`): device-flow tokens accepted and
//! inspected, key rotation and removal, IdP outages (warm and cold), every signing algorithm the
//! IdP uses, ID tokens refused, discovery, and workspace access bound by email and by group.

use std::future::Future;
use std::time::{Duration, Instant};

use nmp_testkit::{decode_jwt_unverified, TestIdp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::support::{read, TestServer};

const WS: &str = "/apis/entities/v2/workspaces";
const READ_WRITE: &str = "openid email platform:read platform:write";

/// The server config for `idp`: auth and OIDC on, audience and client as the IdP issues them.
/// `refresh` is the background JWKS refresh period; `extra` is appended under `auth.oidc`.
pub(super) fn oidc_yaml(idp: &TestIdp, refresh_seconds: u64, extra_oidc: &str) -> String {
    format!(
        "auth:\n  enabled: true\n  admin_email: admin@example.com\n  oidc:\n    enabled: true\n    \
         issuer: {issuer}\n    audience: {audience}\n    client_id: {client}\n    \
         jwks_refresh_interval_seconds: {refresh_seconds}\n    jwks_unknown_kid_cooldown_seconds: 1\n{extra_oidc}",
        issuer = idp.issuer(),
        audience = idp.audience(),
        client = idp.client_id(),
    )
}

pub(super) async fn start_idp() -> TestIdp {
    TestIdp::start().await.expect("the test IdP starts (node and tests/idp are needed)")
}

/// Polls `check` every 100 ms until it holds; fails the test after `timeout`.
pub(super) async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(super) async fn wait_ready(server: &TestServer) {
    wait_until("the server is ready", Duration::from_secs(20), || async {
        server.get("/health/ready").await.0 == StatusCode::OK
    })
    .await;
}

pub(super) async fn login(idp: &TestIdp, user: &str, scopes: &str) -> String {
    idp.device_login(user, scopes).await.expect("device login").access_token
}

/// `GET /apis/auth/authenticate` with `token`: status and body.
async fn inspect(server: &TestServer, token: &str) -> (StatusCode, Value) {
    server.as_token(token, Method::GET, "/apis/auth/authenticate", None).await
}

fn kid(token: &str) -> String {
    let (header, _) = decode_jwt_unverified(token).expect("a JWT");
    header["kid"].as_str().expect("kid").to_string()
}

#[tokio::test]
async fn device_login_token_is_accepted_and_names_the_principal() {
    let idp = start_idp().await;
    let server = TestServer::start(&oidc_yaml(&idp, 300, "")).await;
    wait_ready(&server).await;
    let token = login(&idp, "alice@example.com", READ_WRITE).await;

    let response = server
        .request(Method::GET, "/apis/auth/authenticate")
        .bearer_auth(&token)
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-nmp-principal-id"], "u-alice");
    assert_eq!(headers["x-nmp-principal-email"], "alice@example.com");
    assert_eq!(headers["x-nmp-principal-groups"], "ml-team");
    let mut header_scopes: Vec<&str> = headers["x-nmp-scopes"].to_str().unwrap().split(' ').collect();
    header_scopes.sort_unstable();
    assert_eq!(header_scopes, ["platform:read", "platform:write"]);
    let (_, body) = read(response).await;
    assert_eq!(body["principal"], "u-alice");
    assert_eq!(body["email"], "alice@example.com");
    assert_eq!(body["groups"], json!(["ml-team"]));
    assert_eq!(body["token_kind"], "oidc_access_token");
    let mut scopes: Vec<&str> =
        body["scopes"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["platform:read", "platform:write"]);
    let (_, claims) = decode_jwt_unverified(&token).unwrap();
    assert_eq!(body["jti"], claims["jti"], "jti comes from the token");

    // The same token works on a protected route, and a read-only token is narrowed by its scope.
    assert_eq!(server.as_token(&token, Method::GET, WS, None).await.0, StatusCode::OK);
    let read_only = login(&idp, "alice@example.com", "openid platform:read").await;
    assert_eq!(inspect(&server, &read_only).await.1["scopes"], json!(["platform:read"]));
    let (status, _) = server
        .as_token(&read_only, Method::POST, &format!("{WS}/default/projects"), Some(json!({"name": "p1"})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "platform:read cannot write");
    let (status, _) = server
        .as_token(&token, Method::POST, &format!("{WS}/default/projects"), Some(json!({"name": "p1"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "platform:write can (alice is Editor in default via `*`)");
}

#[tokio::test]
async fn rotated_keys_are_picked_up_and_removed_keys_stop_working() {
    let idp = start_idp().await;
    let server = TestServer::start(&oidc_yaml(&idp, 1, "")).await;
    wait_ready(&server).await;
    let old_token = login(&idp, "alice@example.com", READ_WRITE).await;
    assert_eq!(inspect(&server, &old_token).await.0, StatusCode::OK);

    let new_kid = idp.rotate_key("RS256").await.unwrap();
    let new_token = login(&idp, "bob@example.com", READ_WRITE).await;
    assert_eq!(kid(&new_token), new_kid);
    assert_ne!(kid(&old_token), new_kid);
    // A new kid is fetched on demand (or by the 1 s refresh): accepted without a restart.
    wait_until("a token signed by the rotated-in key is accepted", Duration::from_secs(10), || async {
        inspect(&server, &new_token).await.0 == StatusCode::OK
    })
    .await;
    assert_eq!(inspect(&server, &new_token).await.1["principal"], "u-bob");
    // The old key is still published: the old token still works.
    assert_eq!(inspect(&server, &old_token).await.0, StatusCode::OK);

    let removed = idp.remove_old_keys().await.unwrap();
    assert!(removed.contains(&kid(&old_token)), "{removed:?}");
    // After the next refresh, the old token is refused although it is cached as verified.
    wait_until("a token signed by a removed key is refused", Duration::from_secs(10), || async {
        inspect(&server, &old_token).await.0 == StatusCode::UNAUTHORIZED
    })
    .await;
    let (status, body) = server.as_token(&old_token, Method::GET, WS, None).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, json!({"detail": "Invalid or expired token"})));
    assert_eq!(inspect(&server, &new_token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn oidc_08_rotation_costs_one_jwks_fetch_and_unknown_kids_are_rate_limited() {
    let idp = start_idp().await;
    // No scheduled refresh during the test; unknown kids may cause one fetch per second.
    let server = TestServer::start(&oidc_yaml(&idp, 3600, "")).await;
    wait_ready(&server).await;
    // Let the cooldown that follows the start-up fetch run out.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    idp.rotate_key("ES256").await.unwrap();
    let token = login(&idp, "alice@example.com", READ_WRITE).await;
    idp.reset_counters().await.unwrap();
    // The very first token signed by a key the server has never seen: accepted at once.
    assert_eq!(inspect(&server, &token).await.0, StatusCode::OK);
    assert_eq!(idp.jwks_fetch_count().await.unwrap(), 1, "exactly one JWKS fetch");
    // A burst of tokens naming unknown kids, as an attacker would send: at most one more fetch
    // per cooldown (1 s here), and none of them accepted.
    let (header, claims) = decode_jwt_unverified(&token).unwrap();
    let signature = token.rsplit('.').next().unwrap();
    let started = Instant::now();
    for i in 0..50 {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut header = header.clone();
        header["kid"] = json!(format!("no-such-kid-{i}"));
        let forged = format!(
            "{}.{}.{signature}",
            engine.encode(serde_json::to_vec(&header).unwrap()),
            engine.encode(serde_json::to_vec(&claims).unwrap())
        );
        assert_eq!(inspect(&server, &forged).await.0, StatusCode::UNAUTHORIZED);
    }
    let allowed = 1 + started.elapsed().as_secs() + 1;
    let fetches = idp.jwks_fetch_count().await.unwrap();
    assert!(fetches <= allowed, "{fetches} JWKS fetches for 50 unknown kids in {:?}", started.elapsed());
    assert_eq!(inspect(&server, &token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn idp_outage_keeps_cached_keys_and_refuses_unknown_kids() {
    let mut idp = start_idp().await;
    // No scheduled refresh during the test: only on-demand fetches (unknown kid) happen.
    let server = TestServer::start(&oidc_yaml(&idp, 3600, "")).await;
    wait_ready(&server).await;
    let seen = login(&idp, "alice@example.com", READ_WRITE).await;
    assert_eq!(inspect(&server, &seen).await.0, StatusCode::OK);
    // Signed by the cached key but never shown to the server: proves the key cache, not the
    // verified-token cache, carries it through the outage.
    let unseen = login(&idp, "carol@example.com", READ_WRITE).await;
    let rotated_kid = idp.rotate_key("RS256").await.unwrap();
    let unknown_kid_token = login(&idp, "bob@example.com", READ_WRITE).await;
    assert_eq!(kid(&unknown_kid_token), rotated_kid);

    idp.stop().await.unwrap();
    assert_eq!(inspect(&server, &seen).await.0, StatusCode::OK);
    let (status, body) = inspect(&server, &unseen).await;
    assert_eq!((status, &body["principal"]), (StatusCode::OK, &json!("u-carol")));
    let response =
        server.request(Method::GET, WS).bearer_auth(&unknown_kid_token).send().await.expect("request sent");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "unknown kid during an outage: refused");
    assert!(response.headers()["www-authenticate"].to_str().unwrap().contains(r#"error="invalid_token""#));
    assert_eq!(server.get("/health/ready").await.0, StatusCode::OK, "cached keys keep the server ready");

    // The IdP comes back: the new key is fetched (after the 1 s cooldown) and accepted.
    idp.restart().await.unwrap();
    wait_until("the rotated key is fetched once the IdP is back", Duration::from_secs(15), || async {
        inspect(&server, &unknown_kid_token).await.0 == StatusCode::OK
    })
    .await;
}

#[tokio::test]
async fn cold_start_with_the_idp_down_is_not_ready_until_it_comes_back() {
    let mut idp = start_idp().await;
    let token = login(&idp, "alice@example.com", READ_WRITE).await;
    idp.stop().await.unwrap();

    let server = TestServer::start(&oidc_yaml(&idp, 300, "")).await;
    let (status, body) = server.get("/health/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert!(body["problems"].to_string().contains("identity provider keys not loaded"), "{body}");
    assert_eq!(server.get("/health/live").await.0, StatusCode::OK);
    // No token is accepted while no key is known; it is an outage, not a verdict on the token.
    let response = server.request(Method::GET, WS).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(inspect(&server, &token).await.0, StatusCode::SERVICE_UNAVAILABLE);
    let (_, discovery) = server.get("/apis/auth/discovery").await;
    assert_eq!(discovery["oidc"]["issuer"], idp.issuer());
    assert_eq!(discovery["oidc"]["token_endpoint"], Value::Null, "not discovered yet");

    idp.restart().await.unwrap();
    // Recovers without a restart, within the retry interval (5 s) plus slack.
    wait_ready(&server).await;
    assert_eq!(inspect(&server, &token).await.0, StatusCode::OK);
    let (_, discovery) = server.get("/apis/auth/discovery").await;
    assert_eq!(discovery["oidc"]["token_endpoint"], idp.token_endpoint());
}

#[tokio::test]
async fn rs256_es256_and_eddsa_access_tokens_are_accepted() {
    let idp = start_idp().await;
    let server = TestServer::start(&oidc_yaml(&idp, 300, "")).await;
    wait_ready(&server).await;
    for alg in ["RS256", "ES256", "EdDSA"] {
        let kid = idp.set_access_token_alg(alg).await.unwrap();
        let token = login(&idp, "alice@example.com", READ_WRITE).await;
        let (header, _) = decode_jwt_unverified(&token).unwrap();
        assert_eq!((header["alg"].as_str(), header["kid"].as_str()), (Some(alg), Some(kid.as_str())));
        let (status, body) = inspect(&server, &token).await;
        assert_eq!((status, &body["principal"]), (StatusCode::OK, &json!("u-alice")), "{alg}: {body}");
        assert_eq!(server.as_token(&token, Method::GET, WS, None).await.0, StatusCode::OK, "{alg}");
    }
}

#[tokio::test]
async fn id_tokens_are_refused_as_bearer_tokens() {
    let idp = start_idp().await;
    let server = TestServer::start(&oidc_yaml(&idp, 300, "")).await;
    wait_ready(&server).await;
    let tokens = idp.device_login("alice@example.com", READ_WRITE).await.unwrap();
    let id_token = tokens.id_token.expect("an ID token for the openid scope");
    let (_, claims) = decode_jwt_unverified(&id_token).unwrap();
    assert_eq!(claims["aud"], idp.client_id(), "the ID token is for the CLI, not the API");

    let response =
        server.request(Method::GET, "/apis/auth/authenticate").bearer_auth(&id_token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get("x-nmp-principal-id").is_none());
    assert_eq!(read(response).await.1, json!({"detail": "Invalid bearer token"}));
    let (status, body) = server.as_token(&id_token, Method::GET, WS, None).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, json!({"detail": "Invalid or expired token"})));
    // The access token of the same login is fine.
    assert_eq!(inspect(&server, &tokens.access_token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn discovery_shows_the_idps_login_endpoints() {
    let idp = start_idp().await;
    let server = TestServer::start(&oidc_yaml(&idp, 300, "")).await;
    wait_ready(&server).await;
    let (status, body) = server.get("/apis/auth/discovery").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["auth_enabled"], true);
    let oidc = &body["oidc"];
    assert_eq!(oidc["issuer"], idp.issuer());
    assert_eq!(oidc["client_id"], "nemo-cli");
    assert_eq!(oidc["device_authorization_endpoint"], idp.device_authorization_endpoint());
    assert_eq!(oidc["token_endpoint"], idp.token_endpoint());
    assert_eq!(oidc["default_scopes"], "openid profile email offline_access");
}

#[tokio::test]
async fn workspace_access_for_oidc_users_bound_by_email_and_by_group() {
    let idp = start_idp().await;
    let server = TestServer::start(&oidc_yaml(&idp, 300, "")).await;
    wait_ready(&server).await;
    let admin = login(&idp, "admin@example.com", READ_WRITE).await;
    let alice = login(&idp, "alice@example.com", READ_WRITE).await;
    let bob = login(&idp, "bob@example.com", READ_WRITE).await;
    let carol = login(&idp, "carol@example.com", READ_WRITE).await;

    // The admin is PlatformAdmin through `admin_email`, matched against the token's email.
    let (status, ws) = server.as_token(&admin, Method::POST, WS, Some(json!({"name": "oidc-team"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{ws}");
    assert_eq!(ws["created_by"], "u-admin");
    let members = format!("{WS}/oidc-team/members");
    for (principal, role) in [("alice@example.com", "Viewer"), ("data-team", "Editor")] {
        let (status, body) = server
            .as_token(&admin, Method::POST, &members, Some(json!({"principal": principal, "roles": [role]})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{principal}: {body}");
    }

    // alice: Viewer by email (her subject is u-alice).
    assert_eq!(
        server.as_token(&alice, Method::GET, &format!("{WS}/oidc-team"), None).await.0,
        StatusCode::OK
    );
    let projects = format!("{WS}/oidc-team/projects");
    let (status, _) = server.as_token(&alice, Method::POST, &projects, Some(json!({"name": "alpha"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a Viewer cannot create projects");
    // carol: Editor through her `data-team` group.
    let (status, project) =
        server.as_token(&carol, Method::POST, &projects, Some(json!({"name": "carols"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    assert_eq!(project["created_by"], "u-carol");
    // bob: no binding; the workspace is hidden from him (403, same as a missing one).
    let (status, _) = server.as_token(&bob, Method::GET, &format!("{WS}/oidc-team"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server.as_token(&bob, Method::GET, &format!("{WS}/no-such-team"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, page) = server.as_token(&bob, Method::GET, WS, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.to_string().contains("oidc-team"), "{page}");
}
