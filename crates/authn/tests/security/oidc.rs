//! H. OIDC relying-party conformance cases, mapped to our resource server.

use std::time::Duration;

use nmp_authn::{Authenticator, AuthnError, AuthnSettings, OidcSettings, RejectReason, SettingsError};
use serde_json::json;

use crate::support::mint::{hmac, unsigned};
use crate::support::{ec256, rsa1, rsa2, wait_until, Behaviour, Harness};

#[tokio::test]
async fn oidc_01_sig_none_is_rejected() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let error = h.auth.authenticate(&unsigned(&h.claims())).await.unwrap_err();
    assert_eq!(error, AuthnError::UnsignedRefused);
}

#[tokio::test]
async fn oidc_02_bad_signatures_rs256_es256_hs256_are_rejected() {
    let (rsa, ec) = (rsa1(), ec256());
    let h = Harness::start(vec![rsa.jwk(), ec.jwk()], |_| {}).await;
    for key in [&rsa, &ec] {
        let good = key.mint(&h.claims());
        let tampered = key.mint(&h.claims_with(json!({"sub": "mallory"})));
        let forged = format!(
            "{}.{}",
            tampered.rsplit_once('.').expect("dot").0,
            good.rsplit('.').next().expect("sig")
        );
        assert_eq!(h.reject_reason(&forged).await, RejectReason::BadSignature);
    }
    let hs = hmac(b"secret", &json!({"alg": "HS256", "kid": "rsa1"}), &h.claims());
    assert_eq!(h.reject_reason(&hs).await, RejectReason::SymmetricAlgorithm);
}

#[tokio::test]
async fn oidc_03_issuer_mismatch_is_rejected() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let trailing = format!("{}/", h.idp.issuer());
    for iss in [trailing.as_str(), "https://evil.example"] {
        let token = key.mint(&h.claims_with(json!({"iss": iss})));
        assert_eq!(h.reject_reason(&token).await, RejectReason::WrongIssuer);
    }
}

#[tokio::test]
async fn oidc_04_missing_or_invalid_aud_is_rejected() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let missing = key.mint(&h.claims_with(json!({"aud": null})));
    assert_eq!(h.reject_reason(&missing).await, RejectReason::MissingClaim("aud"));
    let invalid = key.mint(&h.claims_with(json!({"aud": "someone-else"})));
    assert_eq!(h.reject_reason(&invalid).await, RejectReason::WrongAudience);
}

#[tokio::test]
async fn oidc_05_missing_sub_is_rejected() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let token = key.mint(&h.claims_with(json!({"sub": null})));
    assert_eq!(h.reject_reason(&token).await, RejectReason::MissingSubject);
}

#[tokio::test]
async fn oidc_06_missing_iat_is_rejected() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let token = key.mint(&h.claims_with(json!({"iat": null})));
    assert_eq!(h.reject_reason(&token).await, RejectReason::MissingClaim("iat"));
}

#[tokio::test]
async fn oidc_07_kid_absent_single_jwks_accepted_multiple_rejected() {
    let key = rsa1();
    let header = json!({"alg": "RS256"});
    let single = Harness::start(vec![key.jwk()], |_| {}).await;
    single.assert_accepted(&key.mint_with_header(&header, &single.claims())).await;
    let multiple = Harness::start(vec![key.jwk(), rsa2().jwk()], |_| {}).await;
    let token = key.mint_with_header(&header, &multiple.claims());
    assert_eq!(multiple.reject_reason(&token).await, RejectReason::AmbiguousKey);
}

#[tokio::test]
async fn oidc_08_signing_key_rotation_needs_exactly_one_refetch() {
    let (k1, k2) = (rsa1(), rsa2());
    let h = Harness::start(vec![k1.jwk()], |_| {}).await;
    h.assert_accepted(&k1.mint(&h.claims())).await;
    h.idp.set_keys(vec![k2.jwk()]);
    let before = h.idp.jwks_hits();
    h.assert_accepted(&k2.mint(&h.claims())).await;
    assert_eq!(h.idp.jwks_hits(), before + 1);
    h.assert_accepted(&k2.mint(&h.claims_with(json!({"jti": "again"})))).await;
    assert_eq!(h.idp.jwks_hits(), before + 1);
}

#[tokio::test]
async fn oidc_09_first_token_signed_by_a_key_not_yet_cached() {
    let (k1, k2) = (rsa1(), rsa2());
    let h = Harness::start(vec![k1.jwk()], |_| {}).await;
    h.idp.set_keys(vec![k1.jwk(), k2.jwk()]);
    let before = h.idp.jwks_hits();
    h.assert_accepted(&k2.mint(&h.claims())).await;
    assert_eq!(h.idp.jwks_hits(), before + 1);
}

