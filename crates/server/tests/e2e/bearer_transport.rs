//! Bearer transport over HTTP (test catalog family HTTP, plus JWT-F07 and JWKS-10;
//! `docs/test-catalog.md`): on the ordinary routes and on the gateway callouts alike, each case
//! asserting the exact status.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::gateway::{
    assert_callout, bearer, callout, setup, signed_looking_token, unreachable_idp_yaml, CALLOUT, WS,
};
use super::oidc::{login, oidc_yaml, start_idp, wait_ready};
use super::support::{read, user_token, TestServer, QUICKSTART};

#[tokio::test]
async fn http_01_no_credentials_get_a_bare_bearer_challenge() {
    let (server, _) = setup(QUICKSTART).await;
    for response in [
        server.request(Method::GET, &format!("{WS}/ws1")).send().await.unwrap(),
        callout(&server, Method::GET, &format!("{WS}/ws1"), &[]).await,
        server.request(Method::GET, "/apis/auth/authenticate").send().await.unwrap(),
    ] {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_string();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        assert!(!challenge.contains("error="), "{challenge}");
    }
}

#[tokio::test]
async fn http_02_scheme_is_case_insensitive_and_broken_headers_are_400() {
    let (server, tokens) = setup(QUICKSTART).await;
    let ws1 = format!("{WS}/ws1");
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let value = format!("{scheme} {}", tokens.bob);
        assert_eq!(
            server.call(Method::GET, &ws1, None, &[("Authorization", &value)]).await.0,
            StatusCode::OK,
            "{scheme}"
        );
        let response = callout(&server, Method::GET, &ws1, &[("Authorization", &value)]).await;
        assert_callout(&response, StatusCode::OK, scheme);
    }
    let two_spaces = format!("Bearer  {}", tokens.bob);
    for broken in ["Bearer", "Bearer ", two_spaces.as_str(), "Bearer a b", "Bearer a,b"] {
        let value = reqwest::header::HeaderValue::from_str(broken).unwrap();
        let response =
            server.request(Method::GET, &ws1).header("Authorization", value.clone()).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{broken:?}");
        assert!(response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(r#"error="invalid_request""#));
        let response = server
            .request(Method::GET, &format!("{CALLOUT}{ws1}"))
            .header("Authorization", value)
            .send()
            .await
            .unwrap();
        assert_callout(&response, StatusCode::BAD_REQUEST, broken);
    }
    let token_scheme = format!("Token {}", tokens.bob);
    for other_scheme in ["Basic YWxpY2U6cGFzcw==", token_scheme.as_str()] {
        let (status, body) = server.call(Method::GET, &ws1, None, &[("Authorization", other_scheme)]).await;
        assert_eq!(
            (status, body),
            (StatusCode::UNAUTHORIZED, json!({"detail": "Unauthorized"})),
            "{other_scheme}"
        );
    }
    // Two credentials: a malformed request, whether or not both are valid.
    let (bob, admin) = (bearer(&tokens.bob), bearer(&tokens.admin));
    let response = server
        .request(Method::GET, &ws1)
        .header("Authorization", &bob)
        .header("Authorization", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response =
        callout(&server, Method::DELETE, &ws1, &[("Authorization", &bob), ("Authorization", &admin)]).await;
    assert_callout(&response, StatusCode::BAD_REQUEST, "two tokens at the callout");
}

#[tokio::test]
async fn http_04_token_in_the_query_string_is_not_accepted() {
    let (server, tokens) = setup(QUICKSTART).await;
    let query = format!("access_token={}", tokens.admin);
    let (status, _) = server.get(&format!("{WS}/ws1?{query}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let response = callout(&server, Method::GET, &format!("{WS}/ws1?{query}"), &[]).await;
    assert_callout(&response, StatusCode::UNAUTHORIZED, "query token at the callout");
    let response =
        server.request(Method::GET, &format!("/apis/auth/authenticate?{query}")).send().await.unwrap();
    assert_callout(&response, StatusCode::UNAUTHORIZED, "query token at token inspection");
}

#[tokio::test]
async fn http_05_insufficient_scope_is_403_before_any_lookup() {
    let (server, tokens) = setup(QUICKSTART).await;
    let (status, _) = server
        .as_token(
            &tokens.admin,
            Method::POST,
            &format!("{WS}/ws1/members"),
            Some(json!({"principal": "dana@example.com", "roles": ["Editor"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let read_only = user_token("dana@example.com", &[], Some("platform:read"));
    let mut answers = Vec::new();
    for workspace in ["ws1", "no-such-ws"] {
        let path = format!("{WS}/{workspace}/projects");
        let response = server
            .request(Method::POST, &path)
            .bearer_auth(&read_only)
            .json(&json!({"name": "p1"}))
            .send()
            .await
            .unwrap();
        let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_string();
        let (status, body) = read(response).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{workspace}");
        assert!(challenge.contains(r#"error="insufficient_scope""#), "{challenge}");
        assert!(challenge.contains("platform:write"), "{challenge}");
        let response = callout(&server, Method::POST, &path, &[("Authorization", &bearer(&read_only))]).await;
        assert_callout(&response, StatusCode::FORBIDDEN, workspace);
        answers.push((status, body, challenge));
    }
    assert_eq!(answers[0], answers[1], "an existing and a missing workspace look the same");
    // With the write scope the Editor may.
    let read_write = user_token("dana@example.com", &[], Some("platform:read platform:write"));
    let (status, _) = server
        .as_token(&read_write, Method::POST, &format!("{WS}/ws1/projects"), Some(json!({"name": "p1"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn http_06_invalid_tokens_get_one_answer_whatever_the_cause() {
    let idp = start_idp().await;
    let server = TestServer::start(&oidc_yaml(&idp, 300, "    leeway_seconds: 0\n")).await;
    wait_ready(&server).await;
    let tokens = idp.device_login("alice@example.com", "openid platform:read").await.unwrap();
    let good = tokens.access_token.clone();
    // Change a character well inside the signature (the last one may carry only padding bits).
    let mut tampered_signature = good.clone().into_bytes();
    let at = tampered_signature.len() - 10;
    tampered_signature[at] = if tampered_signature[at] == b'A' { b'B' } else { b'A' };
    let tampered_signature = String::from_utf8(tampered_signature).unwrap();
    let (head, rest) = good.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let (_, mut claims) = nmp_testkit::decode_jwt_unverified(&good).unwrap();
    claims["sub"] = json!("u-admin");
    let forged_claims = {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{head}.{}.{signature}", engine.encode(serde_json::to_vec(&claims).unwrap()))
    };
    let wrong_audience = tokens.id_token.expect("id token");
    idp.set_access_token_ttl(Duration::from_secs(1)).await.unwrap();
    let expiring = login(&idp, "alice@example.com", "openid platform:read").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;

    assert_eq!(server.as_token(&good, Method::GET, WS, None).await.0, StatusCode::OK);
    let mut answers = Vec::new();
    for (cause, token) in [
        ("bad signature", &tampered_signature),
        ("changed claims", &forged_claims),
        ("wrong audience", &wrong_audience),
        ("expired", &expiring),
    ] {
        let response = server.request(Method::GET, WS).bearer_auth(token).send().await.unwrap();
        let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_string();
        let (status, body) = read(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{cause}");
        answers.push((cause, status, body, challenge));
    }
    for answer in &answers[1..] {
        assert_eq!(
            (&answer.1, &answer.2, &answer.3),
            (&answers[0].1, &answers[0].2, &answers[0].3),
            "{}",
            answer.0
        );
    }
    assert_eq!(answers[0].2, json!({"detail": "Invalid or expired token"}));
    assert!(answers[0].3.contains(r#"error="invalid_token""#));
}

// --- JWT-F07, JWKS-10: hostile headers ----------------------------------------------------------

#[tokio::test]
async fn jwt_f07_huge_authorization_headers_are_refused_fast() {
    let (server, _) = setup(QUICKSTART).await;
    let dots = format!("Bearer {}", ".".repeat(64 * 1024));
    let letters = format!("Bearer {}", "a".repeat(64 * 1024));
    let started = Instant::now();
    let mut requests = Vec::new();
    for i in 0..40 {
        let value = if i % 2 == 0 { dots.clone() } else { letters.clone() };
        let path = if i % 4 < 2 { format!("{WS}/ws1") } else { format!("{CALLOUT}{WS}/ws1") };
        requests.push(server.request(Method::GET, &path).header("Authorization", value).send());
    }
    for response in futures::future::join_all(requests).await {
        let response = response.unwrap();
        assert_eq!(response.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    // The server is fine afterwards.
    assert_eq!(server.get("/health/live").await.0, StatusCode::OK);
}

#[tokio::test]
async fn jwks_10_two_bearer_tokens_while_the_jwks_fetch_fails_is_400() {
    let server = TestServer::start(&unreachable_idp_yaml()).await;
    let token = bearer(&signed_looking_token());
    for _ in 0..20 {
        let response = server
            .request(Method::GET, WS)
            .header("Authorization", &token)
            .header("Authorization", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let response =
            callout(&server, Method::GET, WS, &[("Authorization", &token), ("Authorization", &token)]).await;
        assert_callout(&response, StatusCode::BAD_REQUEST, "two tokens at the callout");
    }
    assert_eq!(server.get("/health/live").await.0, StatusCode::OK);
    let (status, body): (StatusCode, Value) =
        server.as_token(&signed_looking_token(), Method::GET, WS, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
}
