//! B. Algorithm and signature verification.

use jsonwebtoken::Algorithm;
use nmp_authn::{AuthnError, RejectReason};
use serde_json::json;

use crate::support::mint::{b64, encode_json, hmac, unsigned_with_header};
use crate::support::{ec256, ec384, ed25519, rsa1, rsa2, Harness, TestKey};

#[tokio::test]
async fn every_accepted_algorithm_verifies_end_to_end() {
    let rsa = rsa1();
    let keys = vec![rsa.jwk(), ec256().jwk(), ec384().jwk(), ed25519().jwk()];
    let h = Harness::start(keys, |_| {}).await;
    for algorithm in [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
    ] {
        let key = TestKey::load("rsa1", "rsa1", algorithm);
        let verified = h.assert_accepted(&key.mint(&h.claims())).await;
        assert_eq!(verified.principal.id, "alice");
        assert!(!verified.unsigned);
    }
    for key in [ec256(), ec384(), ed25519()] {
        let verified = h.assert_accepted(&key.mint(&h.claims())).await;
        assert_eq!(verified.key_id.as_deref(), Some(key.kid.as_str()));
    }
}

#[tokio::test]
async fn jwt_s01_alg_none_variants_rejected_when_unsigned_disallowed() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let claims = h.claims();
    for none in ["none", "None", "NONE", "nOnE"] {
        let empty_sig = unsigned_with_header(&json!({"alg": none}), &claims);
        assert_eq!(h.auth.authenticate(&empty_sig).await.unwrap_err(), AuthnError::UnsignedRefused);
        let with_sig = format!("{empty_sig}c2ln");
        h.assert_rejected(&with_sig).await;
    }
    for bad in [json!(""), json!(null), json!(0), json!(["RS256"])] {
        for signature in ["", "c2ln"] {
            let token = format!("{}{signature}", unsigned_with_header(&json!({"alg": bad}), &claims));
            assert_eq!(h.reject_reason(&token).await, RejectReason::BadAlgorithm);
        }
    }
    let missing = unsigned_with_header(&json!({"typ": "JWT"}), &claims);
    assert_eq!(h.reject_reason(&missing).await, RejectReason::BadAlgorithm);
}

#[tokio::test]
async fn jwt_s02_hs256_signed_with_the_rsa_public_key_is_rejected() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let public_n = key.jwk()["n"].as_str().expect("n").to_owned();
    let header = json!({"alg": "HS256", "kid": "rsa1"});
    for secret in [public_n.as_bytes(), include_bytes!("../keys/public_jwks.json").as_slice()] {
        let token = hmac(secret, &header, &h.claims());
        assert_eq!(h.reject_reason(&token).await, RejectReason::SymmetricAlgorithm);
    }
}

#[tokio::test]
async fn jwt_s03_key_type_must_fit_the_algorithm() {
    let rsa = rsa1();
    let rs256_only = rsa2();
    let ec = ec256();
    let keys = vec![rsa.jwk(), rs256_only.jwk_with(json!({"alg": "RS256"})), ec.jwk()];
    let h = Harness::start(keys, |_| {}).await;
    // ES256 header naming the RSA key, signed with the EC key.
    let token = ec.mint_with_header(&json!({"alg": "ES256", "kid": "rsa1"}), &h.claims());
    assert_eq!(h.reject_reason(&token).await, RejectReason::KeyMismatch);
    // PS256 and RS512 on a key published with "alg": "RS256".
    for algorithm in [Algorithm::PS256, Algorithm::RS512] {
        let key = TestKey::load("rsa2", "rsa2", algorithm);
        assert_eq!(h.reject_reason(&key.mint(&h.claims())).await, RejectReason::KeyMismatch);
    }
    h.assert_accepted(&rs256_only.mint(&h.claims())).await;
}

