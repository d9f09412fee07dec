//! Gateway forward auth and trusted principal headers (test catalog family GW, see
//! `docs/test-catalog.md`), one test per case ID, each asserting the exact status (family HTTP
//! lives in `bearer_transport.rs`).
//! The callouts are `/apis/auth/ext-authz/{path}` (Envoy, nginx), `/apis/auth/ext-authz` with
//! `X-Forwarded-*`/`X-Original-*` headers (Traefik, Caddy, nginx) and `/apis/auth/authenticate`.

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::support::{read, user_token, TestServer, QUICKSTART};

pub(super) const WS: &str = "/apis/entities/v2/workspaces";
pub(super) const CALLOUT: &str = "/apis/auth/ext-authz";
const SECRET_HEADER: &str = "X-NMP-Gateway-Secret";
const SECRET: &str = "gateway-secret-0123456789";

fn with_gateway(gateway: &str) -> String {
    format!("{QUICKSTART}  gateway:\n{gateway}")
}

fn secret_gateway() -> String {
    with_gateway(&format!("    shared_secret_header: {SECRET_HEADER}\n    shared_secret: {SECRET}\n"))
}

pub(super) struct Tokens {
    pub(super) admin: String,
    pub(super) bob: String,
    pub(super) carol: String,
}

pub(super) fn tokens() -> Tokens {
    Tokens {
        admin: user_token("admin@example.com", &[], None),
        bob: user_token("bob@example.com", &[], None),
        carol: user_token(
            "carol@example.com",
            &["ml-team", "data-team"],
            Some("platform:read platform:write"),
        ),
    }
}

