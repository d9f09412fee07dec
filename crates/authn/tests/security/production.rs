//! The production configuration itself: the wall clock (library time checks on as a second
//! layer) and the dependency floor of DEP-01.

use std::sync::Arc;
use std::time::Duration;

use nmp_authn::{Authenticator, RejectReason, SystemClock};
use serde_json::json;

use crate::support::{rsa1, test_settings, wait_until, wall_now, FakeIdp, AUDIENCE};

#[tokio::test]
async fn production_wall_clock_path_accepts_valid_and_rejects_expired_tokens() {
    let key = rsa1();
    let idp = FakeIdp::start(vec![key.jwk()]).await;
    let auth = Authenticator::new(test_settings(&idp.issuer()), Arc::new(SystemClock)).expect("settings");
    let refresh = auth.spawn_background_refresh();
    wait_until(Duration::from_secs(5), || auth.is_ready()).await;
    let now = wall_now();
    let claims = |exp: i64, nbf: i64| json!({"iss": idp.issuer(), "aud": AUDIENCE, "sub": "alice", "exp": exp, "nbf": nbf, "iat": now - 10});
    assert!(auth.authenticate(&key.mint(&claims(now + 600, now - 10))).await.is_ok());
    let expired = auth.authenticate(&key.mint(&claims(now - 120, now - 500))).await;
    assert_eq!(expired.unwrap_err().reason(), Some(RejectReason::Expired));
    let early = auth.authenticate(&key.mint(&claims(now + 6_000, now + 3_000))).await;
    assert_eq!(early.unwrap_err().reason(), Some(RejectReason::NotYetValid));
    refresh.abort();
}

#[test]
fn dep_01_jsonwebtoken_is_at_least_10_3() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock"))
        .expect("workspace Cargo.lock");
    let mut versions = Vec::new();
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"jsonwebtoken\"" {
            let version = lines.next().expect("version line");
            let version = version.trim_start_matches("version = \"").trim_end_matches('"');
            let parts: Vec<u64> = version.split('.').map(|p| p.parse().expect("number")).collect();
            versions.push((parts[0], parts[1]));
        }
    }
    assert!(!versions.is_empty(), "jsonwebtoken not in Cargo.lock");
    for version in versions {
        assert!(version >= (10, 3), "jsonwebtoken {version:?} < 10.3 (CVE-2026-25537)");
    }
}
