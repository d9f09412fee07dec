//! One connection's last bearer token: a client on a keep-alive connection sends the same token
//! with every request, so the connection remembers the token it last verified and what it
//! verified as. A repeated token then costs a byte comparison instead of a keyed hash and a
//! lookup in the process-wide cache, and, more to the point under load, it touches nothing that
//! other connections touch: from its second use on, the remembered principal is the connection's
//! own copy, so handing it to a request does not bounce a shared reference count between cores.
//! With the token cache disabled (`token_cache_capacity` 0) nothing is remembered either.
//!
//! A remembered token answers under exactly the rules of the process-wide cache, checked on every
//! request: never at or after the entry's end (`exp`, or an access key's `exp` plus leeway), and,
//! for a signed IdP token, only while the key that verified it is still in the JWKS. The memo holds
//! the token's bytes (to compare them exactly) for as long as the connection lives or until another
//! token replaces it; they are never printed.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::token_cache::{Cached, CachedToken};
use crate::{VerifiedAccessKey, VerifiedToken};

/// One connection's memo of its last verified bearer token. Create one per connection and pass it
/// with every request's `Authorization` value to [`crate::Authenticator::remembered_authorization`]
/// (the remembered token again, with no parse) and, when that answers `None`, with the parsed
/// token to [`crate::Authenticator::authenticate_bearer_remembered`].
#[derive(Default)]
pub struct BearerMemo {
    last: Mutex<Option<Remembered>>,
}

struct Remembered {
    token: Box<str>,
    entry: Cached,
    /// Whether `entry` is the connection's own copy yet. A token is copied on its second use on
    /// the connection, not its first: a gateway's connection that carries a different user's
    /// token with each request would otherwise copy a principal per request for nothing.
    own: bool,
}

impl std::fmt::Debug for BearerMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerMemo").field("token", &"[redacted]").finish_non_exhaustive()
    }
}

impl BearerMemo {
    fn lock(&self) -> MutexGuard<'_, Option<Remembered>> {
        self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The remembered entry when `token` is exactly the remembered token and `answers` accepts
    /// it; an entry that no longer answers is forgotten.
    pub(crate) fn get(&self, token: &[u8], answers: impl FnOnce(&Cached) -> bool) -> Option<Cached> {
        let mut last = self.lock();
        let remembered = last.as_mut().filter(|r| r.token.as_bytes() == token)?;
        if !answers(&remembered.entry) {
            *last = None;
            return None;
        }
        if !remembered.own {
            remembered.entry = detached(&remembered.entry);
            remembered.own = true;
        }
        Some(remembered.entry.clone())
    }

    /// Remember `entry` (the process-wide cache's, shared) for `token`; its first hit makes it
    /// the connection's own copy (see the module documentation).
    pub(crate) fn remember(&self, token: &str, entry: &Cached) {
        *self.lock() = Some(Remembered { token: token.into(), entry: entry.clone(), own: false });
    }
}

fn own(value: &Arc<str>) -> Arc<str> {
    Arc::from(&**value)
}

/// A deep copy: the same values behind reference counts of the copy's own.
fn detached(entry: &Cached) -> Cached {
    match entry {
        Cached::Token(CachedToken { verified, key }) => Cached::Token(CachedToken {
            verified: VerifiedToken {
                principal: Arc::new((*verified.principal).clone()),
                jti: verified.jti.as_ref().map(own),
                issuer: verified.issuer.as_ref().map(own),
                key_id: verified.key_id.as_ref().map(own),
                ..verified.clone()
            },
            key: *key,
        }),
        Cached::AccessKey { verified, until } => Cached::AccessKey {
            verified: VerifiedAccessKey {
                principal: Arc::new((*verified.principal).clone()),
                jti: own(&verified.jti),
                ..verified.clone()
            },
            until: *until,
        },
    }
}
