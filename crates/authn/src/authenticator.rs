//! The entry point the server calls: [`Authenticator::authenticate_bearer`] turns a bearer token
//! into a [`VerifiedBearer`] (an IdP token or one of the platform's access keys) or an
//! [`AuthnError`], combining the pure parsing and claim rules with the IdP key cache and the
//! verified-token cache. [`Authenticator::authenticate`] accepts IdP tokens only.
//!
//! One verified-token cache serves both kinds, looked up first: a repeated token costs a keyed
//! hash and a map lookup, and nothing of it is decoded. Only on a miss is the payload peeked at
//! to decide the kind ([`crate::claims_to_be_access_key`]); a token that claims to be an access
//! key goes to the [`AccessKeyVerifier`] alone, never to the IdP path, and its entry answers
//! only as an access key.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use nmp_core::Principal;

use crate::access_key::{
    claims_to_be_access_key, AccessKeyVerifier, VerifiedAccessKey, MAX_ACCESS_KEY_BYTES,
};
use crate::claims::{check_claims, ClaimRules};
use crate::compact::{parse_compact, CompactToken, TokenAlgorithm};
use crate::error::{AuthnError, RejectReason, SettingsError};
use crate::fetch::Fetcher;
use crate::keys::{select_key, KeyLookup, VerificationKey};
use crate::mapping::{groups_overage, map_principal, ClaimMapping};
use crate::memo::BearerMemo;
use crate::provider::{Provider, ProviderMetadata, RefreshCause};
use crate::settings::{secure_url, AuthnSettings};
use crate::token_cache::{cache_key, CacheKey, Cached, CachedToken, TokenCache};
use crate::verify::{verify_with_library, LibraryPolicy};
use nmp_core::clock::Clock;

/// A token that passed every check. Holds no token bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// Shared: a cache hit hands out the same principal without copying it.
    pub principal: Arc<Principal>,
    pub jti: Option<Arc<str>>,
    /// `exp`, seconds since the epoch.
    pub expires_at: i64,
    /// `iat`, seconds since the epoch.
    pub issued_at: i64,
    /// `iss` as the token stated it (for signed tokens: one of the accepted issuers).
    pub issuer: Option<Arc<str>>,
    /// `kid` of the JWKS key that verified the token.
    pub key_id: Option<Arc<str>>,
    /// True for a quickstart `alg: none` token.
    pub unsigned: bool,
}