/// `ws1` with bob as Viewer; carol has no role in it.
pub(super) async fn setup(yaml: &str) -> (TestServer, Tokens) {
    let server = TestServer::start(yaml).await;
    let tokens = tokens();
    let (status, body) = server.as_token(&tokens.admin, Method::POST, WS, Some(json!({"name": "ws1"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = server
        .as_token(
            &tokens.admin,
            Method::POST,
            &format!("{WS}/ws1/members"),
            Some(json!({"principal": "bob@example.com", "roles": ["Viewer"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (server, tokens)
}

/// A forward-auth callout for `method original_path`, the way Envoy makes it.
pub(super) async fn callout(
    server: &TestServer,
    method: Method,
    original_path: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = server.request(method, &format!("{CALLOUT}{original_path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("callout sent")
}

pub(super) fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn principal_headers(headers: &HeaderMap) -> Vec<String> {
    headers.keys().map(|k| k.as_str().to_string()).filter(|k| k.starts_with("x-nmp-")).collect()
}

/// The checks every callout answer gets: never cached, and principal headers only on success.
pub(super) fn assert_callout(response: &reqwest::Response, expected: StatusCode, what: &str) {
    assert_eq!(response.status(), expected, "{what}");
    assert_eq!(response.headers()["cache-control"], "no-store", "{what}");
    if !expected.is_success() {
        assert_eq!(principal_headers(response.headers()), Vec::<String>::new(), "{what}");
    }
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A listener that accepts connections and never answers.
async fn hanging_listener() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

/// A listener that reads each HTTP request and answers with `response` (raw HTTP/1.1).
async fn fixed_answer_listener(response: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = read_request(&mut socket).await;
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    port
}

async fn read_request(socket: &mut TcpStream) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buffer).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                return Ok(());
            }
        }
    }
}

/// One request with a raw request target (reqwest would normalize `..` and `%2F` away).
/// Returns the status and the response head, lowercased.
async fn raw_request(
    server: &TestServer,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let address = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let text = String::from_utf8_lossy(&answer).to_string();
    let head = text.split("\r\n\r\n").next().unwrap_or_default().to_ascii_lowercase();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    (status, head)
}

// --- GW-01: never 2xx on an error --------------------------------------------------------------

fn opa_yaml(base_url: &str) -> String {
    format!(
        "{QUICKSTART}  policy_decision_point_provider: opa\n  policy_decision_point_base_url: {base_url}\n  \
         policy_decision_point_request_timeout_seconds: 1\n"
    )
}

/// With the PDP failing, the callout (both forms) and an ordinary route answer `expected`.
async fn assert_pdp_failure(server: &TestServer, expected: StatusCode, detail: &str) {
    let admin = bearer(&tokens().admin);
    let response = callout(server, Method::GET, WS, &[("Authorization", &admin)]).await;
    assert_callout(&response, expected, "prefixed callout");
    let response =
        callout(server, Method::GET, "", &[("Authorization", &admin), ("X-Forwarded-Uri", WS)]).await;
    assert_callout(&response, expected, "header-form callout");
    assert_eq!(read(response).await.1, json!({"detail": detail}));
    // Anonymous callers too: the PDP is asked, and it is down.
    assert_callout(&callout(server, Method::GET, WS, &[]).await, expected, "anonymous callout");
    let (status, body) = server.call(Method::GET, WS, None, &[("Authorization", &admin)]).await;
    assert_eq!((status, body), (expected, json!({"detail": detail})));
}

#[tokio::test]
async fn gw_01_pdp_unreachable_answers_503() {
    let server = TestServer::start(&opa_yaml(&format!("http://127.0.0.1:{}", closed_port()))).await;
    assert_pdp_failure(&server, StatusCode::SERVICE_UNAVAILABLE, "Authorization service unavailable").await;
}

#[tokio::test]
async fn gw_01_pdp_hanging_answers_504_at_the_timeout() {
    let port = hanging_listener().await;
    let server = TestServer::start(&opa_yaml(&format!("http://127.0.0.1:{port}"))).await;
    let started = Instant::now();
    let response = callout(&server, Method::GET, WS, &[("Authorization", &bearer(&tokens().admin))]).await;
    assert_callout(&response, StatusCode::GATEWAY_TIMEOUT, "hanging PDP");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by the 1 s PDP timeout: {:?}",
        started.elapsed()
    );
    assert_pdp_failure(&server, StatusCode::GATEWAY_TIMEOUT, "Authorization service timeout").await;
}

#[tokio::test]
async fn gw_01_pdp_errors_and_undefined_answers_give_502() {
    let port = fixed_answer_listener(
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    let server = TestServer::start(&opa_yaml(&format!("http://127.0.0.1:{port}"))).await;
    assert_pdp_failure(&server, StatusCode::BAD_GATEWAY, "Authorization service error").await;
    // An OPA without the policy answers `{}` ("undefined"): not a decision, so not an allow.
    let port = fixed_answer_listener(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    )
    .await;
    let server = TestServer::start(&opa_yaml(&format!("http://127.0.0.1:{port}"))).await;
    assert_pdp_failure(&server, StatusCode::BAD_GATEWAY, "Authorization service error").await;
}

pub(super) fn signed_looking_token() -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = super::support::now_unix();
    let header = engine.encode(br#"{"alg":"RS256","typ":"at+jwt","kid":"k1"}"#);
    let claims =
        json!({"iss": "http://127.0.0.1:9", "aud": "nmp-api", "sub": "u-x", "iat": now, "exp": now + 600});
    let payload = engine.encode(serde_json::to_vec(&claims).unwrap());
    format!("{header}.{payload}.{}", engine.encode([7u8; 256]))
}

pub(super) fn unreachable_idp_yaml() -> String {
    format!(
        "auth:\n  enabled: true\n  oidc:\n    enabled: true\n    issuer: http://127.0.0.1:{}\n    audience: nmp-api\n",
        closed_port()
    )
}

#[tokio::test]
async fn gw_01_idp_keys_unavailable_answers_503() {
    let server = TestServer::start(&unreachable_idp_yaml()).await;
    let token = bearer(&signed_looking_token());
    let response = callout(&server, Method::GET, WS, &[("Authorization", &token)]).await;
    assert_callout(&response, StatusCode::SERVICE_UNAVAILABLE, "no IdP keys");
    assert!(response.headers().contains_key("retry-after"));
    let response = server
        .request(Method::GET, "/apis/auth/authenticate")
        .header("Authorization", &token)
        .send()
        .await
        .unwrap();
    assert_callout(&response, StatusCode::SERVICE_UNAVAILABLE, "token inspection without IdP keys");
    assert_eq!(server.get("/health/ready").await.0, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn gw_01_store_outage_never_turns_a_denial_into_a_2xx() {
    let (server, tokens) = setup(QUICKSTART).await;
    let db = server.dir.path().join("data/nmp-platform.db");
    std::fs::rename(&db, db.with_extension("moved")).unwrap();
    assert_eq!(server.get("/health/ready").await.0, StatusCode::SERVICE_UNAVAILABLE);
    let ws1 = format!("{WS}/ws1");
    let (bob, carol) = (bearer(&tokens.bob), bearer(&tokens.carol));
    assert_callout(&callout(&server, Method::GET, &ws1, &[]).await, StatusCode::UNAUTHORIZED, "anonymous");
    let garbage = [("Authorization", "Bearer garbage")];
    assert_callout(
        &callout(&server, Method::GET, &ws1, &garbage).await,
        StatusCode::UNAUTHORIZED,
        "bad token",
    );
    let carol = [("Authorization", carol.as_str())];
    assert_callout(&callout(&server, Method::GET, &ws1, &carol).await, StatusCode::FORBIDDEN, "no role");
    let bob = [("Authorization", bob.as_str())];
    assert_callout(
        &callout(&server, Method::DELETE, &ws1, &bob).await,
        StatusCode::FORBIDDEN,
        "Viewer delete",
    );
    // Decisions read the in-memory bindings index (kept in step with every write, ADR 0017),
    // not the store: an allowed request stays allowed; readiness tells the gateway to back off.
    let response = callout(&server, Method::GET, &ws1, &bob).await;
    assert_callout(&response, StatusCode::OK, "Viewer read");
    assert_eq!(response.headers()["x-nmp-principal-id"], "bob@example.com");
    std::fs::rename(db.with_extension("moved"), &db).unwrap();
}

// --- GW-02: principal headers come from the token only -----------------------------------------

#[tokio::test]
async fn gw_02_callout_headers_come_from_the_token_and_never_from_the_client() {
    let (server, tokens) = setup(QUICKSTART).await;
    let carol = bearer(&tokens.carol);
    let response =
        callout(&server, Method::GET, &format!("{WS}/default"), &[("Authorization", &carol)]).await;
    assert_callout(&response, StatusCode::OK, "carol reads default");
    let headers = response.headers();
    assert_eq!(headers["x-nmp-principal-id"], "carol@example.com");
    assert_eq!(headers["x-nmp-principal-email"], "carol@example.com");
    assert_eq!(headers["x-nmp-principal-groups"], "ml-team,data-team");
    assert_eq!(headers["x-nmp-scopes"], "platform:read platform:write");
    // bob's token has no groups and no scope claim: no such headers, rather than empty ones.
    let response =
        callout(&server, Method::GET, &format!("{WS}/ws1"), &[("Authorization", &bearer(&tokens.bob))]).await;
    assert_callout(&response, StatusCode::OK, "bob reads ws1");
    let mut sent = principal_headers(response.headers());
    sent.sort();
    assert_eq!(sent, ["x-nmp-principal-email", "x-nmp-principal-id"]);

    // A client-sent principal header next to a token is refused, not passed on.
    for spoof in ["X-NMP-Principal-Id", "X-NMP-Principal-Groups", "X-NMP-Scopes", "x-nmp-principal-email"] {
        let response = callout(
            &server,
            Method::GET,
            &format!("{WS}/ws1"),
            &[("Authorization", &carol), (spoof, "admin@example.com")],
        )
        .await;
        assert_callout(&response, StatusCode::UNAUTHORIZED, spoof);
        let (_, body) = read(response).await;
        assert!(body["detail"].as_str().unwrap().contains("trusted gateway"), "{body}");
    }
    // A public path, anonymously: allowed, and no principal headers at all.
    let response = callout(&server, Method::GET, "/health/ready", &[]).await;
    assert_callout(&response, StatusCode::OK, "public path");
    assert_eq!(principal_headers(response.headers()), Vec::<String>::new());
}

// --- GW-05: the decision is about the original request -----------------------------------------

#[tokio::test]
async fn gw_05_decision_uses_the_original_method_not_client_headers() {
    let (server, tokens) = setup(QUICKSTART).await;
    let bob = bearer(&tokens.bob);
    let ws1 = format!("{WS}/ws1");
    let auth = ("Authorization", bob.as_str());
    assert_callout(&callout(&server, Method::GET, &ws1, &[auth]).await, StatusCode::OK, "Viewer GET");
    assert_callout(
        &callout(&server, Method::DELETE, &ws1, &[auth]).await,
        StatusCode::FORBIDDEN,
        "Viewer DELETE",
    );
    // Envoy replays the method: a client-sent X-Forwarded-Method cannot turn a DELETE into a GET.
    for spoof in ["X-Forwarded-Method", "X-Original-Method"] {
        let response = callout(&server, Method::DELETE, &ws1, &[auth, (spoof, "GET")]).await;
        assert_callout(&response, StatusCode::FORBIDDEN, spoof);
    }
    let response =
        callout(&server, Method::DELETE, &ws1, &[auth, ("X-Forwarded-Prefix", "/health/ready")]).await;
    assert_callout(&response, StatusCode::FORBIDDEN, "X-Forwarded-Prefix is not an input");
    // nginx and Traefik call out with GET and name the method in a header, which counts.
    let response = callout(&server, Method::GET, &ws1, &[auth, ("X-Original-Method", "DELETE")]).await;
    assert_callout(&response, StatusCode::FORBIDDEN, "nginx-style DELETE");
    let response = callout(&server, Method::GET, &ws1, &[auth, ("X-Forwarded-Method", "delete")]).await;
    assert_callout(&response, StatusCode::FORBIDDEN, "Traefik-style DELETE, any case");
    // The gateway set one, the client slipped in the other: ambiguous, refused (not 2xx).
    let both = [auth, ("X-Original-Method", "DELETE"), ("X-Forwarded-Method", "GET")];
    assert_callout(&callout(&server, Method::GET, &ws1, &both).await, StatusCode::BAD_REQUEST, "two methods");
    let bogus = [auth, ("X-Original-Method", "DEL ETE")];
    assert_callout(
        &callout(&server, Method::GET, &ws1, &bogus).await,
        StatusCode::BAD_REQUEST,
        "not a method",
    );
}

#[tokio::test]
async fn gw_05_header_form_decides_on_the_one_original_uri() {
    let (server, tokens) = setup(QUICKSTART).await;
    let bob = bearer(&tokens.bob);
    let carol = bearer(&tokens.carol);
    let ws1 = format!("{WS}/ws1");
    let ask = |token: &str, headers: Vec<(&'static str, String)>| {
        let mut request = server.request(Method::GET, CALLOUT).header("Authorization", token.to_string());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let response = ask(&bob, vec![("X-Forwarded-Uri", ws1.clone())]).await.unwrap();
    assert_callout(&response, StatusCode::OK, "Traefik form, Viewer reads");
    let response = ask(&carol, vec![("X-Original-URI", ws1.clone())]).await.unwrap();
    assert_callout(&response, StatusCode::FORBIDDEN, "nginx form, no role");
    let response = ask(&bob, vec![("X-Original-URI", ws1.clone()), ("X-Original-Method", "DELETE".into())])
        .await
        .unwrap();
    assert_callout(&response, StatusCode::FORBIDDEN, "nginx form, Viewer DELETE");
    // A client-sent X-Forwarded-Uri pointing at a public path next to the gateway's X-Original-URI.
    let response =
        ask(&carol, vec![("X-Forwarded-Uri", "/health/ready".into()), ("X-Original-URI", ws1.clone())])
            .await
            .unwrap();
    assert_callout(&response, StatusCode::BAD_REQUEST, "two URIs");
    let response = ask(&carol, vec![]).await.unwrap();
    assert_callout(&response, StatusCode::BAD_REQUEST, "no URI named");
    for bad in [
        "/health/../apis/entities/v2/workspaces/ws1",
        "apis/entities/v2/workspaces/ws1",
        "/apis//x",
        "/a%2fb",
    ] {
        let response = ask(&carol, vec![("X-Forwarded-Uri", bad.into())]).await.unwrap();
        assert_callout(&response, StatusCode::BAD_REQUEST, bad);
    }
}

#[tokio::test]
async fn gw_05_traversal_and_encoded_slashes_in_the_original_path_are_refused() {
    let (server, tokens) = setup(QUICKSTART).await;
    let carol = bearer(&tokens.carol);
    let auth = [("Authorization", carol.as_str())];
    for target in [
        "/apis/auth/ext-authz/health/../apis/entities/v2/workspaces/ws1",
        "/apis/auth/ext-authz/health/%2e%2e/apis/entities/v2/workspaces/ws1",
        "/apis/auth/ext-authz/health/./../apis/entities/v2/workspaces/ws1",
        "/apis/auth/ext-authz/apis/entities/v2/workspaces/ws1%2Fmembers",
        "/apis/auth/ext-authz/apis/entities/v2/workspaces//ws1",
        "/apis/auth/ext-authz/../ext-authz/health/ready",
        "/apis/auth/authenticate/health/../apis/entities/v2/workspaces/ws1",
    ] {
        let (status, head) = raw_request(&server, "GET", target, &auth).await;
        assert_eq!(status, 400, "{target}: {head}");
        assert!(head.contains("cache-control: no-store"), "{target}: {head}");
        assert!(!head.contains("x-nmp-principal"), "{target}: {head}");
    }
    // The canonical path itself is decided normally.
    let (status, _) = raw_request(&server, "GET", "/apis/auth/ext-authz/health/ready", &auth).await;
    assert_eq!(status, 200);
}

// --- GW-06: trust comes from the gateway, not from the headers ---------------------------------

#[tokio::test]
async fn gw_06_principal_headers_need_the_gateway_shared_secret() {
    let (server, _) = setup(&secret_gateway()).await;
    let ws1 = format!("{WS}/ws1");
    let as_admin = ("X-NMP-Principal-Id", "admin@example.com");
    for (headers, expected) in [
        (vec![as_admin], StatusCode::UNAUTHORIZED),
        (vec![as_admin, (SECRET_HEADER, "wrong-secret-0123456789")], StatusCode::UNAUTHORIZED),
        (vec![as_admin, (SECRET_HEADER, &SECRET[..SECRET.len() - 1])], StatusCode::UNAUTHORIZED),
        (vec![as_admin, ("X-Other-Secret", SECRET)], StatusCode::UNAUTHORIZED),
        (vec![as_admin, (SECRET_HEADER, SECRET)], StatusCode::OK),
        (
            vec![("x-nmp-principal-id", "carol@example.com"), ("x-nmp-gateway-secret", SECRET)],
            StatusCode::FORBIDDEN,
        ),
        (vec![("X-NMP-Principal-Id", "bad id!"), (SECRET_HEADER, SECRET)], StatusCode::BAD_REQUEST),
    ] {
        let (status, body) = server.call(Method::GET, &ws1, None, &headers).await;
        assert_eq!(status, expected, "{headers:?}: {body}");
    }
    // The gateway's headers identify the caller for attribution too.
    let trusted = [
        ("X-NMP-Principal-Id", "u-dana"),
        ("X-NMP-Principal-Email", "dana@example.com"),
        (SECRET_HEADER, SECRET),
    ];
    let (status, ws) = server.call(Method::POST, WS, Some(json!({"name": "dana-ws"})), &trusted).await;
    assert_eq!((status, &ws["created_by"]), (StatusCode::CREATED, &json!("u-dana")), "{ws}");
}

#[tokio::test]
async fn gw_06_principal_headers_need_a_trusted_source_address() {
    let ws1 = format!("{WS}/ws1");
    let as_admin = [("X-NMP-Principal-Id", "admin@example.com")];
    let (server, _) = setup(&with_gateway("    trusted_cidrs: [\"127.0.0.0/8\"]\n")).await;
    assert_eq!(server.call(Method::GET, &ws1, None, &as_admin).await.0, StatusCode::OK, "from 127.0.0.1");
    let (server, _) = setup(&with_gateway("    trusted_cidrs: [\"10.0.0.0/8\", \"::1/128\"]\n")).await;
    assert_eq!(
        server.call(Method::GET, &ws1, None, &as_admin).await.0,
        StatusCode::UNAUTHORIZED,
        "not a gateway"
    );
}

#[tokio::test]
async fn gw_06_secret_and_source_address_must_both_hold() {
    let ws1 = format!("{WS}/ws1");
    let secret_lines = format!("    shared_secret_header: {SECRET_HEADER}\n    shared_secret: {SECRET}\n");
    let with_secret = [("X-NMP-Principal-Id", "admin@example.com"), (SECRET_HEADER, SECRET)];
    let without_secret = [("X-NMP-Principal-Id", "admin@example.com")];
    let (server, _) =
        setup(&with_gateway(&format!("{secret_lines}    trusted_cidrs: [\"127.0.0.1/32\"]\n"))).await;
    assert_eq!(server.call(Method::GET, &ws1, None, &with_secret).await.0, StatusCode::OK);
    assert_eq!(server.call(Method::GET, &ws1, None, &without_secret).await.0, StatusCode::UNAUTHORIZED);
    let (server, _) =
        setup(&with_gateway(&format!("{secret_lines}    trusted_cidrs: [\"10.0.0.0/8\"]\n"))).await;
    assert_eq!(server.call(Method::GET, &ws1, None, &with_secret).await.0, StatusCode::UNAUTHORIZED);
}

// --- GW-08: never cached, never mixed up ------------------------------------------------------

#[tokio::test]
async fn gw_08_every_callout_answer_is_no_store_and_users_get_their_own_headers() {
    let (server, tokens) = setup(QUICKSTART).await;
    let (bob, carol) = (bearer(&tokens.bob), bearer(&tokens.carol));
    let ws1 = format!("{WS}/ws1");
    for (method, path, headers, expected) in [
        (Method::GET, CALLOUT.to_string() + &ws1, vec![("Authorization", bob.as_str())], StatusCode::OK),
        (
            Method::GET,
            CALLOUT.to_string() + &ws1,
            vec![("Authorization", carol.as_str())],
            StatusCode::FORBIDDEN,
        ),
        (Method::GET, CALLOUT.to_string() + &ws1, vec![], StatusCode::UNAUTHORIZED),
        (Method::GET, CALLOUT.to_string() + &ws1, vec![("Authorization", "Bearer")], StatusCode::BAD_REQUEST),
        (Method::GET, CALLOUT.to_string(), vec![("Authorization", bob.as_str())], StatusCode::BAD_REQUEST),
        (
            Method::GET,
            "/apis/auth/authenticate".into(),
            vec![("Authorization", bob.as_str())],
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/apis/auth/authenticate".into(),
            vec![("Authorization", "Bearer x.y")],
            StatusCode::UNAUTHORIZED,
        ),
        (Method::GET, "/apis/auth/authenticate".into(), vec![], StatusCode::UNAUTHORIZED),
        (
            Method::GET,
            "/apis/auth/authenticate/apis/entities/v2/workspaces/ws1".into(),
            vec![("Authorization", bob.as_str())],
            StatusCode::OK,
        ),
    ] {
        let mut request = server.request(method.clone(), &path);
        for (name, value) in &headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        assert_callout(&response, expected, &format!("{method} {path} {headers:?}"));
    }
    // Interleaved users on one connection pool: each answer carries its own caller.
    for round in 0..5 {
        for (token, id) in [(&bob, "bob@example.com"), (&carol, "carol@example.com")] {
            let response =
                callout(&server, Method::GET, &format!("{WS}/default"), &[("Authorization", token)]).await;
            assert_callout(&response, StatusCode::OK, "default is open to everyone");
            assert_eq!(response.headers()["x-nmp-principal-id"], id, "round {round}");
        }
    }
}

// --- GW-09: the token does not travel further --------------------------------------------------

#[tokio::test]
async fn gw_09_callout_answers_never_echo_the_bearer_token() {
    let (server, tokens) = setup(QUICKSTART).await;
    let payload = tokens.carol.split('.').nth(1).unwrap().to_string();
    for path in [format!("{CALLOUT}{WS}/default"), "/apis/auth/authenticate".to_string()] {
        let response = server.request(Method::GET, &path).bearer_auth(&tokens.carol).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        for (name, value) in response.headers() {
            let value = value.to_str().unwrap_or_default();
            assert!(!value.contains(&payload), "{path}: header {name} carries the token");
            assert_ne!(name.as_str(), "authorization", "{path}");
        }
        let (_, body) = read(response).await;
        assert!(!body.to_string().contains(&payload), "{path}: body carries the token");
    }
}

// --- GW-10: delegation keeps the user's identity -----------------------------------------------

#[tokio::test]
async fn gw_10_on_behalf_of_is_for_services_and_lists_what_the_user_sees() {
    let (server, tokens) = setup(&secret_gateway()).await;
    let (status, _) = server.as_token(&tokens.admin, Method::POST, WS, Some(json!({"name": "ws2"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    // A user cannot claim to act for someone else.
    let user_for_user = [
        ("X-NMP-Principal-Id", "carol@example.com"),
        ("X-NMP-Principal-On-Behalf-Of", "admin@example.com"),
        (SECRET_HEADER, SECRET),
    ];
    assert_eq!(server.call(Method::GET, WS, None, &user_for_user).await.0, StatusCode::BAD_REQUEST);
    // A service acting for bob sees bob's workspaces, not everything the service could see.
    let for_bob = [
        ("X-NMP-Principal-Id", "service:jobs"),
        ("X-NMP-Principal-On-Behalf-Of", "bob@example.com"),
        ("X-NMP-Principal-On-Behalf-Of-Email", "bob@example.com"),
        (SECRET_HEADER, SECRET),
    ];
    let (status, page) = server.call(Method::GET, WS, None, &for_bob).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let listed = super::support::names(&page);
    assert!(listed.contains(&"ws1".to_string()) && !listed.contains(&"ws2".to_string()), "{listed:?}");
    let on_its_own = [("X-NMP-Principal-Id", "service:jobs"), (SECRET_HEADER, SECRET)];
    let (_, page) = server.call(Method::GET, WS, None, &on_its_own).await;
    assert!(super::support::names(&page).contains(&"ws2".to_string()));
    // No confused deputy: acting for bob, the service may do only what bob may do.
    let ws2 = format!("{WS}/ws2");
    let update = Some(json!({"description": "changed"}));
    assert_eq!(server.call(Method::PUT, &ws2, update.clone(), &for_bob).await.0, StatusCode::FORBIDDEN);
    assert_eq!(server.call(Method::GET, &ws2, None, &for_bob).await.0, StatusCode::FORBIDDEN);
    assert_eq!(server.call(Method::PUT, &ws2, update, &on_its_own).await.0, StatusCode::OK);
    // The callout reports the user behind a token, never the gateway or a service identity.
    let response =
        callout(&server, Method::GET, &format!("{WS}/ws1"), &[("Authorization", &bearer(&tokens.bob))]).await;
    assert_callout(&response, StatusCode::OK, "bob reads ws1");
    assert_eq!(response.headers()["x-nmp-principal-id"], "bob@example.com");
}

// --- ADR 0009: X-NMP-Authorized is never trusted -----------------------------------------------

#[tokio::test]
async fn x_nmp_authorized_is_ignored_by_callouts_and_routes() {
    let (server, tokens) = setup(&secret_gateway()).await;
    let carol = bearer(&tokens.carol);
    let ws1 = format!("{WS}/ws1");
    let yes = ("X-NMP-Authorized", "true");
    assert_callout(&callout(&server, Method::GET, &ws1, &[yes]).await, StatusCode::UNAUTHORIZED, "anonymous");
    let response = callout(&server, Method::GET, &ws1, &[yes, ("Authorization", &carol)]).await;
    assert_callout(&response, StatusCode::FORBIDDEN, "carol has no role");
    assert_eq!(
        server.call(Method::GET, &ws1, None, &[yes, ("Authorization", &carol)]).await.0,
        StatusCode::FORBIDDEN
    );
    let from_gateway = [yes, ("X-NMP-Principal-Id", "carol@example.com"), (SECRET_HEADER, SECRET)];
    assert_eq!(server.call(Method::DELETE, &ws1, None, &from_gateway).await.0, StatusCode::FORBIDDEN);
}