#[tokio::test]
async fn jwt_s04_tampered_or_missing_signatures_are_rejected() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let good = key.mint(&h.claims());
    let other = key.mint(&h.claims_with(json!({"sub": "bob"})));
    let parts: Vec<&str> = good.split('.').collect();
    let other_sig = other.rsplit('.').next().expect("sig");
    let stripped = format!("{}.{}.", parts[0], parts[1]);
    assert_eq!(h.reject_reason(&stripped).await, RejectReason::MissingSignature);
    let random = format!("{}.{}.{}", parts[0], parts[1], b64(&[0x5a; 256]));
    assert_eq!(h.reject_reason(&random).await, RejectReason::BadSignature);
    let swapped = format!("{}.{}.{}", parts[0], parts[1], other_sig);
    assert_eq!(h.reject_reason(&swapped).await, RejectReason::BadSignature);
    let forged_sub =
        format!("{}.{}.{}", parts[0], encode_json(&h.claims_with(json!({"sub": "admin"}))), parts[2]);
    assert_eq!(h.reject_reason(&forged_sub).await, RejectReason::BadSignature);
    // One flipped bit in each part (decoded bytes), re-encoded canonically.
    for part in 0..3 {
        let mut bytes = nmp_authn::parsing::decode_base64url(parts[part]).expect("b64");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        let mut flipped: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
        flipped[part] = b64(&bytes);
        h.assert_rejected(&flipped.join(".")).await;
    }
    h.assert_accepted(&good).await;
}

#[tokio::test]
async fn jwt_s05_zero_ecdsa_signatures_are_rejected() {
    let (p256, p384) = (ec256(), ec384());
    let h = Harness::start(vec![p256.jwk(), p384.jwk()], |_| {}).await;
    for (key, size) in [(p256, 64), (p384, 96)] {
        let good = key.mint(&h.claims());
        let signing_input = good.rsplit_once('.').expect("dot").0;
        let zero = format!("{signing_input}.{}", b64(&vec![0u8; size]));
        assert_eq!(h.reject_reason(&zero).await, RejectReason::BadSignature);
        h.assert_accepted(&good).await;
    }
}

#[tokio::test]
async fn jwt_s07_weak_rsa_keys_in_the_jwks_are_never_used() {
    let weak = TestKey::load("rsa_weak1024", "weak", Algorithm::RS256);
    let exponent_one = rsa2().jwk_with(json!({"kid": "e1", "e": "AQ"}));
    let mut off_curve = ec256().jwk_with(json!({"kid": "bad-ec"}));
    off_curve["y"] = off_curve["x"].clone();
    let good = rsa1();
    let h = Harness::start(vec![weak.jwk(), exponent_one, off_curve, good.jwk()], |_| {}).await;
    assert_eq!(h.reject_reason(&weak.mint(&h.claims())).await, RejectReason::UnknownKey);
    let e1 = TestKey::load("rsa2", "e1", Algorithm::RS256);
    assert_eq!(h.reject_reason(&e1.mint(&h.claims())).await, RejectReason::UnknownKey);
    let ec = TestKey::load("ec256", "bad-ec", Algorithm::ES256);
    assert_eq!(h.reject_reason(&ec.mint(&h.claims())).await, RejectReason::UnknownKey);
    h.assert_accepted(&good.mint(&h.claims())).await;
}

#[tokio::test]
async fn jwt_s08_hmac_is_never_enabled_and_empty_secrets_fail() {
    let key = rsa1();
    let oct = json!({"kty": "oct", "kid": "hmac", "k": ""});
    let h = Harness::start(vec![key.jwk(), oct], |_| {}).await;
    for alg in ["HS256", "HS384", "HS512"] {
        let token = hmac(b"", &json!({"alg": alg, "kid": "hmac"}), &h.claims());
        assert_eq!(h.reject_reason(&token).await, RejectReason::SymmetricAlgorithm);
    }
}

#[tokio::test]
async fn jwt_s09_ecdsa_malleated_signature_is_a_distinct_cache_entry() {
    use p256::elliptic_curve::PrimeField;
    let key = ec256();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let good = key.mint(&h.claims());
    let (signing_input, signature) = good.rsplit_once('.').expect("dot");
    let bytes = nmp_authn::parsing::decode_base64url(signature).expect("b64");
    let s_bytes: [u8; 32] = bytes[32..].try_into().expect("s");
    let s = p256::Scalar::from_repr(s_bytes.into()).expect("scalar");
    let negated: [u8; 32] = (-s).to_repr().into();
    let malleated = format!("{signing_input}.{}", b64(&[&bytes[..32], &negated[..]].concat()));
    assert_ne!(malleated, good);
    let original = h.assert_accepted(&good).await;
    match h.auth.authenticate(&malleated).await {
        // Both spellings verify (ECDSA property): they must not share a cache entry, and
        // replay/revocation must key on jti, which is the same.
        Ok(other) => {
            assert_eq!(other.jti, original.jti);
            assert_eq!(h.auth.cached_tokens(), 2);
        }
        Err(error) => assert_eq!(error.reason(), Some(RejectReason::BadSignature)),
    }
}
