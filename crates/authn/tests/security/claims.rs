//! D. Claims validation (time, issuer, audience, subject, types) and E. access-token profile.

use nmp_authn::{Authenticator, AuthnSettings, OidcSettings, RejectReason, SettingsError};
use serde_json::json;

use crate::support::{rsa1, rsa2, FakeIdp, Harness, AUDIENCE};

const LEEWAY: i64 = 60;

#[tokio::test]
async fn jwt_c01_exp_boundary_with_leeway_and_exp_required() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let exp = h.now() + 100;
    let token = key.mint(&h.claims_with(json!({"exp": exp})));
    h.clock.set(exp + LEEWAY - 1);
    h.assert_accepted(&token).await;
    h.clock.set(exp + LEEWAY);
    assert_eq!(h.reject_reason(&token).await, RejectReason::Expired);
    h.clock.set(exp - 100);
    let no_exp = key.mint(&h.claims_with(json!({"exp": null})));
    h.assert_rejected(&no_exp).await;
}

#[tokio::test]
async fn jwt_c02_nbf_boundary_is_enforced() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let start = h.now();
    let nbf = start + 1_000;
    let token = key.mint(&h.claims_with(json!({"nbf": nbf, "exp": nbf + 600, "iat": start})));
    h.clock.set(nbf - LEEWAY - 1);
    assert_eq!(h.reject_reason(&token).await, RejectReason::NotYetValid);
    h.clock.set(nbf - LEEWAY);
    h.assert_accepted(&token).await;
}

#[tokio::test]
async fn jwt_c03_iat_in_the_future_or_missing_is_rejected() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let now = h.now();
    let future = key.mint(&h.claims_with(json!({"iat": now + LEEWAY + 1})));
    assert_eq!(h.reject_reason(&future).await, RejectReason::IssuedInFuture);
    let within = key.mint(&h.claims_with(json!({"iat": now + LEEWAY})));
    h.assert_accepted(&within).await;
    let missing = key.mint(&h.claims_with(json!({"iat": null})));
    assert_eq!(h.reject_reason(&missing).await, RejectReason::MissingClaim("iat"));
}

#[tokio::test]
async fn jwt_c04_wrongly_typed_time_claims_are_rejected() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    for (claim, value) in [
        ("exp", json!("9999999999")),
        ("nbf", json!("0")),
        ("iat", json!("0")),
        ("exp", json!(9.9e9)),
        ("nbf", json!({"t": 0})),
    ] {
        let token = key.mint(&h.claims_with(json!({ claim: value })));
        h.assert_rejected(&token).await;
    }
}

#[tokio::test]
async fn jwt_c06_key_of_another_configured_issuer_cannot_sign_for_the_first() {
    let key_a = rsa1();
    let key_b = rsa2();
    let idp_b = FakeIdp::start(vec![key_b.jwk()]).await;
    let h = Harness::start(vec![key_a.jwk()], |settings| {
        if let Some(oidc) = settings.oidc.as_mut() {
            oidc.additional_issuers = vec![idp_b.issuer()];
        }
    })
    .await;
    let forged = key_b.mint(&h.claims());
    assert_eq!(h.reject_reason(&forged).await, RejectReason::UnknownKey);
    let as_b = key_b.mint(&h.claims_with(json!({"iss": idp_b.issuer()})));
    h.assert_rejected(&as_b).await;
    assert_eq!(idp_b.jwks_hits(), 0, "issuer B's keys are never fetched");
    // The additional issuer is an alias of the same IdP (same JWKS).
    let alias = key_a.mint(&h.claims_with(json!({"iss": idp_b.issuer()})));
    h.assert_accepted(&alias).await;
}

#[tokio::test]
async fn jwt_c07_audience_must_contain_ours_exactly() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    for good in [json!(AUDIENCE), json!(["other", AUDIENCE])] {
        h.assert_accepted(&key.mint(&h.claims_with(json!({"aud": good})))).await;
    }
    for bad in [
        json!(["other"]),
        json!("other"),
        json!(""),
        json!([]),
        json!(format!("{AUDIENCE}.evil.com")),
        json!(format!("{AUDIENCE}/")),
        json!(AUDIENCE.to_uppercase()),
        json!(&AUDIENCE[..3]),
        json!(123),
        json!({"x": 1}),
        json!([123]),
    ] {
        let token = key.mint(&h.claims_with(json!({"aud": bad.clone()})));
        h.assert_rejected(&token).await;
    }
    let absent = key.mint(&h.claims_with(json!({"aud": null})));
    assert_eq!(h.reject_reason(&absent).await, RejectReason::MissingClaim("aud"));
}

