//! Access insight, our own API: `GET /apis/auth/v2/whoami`, `POST /apis/auth/v2/explain`,
//! `GET /apis/auth/v2/workspaces/{workspace}/permissions` (`can-i`) and
//! `GET /apis/auth/v2/workspaces/{workspace}/who-can`. Every answer comes from the pure functions
//! of `nmp_core::policy` (`explain`, `permissions_held`, `who_can`) over the same index the
//! middleware decides with; nothing here re-derives a decision.
//!
//! Who may ask: `whoami`, `explain` (for oneself) and `permissions` need only an identity (the
//! endpoint map says so); `who-can` needs `iam.list` in the workspace (its Admins,
//! PlatformAdmins), enforced by the middleware, so a caller without a role there gets the same
//! 403 whether the workspace exists or not. Explaining for another principal needs the same
//! permission in the workspace the explained request concerns (`policy::may_inspect`).

use crate::json::Json;
use axum::extract::{Path, State};
use axum::Extension;
use nmp_core::policy::{self, Change, Remedy, Request, PLATFORM_ADMIN_ROLE};
use nmp_core::principal::{validate_email, validate_id};
use nmp_core::{Principal, SYSTEM_WORKSPACE};
use nmp_proto::insight as wire;
use nmp_proto::{ErrorDetail, HttpValidationError};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Caller};
use crate::validate::{error, BodyFields, JsonBody, Query};

const MAX_PATH: usize = 2048;
const MAX_GROUPS: usize = nmp_core::principal::MAX_GROUPS;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(whoami))
        .routes(routes!(explain))
        .routes(routes!(permissions))
        .routes(routes!(who_can))
}

/// With auth off every request is allowed; there is nothing to explain.
fn require_auth(state: &AppState) -> ApiResult<()> {
    if state.auth_enabled() {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "authorization is off on this server (auth.enabled: false): every request is allowed".into(),
        ))
    }
}

/// The caller; with auth on the middleware has refused anonymous callers already.
fn caller_principal(caller: &Caller) -> ApiResult<&Principal> {
    caller.principal.as_deref().ok_or_else(|| ApiError::unauthorized("Unauthorized"))
}

#[utoipa::path(get, path = "/apis/auth/v2/whoami", tag = "Auth",
    responses((status = 200, body = wire::WhoAmI)))]
