//! Device authorization grant (RFC 8628) on top of the `oauth2` crate.
//!
//! The crate builds the requests and runs the polling loop (`authorization_pending` keeps the
//! interval, `slow_down` adds 5 s for good, client-side expiry after `expires_in`, backoff after
//! network errors). Three rules of ours are added around it:
//! - wait one interval before the first poll (the crate polls at once; RFC 8628 §3.5 says wait);
//! - a 5xx answer is a network failure, never an OAuth code (see `transport.rs`);
//! - network failures are retried a bounded number of times, then we give up.
//!
//! Time goes through a [`Sleeper`], so tests run the protocol's minutes in milliseconds.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, ClientId, DeviceAuthorizationUrl, DeviceCodeErrorResponse, DeviceCodeErrorResponseType,
    RequestTokenError, Scope, StandardDeviceAuthorizationResponse, TokenUrl,
};
use tokio::sync::Notify;

use super::grants::token_set_from;
use super::transport::{FailureBudget, IdpTransport, TransportError};
use super::{OidcEndpoints, TokenSet};
use crate::clock::{Clock, SystemClock};
use crate::error::AuthError;

/// Waits protocol time. The real one sleeps; a test one can scale time down and record.
pub trait Sleeper: Send + Sync {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
    /// Protocol time elapsed since the flow started (drives the client-side expiry).
    fn elapsed(&self) -> Duration;
}

/// Sleeps for real.
#[derive(Debug)]
pub struct RealSleeper {
    started: Instant,
}

impl Default for RealSleeper {
    fn default() -> Self {
        RealSleeper { started: SystemClock.instant() }
    }
}

impl Sleeper for RealSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }

    fn elapsed(&self) -> Duration {
        SystemClock.instant().saturating_duration_since(self.started)
    }
}

/// Knobs of the polling loop.
pub struct DeviceFlowOptions {
    pub sleeper: Arc<dyn Sleeper>,
    /// Consecutive failed polls (network error, 5xx) tolerated; one more and we give up.
    pub max_network_retries: u32,
    /// Cap of the doubling backoff after a failed poll.
    pub max_backoff: Duration,
}

impl Default for DeviceFlowOptions {
    fn default() -> Self {
        DeviceFlowOptions {
            sleeper: Arc::new(RealSleeper::default()),
            max_network_retries: 5,
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// What the user must do: visit `verification_uri` and enter `user_code`.
/// The `device_code` stays inside and is never printed.
#[derive(Debug)]
pub struct DeviceAuthorization {
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_in: Duration,
    pub interval: Duration,
    response: StandardDeviceAuthorizationResponse,
}

fn client_for(
    endpoints: &OidcEndpoints,
) -> Result<
    BasicClient<
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    AuthError,
> {
    let device_url = endpoints.device_authorization_endpoint.as_deref().ok_or_else(|| {
        AuthError::InvalidTokenResponse(
            "the cluster's identity provider has no device authorization endpoint".into(),
        )
    })?;
    let device_url = DeviceAuthorizationUrl::new(device_url.to_string())
        .map_err(|error| AuthError::InvalidTokenResponse(format!("device endpoint: {error}")))?;
    let token_url = TokenUrl::new(endpoints.token_endpoint.clone())
        .map_err(|error| AuthError::InvalidTokenResponse(format!("token endpoint: {error}")))?;
    Ok(BasicClient::new(ClientId::new(endpoints.client_id.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_device_authorization_url(device_url)
        .set_token_uri(token_url))
}

/// Step 1: ask the IdP for a user code.
pub async fn start_device_flow(
    http: &reqwest::Client,
    endpoints: &OidcEndpoints,
    scopes: &[String],
) -> Result<DeviceAuthorization, AuthError> {
    let client = client_for(endpoints)?;
    let send = IdpTransport { client: http.clone(), budget: None };
    let response: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(scopes.iter().cloned().map(Scope::new))
        .request_async(&send)
        .await
        .map_err(super::grants::map_error)?;
    Ok(DeviceAuthorization {
        user_code: response.user_code().secret().clone(),
        verification_uri: response.verification_uri().to_string(),
        verification_uri_complete: response.verification_uri_complete().map(|uri| uri.secret().clone()),
        expires_in: response.expires_in(),
        interval: response.interval(),
        response,
    })
}

/// Step 2: poll the token endpoint until the user approves, denies, or the code expires.
pub async fn poll_device_flow(
    http: &reqwest::Client,
    endpoints: &OidcEndpoints,
    authorization: &DeviceAuthorization,
    scopes: &[String],
    options: &DeviceFlowOptions,
) -> Result<TokenSet, AuthError> {
    let client = client_for(endpoints)?;
    let max_failures = options.max_network_retries + 1;
    let budget = Arc::new(FailureBudget {
        consecutive: AtomicU32::new(0),
        limit: max_failures,
        give_up: Notify::new(),
    });
    let send = IdpTransport { client: http.clone(), budget: Some(budget.clone()) };

    // RFC 8628 §3.5: wait the interval before the first poll too.
    options.sleeper.sleep(authorization.interval).await;

    let now = SystemClock.now();
    let started = chrono::DateTime::<chrono::Utc>::from_timestamp(now.unix_timestamp(), now.nanosecond())
        .unwrap_or_default();
    let clock = options.sleeper.clone();
    let sleeper = options.sleeper.clone();
    let mut request = client
        .exchange_device_access_token(&authorization.response)
        .set_time_fn(move || started + chrono::Duration::from_std(clock.elapsed()).unwrap_or_default())
        .set_max_backoff_interval(options.max_backoff);
    if !scopes.is_empty() {
        request = request.add_extra_param("scope", scopes.join(" "));
    }
    let polling = request.request_async(&send, move |interval| sleeper.sleep(interval), None);
    tokio::select! {
        result = polling => token_set_from(result.map_err(map_error)?),
        () = budget.give_up.notified() => Err(AuthError::IdpUnavailable(format!(
            "the token endpoint failed {max_failures} times in a row; giving up"
        ))),
    }
}

fn map_error(error: RequestTokenError<TransportError, DeviceCodeErrorResponse>) -> AuthError {
    match error {
        RequestTokenError::ServerResponse(response) => match response.error() {
            DeviceCodeErrorResponseType::AccessDenied => AuthError::AccessDenied,
            DeviceCodeErrorResponseType::ExpiredToken => AuthError::DeviceCodeExpired,
            // Servers that drop expired or redeemed codes answer `invalid_grant` instead of
            // `expired_token` (oidc-provider does): say what it means for the user.
            DeviceCodeErrorResponseType::Basic(oauth2::basic::BasicErrorResponseType::InvalidGrant) => {
                AuthError::DeviceCodeInvalid {
                    description: response
                        .error_description()
                        .cloned()
                        .unwrap_or_else(|| "invalid_grant".into()),
                }
            }
            other => AuthError::Rejected {
                code: other.as_ref().to_string(),
                description: response.error_description().cloned(),
            },
        },
        RequestTokenError::Request(transport) => AuthError::IdpUnavailable(transport.to_string()),
        RequestTokenError::Parse(error, _body) => AuthError::InvalidTokenResponse(error.to_string()),
        RequestTokenError::Other(message) => AuthError::InvalidTokenResponse(message),
    }
}

#[cfg(test)]
#[path = "device_tests.rs"]
mod tests;
