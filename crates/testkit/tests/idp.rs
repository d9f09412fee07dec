//! End-to-end proof that the test IdP and the testkit work: real device, authorization-code,
//! refresh and client-credentials grants; JWT access tokens verified with `jsonwebtoken` against
//! the served JWKS for every algorithm; key rotation; counters; faults; stop and restart.

use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use nmp_testkit::{decode_jwt_unverified, is_oauth_error, Endpoint, Fault, TestIdp};
use serde_json::Value;

const SCOPES: &str = "openid profile email offline_access platform:read entities:read";

async fn served_jwks(idp: &TestIdp) -> JwkSet {
    let response = reqwest::get(idp.jwks_url()).await.expect("GET /jwks");
    assert!(response.status().is_success(), "jwks status {}", response.status());
    response.json().await.expect("JWKS JSON")
}

/// Verifies `token` like a resource server would: kid from the header, key from the served
/// JWKS, signature, `exp`, `iss`, `aud`.
async fn verify(idp: &TestIdp, token: &str, expected_alg: Algorithm) -> Value {
    let header = decode_header(token).expect("JWT header");
    assert_eq!(header.alg, expected_alg);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let kid = header.kid.expect("kid in header");
    let jwks = served_jwks(idp).await;
    let jwk = jwks.find(&kid).unwrap_or_else(|| panic!("kid {kid} not in the served JWKS"));
    let key = DecodingKey::from_jwk(jwk).expect("decoding key from JWK");
    let mut validation = Validation::new(expected_alg);
    validation.set_issuer(&[idp.issuer()]);
    validation.set_audience(&[idp.audience()]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    decode::<Value>(token, &key, &validation).expect("valid signature and claims").claims
}

fn scopes_of(claims: &Value) -> Vec<String> {
    claims["scope"].as_str().unwrap_or_default().split_whitespace().map(str::to_owned).collect()
}

#[tokio::test]
async fn device_login_gives_a_verifiable_jwt_with_nmp_claims() {
    let idp = TestIdp::start().await.expect("start IdP");
    let tokens = idp.device_login("alice@example.com", SCOPES).await.expect("device login");
    assert_eq!(tokens.token_type.to_ascii_lowercase(), "bearer");
    assert!(tokens.refresh_token.is_some(), "offline_access gives a refresh token");
    assert!(tokens.id_token.is_some(), "openid gives an ID token");
    assert!(tokens.expires_in > 0 && tokens.expires_in <= 900);

    let claims = verify(&idp, &tokens.access_token, Algorithm::RS256).await;
    assert_eq!(claims["iss"], idp.issuer());
    assert_eq!(claims["aud"], idp.audience());
    assert_eq!(claims["sub"], "u-alice");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["groups"], serde_json::json!(["ml-team"]));
    assert_eq!(claims["client_id"], "nemo-cli");
    let scopes = scopes_of(&claims);
    assert!(scopes.contains(&"platform:read".to_owned()), "scope claim: {scopes:?}");
    assert!(scopes.contains(&"entities:read".to_owned()), "scope claim: {scopes:?}");
    assert!(!scopes.contains(&"platform:write".to_owned()), "only what was asked: {scopes:?}");

    assert!(!idp.stderr().contains("error"), "IdP logged errors:\n{}", idp.stderr());

    let debug = format!("{tokens:?}");
    assert!(!debug.contains(&tokens.access_token[..20]), "Debug must redact: {debug}");
}

#[tokio::test]
async fn every_signing_algorithm_verifies_against_the_served_jwks() {
    let idp = TestIdp::start().await.expect("start IdP");
    for (alg, expected) in
        [("ES256", Algorithm::ES256), ("EdDSA", Algorithm::EdDSA), ("RS256", Algorithm::RS256)]
    {
        let kid = idp.set_access_token_alg(alg).await.expect("set alg");
        let tokens =
            idp.device_login("bob@example.com", "openid platform:write").await.expect("device login");
        let (header, _) = decode_jwt_unverified(&tokens.access_token).expect("decode");
        assert_eq!(header["kid"], kid.as_str());
        let claims = verify(&idp, &tokens.access_token, expected).await;
        assert_eq!(claims["sub"], "u-bob");
        assert_eq!(claims["groups"], serde_json::json!([]));
    }
}

