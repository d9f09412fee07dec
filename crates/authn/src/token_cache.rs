//! Verified-token cache: a token seen before costs a hash and a map lookup. Keyed by a 128-bit
//! keyed hash of the exact token string (one SipHash-1-3 pass with 128-bit output under a random
//! per-process key: a pseudo-random function, so without the key no one can make two tokens share
//! an entry, and about a tenth of the cost of SHA-256 on every request; two spellings of "the
//! same" token never share an entry). The map indexes entries by that key's own bits, which are
//! already uniform, instead of hashing them once more. Bounded in
//! size (`auth.token_cache_max_entries`, oldest inserted evicted first, O(1) amortized per insert
//! so a flood of distinct valid tokens costs neither unbounded memory nor quadratic time), and an
//! entry never outlives the token's `exp`.
//! Entries of signed tokens remember which key verified them; the caller re-checks that the key
//! is still in the JWKS, so a key removed at the IdP stops cached tokens too.
//! One cache holds both kinds of bearer token, IdP tokens and the platform's access keys: the
//! kind is decided once, on the miss, and an entry answers only as the kind it was verified as.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{OnceLock, RwLock};

use siphasher::sip128::{Hasher128, SipHasher13};

use crate::keys::KeyFingerprint;
use crate::{VerifiedAccessKey, VerifiedToken};

pub type CacheKey = u128;

/// Keyed hash of the full token bytes (the 128-bit key is drawn once per process).
pub fn cache_key(token: &str) -> CacheKey {
    static KEY: OnceLock<(u64, u64)> = OnceLock::new();
    // From the operating system's generator through a cryptographic one (`rand`'s thread RNG):
    // the key must stay secret for the map's bucket choice and the key's collisions to stay so.
    let &(k0, k1) = KEY.get_or_init(|| (rand::random(), rand::random()));
    let mut hasher = SipHasher13::new_with_keys(k0, k1);
    hasher.write(token.as_bytes());
    hasher.finish128().as_u128()
}

/// The map's hasher for [`CacheKey`]s: they are outputs of a keyed pseudo-random function, so
/// their low bits are already uniform and unpredictable; hashing them again would only cost time.
#[derive(Default)]
struct KeyBits(u64);

impl Hasher for KeyBits {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not reached for a `u128` key (it calls `write_u128`); folds anything else all the same.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }

    fn write_u128(&mut self, key: u128) {
        // Both halves, so the map spreads entries even if one half were constant.
        self.0 = (key as u64) ^ ((key >> 64) as u64);
    }
}

#[derive(Debug, Clone)]
pub struct CachedToken {
    pub verified: VerifiedToken,
    /// `None` for unsigned tokens.
    pub key: Option<KeyFingerprint>,
}

/// A cached bearer token of either kind.
#[derive(Debug, Clone)]
pub enum Cached {
    /// A token of the IdP (or an unsigned quickstart token).
    Token(CachedToken),
    /// An access key signed by the platform, valid until `until` (`exp` + leeway, or never).
    AccessKey { verified: VerifiedAccessKey, until: i64 },
}

impl Cached {
    pub(crate) fn into_bearer(self) -> crate::VerifiedBearer {
        match self {
            Cached::Token(token) => crate::VerifiedBearer::Token(token.verified),
            Cached::AccessKey { verified, .. } => crate::VerifiedBearer::AccessKey(verified),
        }
    }

    /// The first instant (seconds) at which the entry no longer answers.
    pub(crate) fn until(&self) -> i64 {
        match self {
            Cached::Token(token) => token.verified.expires_at,
            Cached::AccessKey { until, .. } => *until,
        }
    }
}

#[derive(Debug, Default)]
struct Entries {
    by_key: HashMap<CacheKey, Cached, BuildHasherDefault<KeyBits>>,
    insertion_order: VecDeque<CacheKey>,
}

#[derive(Debug)]
pub struct TokenCache {
    capacity: usize,
    /// Read-mostly: a hit takes only the read lock, so concurrent requests never wait on each
    /// other for a cached token; inserts and expiry removals take the write lock.
    entries: RwLock<Entries>,
}

impl TokenCache {
    pub fn new(capacity: usize) -> Self {
        TokenCache { capacity, entries: RwLock::new(Entries::default()) }
    }

    /// False when configured with no room (`token_cache_capacity` 0): nothing is remembered.
    pub fn is_enabled(&self) -> bool {
        self.capacity > 0
    }

