//! `TokenProvider`: the bearer token for each request, refreshed transparently.
//!
//! Sources: a fixed token (`NMP_ACCESS_TOKEN`, explicit), or a context of the CLI config file.
//! For the file source, a token within `refresh_margin` of its `exp` is refreshed with the
//! stored refresh token:
//! - one refresh per process (an async mutex) and per machine (a lock file next to the config,
//!   named as the official SDK names it); after taking the lock the file is re-read and the
//!   refresh skipped if another process already did it;
//! - a rotated refresh token replaces the old one; an answer without one keeps the old one;
//! - `invalid_grant` → re-read the file once (a sibling may have rotated) before giving up;
//! - nothing ever deletes stored credentials: transient IdP errors keep them (and a token that
//!   has not expired yet is still used), and a rejected refresh asks for a new login.
//!
//! The token endpoint comes from `GET {base_url}/apis/auth/discovery`, never from the file.

mod lock;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{Mutex, OnceCell};

use crate::clock::{self, Clock};
use crate::config::{self, CliConfig};
use crate::discovery::discover;
use crate::error::{AuthError, Error, Result};
use crate::jwt;
use crate::oauth::{self, OidcEndpoints};
use crate::secret::Secret;

pub use lock::RefreshLock;

/// The SDK refreshes when ≤ 60 s remain.
pub const SDK_REFRESH_MARGIN_SECONDS: i64 = 60;
/// The CLI refreshes before each API command when < 300 s remain.
pub const CLI_REFRESH_MARGIN_SECONDS: i64 = 300;

/// Where tokens come from.
#[derive(Debug, Clone)]
pub enum TokenSource {
    Fixed(Secret),
    ConfigFile { path: PathBuf, context: String },
}

/// A token, and whether getting it took a refresh (the CLI says so on stderr).
#[derive(Debug, Clone)]
pub struct FetchedToken {
    pub token: Option<Secret>,
    pub refreshed: bool,
}

/// Hands out bearer tokens. Clones share one refresh gate and one discovery cache.
#[derive(Debug, Clone)]
pub struct TokenProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    source: TokenSource,
    base_url: String,
    refresh_margin: i64,
    clock: Arc<dyn Clock>,
    idp_http: reqwest::Client,
    api_http: reqwest::Client,
    refresh_gate: Mutex<()>,
    discovery: OnceCell<OidcSettings>,
    /// The refresh token the IdP refused last: not offered again by this provider.
    refused_refresh: std::sync::Mutex<Option<Secret>>,
}

/// What a refresh needs from discovery.
#[derive(Debug, Clone)]
struct OidcSettings {
    endpoints: OidcEndpoints,
    scopes: Vec<String>,
}

impl TokenProvider {
    /// A fixed token: never refreshed, never stored.
    pub fn fixed(token: Secret) -> TokenProvider {
        TokenProvider::new(TokenSource::Fixed(token), String::new())
    }

    /// Tokens of `context` in the CLI config at `path`; refreshes go to the IdP that
    /// `base_url`'s discovery names.
    pub fn from_config_file(
        path: impl Into<PathBuf>,
        context: impl Into<String>,
        base_url: impl Into<String>,
    ) -> TokenProvider {
        TokenProvider::new(
            TokenSource::ConfigFile { path: path.into(), context: context.into() },
            base_url.into(),
        )
    }

    fn new(source: TokenSource, base_url: String) -> TokenProvider {
        TokenProvider {
            inner: Arc::new(Inner {
                source,
                base_url,
                refresh_margin: SDK_REFRESH_MARGIN_SECONDS,
                clock: clock::system(),
                idp_http: oauth::idp_http_client(),
                api_http: reqwest::Client::new(),
                refresh_gate: Mutex::new(()),
                discovery: OnceCell::new(),
                refused_refresh: std::sync::Mutex::new(None),
            }),
        }
    }

