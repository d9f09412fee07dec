//! Verified-token cache behaviour seen from outside: distinct keys, expiry at `exp`, speed.

use std::time::{Duration, Instant};

use nmp_authn::RejectReason;
use serde_json::json;

use crate::support::{rsa1, Harness};

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
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |settings| settings.leeway_seconds = 0).await;
    let exp = h.now() + 100;
    let token = key.mint(&h.claims_with(json!({"exp": exp})));
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
