//! Scoped Access Keys in the server: authenticating a presented key (signature by the platform's
//! keys, then the in-memory registry; no store round trip for a known key), and the lifecycle
//! operations the API handlers (and any other front end) call: create, list, revoke, suspend,
//! unsuspend. Every registry write goes through `Access::commit_access_key`.

use std::sync::Arc;

use nmp_authn::{VerifiedAccessKey, SERVICE_ACCOUNT_PREFIX};
use nmp_core::Principal;
use nmp_proto::access_keys::{
    AccessKeyCreateResponse, AccessKeyListResponse, AccessKeyMetadataResponse, AccessKeyRevokeResponse,
    AccessKeyStatusChangeResponse,
};
use nmp_store::{
    AccessKeyChange, AccessKeyEntity, AccessKeyListQuery, AccessKeyRecord, AccessKeyStatus, AuditContext,
};
use serde::Serialize;
use time::OffsetDateTime;

use crate::config::AccessKeySettings;
use crate::error::{ApiError, ApiResult};
use crate::key_registry::KeyCheck;
use crate::memo::ConnectionMemo;
use crate::middleware::Identity;
use crate::state::AppState;

/// `token_kind` of a request authenticated by an access key.
pub const TOKEN_KIND: &str = "access_key";

fn invalid_token() -> ApiError {
    ApiError::Unauthorized { detail: nmp_authn::DETAIL_INVALID_TOKEN.into(), token_presented: true }
}

/// Admit an access key whose signature and claims the authenticator verified (it routes every
/// token that claims to be an access key to the platform's keys alone): it is accepted only when
/// its registry entry is active for its subject; otherwise 401, whatever else the token may be.
pub async fn admit(
    state: &AppState,
    verified: VerifiedAccessKey,
    memo: Option<&ConnectionMemo>,
) -> ApiResult<Identity> {
    let metrics = &state.metrics;
    let now = state.now().unix_timestamp();
    // The connection's last key, found active on the registry's current generation (ADR 0037).
    if memo.is_some_and(|memo| memo.key_active(&verified.jti, state.access.key_generation(), now)) {
        metrics.authentication("accepted", TOKEN_KIND);
        return Ok(identity(verified));
    }
    let (mut check, generation, until) =
        state.access.check_access_key_at_generation(&verified.jti, &verified.principal.id, now);
    if check == KeyCheck::Unknown {
        // Signed by us but not in this replica's copy: created moments ago through another
        // replica, or never recorded. One store read decides; only such keys pay for it.
        let jti = verified.jti.clone();
        match state.store(move |store| store.get_access_key(&jti)).await {
            Ok(record) => {
                state.access.learn_access_key(&record);
                check = state.access.check_access_key(&verified.jti, &verified.principal.id, now);
            }
            Err(ApiError::NotFound(_)) => {}
            Err(other) => return Err(other),
        }
    } else if check == KeyCheck::Active {
        if let Some(memo) = memo {
            memo.remember_key(&verified.jti, generation, until);
        }
    }
    if check != KeyCheck::Active {
        metrics.authentication("rejected", "access_key_inactive");
        return Err(invalid_token());
    }
    metrics.authentication("accepted", TOKEN_KIND);
    Ok(identity(verified))
}

fn identity(verified: VerifiedAccessKey) -> Identity {
    Identity {
        principal: Some(verified.principal),
        token_kind: Some(TOKEN_KIND),
        jti: Some(verified.jti),
        expires_at: verified.expires_at,
        bearer: true,
    }
}

/// What a create request asked for, after body validation.
#[derive(Debug, Default)]
pub struct CreateInput {
    pub name: Option<String>,
    pub description: Option<String>,
    /// `None`: omitted (the configured default); `Some(None)`: explicit null (never expires).
    pub expires_in_seconds: Option<Option<u64>>,
    pub service_account_id: Option<String>,
}

fn settings(state: &AppState) -> ApiResult<&AccessKeySettings> {
    state.settings.access_keys.as_ref().ok_or(ApiError::AccessKeysDisabled)
}

fn caller(principal: Option<&Principal>) -> ApiResult<&Principal> {
    principal.ok_or_else(|| ApiError::unauthorized("Unauthorized"))
}

fn is_machine(principal: &Principal) -> bool {
    principal.is_service() || principal.id.starts_with(SERVICE_ACCOUNT_PREFIX)
}

/// A PlatformAdmin now (never a service or service-account principal, never with auth off).
fn is_current_platform_admin(state: &AppState, principal: &Principal) -> bool {
    state.auth_enabled() && !is_machine(principal) && state.access.index().is_platform_admin(principal)
}

/// `2026-11-30T01:36:53Z`.
pub fn wire_time(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    at.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_default()
}

/// REVOKED beats EXPIRED, which beats SUSPENDED, which beats ACTIVE.
fn reported_status(record: &AccessKeyRecord, now: OffsetDateTime) -> &'static str {
    match record.status {
        AccessKeyStatus::Revoked => "REVOKED",
        _ if record.is_expired(now) => "EXPIRED",
        status => status.as_str(),
    }
}

