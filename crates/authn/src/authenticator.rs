//! The entry point the server calls: [`Authenticator::authenticate`] turns a bearer token into a
//! [`VerifiedToken`] or an [`AuthnError`], combining the pure parsing and claim rules with the
//! IdP key cache and the verified-token cache.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use nmp_core::Principal;

use crate::claims::{check_claims, ClaimRules};
use crate::compact::{parse_compact, CompactToken, TokenAlgorithm};
use crate::error::{AuthnError, RejectReason, SettingsError};
use crate::fetch::Fetcher;
use crate::keys::{select_key, KeyLookup, VerificationKey};
use crate::mapping::{groups_overage, map_principal, ClaimMapping};
use crate::provider::{Provider, ProviderMetadata, RefreshCause};
use crate::settings::{secure_url, AuthnSettings};
use crate::token_cache::{cache_key, CachedToken, TokenCache};
use crate::verify::{verify_with_library, LibraryPolicy};
use nmp_core::clock::Clock;

/// A token that passed every check. Holds no token bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub principal: Principal,
    pub jti: Option<String>,
    /// `exp`, seconds since the epoch.
    pub expires_at: i64,
    /// `iat`, seconds since the epoch.
    pub issued_at: i64,
    /// `iss` as the token stated it (for signed tokens: one of the accepted issuers).
    pub issuer: Option<String>,
    /// `kid` of the JWKS key that verified the token.
    pub key_id: Option<String>,
    /// True for a quickstart `alg: none` token.
    pub unsigned: bool,
}

/// Validates bearer tokens. Cheap to clone (one `Arc`), `Send + Sync`.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("oidc", &self.inner.oidc.as_ref().map(|oidc| &oidc.issuers))
            .field("allow_unsigned_jwt", &self.inner.settings.allow_unsigned_jwt)
            .finish_non_exhaustive()
    }
}

struct Inner {
    settings: AuthnSettings,
    clock: Arc<dyn Clock>,
    oidc: Option<OidcRuntime>,
    cache: TokenCache,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
}

/// Counters and gauges of the authenticator, for metrics. No token content.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuthnStats {
    pub token_cache_hits: u64,
    pub token_cache_misses: u64,
    pub cached_tokens: usize,
    pub jwks_fetches: u64,
    pub jwks_fetch_failures: u64,
    /// Keys in the current JWKS (0 without OIDC).
    pub jwks_keys: usize,
    /// Seconds since the current JWKS was fetched; `None` before the first fetch or without OIDC.
    pub jwks_age_seconds: Option<f64>,
}

struct OidcRuntime {
    issuers: Vec<String>,
    audience: String,
    mapping: ClaimMapping,
    provider: Provider,
}

impl Authenticator {
    /// Check the settings and build the authenticator. No I/O happens here: call
    /// [`Authenticator::spawn_background_refresh`] to load the IdP's keys.
    pub fn new(settings: AuthnSettings, clock: Arc<dyn Clock>) -> Result<Self, SettingsError> {
        let issuer_url = settings.validate()?;
        let oidc = match (&settings.oidc, issuer_url) {
            (Some(oidc), Some(issuer_url)) => {
                let jwks_uri = match &oidc.jwks_uri {
                    Some(uri) => Some(secure_url("auth.oidc.jwks_uri", uri)?),
                    None => None,
                };
                let fetcher = Fetcher::new(settings.http_timeout, settings.max_jwks_bytes)
                    .map_err(|_| SettingsError::Zero { field: "http_timeout" })?;
                Some(OidcRuntime {
                    issuers: oidc.accepted_issuers(),
                    audience: oidc.audience.trim().to_owned(),
                    mapping: oidc.claim_mapping(),
                    provider: Provider::new(
                        oidc.issuer.clone(),
                        issuer_url,
                        jwks_uri,
                        settings.unknown_kid_cooldown,
                        settings.jwks_failure_backoff,
                        Arc::clone(&clock),
                        fetcher,
                    ),
                })
            }
            _ => None,
        };
        if settings.allow_unsigned_jwt {
            tracing::warn!(
                "auth.allow_unsigned_jwt is ON: anyone can mint a token for any identity, \
                 including PlatformAdmin. Quickstart and local development only; never in production."
            );
        }
        Ok(Authenticator {
            inner: Arc::new(Inner {
                cache: TokenCache::new(settings.token_cache_capacity),
                settings,
                clock,
                oidc,
                cache_hits: AtomicU64::new(0),
                cache_misses: AtomicU64::new(0),
            }),
        })
    }

