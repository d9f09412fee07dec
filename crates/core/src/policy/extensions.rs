//! Operator extensions to the shipped policy, read from the platform YAML config at deploy time:
//! extra endpoints (for services we do not ship) and extra or extended roles.
//!
//! The serde shapes reject unknown keys, so a typo in the config names the key instead of being
//! silently ignored (ADR 0002). Validation happens when they are merged into `PolicyData`.

use serde::{Deserialize, Serialize};

/// Everything an operator may add to the shipped policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyExtensions {
    #[serde(default)]
    pub endpoints: Vec<EndpointSpec>,
    #[serde(default)]
    pub roles: Vec<RoleSpec>,
}

impl PolicyExtensions {
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty() && self.roles.is_empty()
    }
}

/// One route rule: a method and path pattern, the permissions it needs (all of them; empty means
/// "any authenticated caller") and the token scopes it accepts (any one; empty means none needed).
///
/// A permission in a namespace the platform already uses (`models.`, `jobs.`, ...) must be a
/// registered one, which catches typos; a permission in a new namespace is registered by the
/// endpoint that uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Deny this route to everyone (overrides every allow, including PlatformAdmin).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deny: bool,
    /// Restrict the route to one kind of caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callers: Option<Callers>,
}

/// Which kind of caller a route accepts (the reference's `@path_rule(callers=...)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Callers {
    /// Users and service accounts only; `service:` principals are denied.
    Principal,
    /// Internal `service:` principals only (and PlatformAdmin).
    ServicePrincipal,
}

impl Callers {
    pub fn as_str(self) -> &'static str {
        match self {
            Callers::Principal => "principal",
            Callers::ServicePrincipal => "service_principal",
        }
    }
}

/// A role to add, or, when the name is an existing role, grants to add to it (never remove:
/// a deploy-time config must not be able to narrow the shipped roles silently).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    pub name: String,
    #[serde(default)]
    pub includes: Vec<String>,
    #[serde(default)]
    pub permissions: Vec<String>,
}