pub fn metadata(record: &AccessKeyRecord, now: OffsetDateTime) -> AccessKeyMetadataResponse {
    AccessKeyMetadataResponse {
        jti: record.jti.clone(),
        name: record.name.clone(),
        description: record.description.clone(),
        principal: record.subject.clone(),
        entity_type: record.entity_type.as_str().into(),
        status: reported_status(record, now).into(),
        issuer: record.issuer.clone(),
        audiences: record.audiences.clone(),
        created_at: wire_time(record.issued_at),
        expires_at: record.expires_at.map(wire_time),
    }
}

/// The key's claims, in the reference's order.
#[derive(Serialize)]
struct KeyClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    iat: i64,
    nbf: i64,
    jti: &'a str,
    nmp_token_type: &'static str,
    nmp_access_key: KeyInfo<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    groups: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
}

#[derive(Serialize)]
struct KeyInfo<'a> {
    version: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    entity_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

/// The lifetime to sign, or the reference's 400.
fn lifetime(settings: &AccessKeySettings, requested: Option<Option<u64>>) -> ApiResult<Option<u64>> {
    match (requested, settings.default_expires_in, settings.max_expires_in) {
        (None, Some(default), _) => Ok(Some(default)),
        (None, None, Some(_)) => Err(ApiError::BadRequest(
            "expires_in_seconds is required when auth.access_keys.default_expires_in_seconds is null and \
             auth.access_keys.max_expires_in_seconds is finite"
                .into(),
        )),
        (None, None, None) | (Some(None), _, None) => Ok(None),
        (Some(None), _, Some(_)) => Err(ApiError::BadRequest(
            "expires_in_seconds=null requires auth.access_keys.max_expires_in_seconds to be disabled".into(),
        )),
        (Some(Some(seconds)), _, Some(max)) if seconds > max => Err(ApiError::BadRequest(format!(
            "expires_in_seconds must be less than or equal to auth.access_keys.max_expires_in_seconds ({max})"
        ))),
        (Some(Some(seconds)), _, _) => Ok(Some(seconds)),
    }
}

/// Create a key for the caller, or (PlatformAdmin only) for a service account.
pub async fn create(
    state: &AppState,
    principal: Option<&Principal>,
    input: CreateInput,
    audit: &AuditContext,
) -> ApiResult<AccessKeyCreateResponse> {
    let settings = settings(state)?;
    let creator = caller(principal)?;
    if input.service_account_id.is_some() && !is_current_platform_admin(state, creator) {
        return Err(ApiError::Forbidden(
            "Only PlatformAdmin can create service-bound Scoped Access Keys".into(),
        ));
    }
    if creator.is_service() {
        return Err(ApiError::BadRequest(
            "Scoped Access Keys cannot be created for service principals".into(),
        ));
    }
    if creator.id.starts_with(SERVICE_ACCOUNT_PREFIX) {
        return Err(ApiError::BadRequest(
            "Scoped Access Keys cannot be created by service-account principals".into(),
        ));
    }
    let lifetime = lifetime(settings, input.expires_in_seconds)?;
    // Stored to the microsecond (so listings order keys made in the same second), signed and
    // shown in whole seconds.
    let issued_at = state.now();
    let issued_second = issued_at.replace_nanosecond(0).unwrap_or(issued_at);
    let expires_at = match lifetime {
        Some(seconds) => {
            let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
            Some(
                issued_second
                    .checked_add(time::Duration::seconds(seconds))
                    .ok_or_else(|| ApiError::BadRequest("expires_in_seconds is too large".into()))?,
            )
        }
        None => None,
    };
    let jti = format!("ak_{:032x}", rand::random::<u128>());
    let (subject, entity_type) = match &input.service_account_id {
        Some(id) => (format!("{SERVICE_ACCOUNT_PREFIX}{id}"), AccessKeyEntity::ServiceAccount),
        None => (creator.id.to_string(), AccessKeyEntity::User),
    };
    let user_key = entity_type == AccessKeyEntity::User;
    let groups = creator.groups.join(",");
    let claims = KeyClaims {
        iss: &settings.issuer,
        aud: &settings.audience,
        sub: &subject,
        iat: issued_at.unix_timestamp(),
        nbf: issued_at.unix_timestamp(),
        jti: &jti,
        nmp_token_type: nmp_authn::ACCESS_KEY_TOKEN_TYPE,
        nmp_access_key: KeyInfo {
            version: 2,
            entity_type: (!user_key).then_some("SERVICE_ACCOUNT"),
            name: input.name.as_deref(),
        },
        email: creator.email.as_deref().filter(|_| user_key),
        groups: (user_key && !groups.is_empty()).then_some(groups),
        exp: expires_at.map(OffsetDateTime::unix_timestamp),
    };
    let claims = serde_json::to_value(&claims).map_err(|e| ApiError::Internal(format!("key claims: {e}")))?;
    let token =
        settings.keys.sign(&claims).map_err(|e| ApiError::Internal(format!("signing an access key: {e}")))?;
    let record = AccessKeyRecord {
        jti,
        name: input.name,
        description: input.description,
        owner: creator.id.to_string(),
        subject,
        entity_type,
        issuer: settings.issuer.clone(),
        audiences: vec![settings.audience.clone()],
        issued_at,
        expires_at,
        status: AccessKeyStatus::Active,
        updated_at: issued_at,
    };
    let access = Arc::clone(&state.access);
    let (stored, audit) = (record.clone(), audit.clone());
    state
        .store(move |store| {
            access
                .commit_access_key(|| store.create_access_key(&stored, &audit).map(|()| ((), stored.clone())))
        })
        .await?;
    crate::replication::note_access_commit();
    tracing::info!(jti = %record.jti, principal = %record.subject, owner = %record.owner, "access key created");
    let meta = metadata(&record, issued_at);
    Ok(AccessKeyCreateResponse {
        jti: meta.jti,
        name: meta.name,
        description: meta.description,
        principal: meta.principal,
        entity_type: meta.entity_type,
        status: meta.status,
        issuer: meta.issuer,
        audiences: meta.audiences,
        created_at: meta.created_at,
        expires_at: meta.expires_at,
        token,
        token_type: "Bearer".into(),
    })
}

