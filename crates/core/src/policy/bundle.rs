//! What OPA needs to decide like the embedded PDP: the shipped Rego sources and the data
//! document (`{"authz": {...}}`) built from the policy and the current bindings. The server wraps
//! both into the bundle at `/apis/auth/v2/iam/opa-bundle.tar.gz` (ADR 0018).

use serde_json::{json, Map, Value};

use super::data::PolicyData;
use super::decide::{
    ALL_WORKSPACES, BUNDLE_PATH, BUNDLE_PERMISSION, ENTITIES_PREFIX, HEALTH_PATHS, SECRET_ACCESS_PATTERN,
};
use super::index::{BindingIndex, PLATFORM_ADMIN_ROLE, SERVICE_DEFAULT_ROLE};
use super::load::MAX_INCLUDE_DEPTH;
use crate::principal::SERVICE_PREFIX;
use crate::{SYSTEM_WORKSPACE, WILDCARD_PRINCIPAL};

/// The Rego policy files, `(file name, content)`, package `authz`.
pub fn rego_sources() -> Vec<(&'static str, &'static str)> {
    vec![
        ("authz.rego", include_str!("../../policy/rego/authz.rego")),
        ("common.rego", include_str!("../../policy/rego/common.rego")),
    ]
}

/// The data document the Rego reads, deterministic for a given policy and index (maps are
/// sorted), so the bundle's revision changes only when the data does.
pub fn bundle_data(policy: &PolicyData, index: &BindingIndex) -> Value {
    let mut principals: Vec<(&str, Value)> = index
        .entries()
        .map(|(identity, workspaces)| {
            let workspaces: Map<String, Value> =
                workspaces.iter().map(|(workspace, roles)| (workspace.to_string(), json!(roles))).collect();
            (identity, json!({ "workspaces": workspaces }))
        })
        .collect();
    principals.sort_by(|a, b| a.0.cmp(b.0));
    let principals: Map<String, Value> =
        principals.into_iter().map(|(identity, value)| (identity.to_string(), value)).collect();

    let roles: Map<String, Value> = policy
        .roles()
        .iter()
        .map(|role| {
            let value = json!({
                "includes": role.includes,
                "permissions": role.own_permissions,
            });
            (role.name.clone(), value)
        })
        .collect();

    let endpoints: Vec<Value> = policy
        .endpoints()
        .iter()
        .map(|endpoint| {
            json!({
                "method": endpoint.method,
                "path": endpoint.pattern.as_str(),
                "permissions": &*endpoint.permissions,
                "scopes": &*endpoint.scopes,
                "deny": endpoint.deny,
                "callers": endpoint.callers.map(|callers| callers.as_str()),
            })
        })
        .collect();

    json!({
        "authz": {
            "principals": principals,
            "roles": roles,
            "permissions": policy.permissions(),
            "endpoints": endpoints,
            "config": {
                "health_paths": HEALTH_PATHS,
                "system_workspace": SYSTEM_WORKSPACE,
                "all_workspaces": ALL_WORKSPACES,
                "wildcard_principal": WILDCARD_PRINCIPAL,
                "service_prefix": SERVICE_PREFIX,
                "platform_admin_role": PLATFORM_ADMIN_ROLE,
                "service_default_role": SERVICE_DEFAULT_ROLE,
                "bundle_path": BUNDLE_PATH,
                "bundle_permission": BUNDLE_PERMISSION,
                "secret_access_pattern": SECRET_ACCESS_PATTERN,
                "entities_prefix": ENTITIES_PREFIX,
                "pdp_prefix": super::surface::PDP_PREFIX,
                "max_include_depth": MAX_INCLUDE_DEPTH,
            },
        }
    })
}

/// The identity part of a PDP input: `principal_id`, `principal_email`, `principal_groups`
/// (absent fields for an anonymous request).
pub fn identity_input(principal: Option<&crate::Principal>) -> Map<String, Value> {
    let mut input = Map::new();
    if let Some(principal) = principal {
        input.insert("principal_id".into(), json!(principal.id));
        if let Some(email) = &principal.email {
            input.insert("principal_email".into(), json!(email));
        }
        input.insert("principal_groups".into(), json!(principal.groups));
    }
    input
}

/// The `allow` input of the PDP (`docs/reference-behaviour.md#the-pdp-endpoint`), as the embedded
/// endpoint and OPA receive it.
pub fn allow_input(principal: Option<&crate::Principal>, method: &str, path: &str) -> Value {
    let mut input = identity_input(principal);
    input.insert("method".into(), json!(method));
    input.insert("path".into(), json!(path));
    if let Some(scopes) = principal.and_then(|p| p.scopes.as_ref()) {
        input.insert("scopes".into(), json!(scopes));
    }
    Value::Object(input)
}