async fn whoami(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<wire::WhoAmI>> {
    let credential = caller.credential;
    let principal = caller.principal.as_deref();
    let platform_roles: Vec<String> = match principal {
        Some(principal) if state.auth_enabled() => {
            state.access.index().effective_roles(principal, SYSTEM_WORKSPACE).into_iter().collect()
        }
        _ => Vec::new(),
    };
    // PlatformAdmin is exactly that role among the effective roles in `system`.
    let platform_admin = platform_roles.iter().any(|role| role == PLATFORM_ADMIN_ROLE);
    let expires_at = credential
        .expires_at
        .and_then(|exp| time::OffsetDateTime::from_unix_timestamp(exp).ok())
        .map(nmp_proto::timestamps::utc);
    Ok(Json(wire::WhoAmI {
        auth_enabled: state.auth_enabled(),
        principal: principal.map(|p| p.id.to_string()),
        email: principal.and_then(|p| p.email.clone()),
        groups: principal.map(|p| p.groups.clone()).unwrap_or_default(),
        scopes: principal.and_then(|p| p.scopes.clone()),
        token_kind: credential.token_kind.map(str::to_string),
        expires_at,
        platform_roles,
        platform_admin,
    }))
}

/// The explained request and, when the body names one, the other principal.
fn explain_input(body: &serde_json::Value) -> ApiResult<(String, String, Option<Principal>)> {
    let mut fields = BodyFields::new(body)?;
    fields.deny_unknown(&["method", "path", "principal", "email", "groups", "scopes"]);
    let method = fields.required_string("method", 16);
    if let Some(m) = method.as_deref().filter(|m| m.is_empty() || !m.chars().all(|c| c.is_ascii_alphabetic()))
    {
        fields.push(error(
            "value_error",
            &["body", "method"],
            "Value error, an HTTP method such as GET or POST",
            json!(m),
        ));
    }
    let path = fields.required_string("path", MAX_PATH);
    if let Some(p) = path.as_deref().filter(|p| !p.starts_with('/')) {
        fields.push(error(
            "value_error",
            &["body", "path"],
            "Value error, a path starting with `/`",
            json!(p),
        ));
    }
    let id = fields.optional_string("principal", nmp_core::principal::MAX_ID_LEN);
    let email = fields.optional_string("email", nmp_core::principal::MAX_EMAIL_LEN);
    let groups =
        if body.get("groups").is_some() { fields.string_list("groups", None, MAX_GROUPS, 256) } else { None };
    let scopes =
        if body.get("scopes").is_some() { fields.string_list("scopes", None, 64, 256) } else { None };
    let mut subject = None;
    match &id {
        Some(id) => match validate_id("principal", id) {
            Ok(id) => {
                subject = Some(Principal { id: id.into(), scopes: scopes.clone(), ..Principal::default() })
            }
            Err(e) => fields.push(error(
                "value_error",
                &["body", "principal"],
                format!("Value error, {}", e.0),
                json!(id),
            )),
        },
        None if email.is_some() || groups.is_some() || scopes.is_some() => fields.push(error(
            "missing",
            &["body", "principal"],
            "Field required when `email`, `groups` or `scopes` describe another principal",
            body.clone(),
        )),
        None => {}
    }
    if let (Some(subject), Some(email)) = (subject.as_mut(), &email) {
        match validate_email("email", email) {
            Ok(email) => subject.email = email,
            Err(e) => fields.push(error(
                "value_error",
                &["body", "email"],
                format!("Value error, {}", e.0),
                json!(email),
            )),
        }
    }
    if let (Some(subject), Some(groups)) = (subject.as_mut(), &groups) {
        for (index, group) in groups.iter().enumerate() {
            match validate_id("group", group) {
                Ok(group) => subject.groups.push(group),
                Err(e) => {
                    let mut e = error(
                        "value_error",
                        &["body", "groups"],
                        format!("Value error, {}", e.0),
                        json!(group),
                    );
                    e.loc.push(json!(index));
                    fields.push(e);
                }
            }
        }
    }
    let (method, path) = fields.finish(method.zip(path))?;
    Ok((method.to_ascii_uppercase(), path, subject))
}

#[utoipa::path(post, path = "/apis/auth/v2/explain", tag = "Auth",
    request_body = wire::ExplainInput,
    responses((status = 200, body = wire::Explanation), (status = 400, body = ErrorDetail),
        (status = 403, body = ErrorDetail, description = "Explaining for another principal without iam.list in the workspace concerned"),
        (status = 422, body = HttpValidationError)))]
