//! The OPA side of ADR 0018, end to end: the bundle we serve is downloaded and loaded into a
//! Rego engine behind OPA's REST data API (`POST /v1/data/authz/{rule}`), and a server configured
//! with `policy_decision_point_provider: opa` enforces its answers; an unreachable, hanging or
//! broken PDP fails closed with 503, 504 and 502.
//!
//! No OPA binary can be installed on this machine (no package of it in the reachable registries),
//! so the OPA here is the `regorus` Rego engine behind OPA's wire protocol. It runs exactly the
//! files of our bundle: the tar.gz, its Rego and its `data.json`, as a real OPA would load them.

use std::io::Read;
use std::net::SocketAddr;

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::support::{user_token, TestServer, QUICKSTART};

const WS: &str = "/apis/entities/v2/workspaces";
const BUNDLE: &str = "/apis/auth/v2/iam/opa-bundle.tar.gz";

/// Unpack a bundle into (file name, content) pairs.
fn unpack(bytes: &[u8]) -> Vec<(String, String)> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut files = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        files.push((name, text));
    }
    files
}

/// The bundle's files; each evaluation loads them into a fresh engine (the engine is not `Send`).
#[derive(Clone)]
struct Opa {
    files: std::sync::Arc<Vec<(String, String)>>,
}

fn eval_bundle(files: &[(String, String)], rule: &str, input: Value) -> Value {
    let mut engine = regorus::Engine::new();
    for (name, content) in files {
        if name.ends_with(".rego") {
            engine.add_policy(name.clone(), content.clone()).unwrap();
        } else if name == "data.json" {
            engine.add_data(regorus::Value::from_json_str(content).unwrap()).unwrap();
        }
    }
    engine.set_input(regorus::Value::from(input));
    let result = engine.eval_rule(format!("data.authz.{rule}")).unwrap();
    serde_json::from_str(&result.to_json_str().unwrap()).unwrap()
}

