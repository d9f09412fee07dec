//! Verified-token cache behaviour seen from outside: distinct keys, expiry at `exp`, speed; and
//! one connection's memo of its last token, under the same rules.

use std::time::{Duration, Instant};

use nmp_authn::{AuthnError, BearerMemo, RejectReason, VerifiedBearer};
use serde_json::json;

use crate::support::{rsa1, rsa2, Harness, TestKey};

/// A harness with no leeway and alice's token, expiring 100 s from the harness's now: the key,
/// the harness, the token's `exp` and the token.
async fn alice_expiring() -> (TestKey, Harness, i64, String) {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |settings| settings.leeway_seconds = 0).await;
    let exp = h.now() + 100;
    let token = key.mint(&h.claims_with(json!({"exp": exp})));
    (key, h, exp, token)
}

#[tokio::test]
async fn cache_key_distinguishes_tokens() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let alice = key.mint(&h.claims());
    let bob = key.mint(&h.claims_with(json!({"sub": "bob"})));
    assert_eq!(h.assert_accepted(&alice).await.principal.id, "alice");
    assert_eq!(h.assert_accepted(&bob).await.principal.id, "bob");
    assert_eq!(h.assert_accepted(&alice).await.principal.id, "alice");
    assert_eq!(h.auth.cached_tokens(), 2);
}

#[tokio::test]
async fn cached_entry_never_outlives_exp() {
    let (_key, h, exp, token) = alice_expiring().await;
    h.assert_accepted(&token).await;
    assert_eq!(h.auth.cached_tokens(), 1);
    h.clock.set(exp - 1);
    h.assert_accepted(&token).await;
    h.clock.set(exp);
    assert_eq!(h.reject_reason(&token).await, RejectReason::Expired);
    assert_eq!(h.auth.cached_tokens(), 0);
}

#[tokio::test]
async fn cached_token_costs_microseconds() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let token = key.mint(&h.claims());
    h.assert_accepted(&token).await;
    let started = Instant::now();
    for _ in 0..10_000 {
        h.auth.authenticate(&token).await.expect("cached");
    }
    let per_call = started.elapsed() / 10_000;
    assert!(per_call < Duration::from_micros(500), "{per_call:?} per cached call");
}

#[tokio::test]
async fn cache_capacity_bounds_entries() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |settings| settings.token_cache_capacity = 3).await;
    for index in 0..6 {
        h.assert_accepted(&key.mint(&h.claims_with(json!({"jti": format!("j{index}")})))).await;
        assert!(h.auth.cached_tokens() <= 3);
    }
}

/// The principal id a remembered-token call answers with (IdP tokens only here).
async fn remembered(h: &Harness, token: &str, memo: &BearerMemo) -> Result<String, AuthnError> {
    match h.auth.authenticate_bearer_remembered(token, memo).await? {
        VerifiedBearer::Token(verified) => Ok(verified.principal.id.to_string()),
        other => panic!("an IdP token verified as {other:?}"),
    }
}

#[tokio::test]
async fn a_connection_memo_answers_only_for_its_exact_token() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    let memo = BearerMemo::default();
    let alice = key.mint(&h.claims());
    let bob = key.mint(&h.claims_with(json!({"sub": "bob"})));
    for _ in 0..2 {
        assert_eq!(remembered(&h, &alice, &memo).await.unwrap(), "alice");
        assert_eq!(remembered(&h, &alice, &memo).await.unwrap(), "alice");
        assert_eq!(remembered(&h, &bob, &memo).await.unwrap(), "bob");
    }
    // Alice's token with its signature's last character changed is not alice's token.
    remembered(&h, &alice, &memo).await.unwrap();
    let mut forged = alice.clone();
    let last = forged.pop().expect("a character");
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert!(remembered(&h, &forged, &memo).await.is_err(), "a forged token is verified, not remembered");
    let prefix = &alice[..alice.len() - 1];
    assert!(remembered(&h, prefix, &memo).await.is_err(), "a prefix of the remembered token");
    // Memo hits count as cache hits. Round 1: alice verified (miss), alice remembered (hit),
    // bob verified (miss). Round 2: alice from the process-wide cache (the memo held bob), alice
    // remembered, bob from the cache: 3 hits. Alice again from the cache (1 hit); the forged token
    // and the prefix are misses, verified and refused.
    let stats = h.auth.stats();
    assert_eq!((stats.token_cache_hits, stats.token_cache_misses), (1 + 3 + 1, 2 + 2), "{stats:?}");
}

