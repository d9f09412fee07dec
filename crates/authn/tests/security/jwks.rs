//! I. JWKS and discovery lifecycle: caching, rotation, outages.

use std::time::{Duration, Instant};

use jsonwebtoken::Algorithm;
use nmp_authn::{AuthnError, RejectReason};
use serde_json::json;

use crate::support::{rsa1, rsa2, wait_until, Behaviour, Harness, TestKey};

fn random_kid_key(index: usize) -> TestKey {
    TestKey::load("rsa2", &format!("random-{index}-{}", index * 7919), Algorithm::RS256)
}

#[tokio::test]
async fn jwks_01_unknown_kids_refetch_at_most_once_per_cooldown() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |settings| {
        settings.unknown_kid_cooldown = Duration::from_secs(3_600);
        // 10 000 tasks share the test's one thread with the fake IdP: on a loaded machine the
        // refetch's answer can take longer than the usual 2 s, and a timed-out fetch is not
        // what this case is about.
        settings.http_timeout = Duration::from_secs(30);
    })
    .await;
    let claims = h.claims();
    // Signing is the slow part of the test; one signature reused under many kids is enough,
    // since the kid is looked up before the signature is checked.
    let signer = random_kid_key(0);
    let template = signer.mint(&claims);
    let (_, rest) = template.split_once('.').expect("dot");
    let mut tasks = Vec::new();
    for index in 0..10_000 {
        let header = json!({"alg": "RS256", "kid": format!("random-{index}")});
        let token = format!("{}.{rest}", crate::support::mint::encode_json(&header));
        let auth = h.auth.clone();
        tasks.push(tokio::spawn(async move { auth.authenticate(&token).await }));
    }
    for task in tasks {
        assert!(task.await.expect("task").is_err());
    }
    // The initial load plus exactly one on-demand refetch.
    assert_eq!(h.idp.jwks_hits(), 2, "{} JWKS fetches", h.idp.jwks_hits());
    let started = Instant::now();
    h.assert_accepted(&key.mint(&claims)).await;
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn jwks_02_single_flight_under_1000_concurrent_cold_requests() {
    let key = rsa1();
    let h = Harness::start_cold(vec![key.jwk()], |_| {}).await;
    h.idp.set_jwks_behaviour(Behaviour::Delay(Duration::from_millis(200)));
    let token = key.mint(&h.claims());
    let mut tasks = Vec::new();
    for _ in 0..1_000 {
        let auth = h.auth.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move { auth.authenticate(&token).await }));
    }
    for task in tasks {
        let verified = task.await.expect("task").expect("every waiter gets the keys");
        assert_eq!(verified.principal.id, "alice");
    }
    assert_eq!(h.idp.jwks_hits(), 1);
    assert!(h.auth.is_ready());
}

#[tokio::test]
async fn jwks_03_background_refresh_loads_new_keys_before_requests_need_them() {
    let (k1, k2) = (rsa1(), rsa2());
    let h = Harness::start(vec![k1.jwk()], |settings| {
        settings.jwks_refresh_interval = Duration::from_millis(100);
        settings.unknown_kid_cooldown = Duration::from_secs(3_600);
    })
    .await;
    h.idp.set_keys(vec![k1.jwk(), k2.jwk()]);
    let before = h.idp.jwks_hits();
    wait_until(Duration::from_secs(3), || h.idp.jwks_hits() >= before + 2).await;
    let settled = h.idp.jwks_hits();
    h.assert_accepted(&k2.mint(&h.claims())).await;
    assert!(h.idp.jwks_hits() <= settled + 1, "request did not pay for a fetch");
}

#[tokio::test]
async fn jwks_04_hanging_jwks_is_bounded_and_does_not_block_cached_kids() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |settings| {
        settings.http_timeout = Duration::from_millis(300);
    })
    .await;
    h.idp.set_jwks_behaviour(Behaviour::Delay(Duration::from_secs(30)));
    let unknown = rsa2().mint(&h.claims());
    let auth = h.auth.clone();
    let started = Instant::now();
    let pending = tokio::spawn(async move { auth.authenticate(&unknown).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let cached_kid = Instant::now();
    h.assert_accepted(&key.mint(&h.claims())).await;
    assert!(cached_kid.elapsed() < Duration::from_secs(1), "cached kid not blocked");
    let result = pending.await.expect("task");
    assert_eq!(result.unwrap_err().reason(), Some(RejectReason::UnknownKey));
    assert!(started.elapsed() < Duration::from_secs(3), "fetch aborted at the timeout");
}

#[tokio::test]
async fn jwks_05_outage_with_warm_cache_keeps_last_known_good_keys() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    for (index, outage) in
        [Behaviour::Status(500), Behaviour::Html, Behaviour::Garbage, Behaviour::Status(404)]
            .into_iter()
            .enumerate()
    {
        h.idp.set_jwks_behaviour(outage.clone());
        let before = h.idp.jwks_hits();
        // An unknown kid forces a refetch (cooldown 0 in tests), which fails.
        h.assert_rejected(&random_kid_key(index).mint(&h.claims())).await;
        assert_eq!(h.idp.jwks_hits(), before + 1, "{outage:?}");
        let fresh = key.mint(&h.claims_with(json!({"jti": format!("after-{index}")})));
        h.assert_accepted(&fresh).await;
        assert!(h.auth.is_ready());
    }
}

