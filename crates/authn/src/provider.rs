//! The IdP as seen from here: discovery metadata and the JWKS, cached, refreshed in the
//! background, re-fetched on an unknown `kid` at most once per cooldown, single-flight (one
//! fetch in flight no matter how many requests wait), and kept as last-known-good when the IdP
//! fails. Only configured URLs and the configured issuer's discovery document are fetched.
//!
//! The cooldown follows a *successful* on-demand fetch only: the IdP answered and the `kid` was
//! not in its set, so random `kid`s cannot make us ask again sooner. A *failed* on-demand fetch
//! (IdP down, error status, bad document) is retried after a short backoff instead, so a key the
//! IdP published during an outage is picked up within seconds of its return.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use nmp_core::clock::Clock;

use serde::Serialize;
use url::Url;

use crate::fetch::{discovery_url, parse_discovery, FetchError, Fetcher};
use crate::keys::{parse_jwks, KeyFingerprint, VerificationKey};
use crate::settings::secure_url;

/// Endpoints from the IdP's discovery document, for `/apis/auth/discovery`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub jwks_uri: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub device_authorization_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
}

/// One immutable version of the key set. `loaded` is false until the first good JWKS.
#[derive(Debug, Default)]
pub struct KeySnapshot {
    pub keys: Vec<Arc<VerificationKey>>,
    pub loaded: bool,
    /// Bumped on every successful JWKS fetch.
    pub generation: u64,
    /// When this set was fetched.
    pub loaded_at: Option<Instant>,
}

impl KeySnapshot {
    pub fn contains(&self, fingerprint: &KeyFingerprint) -> bool {
        self.keys.iter().any(|key| &key.fingerprint == fingerprint)
    }
}

/// Why a refresh runs: the background task ignores the cooldown, on-demand fetches respect it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshCause {
    Scheduled,
    /// A token named a `kid` we do not have, or no key set is loaded yet.
    OnDemand {
        seen_generation: u64,
    },
}

#[derive(Debug, Default)]
struct FetchBookkeeping {
    /// No on-demand fetch before this instant (monotonic clock).
    next_on_demand: Option<Instant>,
    jwks_uri: Option<Url>,
}

#[derive(Debug)]
pub struct Provider {
    issuer: String,
    issuer_url: Url,
    configured_jwks_uri: Option<Url>,
    cooldown: Duration,
    failure_backoff: Duration,
    clock: Arc<dyn Clock>,
    fetcher: Fetcher,
    keys: RwLock<Arc<KeySnapshot>>,
    metadata: RwLock<Option<ProviderMetadata>>,
    /// Set while the discovery document names another issuer (OIDC-10): nothing is accepted.
    misconfigured: RwLock<Option<String>>,
    /// Held for the whole of a fetch: this is the single-flight gate.
    gate: tokio::sync::Mutex<FetchBookkeeping>,
    fetches: AtomicU64,
    fetch_failures: AtomicU64,
}

impl Provider {
    pub fn new(
        issuer: String,
        issuer_url: Url,
        configured_jwks_uri: Option<Url>,
        cooldown: Duration,
        failure_backoff: Duration,
        clock: Arc<dyn Clock>,
        fetcher: Fetcher,
    ) -> Self {
        Provider {
            issuer,
            issuer_url,
            configured_jwks_uri,
            cooldown,
            // Never longer than the cooldown: a failure must not block longer than a success.
            failure_backoff: failure_backoff.min(cooldown),
            clock,
            fetcher,
            keys: RwLock::new(Arc::new(KeySnapshot::default())),
            metadata: RwLock::new(None),
            misconfigured: RwLock::new(None),
            gate: tokio::sync::Mutex::new(FetchBookkeeping::default()),
            fetches: AtomicU64::new(0),
            fetch_failures: AtomicU64::new(0),
        }
    }