#[test]
fn jwt_c08_empty_audience_or_issuer_refuses_to_start() {
    let clock = std::sync::Arc::new(nmp_authn::SystemClock);
    for (issuer, audience, expected) in [
        ("https://idp.example", "", SettingsError::MissingAudience),
        ("", AUDIENCE, SettingsError::MissingIssuer),
    ] {
        let settings =
            AuthnSettings { oidc: Some(OidcSettings::new(issuer, audience)), ..AuthnSettings::default() };
        assert_eq!(Authenticator::new(settings, clock.clone()).unwrap_err(), expected);
    }
    assert_eq!(nmp_authn::effective_audience(None, Some("")), Err(SettingsError::MissingAudience));
}

#[tokio::test]
async fn jwt_c09_sub_missing_empty_or_non_string_is_rejected() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    for bad in [json!(null), json!(""), json!(42), json!(["alice"])] {
        let token = key.mint(&h.claims_with(json!({"sub": bad})));
        h.assert_rejected(&token).await;
    }
}

#[tokio::test]
async fn jwt_c10_header_injection_in_identity_claims_is_rejected() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    for bad in [
        json!({"sub": "alice\r\nX-NMP-Principal-Role: PlatformAdmin"}),
        json!({"sub": "alice\u{0}"}),
        json!({"email": "a@b.c\r\nX: y"}),
        json!({"groups": ["ok", "evil\nX: y"]}),
        json!({"sub": "x".repeat(10_000)}),
    ] {
        let token = key.mint(&h.claims_with(bad));
        assert_eq!(h.reject_reason(&token).await, RejectReason::BadIdentityClaim);
    }
    let unicode = key.mint(&h.claims_with(json!({"groups": ["Développeurs"]})));
    let verified = h.assert_accepted(&unicode).await;
    assert_eq!(verified.principal.groups, vec!["Développeurs"]);
}

#[tokio::test]
async fn jwt_c12_scope_claim_parsing_is_exact_and_fails_closed() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let scopes = |verified: nmp_authn::VerifiedToken| verified.principal.scopes.clone();
    let both = key.mint(&h.claims_with(json!({"scope": "platform:read platform:write"})));
    assert_eq!(
        scopes(h.assert_accepted(&both).await),
        Some(vec!["platform:read".to_owned(), "platform:write".to_owned()])
    );
    for odd in ["platform:read,platform:write", "PLATFORM:READ", "platform:readx", "platform:read:extra"] {
        let token = key.mint(&h.claims_with(json!({"scope": odd})));
        let granted = scopes(h.assert_accepted(&token).await).expect("scope claim present");
        assert!(!granted.iter().any(|s| s == "platform:read" || s == "platform:write"), "{odd}");
    }
    let wrong_type = key.mint(&h.claims_with(json!({"scope": 7})));
    assert_eq!(scopes(h.assert_accepted(&wrong_type).await), Some(vec![]));
    let scp = key.mint(&h.claims_with(json!({"scope": null, "scp": ["platform:read"]})));
    assert_eq!(scopes(h.assert_accepted(&scp).await), Some(vec!["platform:read".to_owned()]));
    let none = key.mint(&h.claims_with(json!({"scope": null})));
    assert_eq!(scopes(h.assert_accepted(&none).await), None);
}

#[tokio::test]
async fn jwt_p01_id_token_presented_as_bearer_is_rejected() {
    let key = rsa1();
    // Even when the audience is the CLI client_id (ADR 0004 default), ID tokens fail.
    let h = Harness::start(vec![key.jwk()], |settings| {
        if let Some(oidc) = settings.oidc.as_mut() {
            oidc.audience = "nemo-cli".to_owned();
        }
    })
    .await;
    for marker in [json!({"nonce": "n-0S6_WzA2Mj"}), json!({"at_hash": "77QmUPtjPfzWtF2AnpK9RQ"})] {
        let mut claims = h.claims_with(json!({"aud": "nemo-cli"}));
        for (name, value) in marker.as_object().expect("object") {
            claims[name] = value.clone();
        }
        assert_eq!(h.reject_reason(&key.mint(&claims)).await, RejectReason::NotAnAccessToken);
    }
}

#[tokio::test]
async fn jwt_p02_typ_must_be_jwt_or_at_jwt() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    for typ in ["JWT", "at+jwt", "at+JWT", "application/at+jwt"] {
        let mut header = key.header();
        header["typ"] = json!(typ);
        h.assert_accepted(&key.mint_with_header(&header, &h.claims())).await;
    }
    for typ in ["logout+jwt", "secevent+jwt", "id_token+jwt"] {
        let mut header = key.header();
        header["typ"] = json!(typ);
        let token = key.mint_with_header(&header, &h.claims());
        assert_eq!(h.reject_reason(&token).await, RejectReason::WrongTokenType);
    }
}