    pub fn len(&self) -> usize {
        self.read().by_key.len()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.entries.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The entry for `key` if `now` is before the token's `exp`; an expired entry is dropped.
    pub fn get(&self, key: &CacheKey, now: i64) -> Option<Cached> {
        {
            let entries = self.read();
            let hit = entries.by_key.get(key)?;
            if now < hit.until() {
                return Some(hit.clone());
            }
        }
        let mut entries = self.lock();
        if entries.by_key.get(key).is_some_and(|hit| now >= hit.until()) {
            entries.by_key.remove(key);
        }
        None
    }

    pub fn remove(&self, key: &CacheKey) {
        self.lock().by_key.remove(key);
    }

    /// Remember a verified token, unless the cache is disabled or the token is already at `exp`.
    pub fn insert(&self, key: CacheKey, entry: Cached, now: i64) {
        if self.capacity == 0 || now >= entry.until() {
            return;
        }
        let mut entries = self.lock();
        if entries.by_key.contains_key(&key) {
            return;
        }
        // Evict oldest first. No scan of all entries here: under a flood of distinct tokens every
        // insert finds the cache full, and a full scan per insert would cost O(capacity) each.
        while entries.by_key.len() >= self.capacity {
            let Some(oldest) = entries.insertion_order.pop_front() else {
                break;
            };
            entries.by_key.remove(&oldest);
        }
        // Keys removed by expiry linger in the order queue; compact it before it grows past 2x.
        if entries.insertion_order.len() >= self.capacity.saturating_mul(2) {
            let Entries { by_key, insertion_order } = &mut *entries;
            insertion_order.retain(|queued| by_key.contains_key(queued));
        }
        entries.by_key.insert(key, entry);
        entries.insertion_order.push_back(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nmp_core::Principal;

    fn entry(id: &str, expires_at: i64) -> Cached {
        Cached::Token(CachedToken {
            verified: VerifiedToken {
                principal: Principal::new(id).into(),
                jti: None,
                expires_at,
                issued_at: 0,
                issuer: None,
                key_id: None,
                unsigned: true,
            },
            key: None,
        })
    }

    #[test]
    fn key_is_the_hash_of_the_exact_string() {
        assert_ne!(cache_key("a.b.c"), cache_key("a.b.d"));
        assert_ne!(cache_key("a.b.c"), cache_key("a.b.c "));
        assert_eq!(cache_key("a.b.c"), cache_key("a.b.c"));
    }

    #[test]
    fn entries_expire_at_exp() {
        let cache = TokenCache::new(10);
        cache.insert(cache_key("t"), entry("u", 100), 50);
        assert!(cache.get(&cache_key("t"), 99).is_some());
        assert!(cache.get(&cache_key("t"), 100).is_none());
        assert_eq!(cache.len(), 0, "expired entry dropped on lookup");
        cache.insert(cache_key("late"), entry("u", 100), 100);
        assert_eq!(cache.len(), 0, "never cached at or after exp");
    }

    #[test]
    fn capacity_bounds_memory_and_evicts_oldest() {
        let cache = TokenCache::new(3);
        for index in 0..10 {
            cache.insert(cache_key(&format!("t{index}")), entry("u", 1_000), 0);
            assert!(cache.len() <= 3);
        }
        assert!(cache.get(&cache_key("t0"), 0).is_none());
        assert!(cache.get(&cache_key("t9"), 0).is_some());
        assert!(cache.lock().insertion_order.len() <= 6);
    }

    #[test]
    fn a_flood_of_distinct_tokens_stays_at_capacity_and_keeps_the_newest() {
        let cache = TokenCache::new(1_000);
        for index in 0..100_000 {
            cache.insert(cache_key(&format!("flood-{index}")), entry("u", 1_000), 0);
        }
        assert_eq!(cache.len(), 1_000);
        assert!(cache.lock().insertion_order.len() <= 2_000, "the order queue is bounded too");
        assert!(cache.get(&cache_key("flood-99999"), 0).is_some());
        assert!(cache.get(&cache_key("flood-98999"), 0).is_none(), "older than the last 1 000: evicted");
        assert!(cache.get(&cache_key("flood-99000"), 0).is_some());
    }

    #[test]
    fn zero_capacity_disables_the_cache() {
        let cache = TokenCache::new(0);
        cache.insert(cache_key("t"), entry("u", 1_000), 0);
        assert!(cache.get(&cache_key("t"), 0).is_none());
    }

    #[test]
    fn insertion_order_stays_bounded_under_churn() {
        let cache = TokenCache::new(4);
        for index in 0..1_000 {
            let key = cache_key(&format!("t{index}"));
            cache.insert(key, entry("u", 1_000), 0);
            cache.remove(&key);
        }
        assert!(cache.lock().insertion_order.len() <= 8);
    }
}