async fn evaluate(State(opa): State<Opa>, Path(rule): Path<String>, Json(body): Json<Value>) -> Json<Value> {
    let result = tokio::task::spawn_blocking(move || eval_bundle(&opa.files, &rule, body["input"].clone()))
        .await
        .unwrap();
    Json(json!({"result": result}))
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// Start an OPA-protocol server running the files of `bundle`.
async fn start_opa(bundle: &[u8]) -> SocketAddr {
    let opa = Opa { files: std::sync::Arc::new(unpack(bundle)) };
    serve(Router::new().route("/v1/data/authz/{rule}", post(evaluate)).with_state(opa)).await
}

fn opa_config(base: &str) -> String {
    format!("{QUICKSTART}  policy_decision_point_provider: opa\n  policy_decision_point_base_url: {base}\n  policy_decision_point_request_timeout_seconds: 1\n")
}

#[tokio::test]
async fn the_bundle_is_deterministic_cached_and_protected() {
    let server = TestServer::start(QUICKSTART).await;
    let admin = format!("Bearer {}", user_token("admin@example.com", &[], None));
    let response = server.request(Method::GET, BUNDLE).header("Authorization", &admin).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/gzip");
    assert_eq!(response.headers()["cache-control"], "max-age=5, must-revalidate");
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    let bytes = response.bytes().await.unwrap();
    let names: Vec<String> = unpack(&bytes).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec![".manifest", "data.json", "policy/authz.rego", "policy/common.rego"]);
    let manifest: Value = serde_json::from_str(&unpack(&bytes)[0].1).unwrap();
    assert_eq!(manifest["roots"], json!(["authz"]));
    // Same data, same bytes: If-None-Match answers 304.
    let again = server
        .request(Method::GET, BUNDLE)
        .header("Authorization", &admin)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    // A binding change changes the bundle.
    server
        .as_token(&user_token("admin@example.com", &[], None), Method::POST, WS, Some(json!({"name": "ws9"})))
        .await;
    let changed = server
        .request(Method::GET, BUNDLE)
        .header("Authorization", &admin)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    // Only holders of iam.bundle.read in system.
    let bob = user_token("bob@example.com", &[], None);
    assert_eq!(server.as_token(&bob, Method::GET, BUNDLE, None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(server.get(BUNDLE).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_server_using_opa_enforces_the_bundle_decisions() {
    let server = TestServer::start(QUICKSTART).await;
    let admin = user_token("admin@example.com", &[], None);
    assert_eq!(
        server.as_token(&admin, Method::POST, WS, Some(json!({"name": "ws1"}))).await.0,
        StatusCode::CREATED
    );
    let member = json!({"principal": "bob@example.com", "roles": ["Viewer"]});
    assert_eq!(
        server.as_token(&admin, Method::POST, &format!("{WS}/ws1/members"), Some(member)).await.0,
        StatusCode::CREATED
    );
    let response = server
        .request(Method::GET, BUNDLE)
        .header("Authorization", format!("Bearer {admin}"))
        .send()
        .await
        .unwrap();
    let bundle = response.bytes().await.unwrap();
    let dir = server.stop().await;

    let opa = start_opa(&bundle).await;
    let server = TestServer::start_in(&opa_config(&format!("http://{opa}")), dir).await;
    let bob = user_token("bob@example.com", &[], None);
    let carol = user_token("carol@example.com", &[], None);
    assert_eq!(server.as_token(&bob, Method::GET, &format!("{WS}/ws1"), None).await.0, StatusCode::OK);
    assert_eq!(
        server.as_token(&bob, Method::PUT, &format!("{WS}/ws1"), Some(json!({"description": "x"}))).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        server.as_token(&carol, Method::GET, &format!("{WS}/ws1"), None).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        server.as_token(&admin, Method::DELETE, &format!("{WS}/ws1/members/bob@example.com"), None).await.0,
        StatusCode::OK
    );
    assert_eq!(server.get(WS).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_unreachable_pdp_fails_closed_with_503() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let server = TestServer::start(&opa_config(&format!("http://{closed}"))).await;
    let admin = user_token("admin@example.com", &[], None);
    let (status, body) = server.as_token(&admin, Method::GET, WS, None).await;
    assert_eq!(
        (status, body),
        (StatusCode::SERVICE_UNAVAILABLE, json!({"detail": "Authorization service unavailable"}))
    );
}

#[tokio::test]
async fn a_hanging_pdp_fails_closed_with_504() {
    let hang = Router::new().route(
        "/v1/data/authz/{rule}",
        post(|| async {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            Json(json!({"result": true}))
        }),
    );
    let opa = serve(hang).await;
    let server = TestServer::start(&opa_config(&format!("http://{opa}"))).await;
    let admin = user_token("admin@example.com", &[], None);
    let (status, body) = server.as_token(&admin, Method::GET, WS, None).await;
    assert_eq!(
        (status, body),
        (StatusCode::GATEWAY_TIMEOUT, json!({"detail": "Authorization service timeout"}))
    );
}

#[tokio::test]
async fn a_broken_pdp_fails_closed_with_502() {
    for answer in [json!({}), json!({"result": "yes"})] {
        let broken = Router::new().route("/v1/data/authz/{rule}", post(move || async move { Json(answer) }));
        let opa = serve(broken).await;
        let server = TestServer::start(&opa_config(&format!("http://{opa}"))).await;
        let admin = user_token("admin@example.com", &[], None);
        let (status, body) = server.as_token(&admin, Method::GET, WS, None).await;
        assert_eq!(
            (status, body),
            (StatusCode::BAD_GATEWAY, json!({"detail": "Authorization service error"}))
        );
    }
    let failing = Router::new().route(
        "/v1/data/authz/{rule}",
        post(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
    );
    let opa = serve(failing).await;
    let server = TestServer::start(&opa_config(&format!("http://{opa}"))).await;
    let admin = user_token("admin@example.com", &[], None);
    assert_eq!(server.as_token(&admin, Method::GET, WS, None).await.0, StatusCode::BAD_GATEWAY);
}

/// OPA's answer is the one enforced, for requests and for the PDP endpoints, even where the
/// embedded PDP would answer otherwise: here OPA holds a bundle taken before a revoke and a
/// grant (as it does until its next bundle poll), so the two disagree, and the server follows OPA.
#[tokio::test]
async fn opa_answers_are_enforced_where_the_embedded_pdp_would_differ() {
    const SECRET: &str = "a-gateway-secret-of-some-length";
    let server = TestServer::start(QUICKSTART).await;
    let admin = user_token("admin@example.com", &[], None);
    assert_eq!(
        server.as_token(&admin, Method::POST, WS, Some(json!({"name": "ws1"}))).await.0,
        StatusCode::CREATED
    );
    let bob_viewer = json!({"principal": "bob@example.com", "roles": ["Viewer"]});
    server.as_token(&admin, Method::POST, &format!("{WS}/ws1/members"), Some(bob_viewer)).await;
    let bundle = server
        .request(Method::GET, BUNDLE)
        .header("Authorization", format!("Bearer {admin}"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let dir = server.stop().await;
    // This OPA never reloads: it keeps the bundle in which bob is a Viewer and carol is nobody.
    let opa = start_opa(&bundle).await;
    let yaml = format!("{}  gateway:\n    shared_secret: {SECRET}\n", opa_config(&format!("http://{opa}")));
    let server = TestServer::start_in(&yaml, dir).await;
    let (bob, carol) = (user_token("bob@example.com", &[], None), user_token("carol@example.com", &[], None));
    assert_eq!(
        server.as_token(&admin, Method::DELETE, &format!("{WS}/ws1/members/bob@example.com"), None).await.0,
        StatusCode::OK
    );
    let carol_viewer = json!({"principal": "carol@example.com", "roles": ["Viewer"]});
    assert_eq!(
        server.as_token(&admin, Method::POST, &format!("{WS}/ws1/members"), Some(carol_viewer)).await.0,
        StatusCode::CREATED
    );
    // The embedded PDP, which saw both writes, now says bob: no, carol: yes.
    let access = &server._server.state.access;
    let bob_principal = nmp_core::Principal::new("bob@example.com").with_email("bob@example.com");
    assert!(!access.decide(Some(&bob_principal), "GET", &format!("{WS}/ws1")).allowed());
    // The server enforces OPA's (stale) answers: bob still reads, carol not yet.
    assert_eq!(server.as_token(&bob, Method::GET, &format!("{WS}/ws1"), None).await.0, StatusCode::OK);
    assert_eq!(
        server.as_token(&carol, Method::GET, &format!("{WS}/ws1"), None).await.0,
        StatusCode::FORBIDDEN
    );
    // The PDP endpoints answer with OPA's result too.
    let service = [("X-NMP-Principal-Id", "service:platform"), ("X-NMP-Gateway-Secret", SECRET)];
    let ask = |entrypoint: &str, input: Value| {
        let path = format!("/apis/auth/v2/authz/{entrypoint}");
        let server = &server;
        async move { server.call(Method::POST, &path, Some(json!({"input": input})), &service).await }
    };
    let bob_input = json!({"principal_id": "bob@example.com", "principal_email": "bob@example.com"});
    let mut has_role = bob_input.clone();
    has_role["workspace"] = json!("ws1");
    has_role["role"] = json!("Viewer");
    assert_eq!(ask("has_role", has_role).await, (StatusCode::OK, json!({"result": {"has_role": true}})));
    let mut allow = bob_input.clone();
    allow["method"] = json!("GET");
    allow["path"] = json!(format!("{WS}/ws1"));
    let (status, body) = ask("allow", allow).await;
    assert_eq!((status, &body["result"]["allowed"]), (StatusCode::OK, &json!(true)), "{body}");
    let mut permissions = bob_input;
    permissions["workspace"] = json!("ws1");
    permissions["permissions"] = json!(["workspaces.read"]);
    let (status, body) = ask("has_permissions", permissions).await;
    assert_eq!((status, &body["result"]["allowed"]), (StatusCode::OK, &json!(true)), "{body}");
}
