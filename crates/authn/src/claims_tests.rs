//! Unit tests of the registered-claim checks.

use super::*;
use serde_json::json;

const NOW: i64 = 1_700_000_000;
const LEEWAY: i64 = 60;

fn object(value: serde_json::Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => panic!("not an object"),
    }
}

fn good() -> serde_json::Value {
    json!({"sub": "alice", "iss": "https://idp", "aud": "api", "exp": NOW + 600, "iat": NOW})
}

fn issuers() -> Vec<String> {
    vec!["https://idp".to_owned(), "https://idp-v1/".to_owned()]
}

fn check_at(now: i64, claims: serde_json::Value) -> Result<CheckedClaims, RejectReason> {
    let issuers = issuers();
    let rules = ClaimRules { now, leeway: LEEWAY, issuers: Some(&issuers), audience: Some("api") };
    check_claims(&object(claims), &rules)
}

fn check(claims: serde_json::Value) -> Result<CheckedClaims, RejectReason> {
    check_at(NOW, claims)
}

fn with(field: &str, value: serde_json::Value) -> serde_json::Value {
    let mut claims = good();
    claims[field] = value;
    claims
}

fn without(field: &str) -> serde_json::Value {
    let mut claims = good();
    claims.as_object_mut().expect("object").remove(field);
    claims
}

#[test]
fn good_claims_pass() {
    let checked = check(with("jti", json!("j1"))).expect("valid");
    assert_eq!(checked.expires_at, NOW + 600);
    assert_eq!(checked.issued_at, NOW);
    assert_eq!(checked.issuer.as_deref(), Some("https://idp"));
    assert_eq!(checked.jti.as_deref(), Some("j1"));
}

#[test]
fn jwt_c01_exp_boundary_and_presence() {
    let exp = NOW;
    let claims = || with("exp", json!(exp)).tap_iat(exp - 100);
    assert!(check_at(exp + LEEWAY - 1, claims()).is_ok());
    assert_eq!(check_at(exp + LEEWAY, claims()).unwrap_err(), RejectReason::Expired);
    assert_eq!(check(without("exp")).unwrap_err(), RejectReason::MissingClaim("exp"));
}

#[test]
fn jwt_c02_nbf_boundary() {
    let nbf = NOW + 1_000;
    let claims = || {
        let mut claims = with("nbf", json!(nbf)).tap_iat(NOW - 10);
        claims["exp"] = json!(nbf + 600);
        claims
    };
    assert!(check_at(nbf - LEEWAY, claims()).is_ok());
    assert_eq!(check_at(nbf - LEEWAY - 1, claims()).unwrap_err(), RejectReason::NotYetValid);
}

#[test]
fn jwt_c03_iat_in_the_future_or_missing() {
    assert!(check(with("iat", json!(NOW + LEEWAY))).is_ok());
    assert_eq!(check(with("iat", json!(NOW + LEEWAY + 1))).unwrap_err(), RejectReason::IssuedInFuture);
    assert_eq!(check(without("iat")).unwrap_err(), RejectReason::MissingClaim("iat"));
}

#[test]
fn jwt_c04_time_claims_must_be_integers() {
    for field in ["exp", "iat", "nbf"] {
        for bad in [json!("9999999999"), json!(null), json!(1.5), json!([1]), json!(true)] {
            assert_eq!(
                check(with(field, bad.clone())).unwrap_err(),
                RejectReason::BadClaimType(match field {
                    "exp" => "exp",
                    "iat" => "iat",
                    _ => "nbf",
                }),
                "{field}={bad}"
            );
        }
    }
    assert!(check(with("exp", json!(u64::MAX))).is_err());
}

#[test]
fn jwt_c07_audience_rules() {
    assert!(check(with("aud", json!("api"))).is_ok());
    assert!(check(with("aud", json!(["other", "api"]))).is_ok());
    for bad in [
        json!(["other"]),
        json!("other"),
        json!(""),
        json!([]),
        json!("api.evil.com"),
        json!("api/"),
        json!("API"),
        json!("ap"),
    ] {
        assert_eq!(check(with("aud", bad.clone())).unwrap_err(), RejectReason::WrongAudience, "{bad}");
    }
    for bad in [json!(123), json!({"x": 1}), json!([123]), json!(["api", 1]), json!(null)] {
        assert_eq!(check(with("aud", bad.clone())).unwrap_err(), RejectReason::BadClaimType("aud"), "{bad}");
    }
    assert_eq!(check(without("aud")).unwrap_err(), RejectReason::MissingClaim("aud"));
}

#[test]
fn oidc_03_issuer_exact_match() {
    assert!(check(with("iss", json!("https://idp-v1/"))).is_ok());
    for bad in ["https://idp/", "https://IDP", "https://idp-v1", "https://evil"] {
        assert_eq!(check(with("iss", json!(bad))).unwrap_err(), RejectReason::WrongIssuer, "{bad}");
    }
    assert_eq!(check(without("iss")).unwrap_err(), RejectReason::MissingClaim("iss"));
    assert_eq!(check(with("iss", json!(1))).unwrap_err(), RejectReason::BadClaimType("iss"));
}

#[test]
fn jwt_c09_sub_required_non_empty_string() {
    for bad in [json!(""), json!(1), json!(null), json!(["a"])] {
        assert_eq!(check(with("sub", bad)).unwrap_err(), RejectReason::MissingSubject);
    }
    assert_eq!(check(without("sub")).unwrap_err(), RejectReason::MissingSubject);
}

#[test]
fn jwt_p01_id_token_claims_are_refused() {
    for marker in ["nonce", "at_hash", "c_hash"] {
        assert_eq!(check(with(marker, json!("x"))).unwrap_err(), RejectReason::NotAnAccessToken);
    }
    assert_eq!(check(with("typ", json!("ID"))).unwrap_err(), RejectReason::NotAnAccessToken);
    assert!(check(with("typ", json!("Bearer"))).is_ok());
}

#[test]
fn unsigned_rules_skip_issuer_and_audience() {
    let rules = ClaimRules { now: NOW, leeway: LEEWAY, issuers: None, audience: None };
    let claims = json!({"sub": "alice", "exp": NOW + 10, "iat": NOW});
    assert!(check_claims(&object(claims), &rules).is_ok());
    let expired = json!({"sub": "alice", "exp": NOW - LEEWAY, "iat": NOW - 100});
    assert_eq!(check_claims(&object(expired), &rules).unwrap_err(), RejectReason::Expired);
}

#[test]
fn jti_must_be_a_string_when_present() {
    assert_eq!(check(with("jti", json!(5))).unwrap_err(), RejectReason::BadClaimType("jti"));
}

trait TapIat {
    fn tap_iat(self, iat: i64) -> Self;
}

impl TapIat for serde_json::Value {
    fn tap_iat(mut self, iat: i64) -> Self {
        self["iat"] = json!(iat);
        self
    }
}
