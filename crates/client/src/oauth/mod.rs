//! OAuth 2.0 client side: device flow (RFC 8628), password and refresh grants, scope rules.
//!
//! The `oauth2` crate builds and parses every request; we add what the CLI's rules need on top
//! (see `device.rs` for why polling is wrapped).

mod device;
mod grants;
mod scopes;
mod transport;

pub use device::{
    poll_device_flow, start_device_flow, DeviceAuthorization, DeviceFlowOptions, RealSleeper, Sleeper,
};
pub use grants::{password_grant, refresh_grant};
pub use scopes::{apply_scope_prefix, missing_scopes, normalize_scope_prefix, requested_scopes};
pub use transport::idp_http_client;

use std::time::Duration;

use crate::secret::Secret;

/// Where to get tokens, from `GET /apis/auth/discovery` (never stored in the CLI config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcEndpoints {
    pub client_id: String,
    pub token_endpoint: String,
    pub device_authorization_endpoint: Option<String>,
}

/// A successful token response.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: Secret,
    /// `None` when the IdP did not issue (or rotate) one: keep the old one.
    pub refresh_token: Option<Secret>,
    pub expires_in: Option<Duration>,
    /// Scopes the IdP says it granted, when it says.
    pub scopes: Option<Vec<String>>,
}
