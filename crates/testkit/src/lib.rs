//! Test-only helpers for nmp end-to-end tests: [`TestIdp`] starts the real OpenID provider in
//! `tests/idp` (oidc-provider on Node.js, 127.0.0.1 only), plays its users through its login,
//! consent and device pages over HTTP, and steers it (keys, TTLs, faults, counters, outages).
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! let idp = nmp_testkit::TestIdp::start().await?;
//! let tokens = idp.device_login("alice@example.com", "openid offline_access platform:read").await?;
//! // tokens.access_token is an RS256 JWT with iss = idp.issuer(), aud = "nmp-api",
//! // sub = "u-alice", email, groups = ["ml-team"], scope = "platform:read".
//! # Ok(()) }
//! ```
//!
//! Users (any password): `admin@example.com` (`u-admin`, groups `nemo-admins`),
//! `alice@example.com` (`u-alice`, `ml-team`), `bob@example.com` (`u-bob`, none),
//! `carol@example.com` (`u-carol`, `ml-team`, `data-team`). See tests/idp/README.md.

mod browser;
mod control;
mod html;
mod idp;
mod npm;
mod oauth;
pub mod pki;
mod postgres;
mod process;

pub use control::{Counters, Endpoint, Fault, IdpState};
pub use idp::{IdpOptions, TestIdp};
pub use oauth::{decode_jwt_unverified, is_oauth_error, DeviceAuthorization, OAuthError, TokenSet};
pub use postgres::{PgCluster, SUPERUSER_PASSWORD as PG_SUPERUSER_PASSWORD};