/// The caller's keys, newest first; a PlatformAdmin also sees every service-account key.
pub async fn list(
    state: &AppState,
    principal: Option<&Principal>,
    page: u64,
    page_size: u64,
) -> ApiResult<AccessKeyListResponse> {
    settings(state)?;
    let caller = caller(principal)?;
    if is_machine(caller) {
        return Ok(AccessKeyListResponse { data: Vec::new(), has_more: false });
    }
    let query = AccessKeyListQuery {
        owner: caller.id.to_string(),
        include_service_accounts: is_current_platform_admin(state, caller),
        page,
        page_size,
    };
    let page = state.store(move |store| store.list_access_keys(&query)).await?;
    let now = state.now();
    Ok(AccessKeyListResponse {
        data: page.keys.iter().map(|k| metadata(k, now)).collect(),
        has_more: page.has_more,
    })
}

/// The key `jti` if the caller may manage it: a user key by its subject only, a
/// service-account key by any current PlatformAdmin only. Otherwise the same 404 as unknown.
async fn manageable(
    state: &AppState,
    principal: Option<&Principal>,
    jti: &str,
) -> ApiResult<AccessKeyRecord> {
    settings(state)?;
    let caller = caller(principal)?.clone();
    let lookup = jti.to_string();
    let record = state.store(move |store| store.get_access_key(&lookup)).await?;
    let allowed = match record.entity_type {
        AccessKeyEntity::User => record.subject == caller.id,
        AccessKeyEntity::ServiceAccount => is_current_platform_admin(state, &caller),
    };
    if allowed {
        Ok(record)
    } else {
        Err(ApiError::NotFound(format!("Scoped Access Key {jti} was not found")))
    }
}

#[derive(Debug, Clone, Copy)]
enum Operation {
    Revoke,
    Suspend,
    Unsuspend,
}

async fn change(
    state: &AppState,
    jti: &str,
    operation: Operation,
    audit: &AuditContext,
) -> ApiResult<AccessKeyChange> {
    let access = Arc::clone(&state.access);
    let (jti, audit) = (jti.to_string(), audit.clone());
    let outcome = state
        .store(move |store| {
            access.commit_access_key(|| {
                let change = match operation {
                    Operation::Revoke => store.revoke_access_key(&jti, &audit),
                    Operation::Suspend => store.suspend_access_key(&jti, &audit),
                    Operation::Unsuspend => store.unsuspend_access_key(&jti, &audit),
                }?;
                let record = change.record.clone();
                Ok::<_, nmp_store::StoreError>((change, record))
            })
        })
        .await?;
    if outcome.changed {
        crate::replication::note_access_commit();
        tracing::info!(jti = %outcome.record.jti, ?operation, "access key status changed");
    }
    Ok(outcome)
}

pub async fn revoke(
    state: &AppState,
    principal: Option<&Principal>,
    jti: &str,
    audit: &AuditContext,
) -> ApiResult<AccessKeyRevokeResponse> {
    manageable(state, principal, jti).await?;
    let outcome = change(state, jti, Operation::Revoke, audit).await?;
    Ok(AccessKeyRevokeResponse { jti: jti.to_string(), revoked: outcome.changed })
}

pub async fn suspend(
    state: &AppState,
    principal: Option<&Principal>,
    jti: &str,
    suspend: bool,
    audit: &AuditContext,
) -> ApiResult<AccessKeyStatusChangeResponse> {
    manageable(state, principal, jti).await?;
    let operation = if suspend { Operation::Suspend } else { Operation::Unsuspend };
    let outcome = change(state, jti, operation, audit).await?;
    Ok(AccessKeyStatusChangeResponse {
        jti: jti.to_string(),
        status: reported_status(&outcome.record, state.now()).into(),
        changed: outcome.changed,
    })
}
