//! Unit tests of JWKS parsing and key selection, using the committed test keys.

use super::*;
use serde_json::{json, Value};

fn test_key(name: &str) -> Value {
    let all: Value = serde_json::from_str(include_str!("../tests/keys/public_jwks.json")).expect("test keys");
    all[name].clone()
}

fn with(mut key: Value, extra: Value) -> Value {
    for (name, value) in extra.as_object().expect("object") {
        key[name] = value.clone();
    }
    key
}

fn parse(keys: Vec<Value>) -> ParsedKeySet {
    parse_jwks(&serde_json::to_vec(&json!({ "keys": keys })).expect("json")).expect("key set")
}

#[test]
fn all_supported_key_types_parse() {
    let set = parse(vec![
        with(test_key("rsa1"), json!({"kid": "r"})),
        with(test_key("ec256"), json!({"kid": "e2"})),
        with(test_key("ec384"), json!({"kid": "e3"})),
        with(test_key("ed25519"), json!({"kid": "o"})),
    ]);
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    let kinds: Vec<KeyKind> = set.keys.iter().map(|key| key.kind).collect();
    assert_eq!(kinds, vec![KeyKind::Rsa, KeyKind::P256, KeyKind::P384, KeyKind::Ed25519]);
}

#[test]
fn jwks_document_must_be_a_key_set() {
    for bad in [&b"[]"[..], b"{}", b"{\"keys\":{}}", b"<html>", b""] {
        assert_eq!(parse_jwks(bad).unwrap_err(), JwksError::NotAKeySet);
    }
    assert!(parse_jwks(b"{\"keys\":[]}").expect("empty set").keys.is_empty());
}

#[test]
fn jwt_s07_weak_or_invalid_keys_are_never_used() {
    let mut ec_off_curve = test_key("ec256");
    ec_off_curve["y"] = ec_off_curve["x"].clone();
    let set = parse(vec![
        test_key("rsa_weak1024"),
        with(test_key("rsa1"), json!({"e": "AQ"})),
        with(test_key("rsa1"), json!({"e": "Ag"})),
        ec_off_curve,
        with(test_key("ed25519"), json!({"x": "AAAA"})),
    ]);
    assert!(set.keys.is_empty());
    assert_eq!(set.skipped.len(), 5, "{:?}", set.skipped);
}

#[test]
fn jwt_k06_bad_entries_are_skipped_not_fatal() {
    let set = parse(vec![
        json!({"kty": "oct", "k": "c2VjcmV0"}),
        json!({"kty": "XYZ"}),
        json!({"kty": "RSA"}),
        with(test_key("rsa1"), json!({"use": "enc"})),
        with(test_key("rsa1"), json!({"key_ops": ["encrypt"]})),
        with(test_key("rsa1"), json!({"alg": "RSA-OAEP"})),
        with(test_key("rsa1"), json!({"alg": "HS256"})),
        with(test_key("rsa1"), json!({"alg": "ES256"})),
        json!("not an object"),
        with(test_key("rsa1"), json!({"kid": "good", "use": "sig", "key_ops": ["verify"]})),
    ]);
    assert_eq!(set.keys.len(), 1);
    assert_eq!(set.keys[0].key_id.as_deref(), Some("good"));
    assert_eq!(set.skipped.len(), 9);
}

#[test]
fn jwt_k06_private_members_are_ignored() {
    let set = parse(vec![with(test_key("rsa1"), json!({"d": "AQAB", "p": "AQAB"}))]);
    assert_eq!(set.keys.len(), 1);
}

#[test]
fn jwt_s03_key_type_and_alg_must_fit() {
    let set = parse(vec![
        with(test_key("rsa1"), json!({"kid": "rsa-any"})),
        with(test_key("rsa2"), json!({"kid": "rsa-rs256", "alg": "RS256"})),
        with(test_key("ec256"), json!({"kid": "ec"})),
    ]);
    let found = |kid, alg| matches!(select_key(&set.keys, Some(kid), alg), KeyLookup::Found(_));
    assert!(found("rsa-any", Algorithm::PS256));
    assert!(found("rsa-any", Algorithm::RS512));
    assert!(found("rsa-rs256", Algorithm::RS256));
    assert!(!found("rsa-rs256", Algorithm::PS256));
    assert!(!found("rsa-rs256", Algorithm::RS512));
    assert!(!found("rsa-any", Algorithm::ES256));
    assert!(!found("ec", Algorithm::RS256));
    assert!(!found("ec", Algorithm::ES384));
    assert!(found("ec", Algorithm::ES256));
    assert!(matches!(select_key(&set.keys, Some("missing"), Algorithm::RS256), KeyLookup::UnknownKeyId));
}

#[test]
fn jwt_k05_kid_absent_single_and_multiple() {
    let single = parse(vec![
        with(test_key("rsa1"), json!({"kid": "r"})),
        with(test_key("ec256"), json!({"kid": "e"})),
    ]);
    assert!(matches!(select_key(&single.keys, None, Algorithm::RS256), KeyLookup::Found(_)));
    assert!(matches!(select_key(&single.keys, None, Algorithm::ES384), KeyLookup::NoFittingKey));
    let multiple = parse(vec![
        with(test_key("rsa1"), json!({"kid": "r1"})),
        with(test_key("rsa2"), json!({"kid": "r2"})),
    ]);
    assert!(matches!(select_key(&multiple.keys, None, Algorithm::RS256), KeyLookup::Ambiguous));
}

#[test]
fn jwt_k06_duplicate_kid_is_not_guessed() {
    let set = parse(vec![
        with(test_key("rsa1"), json!({"kid": "dup"})),
        with(test_key("rsa2"), json!({"kid": "dup"})),
        with(test_key("ec256"), json!({"kid": "dup2"})),
        with(test_key("rsa1"), json!({"kid": "dup2"})),
    ]);
    assert!(matches!(select_key(&set.keys, Some("dup"), Algorithm::RS256), KeyLookup::Ambiguous));
    // Same kid on keys of different types: the algorithm decides, unambiguously.
    assert!(matches!(select_key(&set.keys, Some("dup2"), Algorithm::ES256), KeyLookup::Found(_)));
}

#[test]
fn fingerprints_identify_key_material_not_kid() {
    let set = parse(vec![
        with(test_key("rsa1"), json!({"kid": "a"})),
        with(test_key("rsa1"), json!({"kid": "b", "e": "AAEAAQ"})),
        with(test_key("rsa2"), json!({"kid": "a"})),
    ]);
    assert_eq!(set.keys[0].fingerprint, set.keys[1].fingerprint, "leading zeros ignored");
    assert_ne!(set.keys[0].fingerprint, set.keys[2].fingerprint);
}
