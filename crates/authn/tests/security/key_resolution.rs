//! C. Key resolution and header injection: keys come only from the configured JWKS.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use nmp_authn::RejectReason;
use serde_json::json;

use crate::support::{attacker, ec256, rsa1, rsa2, Harness};

#[tokio::test]
async fn jwt_k01_embedded_jwk_header_is_refused() {
    let key = rsa1();
    let evil = attacker();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let mut header = evil.header();
    header["jwk"] = evil.jwk();
    let with_jwk = evil.mint_with_header(&header, &h.claims());
    assert_eq!(h.reject_reason(&with_jwk).await, RejectReason::UnsupportedHeader);
    // Same attacker key, claiming the real kid, without the header: the signature fails.
    let claiming_kid = evil.mint(&h.claims());
    assert_eq!(h.reject_reason(&claiming_kid).await, RejectReason::BadSignature);
}

#[tokio::test]
async fn jwt_k02_jku_and_x5u_are_refused_with_zero_outbound_requests() {
    let key = rsa1();
    let evil = attacker();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    // A sinkhole that counts connection attempts.
    let sinkhole = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let sinkhole_addr = sinkhole.local_addr().expect("addr");
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while sinkhole.accept().await.is_ok() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let jwks_before = h.idp.jwks_hits();
    let targets = [
        format!("{}/attacker-jwks", h.idp.issuer()),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        format!("http://{sinkhole_addr}/admin"),
        "file:///etc/passwd".to_owned(),
    ];
    for target in &targets {
        for member in ["jku", "x5u"] {
            for signer in [&key, &evil] {
                let mut header = signer.header();
                header[member] = json!(target);
                let token = signer.mint_with_header(&header, &h.claims());
                assert_eq!(h.reject_reason(&token).await, RejectReason::UnsupportedHeader);
            }
        }
    }
    // x5c is ignored: an attacker chain does not help, and a legitimate token still verifies.
    let mut header = evil.header();
    header["x5c"] = json!(["MIIBattackerCert"]);
    let token = evil.mint_with_header(&header, &h.claims());
    assert_eq!(h.reject_reason(&token).await, RejectReason::BadSignature);
    let mut header = key.header();
    header["x5c"] = json!(["MIIBattackerCert"]);
    h.assert_accepted(&key.mint_with_header(&header, &h.claims())).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(h.idp.other_hits(), 0, "no request to the attacker path");
    assert_eq!(connections.load(Ordering::SeqCst), 0, "no connection to the sinkhole");
    assert_eq!(h.idp.jwks_hits(), jwks_before, "no JWKS refetch either");
}

#[tokio::test]
async fn jwt_k05_kid_absent_accepted_with_single_key_rejected_with_several() {
    let key = rsa1();
    let ec = ec256();
    let single = Harness::start(vec![key.jwk(), ec.jwk()], |_| {}).await;
    let header = json!({"alg": "RS256", "typ": "JWT"});
    single.assert_accepted(&key.mint_with_header(&header, &single.claims())).await;
    let multiple = Harness::start(vec![key.jwk(), rsa2().jwk()], |_| {}).await;
    let token = key.mint_with_header(&header, &multiple.claims());
    assert_eq!(multiple.reject_reason(&token).await, RejectReason::AmbiguousKey);
}

#[tokio::test]
async fn jwt_k06_odd_jwks_entries_are_skipped_and_duplicates_not_guessed() {
    let key = rsa1();
    let enc_only = rsa2();
    let keys = vec![
        json!({"kty": "oct", "kid": "sym", "k": "c2VjcmV0"}),
        json!({"kty": "XYZ", "kid": "x"}),
        json!({"kty": "RSA", "kid": "broken"}),
        enc_only.jwk_with(json!({"use": "enc"})),
        key.jwk_with(json!({"d": "AQAB", "use": "sig", "key_ops": ["verify"]})),
        crate::support::TestKey::load("rsa1", "dup", jsonwebtoken::Algorithm::RS256).jwk(),
        crate::support::TestKey::load("rsa2", "dup", jsonwebtoken::Algorithm::RS256).jwk(),
    ];
    let h = Harness::start(keys, |_| {}).await;
    h.assert_accepted(&key.mint(&h.claims())).await;
    assert_eq!(
        h.reject_reason(&enc_only.mint(&h.claims())).await,
        RejectReason::UnknownKey,
        "a `use: enc` key never verifies"
    );
    let dup = crate::support::TestKey::load("rsa1", "dup", jsonwebtoken::Algorithm::RS256);
    assert_eq!(h.reject_reason(&dup.mint(&h.claims())).await, RejectReason::AmbiguousKey);
}
