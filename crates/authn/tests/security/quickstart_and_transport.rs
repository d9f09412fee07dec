//! F. Quickstart (unsigned JWT) mode and G. bearer transport semantics (the parts that live in
//! this crate: header parsing and the error texts; status codes are the server's).

use std::sync::Arc;

use nmp_authn::{
    parse_authorization, Authenticator, AuthnError, AuthnSettings, AuthorizationError, ManualClock,
    DETAIL_INVALID_TOKEN, DETAIL_NOT_CONFIGURED, DETAIL_UNSIGNED_REFUSED,
};
use serde_json::{json, Value};

use crate::support::mint::unsigned;
use crate::support::{rsa1, wall_now, with_logs, Behaviour, Harness};

fn quickstart(allow: bool) -> (Authenticator, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(wall_now()));
    let settings = AuthnSettings { allow_unsigned_jwt: allow, ..AuthnSettings::default() };
    (Authenticator::new(settings, clock.clone()).expect("settings"), clock)
}

fn quickstart_claims(now: i64) -> Value {
    json!({"sub": "dev@example.com", "email": "dev@example.com", "exp": now + 86_400, "iat": now})
}

#[tokio::test]
async fn qs_01_unsigned_tokens_are_off_by_default_and_enabling_warns() {
    assert!(!AuthnSettings::default().allow_unsigned_jwt);
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let token = unsigned(&quickstart_claims(h.now()));
    let error = h.auth.authenticate(&token).await.unwrap_err();
    assert_eq!(error, AuthnError::UnsignedRefused);
    assert_eq!(error.detail(), DETAIL_UNSIGNED_REFUSED);
    let ((_, _), logs) = with_logs(|| quickstart(true));
    assert!(logs.contains("WARN") && logs.contains("allow_unsigned_jwt"), "{logs}");
    let ((_, _), quiet) = with_logs(|| quickstart(false));
    assert!(!quiet.contains("allow_unsigned_jwt"), "{quiet}");
}

#[tokio::test]
async fn qs_03_checks_still_run_for_unsigned_tokens() {
    let (auth, clock) = quickstart(true);
    let now = clock.now_unix_for_tests();
    let verified = auth.authenticate(&unsigned(&quickstart_claims(now))).await.expect("valid");
    assert!(verified.unsigned);
    assert_eq!(verified.principal.id, "dev@example.com");
    assert_eq!(verified.principal.email.as_deref(), Some("dev@example.com"));
    let expired = json!({"sub": "dev", "exp": now - 61, "iat": now - 100});
    assert!(auth.authenticate(&unsigned(&expired)).await.is_err());
    for missing in ["sub", "exp", "iat"] {
        let mut claims = quickstart_claims(now);
        claims.as_object_mut().expect("object").remove(missing);
        assert!(auth.authenticate(&unsigned(&claims)).await.is_err(), "{missing}");
    }
    let scoped = json!({"sub": "dev", "exp": now + 10, "iat": now, "scope": "platform:read"});
    let verified = auth.authenticate(&unsigned(&scoped)).await.expect("valid");
    assert_eq!(verified.principal.scopes, Some(vec!["platform:read".to_owned()]));
    // A signed token while only quickstart is on: nothing to verify it with.
    let signed = rsa1().mint(&json!({"sub": "dev", "exp": now + 10, "iat": now}));
    assert!(auth.authenticate(&signed).await.is_err());
}

#[tokio::test]
async fn qs_04_mode_cannot_be_toggled_by_the_token() {
    let (auth, clock) = quickstart(false);
    let now = clock.now_unix_for_tests();
    let header = json!({"alg": "none", "allow_unsigned_jwt": true, "quickstart": true});
    let token = crate::support::mint::unsigned_with_header(&header, &quickstart_claims(now));
    // Without OIDC and without quickstart nothing is configured at all.
    assert_eq!(auth.authenticate(&token).await.unwrap_err(), AuthnError::NotConfigured);
}

#[tokio::test]
async fn qs_05_quickstart_risk_is_stated_at_startup() {
    let ((_, _), logs) = with_logs(|| quickstart(true));
    assert!(logs.contains("PlatformAdmin"), "{logs}");
    assert!(logs.contains("never in production"), "{logs}");
}

#[tokio::test]
async fn http_01_no_credentials_and_unconfigured_bearer() {
    assert_eq!(parse_authorization(b""), Err(AuthorizationError::NotBearer));
    let (auth, _) = quickstart(false);
    let error = auth.authenticate("a.b.c").await.unwrap_err();
    assert_eq!(error, AuthnError::NotConfigured);
    assert_eq!(error.detail(), DETAIL_NOT_CONFIGURED);
}

#[tokio::test]
async fn http_02_scheme_case_and_malformed_syntax() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let token = key.mint(&h.claims());
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let value = format!("{scheme} {token}");
        let parsed = parse_authorization(value.as_bytes()).expect("bearer");
        h.assert_accepted(parsed.as_str()).await;
    }
    for malformed in ["Bearer".to_owned(), format!("Bearer  {token}"), format!("Bearer {token} {token}")] {
        assert_eq!(parse_authorization(malformed.as_bytes()), Err(AuthorizationError::Malformed));
    }
    for other in [format!("Basic {token}"), format!("Token {token}")] {
        assert_eq!(parse_authorization(other.as_bytes()), Err(AuthorizationError::NotBearer));
    }
}

#[tokio::test]
async fn http_06_every_invalid_token_gets_the_same_detail() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let expired = key.mint(&h.claims_with(json!({"exp": h.now() - 3_600, "iat": h.now() - 7_200})));
    let wrong_sig = {
        let good = key.mint(&h.claims());
        let (input, _) = good.rsplit_once('.').expect("dot");
        format!("{input}.{}", crate::support::mint::b64(&[1u8; 256]))
    };
    let wrong_aud = key.mint(&h.claims_with(json!({"aud": "other"})));
    let wrong_iss = key.mint(&h.claims_with(json!({"iss": "https://evil.example"})));
    let mut reasons = Vec::new();
    for token in [expired, wrong_sig, wrong_aud, wrong_iss, "garbage".to_owned()] {
        let error = h.auth.authenticate(&token).await.unwrap_err();
        assert_eq!(error.detail(), DETAIL_INVALID_TOKEN);
        assert!(!error.to_string().contains(&token), "the token never appears in the error");
        reasons.push(error.reason());
    }
    reasons.dedup();
    assert_eq!(reasons.len(), 5, "internal reasons still differ for the logs");
    h.assert_accepted(&key.mint(&h.claims())).await;
}

#[tokio::test]
async fn jwks_10_two_bearer_tokens_while_jwks_fails_are_malformed_not_a_crash() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    h.idp.set_jwks_behaviour(Behaviour::Status(500));
    let token = key.mint(&h.claims());
    let doubled = format!("Bearer {token} {token}");
    assert_eq!(parse_authorization(doubled.as_bytes()), Err(AuthorizationError::Malformed));
    let unknown = crate::support::TestKey::load("rsa2", "new", jsonwebtoken::Algorithm::RS256);
    assert!(h.auth.authenticate(&unknown.mint(&h.claims())).await.is_err());
    h.assert_accepted(&token).await;
}

trait NowForTests {
    fn now_unix_for_tests(&self) -> i64;
}

impl NowForTests for ManualClock {
    fn now_unix_for_tests(&self) -> i64 {
        nmp_authn::Clock::now_unix(self)
    }
}
