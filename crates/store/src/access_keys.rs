//! The Scoped Access Key registry: metadata and status of every key the platform signed. The key
//! itself (the signed token) is never stored, nor any hash of it: a key is valid when its
//! signature checks out *and* its registry entry is active.
//!
//! Each lifecycle operation (create, revoke, suspend, unsuspend) is one store call and one
//! transaction, which also records its audit event ([`created_event`], [`status_event`]); a
//! no-op records nothing. On a shared
//! store the writes take an access revision (like role changes), so every replica reloads its
//! in-memory copy of the registry.

use serde_json::json;
use time::OffsetDateTime;

use crate::audit::actions;
use crate::{AuditContext, NewAuditEvent, StoreResult};

/// Status kept in the registry. `Expired` is never stored: it is derived from `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessKeyStatus {
    Active,
    Suspended,
    Revoked,
}

impl AccessKeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessKeyStatus::Active => "ACTIVE",
            AccessKeyStatus::Suspended => "SUSPENDED",
            AccessKeyStatus::Revoked => "REVOKED",
        }
    }

    pub fn parse(text: &str) -> Option<AccessKeyStatus> {
        match text {
            "ACTIVE" => Some(AccessKeyStatus::Active),
            "SUSPENDED" => Some(AccessKeyStatus::Suspended),
            "REVOKED" => Some(AccessKeyStatus::Revoked),
            _ => None,
        }
    }
}

/// Whose identity a key carries: the creating user's, or a service account's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessKeyEntity {
    User,
    ServiceAccount,
}

impl AccessKeyEntity {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessKeyEntity::User => "USER",
            AccessKeyEntity::ServiceAccount => "SERVICE_ACCOUNT",
        }
    }

    pub fn parse(text: &str) -> Option<AccessKeyEntity> {
        match text {
            "USER" => Some(AccessKeyEntity::User),
            "SERVICE_ACCOUNT" => Some(AccessKeyEntity::ServiceAccount),
            _ => None,
        }
    }
}

/// One registry entry. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyRecord {
    /// `ak_` + 32 lowercase hex digits: the token's `jti`.
    pub jti: String,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Who manages the key: the subject for a user key, the creating admin for a service-account key.
    pub owner: String,
    /// The token's `sub`: the user, or `service-account:<id>`.
    pub subject: String,
    pub entity_type: AccessKeyEntity,
    pub issuer: String,
    pub audiences: Vec<String>,
    /// The token's `iat`.
    pub issued_at: OffsetDateTime,
    /// The token's `exp`; `None` for a key that never expires.
    pub expires_at: Option<OffsetDateTime>,
    pub status: AccessKeyStatus,
    pub updated_at: OffsetDateTime,
}

impl AccessKeyRecord {
    /// Expired at `now` (no leeway: this is what listings report).
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }
}

/// Which keys a listing shows: the owner's user keys, plus every service-account key when the
/// caller is a PlatformAdmin. Newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyListQuery {
    pub owner: String,
    pub include_service_accounts: bool,
    /// 1-based.
    pub page: u64,
    pub page_size: u64,
}

/// A page of keys and whether more follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyPage {
    pub keys: Vec<AccessKeyRecord>,
    pub has_more: bool,
}

/// The outcome of revoke/suspend/unsuspend: the record after the call, and whether it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyChange {
    pub record: AccessKeyRecord,
    pub changed: bool,
}

