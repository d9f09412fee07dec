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

#[test]
fn dotted_claim_names_reach_into_nested_objects() {
    let mapping = ClaimMapping { groups_claim: "realm_access.roles".to_owned(), ..ClaimMapping::default() };
    let claims = json!({"sub": "s", "realm_access": {"roles": ["nmp-admins", "offline_access"]}});
    let principal = map_principal(&object(claims), &mapping).expect("ok");
    assert_eq!(principal.groups, vec!["nmp-admins", "offline_access"]);
    let deeper = ClaimMapping { groups_claim: "resource_access.nmp-api.roles".to_owned(), ..mapping.clone() };
    let claims = json!({"sub": "s", "resource_access": {"nmp-api": {"roles": ["editor"]}, "account": {"roles": ["x"]}}});
    assert_eq!(map_principal(&object(claims), &deeper).expect("ok").groups, vec!["editor"]);
    // A path that stops early, or runs into a non-object, yields no groups (not an error).
    for claims in [json!({"sub": "s", "realm_access": {}}), json!({"sub": "s", "realm_access": "x"})] {
        assert!(map_principal(&object(claims), &mapping).expect("ok").groups.is_empty());
    }
    // The value at the path obeys the same type rules as a top-level claim.
    let claims = json!({"sub": "s", "realm_access": {"roles": [1]}});
    assert_eq!(map_principal(&object(claims), &mapping).unwrap_err(), RejectReason::BadIdentityClaim);
}

#[test]
fn an_exact_key_with_dots_wins_over_the_nested_path() {
    let mapping = ClaimMapping {
        email_claim: "https://nmp.example.com/email".to_owned(),
        groups_claim: "https://nmp.example.com/groups".to_owned(),
        ..ClaimMapping::default()
    };
    let claims = json!({
        "sub": "auth0|1",
        "https://nmp.example.com/email": "a@example.com",
        "https://nmp.example.com/groups": ["ml-team"],
        "https://nmp": {"example": {"com/groups": ["wrong"]}},
    });
    let principal = map_principal(&object(claims), &mapping).expect("ok");
    assert_eq!(principal.email.as_deref(), Some("a@example.com"));
    assert_eq!(principal.groups, vec!["ml-team"]);
    let dotted_subject = ClaimMapping { subject_claim: "ext.uid".to_owned(), ..ClaimMapping::default() };
    let claims = json!({"sub": "s", "ext": {"uid": "u-1"}});
    assert_eq!(map_principal(&object(claims), &dotted_subject).expect("ok").id, "u-1");
}

#[test]
fn groups_overage_is_detected_only_for_the_configured_claim() {
    let mapping = ClaimMapping::default();
    let overage = object(json!({
        "sub": "s",
        "_claim_names": {"groups": "src1"},
        "_claim_sources": {"src1": {"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}},
    }));
    assert!(groups_overage(&overage, &mapping));
    assert!(map_principal(&overage, &mapping).expect("still a valid principal").groups.is_empty());
    assert!(groups_overage(&object(json!({"sub": "s", "hasgroups": true})), &mapping));
    assert!(!groups_overage(&object(json!({"sub": "s", "groups": ["g"]})), &mapping));
    assert!(!groups_overage(&object(json!({"sub": "s"})), &mapping));
    // With app roles as the groups claim, a groups overage costs nothing.
    let roles = ClaimMapping { groups_claim: "roles".to_owned(), ..ClaimMapping::default() };
    assert!(!groups_overage(&overage, &roles));
    assert!(!groups_overage(&object(json!({"sub": "s", "hasgroups": true})), &roles));
}