    pub fn snapshot(&self) -> Arc<KeySnapshot> {
        Arc::clone(&self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    pub fn metadata(&self) -> Option<ProviderMetadata> {
        self.metadata.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    pub fn is_misconfigured(&self) -> bool {
        self.misconfigured.read().unwrap_or_else(|poisoned| poisoned.into_inner()).is_some()
    }

    pub fn is_ready(&self) -> bool {
        self.snapshot().loaded && !self.is_misconfigured()
    }

    /// JWKS HTTP requests made so far (discovery not counted). For tests and metrics.
    pub fn jwks_fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }

    /// JWKS requests that failed (network, status, size or an unreadable document).
    pub fn jwks_fetch_failures(&self) -> u64 {
        self.fetch_failures.load(Ordering::SeqCst)
    }

    /// Refresh discovery and keys. Concurrent callers queue on one gate; an on-demand caller
    /// that finds the set changed while it waited, or finds itself inside the cooldown (after a
    /// successful fetch) or the retry backoff (after a failed one), fetches nothing.
    pub async fn refresh(&self, cause: RefreshCause) {
        let mut bookkeeping = self.gate.lock().await;
        if let RefreshCause::OnDemand { seen_generation } = cause {
            if self.snapshot().generation != seen_generation {
                return;
            }
            if bookkeeping.next_on_demand.is_some_and(|at| self.clock.instant() < at) {
                return;
            }
        }
        let fetched = self.discover_and_fetch(&mut bookkeeping, cause).await;
        // Only on-demand fetches set the pause: a scheduled refresh just before a key rotation
        // must not delay picking up the new key.
        if matches!(cause, RefreshCause::OnDemand { .. }) {
            let pause = if fetched { self.cooldown } else { self.failure_backoff };
            bookkeeping.next_on_demand = Some(self.clock.instant() + pause);
        }
    }

    /// One discovery (when due) and one JWKS fetch. True when a key set was fetched and installed.
    async fn discover_and_fetch(&self, bookkeeping: &mut FetchBookkeeping, cause: RefreshCause) -> bool {
        let rediscover = cause == RefreshCause::Scheduled || bookkeeping.jwks_uri.is_none();
        if rediscover {
            match self.discover().await {
                Ok(discovered) => {
                    bookkeeping.jwks_uri =
                        self.configured_jwks_uri.clone().or(discovered).or(bookkeeping.jwks_uri.take());
                }
                Err(error) => {
                    tracing::warn!(%error, issuer = %self.issuer, "OIDC discovery failed");
                    if matches!(error, FetchError::IssuerMismatch { .. }) {
                        return false;
                    }
                    if bookkeeping.jwks_uri.is_none() {
                        bookkeeping.jwks_uri = self.configured_jwks_uri.clone();
                    }
                }
            }
        }
        let Some(jwks_uri) = bookkeeping.jwks_uri.clone() else {
            tracing::warn!(issuer = %self.issuer, "{}", FetchError::NoJwksUri);
            return false;
        };
        match self.fetch_keys(&jwks_uri).await {
            Ok(()) => true,
            Err(error) => {
                self.fetch_failures.fetch_add(1, Ordering::SeqCst);
                // Last known good stays in place (JWKS-05); an error never empties the set.
                tracing::warn!(%error, issuer = %self.issuer, "JWKS refresh failed; keeping cached keys");
                false
            }
        }
    }

    /// Fetch discovery; returns its `jwks_uri` (vetted) and records the metadata.
    async fn discover(&self) -> Result<Option<Url>, FetchError> {
        let url = discovery_url(&self.issuer_url)?;
        let body = self.fetcher.get(&url).await?;
        let document = match parse_discovery(&body, &url, &self.issuer) {
            Err(error @ FetchError::IssuerMismatch { .. }) => {
                *self.misconfigured.write().unwrap_or_else(|p| p.into_inner()) = Some(error.to_string());
                tracing::error!(%error, "refusing the IdP configuration: no token will be accepted");
                return Err(error);
            }
            other => other?,
        };
        *self.misconfigured.write().unwrap_or_else(|p| p.into_inner()) = None;
        let jwks_uri =
            match &document.jwks_uri {
                Some(uri) => Some(secure_url("jwks_uri", uri).map_err(|error| FetchError::InsecureUrl {
                    field: "jwks_uri",
                    detail: error.to_string(),
                })?),
                None => None,
            };
        let metadata = ProviderMetadata {
            issuer: document.issuer,
            jwks_uri: document.jwks_uri,
            authorization_endpoint: document.authorization_endpoint,
            token_endpoint: document.token_endpoint,
            device_authorization_endpoint: document.device_authorization_endpoint,
            userinfo_endpoint: document.userinfo_endpoint,
        };
        *self.metadata.write().unwrap_or_else(|p| p.into_inner()) = Some(metadata);
        Ok(jwks_uri)
    }

    async fn fetch_keys(&self, jwks_uri: &Url) -> Result<(), FetchError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let body = self.fetcher.get(jwks_uri).await?;
        let parsed = parse_jwks(&body).map_err(|_| FetchError::BadDocument { url: jwks_uri.to_string() })?;
        for skipped in &parsed.skipped {
            tracing::warn!(issuer = %self.issuer, "JWKS entry not used: {skipped}");
        }
        let mut current = self.keys.write().unwrap_or_else(|p| p.into_inner());
        // A well-formed answer replaces the set: keys the IdP dropped are gone (JWKS-07).
        *current = Arc::new(KeySnapshot {
            keys: parsed.keys,
            loaded: true,
            generation: current.generation + 1,
            loaded_at: Some(self.clock.instant()),
        });
        Ok(())
    }
}
