//! Logs: every denial is a structured decision event (ADR 0019), and no token (quickstart or OIDC), in
//! whole or in part, ever reaches the log, even at `trace` for every target (hyper included).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::oidc::{oidc_yaml, start_idp};
use super::support::{unsigned_token, user_token, write_config, ProcessServer, QUICKSTART};

async fn call(base: &str, token: &str, method: Method, path: &str, body: Option<Value>) -> StatusCode {
    let mut request = reqwest::Client::new().request(method, format!("{base}{path}")).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("sent").status()
}

#[tokio::test]
async fn denials_are_logged_as_decision_events_and_tokens_never_are() {
    // Unsigned quickstart tokens and real OIDC tokens side by side, every target at `trace`,
    // hyper's included (the server speaks HTTP/1.1 only; h2 is not in its dependency tree).
    let idp = start_idp().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = oidc_yaml(&idp, 300, "")
        .replace("auth:\n  enabled: true\n", "auth:\n  enabled: true\n  allow_unsigned_jwt: true\n");
    let config = write_config(dir.path(), &format!("{yaml}server:\n  log_format: json\n"));
    let server = ProcessServer::spawn_with_log(&config, &dir.path().join("data"), "trace").expect("starts");
    let base = server.base.clone();
    let admin = user_token("admin@example.com", &[], None);
    let carol = user_token("carol@example.com", &[], None);
    let forged = unsigned_token(json!({"sub": "mallory", "iat": 1, "exp": 2}));
    let oidc_alice =
        idp.device_login("alice@example.com", "openid email platform:read").await.unwrap().access_token;
    let oidc_bob =
        idp.device_login("bob@example.com", "openid email platform:read").await.unwrap().access_token;
    // A real token whose signature no longer matches: refused as invalid.
    let oidc_tampered = {
        let mut bytes = oidc_bob.clone().into_bytes();
        let middle_of_signature = bytes.len() - 20;
        bytes[middle_of_signature] = if bytes[middle_of_signature] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    assert_eq!(
        call(&base, &admin, Method::POST, "/apis/entities/v2/workspaces", Some(json!({"name": "ws1"}))).await,
        StatusCode::CREATED
    );
    assert_eq!(
        call(&base, &carol, Method::DELETE, "/apis/entities/v2/workspaces/ws1", None).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&base, &forged, Method::GET, "/apis/entities/v2/workspaces", None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&base, "not.a-token", Method::GET, "/apis/entities/v2/workspaces", None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(call(&base, &oidc_alice, Method::GET, "/apis/auth/authenticate", None).await, StatusCode::OK);
    assert_eq!(
        call(&base, &oidc_alice, Method::DELETE, "/apis/entities/v2/workspaces/ws1", None).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&base, &oidc_tampered, Method::GET, "/apis/entities/v2/workspaces", None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&base, &oidc_bob, Method::GET, "/apis/entities/v2/workspaces", None).await,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = server.log();
    server.kill9();
    // The log really is at trace for the HTTP stack (else this test would prove little).
    assert!(log.contains(r#""level":"TRACE""#), "no trace events in the log");
    assert!(log.contains(r#""target":"hyper"#), "no hyper events in the log");

    let denial = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|event| {
            event["target"] == "nmp::decision" && event["fields"]["principal"] == "carol@example.com"
        })
        .unwrap_or_else(|| panic!("no decision event for carol's denial in:\n{log}"));
    let fields = &denial["fields"];
    assert_eq!(fields["result"], "deny");
    assert_eq!(fields["method"], "DELETE");
    assert_eq!(fields["path"], "/apis/entities/v2/workspaces/ws1");
    assert_eq!(fields["workspace"], "ws1");
    assert_eq!(fields["reason"], "NoBinding");
    assert!(fields["decision_id"].as_str().is_some_and(|id| id.len() == 16), "{denial}");
    assert!(fields["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{denial}");
    // Allowed decisions are not logged by default.
    assert!(!log.contains(r#""result":"allow""#), "allowed decisions were logged");
    for token in [&admin, &carol, &forged, &oidc_alice, &oidc_bob, &oidc_tampered] {
        for part in token.split('.').filter(|p| p.len() > 8) {
            assert!(!log.contains(part), "a token segment reached the log");
            // Nor a recognisable piece of one (e.g. a truncated or split value).
            for window in part.as_bytes().chunks(24).filter(|w| w.len() == 24) {
                let piece = std::str::from_utf8(window).unwrap();
                assert!(!log.contains(piece), "a 24-character piece of a token reached the log");
            }
        }
    }
    assert!(!log.contains("not.a-token"));
}

#[tokio::test]
async fn every_decision_is_logged_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!("{QUICKSTART}  decision_log:\n    allowed: true\nserver:\n  log_format: json\n");
    let config = write_config(dir.path(), &yaml);
    let server = ProcessServer::spawn_with_log(&config, &dir.path().join("data"), "warn,nmp::decision=info")
        .expect("starts");
    let admin = user_token("admin@example.com", &[], None);
    assert_eq!(
        call(&server.base, &admin, Method::GET, "/apis/entities/v2/workspaces", None).await,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = server.log();
    server.kill9();
    assert!(log.contains(r#""result":"allow""#) && log.contains(r#""reason":"PlatformAdmin""#), "{log}");
}

/// The server logs the security checklist's findings at start (`nemo services check` prints the
/// same ones): warnings and above at `warn`, naming the finding and its fix.
#[tokio::test]
async fn startup_logs_the_security_check_findings() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), QUICKSTART);
    let server = ProcessServer::spawn_with_log(&config, &dir.path().join("data"), "warn").expect("starts");
    let log = server.log();
    server.kill9();
    let line = log
        .lines()
        .find(|line| line.contains("security check:") && line.contains("unsigned-tokens"))
        .unwrap_or_else(|| panic!("no unsigned-tokens finding at start in:\n{log}"));
    assert!(line.contains("WARN") && line.contains("critical"), "{line}");
    assert!(line.contains("remove `auth.allow_unsigned_jwt`"), "the fix is logged: {line}");
    assert!(log.contains("default-workspace-open"), "{log}");
    assert!(!log.contains("decision-log-off"), "only findings the config has: {log}");
}

/// `docs/oidc-setup.md`, "When sign-in fails", followed literally: with a wrong audience the
/// caller gets the generic 401, and the server run with `NMP_LOG=info,nmp_server=debug` logs
/// `bearer token rejected` with the reason the page's table names (and never the token).
#[tokio::test]
async fn a_rejected_token_logs_the_reason_the_oidc_guide_names() {
    let idp = super::oidc::start_idp().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "auth:\n  enabled: true\n  oidc:\n    enabled: true\n    issuer: {}\n    client_id: nemo-cli\n    audience: not-the-api\n",
        idp.issuer()
    );
    let config = write_config(dir.path(), &yaml);
    let server = ProcessServer::spawn_with_log(&config, &dir.path().join("data"), "info,nmp_server=debug")
        .expect("starts");
    let token = super::oidc::login(&idp, "alice@example.com", "openid email platform:read").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let response = loop {
        let response = reqwest::Client::new()
            .get(format!("{}/apis/entities/v2/workspaces", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("sent");
        // 503 while the IdP's keys are still loading.
        if response.status() != StatusCode::SERVICE_UNAVAILABLE || std::time::Instant::now() > deadline {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["detail"], "Invalid or expired token");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = server.log();
    server.kill9();
    let line = log
        .lines()
        .map(without_colours)
        .find(|line| line.contains("bearer token rejected"))
        .unwrap_or_else(|| panic!("no rejection line in:\n{log}"));
    assert!(line.contains("reason=invalid token: audience not accepted"), "{line}");
    assert!(!log.contains(&token), "the token is never logged");
}

/// A log line without its ANSI colour sequences (`ESC [ ... m`), as a reader sees it.
fn without_colours(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for next in chars.by_ref() {
                if next == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
