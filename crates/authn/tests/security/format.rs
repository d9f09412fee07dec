//! A. JWT compact-format and parsing robustness.

use std::time::{Duration, Instant};

use nmp_authn::{RejectReason, TokenPart};
use serde_json::json;

use crate::support::mint::{b64, encode_json, unsigned_with_header};
use crate::support::{rsa1, Harness};

#[tokio::test]
async fn jwt_f01_wrong_segment_counts_and_whitespace_are_rejected() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let good = key.mint(&h.claims());
    h.assert_accepted(&good).await;
    let parts: Vec<&str> = good.split('.').collect();
    let jwe_like = format!("{}.{}.{}.{}.{}", parts[0], "", parts[1], "aXY", parts[2]);
    for bad in [
        format!("{}.{}", parts[0], parts[1]),
        format!("{good}.extra"),
        jwe_like,
        format!("{}..{}", parts[0], parts[2]),
        format!("{good}."),
        format!(" {good}"),
        format!("{good} "),
        format!("{good}\n"),
    ] {
        h.assert_rejected(&bad).await;
    }
}

#[tokio::test]
async fn jwt_f02_json_serialization_and_foreign_characters_are_rejected() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let good = key.mint(&h.claims());
    let parts: Vec<&str> = good.split('.').collect();
    let json_serialization = json!({
        "payload": parts[1],
        "signatures": [{"protected": parts[0], "signature": parts[2]}]
    })
    .to_string();
    assert_eq!(h.reject_reason(&json_serialization).await, RejectReason::BadCharacters);
    for bad in [format!("{good}="), good.replace('-', "+"), format!("{good}%")] {
        if bad != good {
            h.assert_rejected(&bad).await;
        }
    }
}

#[tokio::test]
async fn jwt_f03_non_canonical_base64_spellings_are_rejected() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let good = key.mint(&h.claims());
    let parts: Vec<&str> = good.split('.').collect();
    // Padding added to the signature, and a signature whose last character sets trailing bits.
    let padded = format!("{}.{}.{}==", parts[0], parts[1], parts[2]);
    h.assert_rejected(&padded).await;
    let signature = parts[2];
    let last = signature.chars().last().expect("signature");
    // RS256 signatures are 256 bytes: 342 chars with 4 trailing bits that must be zero.
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.find(last).expect("b64 char");
    let tweaked = alphabet.as_bytes()[index | 1] as char;
    assert_ne!(tweaked, last);
    let non_canonical = format!("{}.{}.{}{}", parts[0], parts[1], &signature[..signature.len() - 1], tweaked);
    assert_eq!(h.reject_reason(&non_canonical).await, RejectReason::BadBase64(TokenPart::Signature));
}

#[tokio::test]
async fn jwt_f04_non_object_header_or_payload_is_rejected_without_panic() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let header = encode_json(&key.header());
    let payload = encode_json(&h.claims());
    for bad in ["[]", "\"x\"", "null", "123", "{\"sub\":"] {
        let token = key.mint_raw(&header, &b64(bad.as_bytes()), key.algorithm);
        assert_eq!(h.reject_reason(&token).await, RejectReason::BadJson(TokenPart::Payload));
        let token = key.mint_raw(&b64(bad.as_bytes()), &payload, key.algorithm);
        assert_eq!(h.reject_reason(&token).await, RejectReason::BadJson(TokenPart::Header));
    }
}

#[tokio::test]
async fn jwt_f05_utf16_or_invalid_utf8_is_rejected() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let header = encode_json(&key.header());
    let claims = serde_json::to_string(&h.claims()).expect("json");
    let utf16: Vec<u8> = claims.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut invalid_utf8 = claims.clone().into_bytes();
    let at = invalid_utf8.iter().position(|&b| b == b'a').expect("a");
    invalid_utf8[at] = 0xff;
    for payload in [utf16, invalid_utf8] {
        let token = key.mint_raw(&header, &b64(&payload), key.algorithm);
        assert_eq!(h.reject_reason(&token).await, RejectReason::BadJson(TokenPart::Payload));
    }
}

#[tokio::test]
async fn jwt_f07_huge_tokens_are_rejected_in_bounded_time() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let dots = ".".repeat(100_000);
    let megabyte = "a".repeat(1024 * 1024);
    let started = Instant::now();
    assert_eq!(h.reject_reason(&dots).await, RejectReason::TooLong);
    assert_eq!(h.reject_reason(&megabyte).await, RejectReason::TooLong);
    let mut tasks = Vec::new();
    for _ in 0..1_000 {
        let auth = h.auth.clone();
        let dots = dots.clone();
        tasks.push(tokio::spawn(async move { auth.authenticate(&dots).await }));
    }
    for task in tasks {
        assert!(task.await.expect("task").is_err());
    }
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert_eq!(h.auth.cached_tokens(), 0);
    assert_eq!(h.idp.jwks_hits(), 1, "no fetch caused by garbage");
}

#[tokio::test]
async fn jwt_f08_nesting_bomb_and_many_claims_are_bounded() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |settings| settings.max_token_bytes = 1 << 20).await;
    let header = encode_json(&key.header());
    let depth = 100_000;
    let bomb = format!("{{\"sub\":\"a\",\"x\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
    let token = key.mint_raw(&header, &b64(bomb.as_bytes()), key.algorithm);
    assert_eq!(h.reject_reason(&token).await, RejectReason::BadJson(TokenPart::Payload));
    // 100 000 claims exceed the default 16 KiB cap long before parsing.
    let h_default = Harness::start(vec![key.jwk()], |_| {}).await;
    let mut many = h_default.claims();
    for index in 0..100_000 {
        many[format!("c{index}")] = json!(index);
    }
    let token = key.mint(&many);
    assert_eq!(h_default.reject_reason(&token).await, RejectReason::TooLong);
}

#[tokio::test]
async fn jwt_f09_nested_jwt_and_jwe_wrapped_unsigned_token_are_rejected() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |settings| settings.allow_unsigned_jwt = true).await;
    let inner = unsigned_with_header(&json!({"alg": "none"}), &h.claims());
    let mut header = key.header();
    header["cty"] = json!("JWT");
    let nested = key.mint_raw(&encode_json(&header), &b64(inner.as_bytes()), key.algorithm);
    assert_eq!(h.reject_reason(&nested).await, RejectReason::UnsupportedHeader);
    let jwe_header = encode_json(&json!({"alg": "RSA-OAEP", "enc": "A256GCM", "cty": "JWT"}));
    let jwe = format!("{jwe_header}.ZW5j.aXY.{}.dGFn", b64(inner.as_bytes()));
    assert_eq!(h.reject_reason(&jwe).await, RejectReason::BadSegments);
}

#[tokio::test]
async fn jwt_f10_zip_and_pbes2_headers_are_rejected_without_work() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    for extra in [json!({"zip": "DEF"}), json!({"p2c": 1_000_000_000, "p2s": "c2FsdA"})] {
        let mut header = key.header();
        for (name, value) in extra.as_object().expect("object") {
            header[name] = value.clone();
        }
        let token = key.mint_with_header(&header, &h.claims());
        let started = Instant::now();
        assert_eq!(h.reject_reason(&token).await, RejectReason::UnsupportedHeader);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
