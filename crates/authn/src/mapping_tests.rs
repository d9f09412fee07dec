//! Unit tests of the claim-to-principal mapping.

use super::*;
use serde_json::json;

fn object(value: serde_json::Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => panic!("not an object"),
    }
}

fn map(claims: serde_json::Value) -> Result<Principal, RejectReason> {
    map_principal(&object(claims), &ClaimMapping::default())
}

#[test]
fn reference_mapping_of_sub_email_groups() {
    let principal = map(json!({"sub": "u1", "email": "a@b.c", "groups": ["g1", "g2"]})).expect("ok");
    assert_eq!(principal.id, "u1");
    assert_eq!(principal.email.as_deref(), Some("a@b.c"));
    assert_eq!(principal.groups, vec!["g1", "g2"]);
    assert_eq!(principal.scopes, None);
}

#[test]
fn subject_claim_with_fallback_to_sub() {
    let mapping = ClaimMapping { subject_claim: "oid".to_owned(), ..ClaimMapping::default() };
    let with_oid = map_principal(&object(json!({"sub": "s", "oid": "o"})), &mapping).expect("ok");
    assert_eq!(with_oid.id, "o");
    let without = map_principal(&object(json!({"sub": "s"})), &mapping).expect("ok");
    assert_eq!(without.id, "s");
    let empty = map_principal(&object(json!({"sub": "s", "oid": ""})), &mapping).expect("ok");
    assert_eq!(empty.id, "s");
    assert_eq!(
        map_principal(&object(json!({"sub": "s", "oid": 5})), &mapping).unwrap_err(),
        RejectReason::BadIdentityClaim
    );
}

#[test]
fn email_claim_has_no_fallback() {
    let mapping = ClaimMapping { email_claim: "upn".to_owned(), ..ClaimMapping::default() };
    let principal = map_principal(&object(json!({"sub": "s", "email": "a@b.c"})), &mapping).expect("ok");
    assert_eq!(principal.email, None);
    let principal = map_principal(&object(json!({"sub": "s", "upn": "u@b.c"})), &mapping).expect("ok");
    assert_eq!(principal.email.as_deref(), Some("u@b.c"));
    assert!(map(json!({"sub": "s", "email": ["a@b.c"]})).is_err());
}

#[test]
fn groups_string_is_comma_split_and_cognito_is_recognised() {
    let principal = map(json!({"sub": "s", "groups": " a, b ,,c "})).expect("ok");
    assert_eq!(principal.groups, vec!["a", "b", "c"]);
    let principal = map(json!({"sub": "s", "cognito:groups": ["x"]})).expect("ok");
    assert_eq!(principal.groups, vec!["x"]);
    let principal = map(json!({"sub": "s", "groups": ["g"], "cognito:groups": ["x"]})).expect("ok");
    assert_eq!(principal.groups, vec!["g"]);
    assert_eq!(map(json!({"sub": "s", "groups": [1]})).unwrap_err(), RejectReason::BadIdentityClaim);
}

#[test]
fn jwt_c12_scope_parsing() {
    let scopes = |claims| map(claims).expect("ok").scopes;
    assert_eq!(
        scopes(json!({"sub": "s", "scope": "platform:read platform:write"})),
        Some(vec!["platform:read".to_owned(), "platform:write".to_owned()])
    );
    assert_eq!(
        scopes(json!({"sub": "s", "scope": "platform:read,platform:write"})),
        Some(vec!["platform:read,platform:write".to_owned()]),
        "a comma is not a delimiter: the single odd scope matches nothing"
    );
    assert_eq!(scopes(json!({"sub": "s", "scp": ["platform:read"]})), Some(vec!["platform:read".to_owned()]));
    assert_eq!(scopes(json!({"sub": "s", "scope": "a", "scp": ["b"]})), Some(vec!["a".to_owned()]));
    for wrong in [json!(1), json!({"a": 1}), json!(["a", 1]), json!(true)] {
        assert_eq!(scopes(json!({"sub": "s", "scope": wrong})), Some(vec![]));
    }
    assert_eq!(scopes(json!({"sub": "s"})), None);
}

#[test]
fn scope_prefix_is_stripped() {
    let mapping = ClaimMapping { scope_prefix: Some("api://nmp/".to_owned()), ..ClaimMapping::default() };
    let principal =
        map_principal(&object(json!({"sub": "s", "scp": "api://nmp/platform:read openid"})), &mapping)
            .expect("ok");
    assert_eq!(principal.scopes, Some(vec!["platform:read".to_owned(), "openid".to_owned()]));
}

#[test]
fn jwt_c10_control_characters_and_huge_values_reject() {
    for bad in [
        json!({"sub": "a\r\nX-NMP-Principal-Role: PlatformAdmin"}),
        json!({"sub": "a\u{0}"}),
        json!({"sub": "s", "email": "a@b\n.c"}),
        json!({"sub": "s", "groups": ["ok", "bad\r"]}),
        json!({"sub": "s", "groups": "a,b\u{7f}"}),
        json!({"sub": "x".repeat(10_000)}),
        json!({"sub": "s", "email": "x".repeat(10_000)}),
    ] {
        assert_eq!(map(bad.clone()).unwrap_err(), RejectReason::BadIdentityClaim, "{bad}");
    }
    let principal = map(json!({"sub": "s", "groups": ["Développeurs"]})).expect("non-ASCII ok");
    assert_eq!(principal.groups, vec!["Développeurs"]);
}