async fn explain(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<wire::Explanation>> {
    require_auth(&state)?;
    let caller = caller_principal(&caller)?;
    let (method, path, other) = explain_input(&body)?;
    let index = state.access.index();
    let policy = &state.access.policy;
    let subject = other.as_ref().unwrap_or(caller);
    let explanation =
        policy::explain(&Request { principal: Some(subject), method: &method, path: &path }, policy, &index);
    // Someone else's access is for who may inspect the workspace concerned; the refusal is the
    // middleware's 403, whatever the workspace's existence.
    if other.is_some() && !policy::may_inspect(caller, explanation.decision.workspace, policy, &index) {
        return Err(ApiError::forbidden());
    }
    Ok(Json(to_wire(&subject.id, &explanation)))
}

fn to_wire(subject: &str, explanation: &policy::Explanation) -> wire::Explanation {
    let decision = &explanation.decision;
    let (suggestion, impossible) = match &explanation.remedy {
        Remedy::NotNeeded => (Vec::new(), None),
        Remedy::Impossible(why) => (Vec::new(), Some(why.to_string())),
        Remedy::Changes(changes) => (
            changes
                .iter()
                .map(|change| match change {
                    Change::AddScope { scope, accepted } => {
                        wire::SuggestedChange::AddScope { scope: scope.clone(), accepted: accepted.clone() }
                    }
                    Change::Grant { principal, workspace, role } => wire::SuggestedChange::Grant {
                        principal: principal.clone(),
                        workspace: workspace.clone(),
                        role: role.clone(),
                    },
                })
                .collect(),
            None,
        ),
    };
    wire::Explanation {
        allowed: decision.allowed(),
        reason: decision.reason_kind().to_string(),
        summary: explanation.summary(),
        principal: subject.to_string(),
        method: explanation.method.clone(),
        path: explanation.path.clone(),
        endpoint: decision.endpoint.map(str::to_string),
        workspace: decision.workspace.map(str::to_string),
        required_permissions: decision.required_permissions.to_vec(),
        accepted_scopes: decision.accepted_scopes.to_vec(),
        identities: explanation
            .identities
            .iter()
            .map(|i| wire::ExplainedIdentity { value: i.value.clone(), kind: i.kind.name().to_string() })
            .collect(),
        token_scopes: explanation.token_scopes.clone(),
        layers: explanation
            .layers
            .iter()
            .map(|(layer, passed)| wire::ExplainedLayer { layer: layer.name().to_string(), passed: *passed })
            .collect(),
        role_workspace: explanation.role_workspace.clone(),
        bindings: explanation
            .role_sources
            .iter()
            .map(|source| wire::ExplainedBinding {
                workspace: source.workspace.clone(),
                role: source.role.clone(),
                through: source.through.as_ref().map(|i| i.value.clone()),
                through_kind: source.through.as_ref().map(|i| i.kind.name().to_string()),
                grants: source.grants.clone(),
            })
            .collect(),
        granting_roles: explanation.granting_roles.clone(),
        suggestion,
        impossible,
    }
}

/// The `permission` query parameter: a registered permission (422 naming it otherwise).
fn permission_param(state: &AppState, query: &Query, required: bool) -> ApiResult<Option<String>> {
    let permission = query.string("permission").map(str::to_string);
    match &permission {
        None if required => Err(ApiError::Validation(vec![error(
            "missing",
            &["query", "permission"],
            "Field required",
            serde_json::Value::Null,
        )])),
        Some(p) if !state.access.policy.permissions().contains(p) => Err(ApiError::Validation(vec![error(
            "value_error",
            &["query", "permission"],
            format!("Value error, unknown permission `{p}`"),
            json!(p),
        )])),
        _ => Ok(permission),
    }
}

#[utoipa::path(get, path = "/apis/auth/v2/workspaces/{workspace}/permissions", tag = "Auth",
    params(("workspace" = String, Path), ("permission" = Option<String>, Query, description = "Only this permission")),
    responses((status = 200, body = wire::PermissionList), (status = 422, body = HttpValidationError)))]
async fn permissions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(workspace): Path<String>,
    query: Query,
) -> ApiResult<Json<wire::PermissionList>> {
    require_auth(&state)?;
    let caller = caller_principal(&caller)?;
    let only = permission_param(&state, &query, false)?;
    let index = state.access.index();
    let policy = &state.access.policy;
    let mut permissions = policy::permissions_held(caller, &workspace, policy, &index);
    if let Some(only) = &only {
        permissions.retain(|p| p == only);
    }
    Ok(Json(wire::PermissionList {
        roles: index.effective_roles(caller, &workspace).into_iter().collect(),
        platform_admin: index.is_platform_admin(caller),
        principal: caller.id.to_string(),
        workspace,
        permissions,
    }))
}

#[utoipa::path(get, path = "/apis/auth/v2/workspaces/{workspace}/who-can", tag = "Auth",
    params(("workspace" = String, Path), ("permission" = String, Query)),
    responses((status = 200, body = wire::WhoCan), (status = 403, body = ErrorDetail), (status = 422, body = HttpValidationError)))]
async fn who_can(
    State(state): State<AppState>,
    Path(workspace): Path<String>,
    query: Query,
) -> ApiResult<Json<wire::WhoCan>> {
    require_auth(&state)?;
    let permission = permission_param(&state, &query, true)?.unwrap_or_default();
    let holders = policy::who_can(&permission, &workspace, &state.access.policy, &state.access.index())
        .into_iter()
        .map(|holder| wire::WhoCanHolder {
            via: if holder.platform_admin {
                "platform_admin"
            } else if holder.principal == nmp_core::WILDCARD_PRINCIPAL {
                "wildcard"
            } else {
                "binding"
            }
            .to_string(),
            principal: holder.principal,
            role: holder.role,
            workspace: holder.workspace,
        })
        .collect();
    Ok(Json(wire::WhoCan { workspace, permission, holders }))
}
