//! What one connection remembers between its requests (ADR 0037): its last bearer token and what
//! it verified as ([`nmp_authn::BearerMemo`]), the registry's verdict when that token is an access
//! key, its last allowed request, and its caller's visible workspaces. A client on a keep-alive
//! connection sends the same token again and again, often to the same endpoint (a dashboard or a
//! script polling a list); remembering these spares it the process-wide token cache, the key
//! registry, the bindings index and the decision, and so every piece of state that requests on
//! other connections touch.
//!
//! The remembered allow and visible set answer only for the same principal (the very copy the
//! bearer memo holds, so only while that token still answers) and the same generation of the
//! bindings index (the allow also only for the same method and path): any grant, revocation,
//! workspace removal or reload since bumps the generation, so a change is seen by the very next
//! request, as with every decision (ADR 0017). The registry's verdict on an access key answers
//! only for the same key copy, before the registry's end for it (`exp` plus leeway), and on the
//! same generation of the registry, which every registry write bumps (create, revoke, suspend,
//! unsuspend, reload), so a revoked or suspended key is refused on the very next request.
//!
//! The remembered allow is used only by the embedded PDP (OPA is asked every time) and not while
//! allowed decisions are logged (each logged decision is a decision made). Nothing is remembered
//! across connections, and a connection's memo goes with it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::Method;
use nmp_authn::BearerMemo;
use nmp_core::Principal;

use crate::access::Access;

/// One connection's memo; the accept loop puts it in every request's extensions.
#[derive(Default)]
pub struct ConnectionMemo {
    pub bearer: BearerMemo,
    allow: Mutex<Option<RememberedAllow>>,
    visible: Mutex<Option<RememberedVisible>>,
    key: Mutex<Option<RememberedKey>>,
}

/// An access key the registry found active, as of a registry generation.
#[derive(Debug)]
struct RememberedKey {
    /// The very copy of the key's `jti` the bearer memo handed out.
    jti: Arc<str>,
    generation: u64,
    /// When the registry refuses it as expired.
    until: i64,
}

/// The workspaces a principal may list (`None`: all of them), as of an index generation.
#[derive(Debug)]
struct RememberedVisible {
    principal: Arc<Principal>,
    generation: u64,
    visible: Option<Arc<BTreeSet<String>>>,
}

/// An allowed request, and what its decision said that the request needs afterwards.
#[derive(Debug)]
struct RememberedAllow {
    principal: Arc<Principal>,
    method: Method,
    path: Box<str>,
    generation: u64,
    outcome: AllowOutcome,
}

/// What an allow decision hands on: its reason (for the decision counter) and whether the caller
/// was allowed as its own PlatformAdmin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowOutcome {
    pub reason: &'static str,
    pub platform_admin: bool,
}

impl std::fmt::Debug for ConnectionMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // What a connection remembers is its own business: a `Caller` printed in a log says no more.
        f.debug_struct("ConnectionMemo").finish_non_exhaustive()
    }
}

/// One of the memo's slots, locked (a panic elsewhere leaves a slot whole: it is only ever replaced).
fn lock<T>(slot: &Mutex<T>) -> MutexGuard<'_, T> {
    slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ConnectionMemo {
    /// The remembered allow for exactly this principal (the same shared copy), method, path and
    /// index generation.
    pub fn allowed(
        &self,
        principal: &Arc<Principal>,
        method: &Method,
        path: &str,
        generation: u64,
    ) -> Option<AllowOutcome> {
        let remembered = lock(&self.allow);
        let r = remembered.as_ref()?;
        (Arc::ptr_eq(&r.principal, principal)
            && r.generation == generation
            && r.method == method
            && *r.path == *path)
            .then_some(r.outcome)
    }

    /// Remember an allow decided at index `generation`.
    pub fn remember_allow(
        &self,
        principal: &Arc<Principal>,
        method: &Method,
        path: &str,
        generation: u64,
        outcome: AllowOutcome,
    ) {
        *lock(&self.allow) = Some(RememberedAllow {
            principal: Arc::clone(principal),
            method: method.clone(),
            path: path.into(),
            generation,
            outcome,
        });
    }

    /// Whether the registry found this access key (the same `jti` copy) active on registry
    /// generation `generation`, and `now` is before the registry's end for it.
    pub fn key_active(&self, jti: &Arc<str>, generation: u64, now: i64) -> bool {
        let remembered = lock(&self.key);
        remembered
            .as_ref()
            .is_some_and(|r| Arc::ptr_eq(&r.jti, jti) && r.generation == generation && now < r.until)
    }

    /// Remember an access key the registry found active on `generation`, refused from `until`.
    pub fn remember_key(&self, jti: &Arc<str>, generation: u64, until: i64) {
        *lock(&self.key) = Some(RememberedKey { jti: Arc::clone(jti), generation, until });
    }

    /// [`Access::visible_workspaces`] for the principal the bearer memo handed out, remembered
    /// until the index changes.
    pub fn visible_workspaces(
        &self,
        access: &Access,
        principal: &Arc<Principal>,
    ) -> Option<Arc<BTreeSet<String>>> {
        let generation = access.generation();
        if let Some(r) = lock(&self.visible).as_ref() {
            if Arc::ptr_eq(&r.principal, principal) && r.generation == generation {
                return r.visible.clone();
            }
        }
        // Computed outside the memo's lock: HTTP/2 streams of the connection do not wait on it.
        let (visible, generation) = access.visible_workspaces_at_generation(Some(principal));
        let visible = visible.map(Arc::new);
        *lock(&self.visible) = Some(RememberedVisible {
            principal: Arc::clone(principal),
            generation,
            visible: visible.clone(),
        });
        visible
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_allow_answers_only_for_the_same_principal_copy_request_and_generation() {
        let memo = ConnectionMemo::default();
        let alice = Arc::new(Principal::new("alice"));
        let outcome = AllowOutcome { reason: "role_grants", platform_admin: false };
        memo.remember_allow(&alice, &Method::GET, "/apis/x", 7, outcome);
        assert_eq!(memo.allowed(&alice, &Method::GET, "/apis/x", 7), Some(outcome));
        assert_eq!(memo.allowed(&alice, &Method::GET, "/apis/x", 8), None, "the index changed");
        assert_eq!(memo.allowed(&alice, &Method::POST, "/apis/x", 7), None, "another method");
        assert_eq!(memo.allowed(&alice, &Method::GET, "/apis/y", 7), None, "another path");
        let same_name = Arc::new(Principal::new("alice"));
        assert_eq!(memo.allowed(&same_name, &Method::GET, "/apis/x", 7), None, "another token's principal");
    }

    #[test]
    fn a_key_verdict_answers_only_for_the_same_key_copy_generation_and_before_its_end() {
        let memo = ConnectionMemo::default();
        let jti: Arc<str> = Arc::from("ak_1");
        memo.remember_key(&jti, 3, 100);
        assert!(memo.key_active(&jti, 3, 99));
        assert!(!memo.key_active(&jti, 3, 100), "at the registry's end");
        assert!(!memo.key_active(&jti, 4, 99), "the registry changed");
        assert!(!memo.key_active(&Arc::from("ak_1"), 3, 99), "another token's copy of the same jti");
    }
}
