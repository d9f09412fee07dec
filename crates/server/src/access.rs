//! The access layer: the policy, the in-memory bindings index the decisions read (kept in step
//! with the store: ADR 0017, a write is visible to the very next decision), the token
//! authenticator, and the policy decision point (embedded or external OPA).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use nmp_authn::Authenticator;
use nmp_core::policy::{
    self, Allow, BindingIndex, BindingIndexBuilder, Decision, Deny, PolicyData, Verdict, Visibility,
};
use nmp_core::{Principal, RoleBinding};

use crate::config::PdpProvider;
use crate::key_registry::{KeyCheck, KeyRegistry};
use crate::opa::OpaClient;
pub use crate::opa::PdpFailure;

/// Endpoints learned from the IdP's discovery document.
#[derive(Debug, Clone, Default)]
pub struct ProviderEndpoints {
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub device_authorization_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
}

/// What a store write did to active bindings, for the index to follow in the same step.
#[derive(Debug, Default)]
pub struct BindingChanges {
    pub granted: Vec<RoleBinding>,
    pub revoked: Vec<RoleBinding>,
    pub removed_workspace: Option<String>,
}

/// The OPA bundle as last built, and the index generation it was built from.
#[derive(Debug)]
pub struct BuiltBundle {
    pub bytes: axum::body::Bytes,
    pub etag: String,
}

pub struct Access {
    /// Serializes "store write + index update" so the index applies changes in commit order.
    writes: Mutex<()>,
    /// Bumped by every change to the index (commit or reload).
    generation: AtomicU64,
    bundle: Mutex<Option<(u64, Arc<BuiltBundle>)>>,
    auth_enabled: bool,
    pub policy: PolicyData,
    index: RwLock<BindingIndex>,
    pub authenticator: Option<Authenticator>,
    pub opa: Option<OpaClient>,
    /// Scoped Access Keys: the registry copy (their signatures are the authenticator's to verify).
    access_keys: RwLock<KeyRegistry>,
    /// Bumped, under the registry's write lock, by every registry write (ADR 0037).
    key_generation: AtomicU64,
}

impl Access {
    pub fn new(
        auth_enabled: bool,
        policy: PolicyData,
        authenticator: Option<Authenticator>,
        provider: PdpProvider,
        opa: Option<OpaClient>,
    ) -> Access {
        let opa = if provider == PdpProvider::Opa { opa } else { None };
        Access {
            writes: Mutex::new(()),
            generation: AtomicU64::new(0),
            bundle: Mutex::new(None),
            auth_enabled,
            policy,
            index: RwLock::new(BindingIndex::new()),
            authenticator,
            opa,
            access_keys: RwLock::new(KeyRegistry::default()),
            key_generation: AtomicU64::new(0),
        }
    }