#[tokio::test]
async fn approving_by_bare_user_code_and_denying_both_work() {
    let idp = TestIdp::start().await.expect("start IdP");

    // The CLI starts the flow; the test plays the user typing the code in.
    let flow = idp.start_device_authorization("openid platform:read").await.expect("device authorization");
    let pending = idp.redeem_device_code(&flow.device_code).await.expect_err("not yet approved");
    assert!(is_oauth_error(&pending, "authorization_pending"), "{pending:#}");
    idp.approve_device_code(&flow.user_code, "carol").await.expect("approve by user code");
    let tokens = idp.redeem_device_code(&flow.device_code).await.expect("redeem");
    let (_, claims) = decode_jwt_unverified(&tokens.access_token).expect("decode");
    assert_eq!(claims["sub"], "u-carol");
    assert!(tokens.refresh_token.is_none(), "no offline_access, no refresh token");

    let denied = idp.start_device_authorization("openid platform:read").await.expect("device authorization");
    let uri = denied.verification_uri_complete.clone().expect("verification_uri_complete");
    idp.deny_device_code(&uri, "alice@example.com").await.expect("deny");
    let error = idp.redeem_device_code(&denied.device_code).await.expect_err("denied");
    assert!(is_oauth_error(&error, "access_denied"), "{error:#}");

    let unknown = idp.approve_device_code("BCDF-GHJK", "alice@example.com").await.expect_err("unknown code");
    assert!(format!("{unknown:#}").contains("not found"), "{unknown:#}");
    let nobody = idp.start_device_authorization("openid").await.expect("device authorization");
    let error =
        idp.approve_device_code(&nobody.user_code, "mallory@example.com").await.expect_err("no such user");
    assert!(format!("{error:#}").contains("unknown user"), "{error:#}");
}

#[tokio::test]
async fn refresh_rotates_the_refresh_token() {
    let idp = TestIdp::start().await.expect("start IdP");
    let first = idp.device_login("alice@example.com", SCOPES).await.expect("device login");
    let old_refresh = first.refresh_token.clone().expect("refresh token");

    let second = idp.refresh(&old_refresh).await.expect("refresh");
    let new_refresh = second.refresh_token.clone().expect("rotated refresh token");
    assert_ne!(new_refresh, old_refresh);
    assert_ne!(second.access_token, first.access_token);
    let claims = verify(&idp, &second.access_token, Algorithm::RS256).await;
    assert_eq!(claims["sub"], "u-alice");
    assert_eq!(claims["email"], "alice@example.com");
    assert!(scopes_of(&claims).contains(&"platform:read".to_owned()));

    let reused = idp.refresh(&old_refresh).await.expect_err("a rotated-out refresh token is dead");
    assert!(is_oauth_error(&reused, "invalid_grant"), "{reused:#}");
}