/// The access-key registry. `NotFound("Scoped Access Key <jti> was not found")` for an unknown jti.
pub trait AccessKeyStore: Send + Sync {
    /// Record a newly signed key, and its audit event. `Conflict` if the jti exists (never in
    /// practice: 128 random bits).
    fn create_access_key(&self, record: &AccessKeyRecord, audit: &AuditContext) -> StoreResult<()>;
    fn get_access_key(&self, jti: &str) -> StoreResult<AccessKeyRecord>;
    fn list_access_keys(&self, query: &AccessKeyListQuery) -> StoreResult<AccessKeyPage>;
    /// Move the key to `target` at `audit.at` in one transaction, following [`transition`], with
    /// the audit event of the change; a no-op writes nothing. The operations below are this one
    /// call.
    fn change_access_key_status(
        &self,
        jti: &str,
        target: AccessKeyStatus,
        audit: &AuditContext,
    ) -> StoreResult<AccessKeyChange>;
    /// Revoke (terminal). Already revoked: unchanged, nothing written.
    fn revoke_access_key(&self, jti: &str, audit: &AuditContext) -> StoreResult<AccessKeyChange> {
        self.change_access_key_status(jti, AccessKeyStatus::Revoked, audit)
    }
    /// Suspend. Already suspended or expired at `audit.at`: unchanged; revoked: `Conflict`.
    fn suspend_access_key(&self, jti: &str, audit: &AuditContext) -> StoreResult<AccessKeyChange> {
        self.change_access_key_status(jti, AccessKeyStatus::Suspended, audit)
    }
    /// Reactivate a suspended key. Already active or expired at `audit.at`: unchanged; revoked:
    /// `Conflict`.
    fn unsuspend_access_key(&self, jti: &str, audit: &AuditContext) -> StoreResult<AccessKeyChange> {
        self.change_access_key_status(jti, AccessKeyStatus::Active, audit)
    }
    /// Every entry, for the in-memory registry each replica keeps.
    fn all_access_keys(&self) -> StoreResult<Vec<AccessKeyRecord>>;
}

/// What the audit trail says of a key: its identity and status, never the key itself.
fn audit_view(record: &AccessKeyRecord) -> serde_json::Value {
    json!({
        "jti": record.jti,
        "name": record.name,
        "principal": record.subject,
        "entity_type": record.entity_type.as_str(),
        "owner": record.owner,
        "status": record.status.as_str(),
        "expires_at": record.expires_at.map(|at| at.unix_timestamp()),
    })
}

/// The audit event of a key's creation (about the key's principal; no workspace).
pub(crate) fn created_event(record: &AccessKeyRecord, audit: &AuditContext) -> NewAuditEvent {
    audit.event(actions::ACCESS_KEY_CREATED, None, Some(&record.subject)).after(audit_view(record))
}

/// The audit event of a status change from `before` to `after`.
pub(crate) fn status_event(
    before: &AccessKeyRecord,
    after: &AccessKeyRecord,
    audit: &AuditContext,
) -> NewAuditEvent {
    let action = match after.status {
        AccessKeyStatus::Revoked => actions::ACCESS_KEY_REVOKED,
        AccessKeyStatus::Suspended => actions::ACCESS_KEY_SUSPENDED,
        AccessKeyStatus::Active => actions::ACCESS_KEY_UNSUSPENDED,
    };
    audit.event(action, None, Some(&after.subject)).before(audit_view(before)).after(audit_view(after))
}

/// The "not found" error every backend returns for an unknown jti.
pub fn access_key_not_found(jti: &str) -> crate::StoreError {
    crate::StoreError::NotFound(format!("Scoped Access Key {jti} was not found"))
}

/// What a status change does, decided the same way by every backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusTransition {
    /// Write the new status.
    Write(AccessKeyStatus),
    /// Leave the record as it is.
    Unchanged,
}

/// The lifecycle rules: revoke is idempotent and terminal; suspend/unsuspend refuse a revoked
/// key, and leave an expired key or one already in the target state untouched.
pub fn transition(
    record: &AccessKeyRecord,
    target: AccessKeyStatus,
    at: OffsetDateTime,
) -> StoreResult<StatusTransition> {
    use AccessKeyStatus::*;
    match (record.status, target) {
        (Revoked, Revoked) => Ok(StatusTransition::Unchanged),
        (_, Revoked) => Ok(StatusTransition::Write(Revoked)),
        (Revoked, _) => {
            let verb = if target == Suspended { "suspended" } else { "unsuspended" };
            Err(crate::StoreError::Conflict(format!(
                "Revoked Scoped Access Key {} cannot be {verb}",
                record.jti
            )))
        }
        _ if record.is_expired(at) => Ok(StatusTransition::Unchanged),
        (current, target) if current == target => Ok(StatusTransition::Unchanged),
        (_, target) => Ok(StatusTransition::Write(target)),
    }
}