#[tokio::test]
async fn jwks_06_unknown_kid_during_outage_is_rejected_as_invalid_token() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |_| {}).await;
    h.idp.set_jwks_behaviour(Behaviour::Status(503));
    let error = h.auth.authenticate(&rsa2().mint(&h.claims())).await.unwrap_err();
    // Decision: 401 invalid_token (not 503): the key set is loaded, this kid is not in it.
    assert_eq!(error, AuthnError::InvalidToken(RejectReason::UnknownKey));
    assert!(!error.is_unavailable());
}

#[tokio::test]
async fn jwks_07_key_removed_at_the_idp_stops_working_after_the_next_refresh() {
    let (k1, k2) = (rsa1(), rsa2());
    let h = Harness::start_refreshing(vec![k1.jwk(), k2.jwk()]).await;
    let token = k1.mint(&h.claims());
    h.assert_accepted(&token).await;
    assert_eq!(h.auth.cached_tokens(), 1);
    h.publish_and_await_refresh(vec![k2.jwk()]).await;
    assert_eq!(h.reject_reason(&token).await, RejectReason::UnknownKey);
    h.assert_accepted(&k2.mint(&h.claims())).await;
}

#[tokio::test]
async fn jwks_08_cold_start_with_idp_down_is_not_ready_then_recovers() {
    let key = rsa1();
    let mut h = Harness::start_cold(vec![key.jwk()], |_| {}).await;
    h.idp.set_discovery_behaviour(Behaviour::Status(503));
    h.idp.set_jwks_behaviour(Behaviour::Status(503));
    h.refresh = Some(h.auth.spawn_background_refresh());
    wait_until(Duration::from_secs(2), || h.idp.discovery_hits() >= 2).await;
    assert!(!h.auth.is_ready());
    let token = key.mint(&h.claims());
    assert_eq!(h.auth.authenticate(&token).await.unwrap_err(), AuthnError::KeysUnavailable);
    h.idp.set_discovery_behaviour(Behaviour::Normal);
    h.idp.set_jwks_behaviour(Behaviour::Normal);
    let recovering = Instant::now();
    h.wait_ready().await;
    assert!(recovering.elapsed() < Duration::from_secs(2));
    h.assert_accepted(&token).await;
}

#[tokio::test]
async fn jwks_09_cooldown_uses_a_monotonic_clock_not_the_wall_clock() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |settings| {
        settings.unknown_kid_cooldown = Duration::from_secs(3_600);
    })
    .await;
    let claims = h.claims();
    h.assert_rejected(&random_kid_key(1).mint(&claims)).await;
    let after_first = h.idp.jwks_hits();
    for step in [3_600, -7_200, 86_400] {
        h.clock.advance(step);
        h.assert_rejected(&random_kid_key(2).mint(&claims)).await;
    }
    assert_eq!(h.idp.jwks_hits(), after_first, "a wall-clock jump does not reopen the cooldown");
}

#[tokio::test]
async fn jwks_11_oversized_jwks_is_refused_and_old_cache_kept() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |settings| settings.max_jwks_bytes = 64 * 1024).await;
    h.idp.set_jwks_behaviour(Behaviour::Oversized(2 * 1024 * 1024));
    let (k2, before) = (rsa2(), h.idp.jwks_hits());
    h.idp.set_keys(vec![key.jwk(), k2.jwk()]);
    assert_eq!(h.reject_reason(&k2.mint(&h.claims())).await, RejectReason::UnknownKey);
    assert_eq!(h.idp.jwks_hits(), before + 1);
    h.assert_accepted(&key.mint(&h.claims())).await;
}

