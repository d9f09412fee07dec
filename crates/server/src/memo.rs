//! What one connection remembers between its requests: its last bearer token (what it verified
//! as: [`nmp_authn::BearerMemo`]) and its last allowed request. A client on a keep-alive
//! connection sends the same token again and again, often to the same endpoint (a dashboard or a
//! script polling a list); remembering both spares it the process-wide token cache, the bindings
//! index and the decision, and so every piece of state that requests on other connections touch.
//!
//! The remembered allow answers only for the same principal (the very copy the bearer memo holds,
//! so only while that token still answers), the same method and path, and the same generation of
//! the bindings index: any grant, revocation, workspace removal or reload since bumps the
//! generation, so a change is seen by the very next request, as with every decision (ADR 0017).
//! It is used only by the embedded PDP (OPA is asked every time) and not while allowed decisions
//! are logged (each logged decision is a decision made). Nothing is remembered across
//! connections, and a connection's memo goes with it.

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

impl ConnectionMemo {
    fn allow(&self) -> MutexGuard<'_, Option<RememberedAllow>> {
        self.allow.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The remembered allow for exactly this principal (the same shared copy), method, path and
    /// index generation.
    pub fn allowed(
        &self,
        principal: &Arc<Principal>,
        method: &Method,
        path: &str,
        generation: u64,
    ) -> Option<AllowOutcome> {
        let remembered = self.allow();
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
        *self.allow() = Some(RememberedAllow {
            principal: Arc::clone(principal),
            method: method.clone(),
            path: path.into(),
            generation,
            outcome,
        });
    }

    /// [`Access::visible_workspaces`] for the principal the bearer memo handed out, remembered
    /// until the index changes.
    pub fn visible_workspaces(
        &self,
        access: &Access,
        principal: &Arc<Principal>,
    ) -> Option<Arc<BTreeSet<String>>> {
        let lock = || self.visible.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let generation = access.generation();
        if let Some(r) = lock().as_ref() {
            if Arc::ptr_eq(&r.principal, principal) && r.generation == generation {
                return r.visible.clone();
            }
        }
        // Computed outside the memo's lock: HTTP/2 streams of the connection do not wait on it.
        let (visible, generation) = access.visible_workspaces_at_generation(Some(principal));
        let visible = visible.map(Arc::new);
        *lock() = Some(RememberedVisible {
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
}