    /// Start the task that loads discovery + JWKS now and then every `jwks_refresh_interval`
    /// (every `jwks_retry_interval` while nothing is loaded). It ends when the last clone of the
    /// authenticator is dropped. Without OIDC it ends at once. Must run inside a tokio runtime.
    pub fn spawn_background_refresh(&self) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                let Some(inner) = weak.upgrade() else { return };
                let Some(oidc) = &inner.oidc else { return };
                oidc.provider.refresh(RefreshCause::Scheduled).await;
                let pause = if oidc.provider.is_ready() {
                    inner.settings.jwks_refresh_interval
                } else {
                    inner.settings.jwks_retry_interval
                };
                drop(inner);
                tokio::time::sleep(pause).await;
            }
        })
    }

    /// True when requests can be authenticated: no OIDC configured, or the IdP's keys loaded
    /// (and its discovery document names the configured issuer).
    pub fn is_ready(&self) -> bool {
        self.inner.oidc.as_ref().is_none_or(|oidc| oidc.provider.is_ready())
    }

    /// Endpoints from the IdP's discovery document, once fetched.
    pub fn provider_metadata(&self) -> Option<ProviderMetadata> {
        self.inner.oidc.as_ref()?.provider.metadata()
    }

    /// Number of JWKS requests made so far (for metrics and tests).
    pub fn jwks_fetch_count(&self) -> u64 {
        self.inner.oidc.as_ref().map_or(0, |oidc| oidc.provider.jwks_fetch_count())
    }

    /// Number of verified tokens currently cached.
    pub fn cached_tokens(&self) -> usize {
        self.inner.cache.len()
    }

    /// Counters and gauges for metrics.
    pub fn stats(&self) -> AuthnStats {
        let inner = &self.inner;
        let mut stats = AuthnStats {
            token_cache_hits: inner.cache_hits.load(Ordering::Relaxed),
            token_cache_misses: inner.cache_misses.load(Ordering::Relaxed),
            cached_tokens: inner.cache.len(),
            ..AuthnStats::default()
        };
        if let Some(oidc) = &inner.oidc {
            let snapshot = oidc.provider.snapshot();
            stats.jwks_fetches = oidc.provider.jwks_fetch_count();
            stats.jwks_fetch_failures = oidc.provider.jwks_fetch_failures();
            stats.jwks_keys = snapshot.keys.len();
            stats.jwks_age_seconds = snapshot
                .loaded_at
                .map(|at| inner.clock.instant().saturating_duration_since(at).as_secs_f64());
        }
        stats
    }

    /// Validate a bearer token (the value after `Bearer `).
    pub async fn authenticate(&self, token: &str) -> Result<VerifiedToken, AuthnError> {
        let result = self.authenticate_inner(token).await;
        if let Err(error) = &result {
            tracing::debug!(%error, "bearer token rejected");
        }
        result
    }

    async fn authenticate_inner(&self, token: &str) -> Result<VerifiedToken, AuthnError> {
        let inner = &self.inner;
        if inner.oidc.is_none() && !inner.settings.allow_unsigned_jwt {
            return Err(AuthnError::NotConfigured);
        }
        if token.len() > inner.settings.max_token_bytes {
            return Err(RejectReason::TooLong.into());
        }
        let now = inner.clock.now_unix();
        let key = cache_key(token);
        if let Some(hit) = inner.cache.get(&key, now) {
            if self.cached_key_still_published(&hit) {
                inner.cache_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(hit.verified);
            }
            inner.cache.remove(&key);
        }
        inner.cache_misses.fetch_add(1, Ordering::Relaxed);
        let parsed = parse_compact(token, inner.settings.max_token_bytes)?;
        let (verified, key_fingerprint) = match parsed.header.algorithm {
            TokenAlgorithm::Unsigned => (self.accept_unsigned(&parsed, now)?, None),
            TokenAlgorithm::Signed(algorithm) => {
                let (verified, key) = self.accept_signed(token, &parsed, algorithm, now).await?;
                (verified, Some(key.fingerprint))
            }
        };
        inner.cache.insert(key, CachedToken { verified: verified.clone(), key: key_fingerprint }, now);
        Ok(verified)
    }

    fn cached_key_still_published(&self, hit: &CachedToken) -> bool {
        match (&hit.key, &self.inner.oidc) {
            (None, _) => hit.verified.unsigned && self.inner.settings.allow_unsigned_jwt,
            (Some(fingerprint), Some(oidc)) => {
                oidc.provider.is_ready() && oidc.provider.snapshot().contains(fingerprint)
            }
            (Some(_), None) => false,
        }
    }

    fn accept_unsigned(&self, parsed: &CompactToken<'_>, now: i64) -> Result<VerifiedToken, AuthnError> {
        if !self.inner.settings.allow_unsigned_jwt {
            return Err(AuthnError::UnsignedRefused);
        }
        let rules = ClaimRules { now, leeway: self.leeway(), issuers: None, audience: None };
        let checked = check_claims(&parsed.claims, &rules)?;
        let mapping = match &self.inner.oidc {
            Some(oidc) => oidc.mapping.clone(),
            None => ClaimMapping::default(),
        };
        let principal = map_principal(&parsed.claims, &mapping)?;
        warn_on_groups_overage(&parsed.claims, &mapping, &principal);
        Ok(VerifiedToken {
            principal,
            jti: checked.jti,
            expires_at: checked.expires_at,
            issued_at: checked.issued_at,
            issuer: checked.issuer,
            key_id: None,
            unsigned: true,
        })
    }

    async fn accept_signed(
        &self,
        token: &str,
        parsed: &CompactToken<'_>,
        algorithm: jsonwebtoken::Algorithm,
        now: i64,
    ) -> Result<(VerifiedToken, Arc<VerificationKey>), AuthnError> {
        let Some(oidc) = &self.inner.oidc else {
            return Err(RejectReason::SignedNotEnabled.into());
        };
        let key = self.find_key(oidc, parsed.header.key_id.as_deref(), algorithm).await?;
        let policy = LibraryPolicy {
            issuers: &oidc.issuers,
            audience: &oidc.audience,
            leeway_seconds: self.inner.settings.leeway_seconds,
        };
        verify_with_library(token, &key, algorithm, &policy)?;
        let rules = ClaimRules {
            now,
            leeway: self.leeway(),
            issuers: Some(&oidc.issuers),
            audience: Some(&oidc.audience),
        };
        let checked = check_claims(&parsed.claims, &rules)?;
        let principal = map_principal(&parsed.claims, &oidc.mapping)?;
        warn_on_groups_overage(&parsed.claims, &oidc.mapping, &principal);
        let verified = VerifiedToken {
            principal,
            jti: checked.jti,
            expires_at: checked.expires_at,
            issued_at: checked.issued_at,
            issuer: checked.issuer,
            key_id: key.key_id.clone(),
            unsigned: false,
        };
        Ok((verified, key))
    }

    /// The JWKS key for (`kid`, `alg`), with one rate-limited refetch when the `kid` is unknown
    /// or no key set is loaded yet.
    async fn find_key(
        &self,
        oidc: &OidcRuntime,
        key_id: Option<&str>,
        algorithm: jsonwebtoken::Algorithm,
    ) -> Result<Arc<VerificationKey>, AuthnError> {
        let provider = &oidc.provider;
        if provider.is_misconfigured() {
            return Err(AuthnError::KeysUnavailable);
        }
        let mut snapshot = provider.snapshot();
        let mut lookup = select_key(&snapshot.keys, key_id, algorithm);
        if !snapshot.loaded || matches!(lookup, KeyLookup::UnknownKeyId) {
            provider.refresh(RefreshCause::OnDemand { seen_generation: snapshot.generation }).await;
            snapshot = provider.snapshot();
            lookup = select_key(&snapshot.keys, key_id, algorithm);
        }
        if !snapshot.loaded || provider.is_misconfigured() {
            return Err(AuthnError::KeysUnavailable);
        }
        match lookup {
            KeyLookup::Found(key) => Ok(key),
            KeyLookup::UnknownKeyId => Err(RejectReason::UnknownKey.into()),
            KeyLookup::NoFittingKey => Err(RejectReason::KeyMismatch.into()),
            KeyLookup::Ambiguous => Err(RejectReason::AmbiguousKey.into()),
        }
    }

    fn leeway(&self) -> i64 {
        i64::try_from(self.inner.settings.leeway_seconds).unwrap_or(i64::MAX)
    }
}

/// The log line of an Entra ID groups overage (logged once per token: hits of the
/// verified-token cache do not repeat it). The token stays valid; bindings to the user's id
/// or email still apply, bindings to its groups do not.
pub const GROUPS_OVERAGE_WARNING: &str = "groups overage: the token carries a pointer (`_claim_names`) \
     instead of its groups claim, so group bindings do not apply to this principal; emit app roles \
     (`groups_claim: roles`), limit the claim to groups assigned to the application, or bind the \
     user directly (see docs/oidc-setup.md)";

fn warn_on_groups_overage(claims: &crate::json::JsonObject, mapping: &ClaimMapping, principal: &Principal) {
    if groups_overage(claims, mapping) {
        tracing::warn!(principal = %principal.id, groups_claim = %mapping.groups_claim, "{GROUPS_OVERAGE_WARNING}");
    }
}
