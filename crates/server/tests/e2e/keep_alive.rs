//! Many requests on one keep-alive connection. The connection remembers its last bearer token,
//! its last allowed request and its caller's visible workspaces (`nmp_server::memo`); none of
//! that may answer for another token, or survive a revocation, a grant or a revoked access key
//! made through another connection. Each test holds exactly one TCP connection open (hyper's
//! client connection, which cannot reconnect behind the test's back) and changes access through
//! the test server's own client.

use axum::body::Body;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::access_keys::{keys_yaml, signing_key};
use super::support::{names, user_token, write_config, ProcessServer, TestServer, QUICKSTART};

const WS: &str = "/apis/entities/v2/workspaces";
const WHOAMI: &str = "/apis/auth/v2/whoami";

/// One HTTP/1.1 connection to the server, kept open for the whole test.
struct Connection {
    sender: SendRequest<Body>,
    host: String,
}

impl Connection {
    async fn open(server: &TestServer) -> Connection {
        Connection::open_at(&server.base).await
    }

    async fn open_at(base: &str) -> Connection {
        let host = base.trim_start_matches("http://").to_string();
        let stream = tokio::net::TcpStream::connect(&host).await.expect("connect");
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
        tokio::spawn(connection);
        Connection { sender, host }
    }

    async fn call(&mut self, method: Method, path: &str, token: &str) -> (StatusCode, Value) {
        self.sender.ready().await.expect("the connection is still open");
        let request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request");
        let response = self.sender.send_request(request).await.expect("answered on the same connection");
        let status = response.status();
        let bytes = axum::body::to_bytes(Body::new(response.into_body()), 1 << 20).await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, body)
    }

    async fn get(&mut self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, token).await
    }
}

fn token(email: &str) -> String {
    user_token(email, &[], None)
}