#[tokio::test]
async fn a_remembered_authorization_value_is_exactly_bearer_and_the_remembered_token() {
    let (key, h, exp, alice) = alice_expiring().await;
    let bob = key.mint(&h.claims_with(json!({"sub": "bob"})));
    let memo = BearerMemo::default();
    let answer = |value: String| match h.auth.remembered_authorization(value.as_bytes(), &memo) {
        Some(VerifiedBearer::Token(verified)) => Some(verified.principal.id.to_string()),
        Some(other) => panic!("an IdP token remembered as {other:?}"),
        None => None,
    };
    assert_eq!(answer(format!("Bearer {alice}")), None, "nothing is remembered yet");
    assert_eq!(remembered(&h, &alice, &memo).await.unwrap(), "alice");
    for scheme in ["Bearer", "bearer", "BEARER"] {
        assert_eq!(answer(format!("{scheme} {alice}")).as_deref(), Some("alice"), "{scheme}");
    }
    // Anything but the scheme, one space and the same bytes is left to the parser.
    let mut forged = alice.clone();
    let last = forged.pop().expect("a character");
    forged.push(if last == 'A' { 'B' } else { 'A' });
    for value in [
        format!("Bearer  {alice}"),
        format!("Bearer {alice} "),
        format!("Bearer {alice}="),
        format!("Bearer\t{alice}"),
        format!("Basic {alice}"),
        format!("Bearer {}", &alice[..alice.len() - 1]),
        format!("Bearer {forged}"),
        format!("Bearer {bob}"),
        alice.clone(),
        "Bearer ".into(),
        String::new(),
    ] {
        assert_eq!(answer(value.clone()), None, "{value:?}");
    }
    // Never at exp: not remembered, and forgotten (the parsed path then says why).
    h.clock.set(exp);
    assert_eq!(answer(format!("Bearer {alice}")), None);
    match remembered(&h, &alice, &memo).await {
        Err(AuthnError::InvalidToken(reason)) => assert_eq!(reason, RejectReason::Expired),
        other => panic!("expired token answered {other:?}"),
    }
}

#[tokio::test]
async fn with_the_token_cache_off_no_authorization_value_is_remembered() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |settings| settings.token_cache_capacity = 0).await;
    let token = key.mint(&h.claims());
    let memo = BearerMemo::default();
    assert_eq!(remembered(&h, &token, &memo).await.unwrap(), "alice");
    assert!(h.auth.remembered_authorization(format!("Bearer {token}").as_bytes(), &memo).is_none());
}

#[tokio::test]
async fn a_remembered_token_never_outlives_exp() {
    let (_key, h, exp, token) = alice_expiring().await;
    let memo = BearerMemo::default();
    assert_eq!(remembered(&h, &token, &memo).await.unwrap(), "alice");
    h.clock.set(exp - 1);
    assert_eq!(remembered(&h, &token, &memo).await.unwrap(), "alice");
    h.clock.set(exp);
    match remembered(&h, &token, &memo).await {
        Err(AuthnError::InvalidToken(reason)) => assert_eq!(reason, RejectReason::Expired),
        other => panic!("expired token answered {other:?}"),
    }
}

#[tokio::test]
async fn a_remembered_token_stops_when_its_key_leaves_the_jwks() {
    let (k1, k2) = (rsa1(), rsa2());
    let h = Harness::start_refreshing(vec![k1.jwk(), k2.jwk()]).await;
    let token = k1.mint(&h.claims());
    let memo = BearerMemo::default();
    assert_eq!(remembered(&h, &token, &memo).await.unwrap(), "alice");
    assert_eq!(remembered(&h, &token, &memo).await.unwrap(), "alice");
    h.publish_and_await_refresh(vec![k2.jwk()]).await;
    match remembered(&h, &token, &memo).await {
        Err(AuthnError::InvalidToken(reason)) => assert_eq!(reason, RejectReason::UnknownKey),
        other => panic!("a token whose key left the JWKS answered {other:?}"),
    }
}