    fn key_registry(&self) -> std::sync::RwLockReadGuard<'_, KeyRegistry> {
        self.access_keys.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The registry for writing; the generation is bumped while the guard is held, so a reader
    /// under the read lock sees a generation and a registry that agree.
    fn key_registry_mut(&self) -> std::sync::RwLockWriteGuard<'_, KeyRegistry> {
        let registry = self.access_keys.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.key_generation.fetch_add(1, Ordering::SeqCst);
        registry
    }

    /// The generation of the access-key registry.
    pub fn key_generation(&self) -> u64 {
        self.key_generation.load(Ordering::SeqCst)
    }

    /// The one path for an access-key registry write (create, revoke, suspend, unsuspend): under
    /// the access write lock, run the store write and apply the resulting record, so the next
    /// request on this replica sees it.
    pub fn commit_access_key<T, E>(
        &self,
        work: impl FnOnce() -> Result<(T, nmp_store::AccessKeyRecord), E>,
    ) -> Result<T, E> {
        let _write = self.write_lock();
        let (value, record) = work()?;
        self.key_registry_mut().apply(&record);
        Ok(value)
    }

    /// Replace the registry copy with the store's (start, and another replica's commit).
    pub fn reload_access_keys<E>(
        &self,
        all: impl FnOnce() -> Result<Vec<nmp_store::AccessKeyRecord>, E>,
    ) -> Result<(), E> {
        let _write = self.write_lock();
        let fresh = KeyRegistry::from_records(&all()?);
        *self.key_registry_mut() = fresh;
        Ok(())
    }

    /// Record a key found in the store but missing from the copy, unless a newer state arrived.
    pub fn learn_access_key(&self, record: &nmp_store::AccessKeyRecord) {
        let _write = self.write_lock();
        let mut registry = self.key_registry_mut();
        if !registry.contains(&record.jti) {
            registry.apply(record);
        }
    }

    /// The registry's verdict on a verified key: no I/O.
    pub fn check_access_key(&self, jti: &str, subject: &str, now: i64) -> KeyCheck {
        self.check_access_key_at_generation(jti, subject, now).0
    }

    /// [`Access::check_access_key`], with the registry's generation and the instant the key is
    /// refused as expired, both read under the same read lock as the verdict.
    pub fn check_access_key_at_generation(&self, jti: &str, subject: &str, now: i64) -> (KeyCheck, u64, i64) {
        let registry = self.key_registry();
        let generation = self.key_generation.load(Ordering::SeqCst);
        let until = registry.refused_from(jti).unwrap_or(i64::MIN);
        (registry.check(jti, subject, now), generation, until)
    }

    fn write_lock(&self) -> MutexGuard<'_, ()> {
        self.writes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn index_mut(&self) -> std::sync::RwLockWriteGuard<'_, BindingIndex> {
        self.index.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn index(&self) -> std::sync::RwLockReadGuard<'_, BindingIndex> {
        self.index.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The one path for a write that changes access: under the access write lock, run the store
    /// write (`work`, one transaction) and apply what it changed to the index before anyone else
    /// may write, so the index follows commits in order and the next decision sees the change.
    pub fn commit<T, E>(&self, work: impl FnOnce() -> Result<(T, BindingChanges), E>) -> Result<T, E> {
        let _write = self.write_lock();
        let (value, changes) = work()?;
        self.apply(&changes);
        Ok(value)
    }

    /// Replace the index with the store's active bindings (start, and another replica's commit),
    /// under the write lock so no local commit interleaves with the reload. `load` feeds every
    /// active binding to the builder (`Store::for_each_active_binding`).
    pub fn reload<E>(&self, load: impl FnOnce(&mut BindingIndexBuilder) -> Result<(), E>) -> Result<(), E> {
        let _write = self.write_lock();
        let mut builder = BindingIndex::builder();
        load(&mut builder)?;
        let fresh = builder.finish();
        let mut index = self.index_mut();
        *index = fresh;
        // Under the index lock, so a reader sees the generation and the index agree.
        self.generation.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn apply(&self, changes: &BindingChanges) {
        let mut index = self.index_mut();
        for b in &changes.revoked {
            index.revoke(b.key());
        }
        for b in changes.granted.iter().filter(|b| b.is_active()) {
            index.grant(b.key());
        }
        if let Some(workspace) = &changes.removed_workspace {
            index.remove_workspace(workspace);
        }
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The workspaces the caller may list; `None` means all of them (auth off, PlatformAdmin, services).
    pub fn visible_workspaces(&self, principal: Option<&Principal>) -> Option<BTreeSet<String>> {
        self.visible_workspaces_at_generation(principal).0
    }

    /// [`Access::visible_workspaces`], with the generation of the index it was read from.
    pub fn visible_workspaces_at_generation(
        &self,
        principal: Option<&Principal>,
    ) -> (Option<BTreeSet<String>>, u64) {
        let (Some(principal), true) = (principal, self.auth_enabled) else {
            return (None, self.generation());
        };
        let index = self.index();
        let generation = self.generation.load(Ordering::SeqCst);
        match index.visible_workspaces(principal) {
            Visibility::All => (None, generation),
            Visibility::Only(set) => (Some(set), generation),
        }
    }

    /// The generation of the bindings index: bumped, under the index's write lock, by every change.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The embedded decision, with the generation of the index it was made on (read under the
    /// same read lock, so the two agree).
    pub fn decide_at_generation<'a>(
        &'a self,
        principal: Option<&'a Principal>,
        method: &'a str,
        path: &'a str,
    ) -> (Decision<'a>, u64) {
        let request = policy::Request { principal, method, path };
        let index = self.index();
        let generation = self.generation.load(Ordering::SeqCst);
        (policy::decide(&request, &self.policy, &index), generation)
    }

    /// Whether decisions are the embedded PDP's alone (no external OPA asked).
    pub fn decides_alone(&self) -> bool {
        self.opa.is_none()
    }

    /// The embedded decision.
    pub fn decide<'a>(
        &'a self,
        principal: Option<&'a Principal>,
        method: &'a str,
        path: &'a str,
    ) -> Decision<'a> {
        self.decide_at_generation(principal, method, path).0
    }

    /// The decision of the configured PDP: embedded, or external OPA (fail closed).
    ///
    /// A service acting on behalf of a user gets no more than the user has: both the service
    /// and the user must be allowed (no confused deputy; GW-10). The reference PDP ignores
    /// on-behalf-of and leaves the check to each service.
    pub async fn authorize<'a>(
        &'a self,
        principal: Option<&'a Principal>,
        method: &'a str,
        path: &'a str,
    ) -> Result<Decision<'a>, PdpFailure> {
        let decision = self.authorize_one(principal, method, path).await?;
        match principal.and_then(|p| p.on_behalf_of.as_deref().filter(|_| p.is_service())) {
            Some(user) if decision.allowed() => self.authorize_one(Some(user), method, path).await,
            _ => Ok(decision),
        }
    }

    async fn authorize_one<'a>(
        &'a self,
        principal: Option<&'a Principal>,
        method: &'a str,
        path: &'a str,
    ) -> Result<Decision<'a>, PdpFailure> {
        let native = self.decide(principal, method, path);
        match &self.opa {
            None => Ok(native),
            Some(opa) => {
                let allowed = opa.allow(principal, method, path).await?;
                // OPA's answer is enforced. Where both agree, the native decision supplies the
                // reason for logs and for the 401/403 choice; where they disagree, the reason
                // says the external PDP decided, and the disagreement is logged.
                if allowed == native.allowed() {
                    return Ok(native);
                }
                tracing::warn!(
                    method,
                    path,
                    opa = allowed,
                    native = native.allowed(),
                    "OPA and the embedded PDP disagree"
                );
                let verdict = if allowed {
                    Verdict::Allow(Allow::ExternalPdp)
                } else {
                    Verdict::Deny(Deny::ExternalPdp)
                };
                Ok(Decision { verdict, ..native })
            }
        }
    }

    pub fn has_permissions(&self, principal: &Principal, workspace: &str, permissions: &[String]) -> bool {
        let permissions: Vec<&str> = permissions.iter().map(String::as_str).collect();
        policy::has_permissions(principal, workspace, &permissions, &self.policy, &self.index())
    }

    pub fn has_role(&self, principal: &Principal, workspace: &str, role: &str) -> bool {
        policy::has_role(principal, workspace, role, &self.policy, &self.index())
    }

    /// The OPA data document for the current bindings.
    pub fn bundle_data(&self) -> serde_json::Value {
        policy::bundle_data(&self.policy, &self.index())
    }

    /// The OPA bundle for the current bindings, built by `build` from the data document only
    /// when the index changed since the last build.
    pub fn bundle(
        &self,
        build: impl FnOnce(&serde_json::Value) -> std::io::Result<BuiltBundle>,
    ) -> std::io::Result<Arc<BuiltBundle>> {
        let mut cached = self.bundle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // The generation is bumped under the index write lock: read under the read lock, it
        // names exactly the index the data is built from.
        let (generation, data) = {
            let index = self.index();
            let generation = self.generation.load(Ordering::SeqCst);
            if let Some((built_at, bundle)) = cached.as_ref() {
                if *built_at == generation {
                    return Ok(Arc::clone(bundle));
                }
            }
            (generation, policy::bundle_data(&self.policy, &index))
        };
        let bundle = Arc::new(build(&data)?);
        *cached = Some((generation, Arc::clone(&bundle)));
        Ok(bundle)
    }

    pub fn keys_ready(&self) -> bool {
        self.authenticator.as_ref().is_none_or(Authenticator::is_ready)
    }

    pub fn provider_endpoints(&self) -> ProviderEndpoints {
        match self.authenticator.as_ref().and_then(Authenticator::provider_metadata) {
            Some(m) => ProviderEndpoints {
                authorization_endpoint: m.authorization_endpoint,
                token_endpoint: m.token_endpoint,
                device_authorization_endpoint: m.device_authorization_endpoint,
                userinfo_endpoint: m.userinfo_endpoint,
            },
            None => ProviderEndpoints::default(),
        }
    }
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access").field("auth_enabled", &self.auth_enabled).finish_non_exhaustive()
    }
}