#[tokio::test]
async fn oidc_10_discovery_issuer_mismatch_marks_not_ready_and_accepts_nothing() {
    let key = rsa1();
    let mut h = Harness::start_cold(vec![key.jwk()], |_| {}).await;
    let with_slash = format!("{}/", h.idp.issuer());
    h.idp.set_discovery_issuer(&with_slash);
    h.refresh = Some(h.auth.spawn_background_refresh());
    wait_until(Duration::from_secs(2), || h.idp.discovery_hits() >= 2).await;
    assert!(!h.auth.is_ready());
    assert_eq!(h.idp.jwks_hits(), 0, "keys of a mismatched IdP are not even fetched");
    let error = h.auth.authenticate(&key.mint(&h.claims())).await.unwrap_err();
    assert_eq!(error, AuthnError::KeysUnavailable);
    assert!(error.is_unavailable());
}

#[tokio::test]
async fn oidc_11_jwks_uri_comes_from_discovery_and_follows_changes() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |settings| {
        settings.jwks_refresh_interval = Duration::from_millis(100);
    })
    .await;
    let metadata = h.auth.provider_metadata().expect("metadata");
    assert_eq!(metadata.jwks_uri, Some(format!("{}/jwks", h.idp.issuer())));
    assert_eq!(metadata.token_endpoint, Some(format!("{}/token", h.idp.issuer())));
    assert_eq!(metadata.device_authorization_endpoint, Some(format!("{}/device", h.idp.issuer())));
    h.idp.set_jwks_path("/rotated-jwks");
    let issuer = h.idp.issuer();
    wait_until(Duration::from_secs(3), || {
        h.auth.provider_metadata().and_then(|m| m.jwks_uri) == Some(format!("{issuer}/rotated-jwks"))
    })
    .await;
    let before = h.idp.jwks_hits();
    wait_until(Duration::from_secs(3), || h.idp.jwks_hits() > before).await;
    assert!(h.idp.jwks_hits() > before, "the new jwks_uri is fetched");
    h.assert_accepted(&key.mint(&h.claims())).await;
}

#[tokio::test]
async fn oidc_12_plain_http_issuer_and_redirects_are_refused() {
    for (issuer, jwks) in
        [("http://idp.example.com", None), ("https://idp.example.com", Some("http://idp.example.com/jwks"))]
    {
        let mut oidc = OidcSettings::new(issuer, "api");
        oidc.jwks_uri = jwks.map(str::to_owned);
        let settings = AuthnSettings { oidc: Some(oidc), ..AuthnSettings::default() };
        let error = Authenticator::new(settings, std::sync::Arc::new(nmp_authn::SystemClock)).unwrap_err();
        assert!(matches!(error, SettingsError::InsecureUrl { .. }), "{error:?}");
    }
    // A JWKS answer that redirects elsewhere is not followed: no keys, nothing accepted.
    let key = rsa1();
    let mut h = Harness::start_cold(vec![key.jwk()], |_| {}).await;
    h.idp.set_jwks_behaviour(Behaviour::Redirect(format!("{}/elsewhere", h.idp.issuer())));
    h.refresh = Some(h.auth.spawn_background_refresh());
    wait_until(Duration::from_secs(2), || h.idp.jwks_hits() >= 2).await;
    assert!(!h.auth.is_ready());
    assert_eq!(h.idp.other_hits(), 0, "redirect target never requested");
    let error = h.auth.authenticate(&key.mint(&h.claims())).await.unwrap_err();
    assert_eq!(error, AuthnError::KeysUnavailable);
}

#[tokio::test]
async fn oidc_12_plain_http_jwks_uri_from_discovery_is_refused() {
    let key = rsa1();
    let mut h = Harness::start_cold(vec![key.jwk()], |_| {}).await;
    h.idp.set_discovery_jwks_uri("http://idp.example.com/jwks");
    h.refresh = Some(h.auth.spawn_background_refresh());
    wait_until(Duration::from_secs(2), || h.idp.discovery_hits() >= 2).await;
    assert!(!h.auth.is_ready());
    assert_eq!(h.idp.jwks_hits(), 0);
    let error = h.auth.authenticate(&key.mint(&h.claims())).await.unwrap_err();
    assert_eq!(error, AuthnError::KeysUnavailable);
}