#[tokio::test]
async fn tokens_that_take_turns_on_one_connection_each_answer_as_their_holder() {
    let server = TestServer::start(QUICKSTART).await;
    let (admin, alice, bob) =
        (token("admin@example.com"), token("alice@example.com"), token("bob@example.com"));
    let mut connection = Connection::open(&server).await;
    for holder in [&alice, &alice, &bob, &alice, &admin, &admin, &bob, &bob, &alice] {
        let (status, me) = connection.get(WHOAMI, holder).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        let expected =
            [(&admin, "admin@example.com"), (&alice, "alice@example.com"), (&bob, "bob@example.com")]
                .into_iter()
                .find(|(t, _)| *t == holder)
                .map(|(_, email)| email);
        assert_eq!(me["principal"].as_str(), expected, "{me}");
        assert_eq!(me["platform_admin"], holder == &admin, "{me}");
    }
    // Right after alice's token: her token with one character changed, then a truncated one.
    let mut forged = alice.clone();
    forged.insert(forged.len() / 2, 'x');
    assert_eq!(connection.get(WHOAMI, &forged).await.0, StatusCode::UNAUTHORIZED);
    connection.get(WHOAMI, &alice).await;
    assert_eq!(connection.get(WHOAMI, &alice[..alice.len() - 2]).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(connection.get(WHOAMI, &alice).await.1["principal"], "alice@example.com");
}

#[tokio::test]
async fn a_revocation_through_another_connection_is_refused_on_this_one_at_once() {
    let server = TestServer::start(QUICKSTART).await;
    let (admin, bob) = (token("admin@example.com"), token("bob@example.com"));
    let created = server.as_token(&admin, Method::POST, WS, Some(json!({"name": "ws1"}))).await;
    assert_eq!(created.0, StatusCode::CREATED, "{}", created.1);
    let members = format!("{WS}/ws1/members");
    let grant = json!({"principal": "bob@example.com", "roles": ["Viewer"]});
    assert_eq!(
        server.as_token(&admin, Method::POST, &members, Some(grant.clone())).await.0,
        StatusCode::CREATED
    );

    let mut connection = Connection::open(&server).await;
    let ws1 = format!("{WS}/ws1");
    let sees_ws1 = |list: &Value| names(list).contains(&"ws1".to_string());
    // The list, then ws1, each asked again and again: the last request before each change is the
    // very request the connection remembers as allowed.
    for _ in 0..3 {
        let (status, list) = connection.get(WS, &bob).await;
        assert!(status == StatusCode::OK && sees_ws1(&list), "{list}");
    }
    for _ in 0..3 {
        assert_eq!(connection.get(&ws1, &bob).await.0, StatusCode::OK, "bob reads ws1, again and again");
    }
    let revoke = format!("{members}/bob@example.com");
    assert_eq!(server.as_token(&admin, Method::DELETE, &revoke, None).await.0, StatusCode::OK);
    assert_eq!(connection.get(&ws1, &bob).await.0, StatusCode::FORBIDDEN, "the remembered allow is gone");
    let (_, list) = connection.get(WS, &bob).await;
    assert!(!sees_ws1(&list), "the remembered visible set is gone: {list}");

    // A grant through the other connection shows on this one at once, in the list first.
    assert_eq!(server.as_token(&admin, Method::POST, &members, Some(grant)).await.0, StatusCode::CREATED);
    let (_, list) = connection.get(WS, &bob).await;
    assert!(sees_ws1(&list), "{list}");
    for _ in 0..3 {
        assert_eq!(connection.get(&ws1, &bob).await.0, StatusCode::OK);
    }
    // And the workspace's removal too.
    assert_eq!(server.as_token(&admin, Method::DELETE, &ws1, None).await.0, StatusCode::OK);
    assert_ne!(connection.get(&ws1, &bob).await.0, StatusCode::OK, "ws1 is gone");
    let (_, list) = connection.get(WS, &bob).await;
    assert!(!sees_ws1(&list), "{list}");
}

#[tokio::test]
async fn nothing_is_remembered_while_allowed_decisions_are_logged_or_with_the_token_cache_off() {
    // Each logged decision is a decision made: a repeated request on one connection is logged
    // every time. With the token cache disabled, each request verifies its token again.
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "{QUICKSTART}  token_cache_max_entries: 0\n  decision_log:\n    allowed: true\nserver:\n  log_format: json\n"
    );
    let config = write_config(dir.path(), &yaml);
    let server = ProcessServer::spawn_with_log(&config, &dir.path().join("data"), "warn,nmp::decision=info")
        .expect("starts");
    let mut connection = Connection::open_at(&server.base).await;
    let bob = token("bob@example.com");
    for _ in 0..3 {
        assert_eq!(connection.get(WS, &bob).await.0, StatusCode::OK);
    }
    let metrics = reqwest::get(format!("{}/metrics", server.base)).await.unwrap().text().await.unwrap();
    let counter = |name: &str| -> Option<u64> {
        let line = metrics.lines().find(|l| l.starts_with(name))?;
        line.rsplit(' ').next()?.parse().ok()
    };
    let (hits, misses) = (counter("nmp_token_cache_hits"), counter("nmp_token_cache_misses"));
    let mut logged = 0;
    for _ in 0..50 {
        logged = server.log().matches(r#""result":"allow""#).count();
        if logged >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let log = server.log();
    server.kill9();
    assert_eq!(logged, 3, "each of the three requests decided and logged: {log}");
    assert_eq!((hits, misses), (Some(0), Some(3)), "each request verified its token: {metrics}");
}

#[tokio::test]
async fn an_access_key_revoked_through_another_connection_is_refused_on_this_one_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pem = signing_key(dir.path(), "signing");
    let server = TestServer::start_in(&keys_yaml(&pem, ""), dir).await;
    let bob = token("bob@example.com");
    let (status, created) =
        server.as_token(&bob, Method::POST, "/apis/auth/v2/access-keys", Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let (key, jti) =
        (created["token"].as_str().unwrap().to_string(), created["jti"].as_str().unwrap().to_string());

    let mut connection = Connection::open(&server).await;
    for _ in 0..3 {
        let (status, me) = connection.get(WHOAMI, &key).await;
        assert_eq!((status, me["token_kind"].as_str()), (StatusCode::OK, Some("access_key")), "{me}");
    }
    let revoked =
        server.as_token(&bob, Method::DELETE, &format!("/apis/auth/v2/access-keys/{jti}"), None).await;
    assert_eq!(revoked.1["revoked"], true, "{}", revoked.1);
    assert_eq!(connection.get(WHOAMI, &key).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(connection.get(WHOAMI, &bob).await.0, StatusCode::OK, "the connection itself still serves");
}