/// A bearer token that passed every check, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifiedBearer {
    /// A token of the IdP, or an unsigned quickstart token.
    Token(VerifiedToken),
    /// An access key the platform signed (its registry status is the caller's to check).
    AccessKey(VerifiedAccessKey),
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
    access_keys: Option<AccessKeyVerifier>,
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
        Self::with_access_keys(settings, clock, None)
    }

    /// [`Authenticator::new`], also accepting the platform's access keys through
    /// [`Authenticator::authenticate_bearer`] when `access_keys` is given.
    pub fn with_access_keys(
        settings: AuthnSettings,
        clock: Arc<dyn Clock>,
        access_keys: Option<AccessKeyVerifier>,
    ) -> Result<Self, SettingsError> {
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
                access_keys,
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

    /// Validate a bearer token of either kind: an access key (when this authenticator accepts
    /// them) or an IdP token. A cache hit decodes nothing; the kind is decided on a miss.
    pub async fn authenticate_bearer(&self, token: &str) -> Result<VerifiedBearer, AuthnError> {
        self.authenticate_entry(token).await.map(Cached::into_bearer)
    }

    /// [`Authenticator::authenticate_bearer`] for a request on a connection that remembers its
    /// last token ([`BearerMemo`]): the remembered token answers when it is exactly this one and
    /// still answers under the cache's rules (not at `exp`; a signed token's key still published);
    /// otherwise the token is authenticated as usual and remembered.
    pub async fn authenticate_bearer_remembered(
        &self,
        token: &str,
        memo: &BearerMemo,
    ) -> Result<VerifiedBearer, AuthnError> {
        if !self.inner.cache.is_enabled() {
            return self.authenticate_bearer(token).await;
        }
        let now = self.inner.clock.now_unix();
        if let Some(hit) = memo.get(token.as_bytes(), |entry| self.still_answers(entry, now)) {
            self.inner.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(hit.into_bearer());
        }
        let entry = self.authenticate_entry(token).await?;
        memo.remember(token, &entry);
        Ok(entry.into_bearer())
    }

    /// What the connection's memo answers for an `Authorization` header value that carries exactly
    /// its remembered token (the scheme `Bearer` in any case, one space, then the same bytes),
    /// under the rules of [`Self::authenticate_bearer_remembered`]. The value is not parsed: the
    /// remembered token was parsed and verified when it was remembered, and these are its bytes.
    /// `None` for any other value, with the token cache off, or when the remembered token no longer
    /// answers (it is then forgotten): parse the value ([`crate::parse_authorization`]) and call
    /// [`Self::authenticate_bearer_remembered`], which verifies it or says why not.
    pub fn remembered_authorization(&self, value: &[u8], memo: &BearerMemo) -> Option<VerifiedBearer> {
        const SCHEME: &[u8] = b"bearer ";
        let (scheme, token) = value.split_at_checked(SCHEME.len())?;
        if !self.inner.cache.is_enabled() || !scheme.eq_ignore_ascii_case(SCHEME) {
            return None;
        }
        let now = self.inner.clock.now_unix();
        let hit = memo.get(token, |entry| self.still_answers(entry, now))?;
        self.inner.cache_hits.fetch_add(1, Ordering::Relaxed);
        Some(hit.into_bearer())
    }

    async fn authenticate_entry(&self, token: &str) -> Result<Cached, AuthnError> {
        let result = self.authenticate_bearer_inner(token).await;
        if let Err(error) = &result {
            tracing::debug!(%error, "bearer token rejected");
        }
        result
    }

    /// Whether a cached entry still answers at `now`: before its end, and for a signed IdP
    /// token, while the key that verified it is published.
    fn still_answers(&self, entry: &Cached, now: i64) -> bool {
        now < entry.until()
            && match entry {
                Cached::AccessKey { .. } => true,
                Cached::Token(token) => self.cached_key_still_published(token),
            }
    }

    async fn authenticate_bearer_inner(&self, token: &str) -> Result<Cached, AuthnError> {
        let inner = &self.inner;
        let now = inner.clock.now_unix();
        let key = cache_key(token);
        match inner.cache.get(&key, now) {
            Some(hit) if self.still_answers(&hit, now) => {
                inner.cache_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(hit);
            }
            Some(_) => inner.cache.remove(&key),
            None => {}
        }
        inner.cache_misses.fetch_add(1, Ordering::Relaxed);
        // Longer than either verifier takes: refused before the kind peek decodes anything. The
        // peek itself has no limit, so the route of a token never depends on `max_token_bytes`.
        if token.len() > inner.settings.max_token_bytes.max(MAX_ACCESS_KEY_BYTES) {
            return Err(RejectReason::TooLong.into());
        }
        if claims_to_be_access_key(token) {
            // Only the platform's own keys can vouch for a token that says it is an access key.
            let verifier = inner.access_keys.as_ref().ok_or(RejectReason::AccessKeysNotAccepted)?;
            let verified = verifier.verify(token)?;
            let until = verified.refused_from();
            let entry = Cached::AccessKey { verified, until };
            inner.cache.insert(key, entry.clone(), now);
            return Ok(entry);
        }
        self.check_token_accepted(token)?;
        self.verify_token(token, key, now).await.map(Cached::Token)
    }

    /// IdP tokens are accepted at all (OIDC or quickstart configured) and this one is not too long.
    fn check_token_accepted(&self, token: &str) -> Result<(), AuthnError> {
        let settings = &self.inner.settings;
        if self.inner.oidc.is_none() && !settings.allow_unsigned_jwt {
            return Err(AuthnError::NotConfigured);
        }
        if token.len() > settings.max_token_bytes {
            return Err(RejectReason::TooLong.into());
        }
        Ok(())
    }

    async fn authenticate_inner(&self, token: &str) -> Result<VerifiedToken, AuthnError> {
        let inner = &self.inner;
        self.check_token_accepted(token)?;
        let now = inner.clock.now_unix();
        let key = cache_key(token);
        // An access key's entry does not answer here: this path accepts IdP tokens only.
        if let Some(Cached::Token(hit)) = inner.cache.get(&key, now) {
            if self.cached_key_still_published(&hit) {
                inner.cache_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(hit.verified);
            }
            inner.cache.remove(&key);
        }
        inner.cache_misses.fetch_add(1, Ordering::Relaxed);
        self.verify_token(token, key, now).await.map(|entry| entry.verified)
    }

    /// The IdP path on a cache miss: parse, verify, check the claims, remember.
    async fn verify_token(&self, token: &str, key: CacheKey, now: i64) -> Result<CachedToken, AuthnError> {
        let inner = &self.inner;
        let parsed = parse_compact(token, inner.settings.max_token_bytes)?;
        let (verified, key_fingerprint) = match parsed.header.algorithm {
            TokenAlgorithm::Unsigned => (self.accept_unsigned(&parsed, now)?, None),
            TokenAlgorithm::Signed(algorithm) => {
                let (verified, key) = self.accept_signed(token, &parsed, algorithm, now).await?;
                (verified, Some(key.fingerprint))
            }
        };
        let entry = CachedToken { verified, key: key_fingerprint };
        inner.cache.insert(key, Cached::Token(entry.clone()), now);
        Ok(entry)
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
            principal: Arc::new(principal),
            jti: checked.jti.map(Arc::from),
            expires_at: checked.expires_at,
            issued_at: checked.issued_at,
            issuer: checked.issuer.map(Arc::from),
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
            principal: Arc::new(principal),
            jti: checked.jti.map(Arc::from),
            expires_at: checked.expires_at,
            issued_at: checked.issued_at,
            issuer: checked.issuer.map(Arc::from),
            key_id: key.key_id.as_deref().map(Arc::from),
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