    fn rebuild(self, change: impl FnOnce(&mut Inner)) -> TokenProvider {
        let inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            source: shared.source.clone(),
            base_url: shared.base_url.clone(),
            refresh_margin: shared.refresh_margin,
            clock: shared.clock.clone(),
            idp_http: shared.idp_http.clone(),
            api_http: shared.api_http.clone(),
            refresh_gate: Mutex::new(()),
            discovery: OnceCell::new(),
            refused_refresh: std::sync::Mutex::new(None),
        });
        let mut inner = inner;
        change(&mut inner);
        TokenProvider { inner: Arc::new(inner) }
    }

    /// Refresh when this many seconds or fewer remain (SDK 60, CLI 300).
    pub fn with_refresh_margin(self, seconds: i64) -> TokenProvider {
        self.rebuild(|inner| inner.refresh_margin = seconds)
    }

    pub fn with_clock(self, clock: Arc<dyn Clock>) -> TokenProvider {
        self.rebuild(|inner| inner.clock = clock)
    }

    pub fn source(&self) -> &TokenSource {
        &self.inner.source
    }

    /// The token to send now (refreshing first if it is about to expire).
    pub async fn token(&self) -> Result<Option<Secret>> {
        Ok(self.fetch().await?.token)
    }

    /// Like [`TokenProvider::token`], also saying whether a refresh happened.
    pub async fn fetch(&self) -> Result<FetchedToken> {
        let (path, context) = match &self.inner.source {
            TokenSource::Fixed(token) => {
                return Ok(FetchedToken { token: Some(token.clone()), refreshed: false })
            }
            TokenSource::ConfigFile { path, context } => (path, context),
        };
        let stored = read_token(path, context)?;
        match &stored {
            Some(token) if self.needs_refresh(token) => {}
            _ => return Ok(FetchedToken { token: stored, refreshed: false }),
        }
        self.refresh_if_still_needed(path, context, None).await
    }

    /// Refresh now, whatever the expiry (`nemo auth refresh`).
    pub async fn force_refresh(&self) -> Result<Secret> {
        let TokenSource::ConfigFile { path, context } = &self.inner.source else {
            return Err(AuthError::NoRefreshToken.into());
        };
        let _gate = self.inner.refresh_gate.lock().await;
        let _lock = RefreshLock::acquire(&config::lock_path_for(path, context)).await?;
        let fetched = self.refresh_locked(path, context).await?;
        fetched.token.ok_or_else(|| AuthError::NoRefreshToken.into())
    }

    /// The API answered 401 to `rejected`: refresh once if we can, for one retry.
    /// `Ok(None)` when there is nothing better to try.
    pub async fn refresh_after_rejection(&self, rejected: &Secret) -> Result<Option<Secret>> {
        let TokenSource::ConfigFile { path, context } = &self.inner.source else {
            return Ok(None);
        };
        let has_refresh_token = config::load_or_default(path)?
            .user_of(context)
            .and_then(|user| user.refresh_token.clone())
            .is_some();
        if !has_refresh_token {
            return Ok(None);
        }
        let fetched = self.refresh_if_still_needed(path, context, Some(rejected.clone())).await?;
        Ok(fetched.token.filter(|token| token != rejected))
    }

    fn seconds_left(&self, token: &Secret) -> Option<i64> {
        jwt::seconds_left(token.expose(), self.inner.clock.now_unix())
    }

    /// Tokens without a readable `exp` are never refreshed ahead of time.
    fn needs_refresh(&self, token: &Secret) -> bool {
        self.seconds_left(token).is_some_and(|left| left <= self.inner.refresh_margin)
    }

    fn still_needed(&self, stored: Option<&Secret>, rejected: Option<&Secret>) -> bool {
        match (stored, rejected) {
            (Some(token), Some(rejected)) => token == rejected,
            (Some(token), None) => self.needs_refresh(token),
            (None, _) => false,
        }
    }

    /// Serialize (in process, then across processes), re-read, and refresh only if the
    /// stored token still needs it (or is still the `rejected` one).
    async fn refresh_if_still_needed(
        &self,
        path: &Path,
        context: &str,
        rejected: Option<Secret>,
    ) -> Result<FetchedToken> {
        let _gate = self.inner.refresh_gate.lock().await;
        let stored = read_token(path, context)?;
        if !self.still_needed(stored.as_ref(), rejected.as_ref()) {
            return Ok(FetchedToken { token: stored, refreshed: false });
        }
        let _lock = RefreshLock::acquire(&config::lock_path_for(path, context)).await?;
        let stored = read_token(path, context)?;
        if !self.still_needed(stored.as_ref(), rejected.as_ref()) {
            return Ok(FetchedToken { token: stored, refreshed: false });
        }
        if rejected.is_none() {
            let refresh = read_refresh_token(path, context)?;
            if refresh.is_some() && *self.refused_refresh() == refresh {
                return self.without_refresh(stored);
            }
        }
        match self.refresh_locked(path, context).await {
            // A proactive refresh the IdP refused (`invalid_grant`: revoked, or rotated by a
            // client that does not take our lock): a token that has not expired yet still
            // works; an expired one needs a new login (the official CLI's wording). The
            // refused refresh token is not offered again by this provider.
            Err(Error::Auth(AuthError::Rejected { code, description })) if rejected.is_none() => {
                tracing::warn!(%code, ?description, "token refresh rejected by the identity provider");
                *self.refused_refresh() = read_refresh_token(path, context)?;
                self.without_refresh(stored)
            }
            other => other,
        }
    }

    fn refused_refresh(&self) -> std::sync::MutexGuard<'_, Option<Secret>> {
        self.inner.refused_refresh.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// No refresh possible: the token while it lasts, then "expired".
    fn without_refresh(&self, stored: Option<Secret>) -> Result<FetchedToken> {
        match self.still_valid(stored) {
            Some(token) => Ok(FetchedToken { token: Some(token), refreshed: false }),
            None => Err(AuthError::TokenExpired.into()),
        }
    }

    /// Refresh with the lock held.
    async fn refresh_locked(&self, path: &Path, context: &str) -> Result<FetchedToken> {
        let config = config::load_or_default(path)?;
        let user =
            config.user_of(context).ok_or_else(|| AuthError::NotLoggedIn { context: context.to_string() })?;
        let current = user.bearer().cloned();
        let still_valid = self.still_valid(current.clone());
        let Some(refresh_token) = user.refresh_token.clone() else {
            // Nothing to refresh with: use the token while it lasts.
            return match (still_valid, current) {
                (Some(token), _) => Ok(FetchedToken { token: Some(token), refreshed: false }),
                (None, None) => Err(AuthError::NotLoggedIn { context: context.to_string() }.into()),
                (None, Some(_)) => Err(AuthError::TokenExpired.into()),
            };
        };
        let oidc = self.oidc().await?;
        let outcome =
            oauth::refresh_grant(&self.inner.idp_http, &oidc.endpoints, &refresh_token, &oidc.scopes).await;
        let tokens = match outcome {
            Ok(tokens) => tokens,
            Err(AuthError::Rejected { code, description }) if code == "invalid_grant" => {
                // A process that does not take our lock may have rotated the pair: re-read once.
                match self.after_invalid_grant(path, context, current, refresh_token)? {
                    AfterInvalidGrant::Use(token) => {
                        return Ok(FetchedToken { token: Some(token), refreshed: false })
                    }
                    AfterInvalidGrant::RetryWith(rotated) => {
                        oauth::refresh_grant(&self.inner.idp_http, &oidc.endpoints, &rotated, &oidc.scopes)
                            .await?
                    }
                    AfterInvalidGrant::GiveUp => return Err(AuthError::Rejected { code, description }.into()),
                }
            }
            Err(AuthError::IdpUnavailable(reason)) => {
                // Transient: keep everything; a token that has not expired still works.
                tracing::warn!(%reason, "token refresh failed; keeping the stored credentials");
                return match still_valid {
                    Some(token) => Ok(FetchedToken { token: Some(token), refreshed: false }),
                    None => Err(AuthError::IdpUnavailable(reason).into()),
                };
            }
            Err(other) => return Err(other.into()),
        };
        // Write back into a fresh read, touching only this user's tokens.
        let mut latest: CliConfig = config::load_or_default(path)?;
        let user = latest.ensure_user(context);
        user.set_tokens(tokens.access_token.clone(), tokens.refresh_token.clone());
        config::save(path, &latest)?;
        Ok(FetchedToken { token: Some(tokens.access_token), refreshed: true })
    }

    /// The token if it has not expired yet (tokens without `exp` count as valid).
    fn still_valid(&self, token: Option<Secret>) -> Option<Secret> {
        let token = token?;
        match self.seconds_left(&token) {
            Some(left) if left <= 0 => None,
            _ => Some(token),
        }
    }

    /// After `invalid_grant`, read the file again: a fresh token or a rotated refresh token
    /// written by another process is used; otherwise we give up (keeping the credentials).
    fn after_invalid_grant(
        &self,
        path: &Path,
        context: &str,
        used_access: Option<Secret>,
        used_refresh: Secret,
    ) -> Result<AfterInvalidGrant> {
        let reread = config::load_or_default(path)?;
        let Some(user) = reread.user_of(context) else {
            return Ok(AfterInvalidGrant::GiveUp);
        };
        if let Some(token) = user.bearer() {
            if Some(token) != used_access.as_ref() && !self.needs_refresh(token) {
                return Ok(AfterInvalidGrant::Use(token.clone()));
            }
        }
        Ok(match &user.refresh_token {
            Some(rotated) if *rotated != used_refresh => AfterInvalidGrant::RetryWith(rotated.clone()),
            _ => AfterInvalidGrant::GiveUp,
        })
    }

    /// Discovery, once per provider.
    async fn oidc(&self) -> Result<OidcSettings> {
        if let Some(settings) = self.inner.discovery.get() {
            return Ok(settings.clone());
        }
        let discovery = discover(&self.inner.api_http, &self.inner.base_url).await?;
        let settings = oidc_settings(discovery).ok_or(Error::Auth(AuthError::OidcNotConfigured))?;
        let _ = self.inner.discovery.set(settings.clone());
        Ok(settings)
    }
}

enum AfterInvalidGrant {
    Use(Secret),
    RetryWith(Secret),
    GiveUp,
}

/// Endpoints and refresh scopes (cluster defaults, prefixed) from a discovery answer.
fn oidc_settings(discovery: nmp_proto::AuthDiscoveryResponse) -> Option<OidcSettings> {
    let oidc = discovery.oidc?;
    let endpoints = OidcEndpoints {
        client_id: oidc.client_id.clone(),
        token_endpoint: oidc.token_endpoint.clone()?,
        device_authorization_endpoint: oidc.device_authorization_endpoint.clone(),
    };
    let scopes = oauth::apply_scope_prefix(
        &oauth::requested_scopes(&oidc.default_scopes, None),
        oidc.scope_prefix.as_deref(),
    );
    Some(OidcSettings { endpoints, scopes })
}

fn read_refresh_token(path: &Path, context: &str) -> Result<Option<Secret>> {
    let config = config::load_or_default(path)?;
    Ok(config.user_of(context).and_then(|user| user.refresh_token.clone()))
}

fn read_token(path: &Path, context: &str) -> Result<Option<Secret>> {
    let config = config::load_or_default(path)?;
    Ok(config.user_of(context).and_then(|user| user.bearer().cloned()))
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
