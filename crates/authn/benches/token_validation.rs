//! Token validation: a verified-token cache hit (through `authenticate`, IdP tokens only, and
//! through `authenticate_bearer`, the server's entry point for both kinds of token), a cold verification through the whole
//! authenticator (cache off: JWS parsing, key lookup, signature, claims, mapping), and the JWT
//! library's bare verify of the same token, for RS256, ES256 and EdDSA. Results and the command
//! are in `docs/benchmarks.md` ("Token validation").
//!
//! `cargo bench -p nmp-authn --bench token_validation`

// A benchmark measures real time.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use futures_util::FutureExt;
use jsonwebtoken::{DecodingKey, Validation};
use nmp_authn::parsing::{production_validation, LibraryPolicy};

use support::{ec256, ed25519, rsa1, Harness, TestKey, AUDIENCE};

/// Runs a future that must not wait on anything (keys are loaded, nothing goes to the network).
fn ready<T>(future: impl std::future::Future<Output = T>) -> T {
    future.now_or_never().expect("authentication completes without waiting once keys are loaded")
}

fn token_validation(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let _guard = runtime.enter();
    let keys: Vec<TestKey> = vec![rsa1(), ec256(), ed25519()];
    let jwks: Vec<serde_json::Value> = keys.iter().map(TestKey::jwk).collect();
    let cached = runtime.block_on(Harness::start(jwks.clone(), |_| {}));
    let cold = runtime.block_on(Harness::start(jwks, |settings| settings.token_cache_capacity = 0));
    let mut group = c.benchmark_group("token_validation");
    for key in &keys {
        let name = support::mint::alg_name(key.algorithm);
        let token = key.mint(&cached.claims());
        assert!(ready(cached.auth.authenticate(&token)).is_ok());
        // Each harness has its own fake IdP, hence its own issuer.
        let cold_token = key.mint(&cold.claims());
        assert!(ready(cold.auth.authenticate(&cold_token)).is_ok());
        group.bench_function(format!("{name}/cache_hit"), |b| {
            b.iter(|| ready(cached.auth.authenticate(black_box(&token))))
        });
        // What the server calls: one cache for IdP tokens and access keys, looked up before
        // anything of the token is decoded.
        assert!(ready(cached.auth.authenticate_bearer(&token)).is_ok());
        group.bench_function(format!("{name}/bearer_cache_hit"), |b| {
            b.iter(|| ready(cached.auth.authenticate_bearer(black_box(&token))))
        });
        // What a hit paid on top before the two kinds shared the cache: the payload's
        // base64 and JSON, read on every request to route access keys.
        assert!(!nmp_authn::claims_to_be_access_key(&token));
        group.bench_function(format!("{name}/kind_peek"), |b| {
            b.iter(|| nmp_authn::claims_to_be_access_key(black_box(&token)))
        });
        group.bench_function(format!("{name}/cold_verify"), |b| {
            b.iter(|| ready(cold.auth.authenticate(black_box(&cold_token))))
        });
        // The library alone, with the very Validation the authenticator builds.
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.jwk()).expect("jwk");
        let decoding = DecodingKey::from_jwk(&jwk).expect("decoding key");
        let issuers = vec![cached.idp.issuer()];
        let policy = LibraryPolicy { issuers: &issuers, audience: AUDIENCE, leeway_seconds: 60 };
        let validation: Validation = production_validation(key.algorithm, &policy);
        assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &validation).is_ok());
        group.bench_function(format!("{name}/library_verify"), |b| {
            b.iter(|| jsonwebtoken::decode::<serde_json::Value>(black_box(&token), &decoding, &validation))
        });
    }
    group.finish();
}

criterion_group!(benches, token_validation);
criterion_main!(benches);