#[tokio::test]
async fn key_rotation_and_removal_change_the_jwks() {
    let idp = TestIdp::start().await.expect("start IdP");
    let before = idp.state().await.expect("state");
    assert_eq!(before.kids.len(), 3, "one RS256, one ES256, one EdDSA key");
    let old_token = idp.device_login("alice", "openid platform:read").await.expect("login");

    let new_kid = idp.rotate_key("ES256").await.expect("rotate");
    let jwks = served_jwks(&idp).await;
    assert!(jwks.find(&new_kid).is_some() && jwks.find(&before.signing_kid).is_some());
    let new_token = idp.device_login("alice", "openid platform:read").await.expect("login after rotation");
    let (header, _) = decode_jwt_unverified(&new_token.access_token).expect("decode");
    assert_eq!(header["kid"], new_kid.as_str());
    verify(&idp, &new_token.access_token, Algorithm::ES256).await;
    verify(&idp, &old_token.access_token, Algorithm::RS256).await;

    let rs_kid = idp.rotate_key("RS256").await.expect("rotate RS256");
    let removed = idp.remove_old_keys().await.expect("remove old keys");
    assert_eq!(removed.len(), 2, "the replaced ES256 and RS256 keys: {removed:?}");
    let jwks = served_jwks(&idp).await;
    assert!(jwks.find(&before.signing_kid).is_none(), "old RS256 key is gone");
    assert!(jwks.find(&new_kid).is_some() && jwks.find(&rs_kid).is_some());
    assert_eq!(jwks.keys.len(), 3);
    assert_eq!(idp.jwks().await.expect("control jwks")["keys"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn counters_and_faults() {
    let idp = TestIdp::start().await.expect("start IdP");
    idp.reset_counters().await.expect("reset");
    served_jwks(&idp).await;
    served_jwks(&idp).await;
    reqwest::get(idp.discovery_url()).await.expect("discovery");
    idp.jwks().await.expect("control jwks does not count");
    assert_eq!(idp.jwks_fetch_count().await.expect("count"), 2);
    assert_eq!(idp.discovery_fetch_count().await.expect("count"), 1);

    idp.set_jwks_failing(true).await.expect("fail jwks");
    assert_eq!(reqwest::get(idp.jwks_url()).await.expect("GET").status(), 500);
    idp.set_jwks_failing(false).await.expect("repair jwks");
    served_jwks(&idp).await;
    assert_eq!(idp.jwks_fetch_count().await.expect("count"), 4, "failed fetches count too");

    idp.set_fault(Endpoint::Jwks, Fault::Hang).await.expect("hang jwks");
    let client = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().expect("client");
    let hung = client.get(idp.jwks_url()).send().await.expect_err("hangs");
    assert!(hung.is_timeout(), "{hung}");
    idp.set_fault(Endpoint::Jwks, Fault::Garbage).await.expect("garbage jwks");
    let garbage = reqwest::get(idp.jwks_url()).await.expect("GET");
    assert!(garbage.json::<Value>().await.is_err(), "garbage is not JSON");
    idp.set_fault(Endpoint::Jwks, Fault::None).await.expect("repair");

    idp.set_jwks_cache_control(Some("max-age=60")).await.expect("cache-control");
    let response = reqwest::get(idp.jwks_url()).await.expect("GET");
    assert_eq!(response.headers()["cache-control"], "max-age=60");
    let other_jwks = format!("{}/elsewhere/jwks", idp.issuer());
    idp.set_discovery_overrides(serde_json::json!({ "jwks_uri": other_jwks })).await.expect("override");
    let discovery: Value = reqwest::get(idp.discovery_url()).await.expect("GET").json().await.expect("JSON");
    assert_eq!(discovery["jwks_uri"], other_jwks.as_str());
    assert_eq!(discovery["issuer"], idp.issuer());
    idp.set_discovery_overrides(serde_json::json!({})).await.expect("restore");

    idp.set_device_interval(Some(1)).await.expect("interval");
    let flow = idp.start_device_authorization("openid").await.expect("device authorization");
    assert_eq!(flow.interval, Some(1));

    idp.set_access_token_ttl(Duration::from_secs(2)).await.expect("ttl");
    let short = idp.device_login("bob", "openid platform:read").await.expect("login");
    assert_eq!(short.expires_in, 2);
    let (_, claims) = decode_jwt_unverified(&short.access_token).expect("decode");
    assert_eq!(claims["exp"].as_u64().zip(claims["iat"].as_u64()).map(|(exp, iat)| exp - iat), Some(2));
}

#[tokio::test]
async fn stop_and_restart_on_the_same_port_keep_keys_and_tokens() {
    let mut idp = TestIdp::start().await.expect("start IdP");
    let tokens = idp.device_login("alice@example.com", SCOPES).await.expect("login");
    let jwks_before = served_jwks(&idp).await;
    let issuer = idp.issuer().to_owned();

    idp.stop().await.expect("stop");
    assert!(!idp.is_running());
    let refused = reqwest::get(idp.jwks_url()).await.expect_err("IdP is down");
    assert!(refused.is_connect(), "{refused}");

    idp.set_fault(Endpoint::Jwks, Fault::Error).await.expect_err("control API is down too");
    idp.restart().await.expect("restart");
    assert_eq!(idp.issuer(), issuer);
    let jwks_after = served_jwks(&idp).await;
    assert_eq!(jwks_after, jwks_before, "same keys after restart");
    verify(&idp, &tokens.access_token, Algorithm::RS256).await;
    let refreshed = idp.refresh(tokens.refresh_token.as_deref().expect("refresh token")).await;
    refreshed.expect("refresh token issued before the outage still works");
}

#[tokio::test]
async fn authorization_code_with_pkce_and_client_credentials() {
    let idp = TestIdp::start().await.expect("start IdP");
    let tokens = idp
        .authorization_code_login(
            idp.studio_client_id(),
            "http://127.0.0.1:45678/callback",
            "admin@example.com",
            "openid email offline_access platform:write",
        )
        .await
        .expect("authorization code flow");
    assert!(tokens.refresh_token.is_some());
    let claims = verify(&idp, &tokens.access_token, Algorithm::RS256).await;
    assert_eq!(claims["sub"], "u-admin");
    assert_eq!(claims["client_id"], "nmp-studio");
    assert!(scopes_of(&claims).contains(&"platform:write".to_owned()));

    let service = idp.client_credentials("platform:read").await.expect("client credentials");
    let claims = verify(&idp, &service.access_token, Algorithm::RS256).await;
    assert_eq!(claims["sub"], "nmp-ci");
    assert_eq!(claims["groups"], serde_json::json!(["ci-bots"]));
}
