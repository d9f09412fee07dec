//! Security suite of nmp-authn: one test per applicable case of the test catalog's `JWT-*`, `QS`,
//! `HTTP`, `OIDC`, `JWKS` and `DEP` families (`docs/test-catalog.md`), against a fake IdP on
//! 127.0.0.1 and tokens minted with the keys in `tests/keys/`. (One integration-test binary for the
//! crate; the cases live in `tests/security/*.rs`.)
//! `providers.rs` maps tokens shaped like each identity provider's with the configuration
//! `docs/oidc-setup.md` gives for it.

// Tests measure real elapsed time against real processes: the wall clock is theirs to read.
#![allow(clippy::disallowed_methods)]

mod support;

#[path = "security/format.rs"]
mod format;

#[path = "security/algorithms.rs"]
mod algorithms;

#[path = "security/key_resolution.rs"]
mod key_resolution;

#[path = "security/claims.rs"]
mod claims;

#[path = "security/quickstart_and_transport.rs"]
mod quickstart_and_transport;

#[path = "security/oidc.rs"]
mod oidc;

#[path = "security/jwks.rs"]
mod jwks;

#[path = "security/caching.rs"]
mod caching;

#[path = "security/production.rs"]
mod production;

#[path = "security/providers.rs"]
mod providers;