#[tokio::test]
async fn jwks_12_new_material_under_the_same_kid_needs_a_refetch_not_a_bad_signature() {
    let old = rsa1();
    let h = Harness::start(vec![old.jwk()], |_| {}).await;
    let replacement = TestKey::load("rsa2", "rsa1", Algorithm::RS256);
    h.idp.set_keys(vec![replacement.jwk()]);
    let before = h.idp.jwks_hits();
    let token = replacement.mint(&h.claims());
    assert_eq!(h.reject_reason(&token).await, RejectReason::BadSignature);
    assert_eq!(h.idp.jwks_hits(), before, "a bad signature never triggers a fetch");
    // The next fetch (here forced by an unknown kid; normally the scheduled refresh) picks it up.
    h.assert_rejected(&random_kid_key(9).mint(&h.claims())).await;
    h.assert_accepted(&token).await;
}

#[tokio::test]
async fn jwks_02_1000_concurrent_unknown_kid_requests_cause_one_fetch() {
    let key = rsa1();
    let h = Harness::start(vec![key.jwk()], |settings| {
        settings.unknown_kid_cooldown = Duration::from_secs(30);
    })
    .await;
    h.idp.set_jwks_behaviour(Behaviour::Delay(Duration::from_millis(100)));
    let before = h.idp.jwks_hits();
    let token = random_kid_key(42).mint(&h.claims());
    let mut tasks = Vec::new();
    for _ in 0..1_000 {
        let auth = h.auth.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move { auth.authenticate(&token).await }));
    }
    for task in tasks {
        let error = task.await.expect("task").unwrap_err();
        assert_eq!(error.reason(), Some(RejectReason::UnknownKey));
    }
    assert_eq!(h.idp.jwks_hits(), before + 1);
}

#[tokio::test]
async fn jwks_13_key_published_during_an_outage_is_accepted_within_seconds_of_the_return() {
    // Production-like pauses on the harness's manual monotonic clock: a 30 s cooldown after a
    // successful fetch, a 2 s backoff after a failed one.
    let (old, new) = (rsa1(), rsa2());
    let h = Harness::start(vec![old.jwk()], |settings| {
        settings.unknown_kid_cooldown = Duration::from_secs(30);
        settings.jwks_failure_backoff = Duration::from_secs(2);
    })
    .await;
    // The start-up fetch was scheduled: it leaves no cooldown behind.
    let token = new.mint(&h.claims());
    // Outage: the IdP errors, and publishes the new key meanwhile. The token naming it is
    // refused, which costs one failed fetch; random kids right after cost nothing more.
    h.idp.set_jwks_behaviour(Behaviour::Status(503));
    h.idp.set_keys(vec![old.jwk(), new.jwk()]);
    let before = h.idp.jwks_hits();
    assert_eq!(h.reject_reason(&token).await, RejectReason::UnknownKey);
    assert_eq!(h.idp.jwks_hits(), before + 1);
    for index in 0..100 {
        h.assert_rejected(&random_kid_key(100 + index).mint(&h.claims())).await;
    }
    assert_eq!(h.idp.jwks_hits(), before + 1, "inside the backoff: no fetch");
    // Still down 2 s later: one more fetch (the backoff), still refused.
    h.clock.advance_monotonic(2);
    assert_eq!(h.reject_reason(&token).await, RejectReason::UnknownKey);
    assert_eq!(h.idp.jwks_hits(), before + 2, "one fetch per backoff while the IdP is down");
    // The IdP comes back. One second later: still inside the backoff.
    h.idp.set_jwks_behaviour(Behaviour::Normal);
    h.clock.advance_monotonic(1);
    assert_eq!(h.reject_reason(&token).await, RejectReason::UnknownKey);
    // Two seconds after the last failure, i.e. at most 2 s after the IdP's return (the old code
    // waited out the 30 s cooldown that the failed fetch had started): accepted.
    h.clock.advance_monotonic(1);
    h.assert_accepted(&token).await;
    // After that successful fetch the full cooldown holds again for random kids.
    let after_recovery = h.idp.jwks_hits();
    h.clock.advance_monotonic(29);
    for index in 0..50 {
        h.assert_rejected(&random_kid_key(400 + index).mint(&h.claims())).await;
    }
    assert_eq!(h.idp.jwks_hits(), after_recovery, "random kids inside the cooldown cause no fetch");
    h.clock.advance_monotonic(2);
    h.assert_rejected(&random_kid_key(999).mint(&h.claims())).await;
    assert_eq!(h.idp.jwks_hits(), after_recovery + 1, "one fetch once the cooldown is over");
}
