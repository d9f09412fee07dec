//! The access decision: `decide(request, policy, index) -> Decision`, a pure function with the
//! semantics of `docs/reference-behaviour.md#how-the-policy-decides` and ADRs 0012–0014, plus the
//! `has_permissions` and `has_role` questions services ask. The Rego in `crates/core/policy/rego/`
//! decides identically (tested).
//!
//! Order: health paths are open; anonymous callers get nothing else; explicit denies override
//! every allow; then PlatformAdmin, unmatched service paths, the scope layer and the role layer.

use std::sync::LazyLock;

use smallvec::SmallVec;

use super::data::{upper_case, PolicyData, Route};
use super::extensions::Callers;
use super::grammar::{is_read_method, is_write_method};
use super::index::{BindingIndex, Resolved, PLATFORM_ADMIN_ROLE};
use super::pattern::{path_segments, strip_query, PathPattern};
use crate::{Principal, SYSTEM_WORKSPACE};

/// Paths open to everyone, any method (rule 9).
pub const HEALTH_PATHS: &[&str] = &["/health/live", "/health/ready", "/status", "/metrics"];
/// The workspace segment meaning "all workspaces" (cross-workspace listings).
pub const ALL_WORKSPACES: &str = "-";
/// Direct secret-value reads: for service principals only, even PlatformAdmin is denied.
pub const SECRET_ACCESS_PATTERN: &str = "/apis/secrets/v2/workspaces/{workspace}/secrets/{name}/access";
/// The OPA bundle: needs `iam.bundle.read` in `system` whatever route data says.
pub const BUNDLE_PATH: &str = "/apis/auth/v2/iam/opa-bundle.tar.gz";
pub const BUNDLE_PERMISSION: &str = "iam.bundle.read";
/// Prefix of the entity store; only some of its routes are open to ordinary principals.
pub const ENTITIES_PREFIX: &str = "/apis/entities/v2/";

/// One request to decide on. `principal: None` is an anonymous request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub principal: Option<&'a Principal>,
    pub method: &'a str,
    /// The request path, with or without its query string.
    pub path: &'a str,
}

/// The answer, with why, and what the matched route asked for. It borrows every string it
/// names from the policy and the request (`'a` is the shorter of the two), so deciding copies
/// no string and allocates nothing on the allow paths of ordinary requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'a> {
    pub verdict: Verdict<'a>,
    /// The workspace the matched endpoint names (`-` = all workspaces).
    pub workspace: Option<&'a str>,
    /// The matched endpoint pattern.
    pub endpoint: Option<&'a str>,
    pub required_permissions: &'a [String],
    /// Scopes the endpoint accepts (any one); for `WWW-Authenticate: ... scope="..."`.
    pub accepted_scopes: &'a [String],
}

/// Allowed or denied, each with the rule that decided: a denial reason cannot sit on an allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'a> {
    Allow(Allow<'a>),
    Deny(Deny<'a>),
}

/// Why a request is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allow<'a> {
    HealthPath,
    PlatformAdmin,
    /// A `service:` principal on a path no endpoint describes.
    ServiceUnmatchedPath,
    /// The principal's roles in `workspace` grant every required permission.
    RoleGrants {
        workspace: &'a str,
        /// The policy's names of the roles that contributed, sorted.
        roles: Vec<&'a str>,
    },
    /// The endpoint needs no permission, only an authenticated caller.
    Authenticated,
    /// GET/HEAD across all workspaces (`-`); the service filters the results.
    AllWorkspacesRead,
    /// An external PDP allowed what the embedded policy would deny (it is the one enforced).
    ExternalPdp,
}

/// Why a request is denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deny<'a> {
    /// No principal: the server answers 401, every other denial is 403.
    Anonymous,
    NoMatchingEndpoint,
    MissingScope,
    /// No role at all in the workspace (the server hides whether it exists: ADR 0014).
    NoBinding {
        workspace: &'a str,
    },
    /// Some role in the workspace, but not one granting every required permission.
    MissingPermissions {
        workspace: &'a str,
        missing: Vec<&'a str>,
    },
    /// Writes across all workspaces are for service principals only.
    AllWorkspacesWrite,
    ExplicitDeny(DenyRule),
    /// An external PDP denied what the embedded policy would allow (it is the one enforced).
    ExternalPdp,
}

/// The explicit denies (`docs/reference-behaviour.md#explicit-denies`), which override every allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyRule {
    /// The endpoint entry itself says `deny`.
    EndpointDenied,
    /// Secret values are read only through service delegation.
    SecretAccess,
    /// The policy bundle needs `iam.bundle.read` in `system`.
    Bundle,
    /// Entity-store routes other than workspaces and their members/projects/entities.
    EntitiesPath,
    /// The route accepts only service principals.
    ServiceCallersOnly,
    /// The route does not accept service principals.
    PrincipalCallersOnly,
    /// No endpoint data at all: fail closed.
    NoPolicyData,
    /// The PDP endpoints answer service principals only (even a PlatformAdmin is refused).
    PdpServiceOnly,
}

impl Allow<'_> {
    /// The variant name, stable for logs and fixtures.
    pub fn kind(&self) -> &'static str {
        match self {
            Allow::HealthPath => "HealthPath",
            Allow::PlatformAdmin => "PlatformAdmin",
            Allow::ServiceUnmatchedPath => "ServiceUnmatchedPath",
            Allow::RoleGrants { .. } => "RoleGrants",
            Allow::Authenticated => "Authenticated",
            Allow::AllWorkspacesRead => "AllWorkspacesRead",
            Allow::ExternalPdp => "ExternalPdp",
        }
    }
}

impl Deny<'_> {
    /// The variant name, stable for logs and fixtures.
    pub fn kind(&self) -> &'static str {
        match self {
            Deny::Anonymous => "Anonymous",
            Deny::NoMatchingEndpoint => "NoMatchingEndpoint",
            Deny::MissingScope => "MissingScope",
            Deny::NoBinding { .. } => "NoBinding",
            Deny::MissingPermissions { .. } => "MissingPermissions",
            Deny::AllWorkspacesWrite => "AllWorkspacesWrite",
            Deny::ExplicitDeny(_) => "ExplicitDeny",
            Deny::ExternalPdp => "ExternalPdp",
        }
    }
}

impl Verdict<'_> {
    /// The variant name of the reason, stable for logs and fixtures.
    pub fn kind(&self) -> &'static str {
        match self {
            Verdict::Allow(allow) => allow.kind(),
            Verdict::Deny(deny) => deny.kind(),
        }
    }
}

impl<'a> Decision<'a> {
    pub fn allowed(&self) -> bool {
        matches!(self.verdict, Verdict::Allow(_))
    }

    /// Why it was denied; `None` when allowed.
    pub fn denial(&self) -> Option<&Deny<'a>> {
        match &self.verdict {
            Verdict::Deny(deny) => Some(deny),
            Verdict::Allow(_) => None,
        }
    }

    /// Denied because nobody was identified: the server answers 401 rather than 403.
    pub fn is_anonymous_denial(&self) -> bool {
        self.denial() == Some(&Deny::Anonymous)
    }

    /// The name of the rule that decided, for logs and fixtures.
    pub fn reason_kind(&self) -> &'static str {
        self.verdict.kind()
    }
}

/// Decide one request.
pub fn decide<'a>(request: &Request<'a>, policy: &'a PolicyData, index: &BindingIndex) -> Decision<'a> {
    decide_observed(request, policy, index, &mut NoObserver)
}

/// One layer of the decision, in the order [`decide`] evaluates them. An [`Observer`] hears of
/// each layer reached and whether the request got past it, so an explanation can show the path
/// the decision took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// Health paths are open to everyone (passed = not a health path).
    HealthPath,
    /// A principal with at least one identity (id, email or group).
    Identified,
    /// No explicit deny applies.
    ExplicitDenies,
    /// PlatformAdmin bypass (passed = not a PlatformAdmin, so the other layers decide).
    PlatformAdmin,
    /// An endpoint of the map matches the method and path.
    Route,
    /// The token carries one of the accepted scopes (or needs none).
    Scopes,
    /// The endpoint needs no permission (passed = it needs some, so roles decide).
    PermissionFree,
    /// Cross-workspace (`-`) rules.
    AllWorkspaces,
    /// The principal's roles in the workspace grant every required permission.
    Roles,
}

/// Hears the layers [`decide`] goes through. Every method defaults to doing nothing, and
/// `decide` itself passes an observer that does nothing, so the plain decision pays nothing.
pub(crate) trait Observer {
    /// `layer` was evaluated; `passed` says whether the request went on to the next layer.
    fn layer(&mut self, _layer: Layer, _passed: bool) {}
    /// The role layer read exactly these effective roles of the principal in `workspace`
    /// (distinct, in no particular order).
    fn roles(&mut self, _workspace: &str, _roles: &[&str]) {}
}

struct NoObserver;
impl Observer for NoObserver {}

/// [`decide`], telling `observer` about each layer. The one implementation of the decision:
/// `decide` and `explain` both run it.
pub(crate) fn decide_observed<'a>(
    request: &Request<'a>,
    policy: &'a PolicyData,
    index: &BindingIndex,
    observer: &mut impl Observer,
) -> Decision<'a> {
    let method = upper_case(request.method);
    let path = strip_query(request.path);
    let segments = path_segments(path);
    let route = policy.route_segments(&method, &segments);
    let answer = |verdict: Verdict<'a>| Decision {
        verdict,
        workspace: route.and_then(|r| r.workspace),
        endpoint: route.map(|r| r.endpoint.pattern.as_str()),
        required_permissions: route.map_or(&[][..], |r| &r.endpoint.permissions[..]),
        accepted_scopes: route.map_or(&[][..], |r| &r.endpoint.scopes[..]),
    };

    let health = HEALTH_PATHS.contains(&path);
    observer.layer(Layer::HealthPath, !health);
    if health {
        return answer(Verdict::Allow(Allow::HealthPath));
    }
    let principal = match request.principal {
        Some(principal) if principal.is_identified() => principal,
        _ => {
            observer.layer(Layer::Identified, false);
            return answer(Verdict::Deny(Deny::Anonymous));
        }
    };
    observer.layer(Layer::Identified, true);
    // The caller's identities as index ids, once for every lookup below.
    let who = index.resolve(principal);
    if let Some(rule) = explicit_deny(&who, path, &segments, route, policy, index) {
        observer.layer(Layer::ExplicitDenies, false);
        return answer(Verdict::Deny(Deny::ExplicitDeny(rule)));
    }
    observer.layer(Layer::ExplicitDenies, true);
    if index.is_resolved_platform_admin(&who) {
        observer.layer(Layer::PlatformAdmin, false);
        return answer(Verdict::Allow(Allow::PlatformAdmin));
    }
    observer.layer(Layer::PlatformAdmin, true);
    let Some(route) = route else {
        observer.layer(Layer::Route, false);
        return if principal.is_service() {
            answer(Verdict::Allow(Allow::ServiceUnmatchedPath))
        } else {
            answer(Verdict::Deny(Deny::NoMatchingEndpoint))
        };
    };
    observer.layer(Layer::Route, true);
    if !scopes_allow(principal.scopes.as_deref(), &route.endpoint.scopes) {
        observer.layer(Layer::Scopes, false);
        return answer(Verdict::Deny(Deny::MissingScope));
    }
    observer.layer(Layer::Scopes, true);
    if route.endpoint.permissions.is_empty() {
        observer.layer(Layer::PermissionFree, false);
        return answer(Verdict::Allow(Allow::Authenticated));
    }
    observer.layer(Layer::PermissionFree, true);
    let verdict = match route.workspace {
        Some(ALL_WORKSPACES) if is_read_method(&method) => {
            observer.layer(Layer::AllWorkspaces, false);
            Verdict::Allow(Allow::AllWorkspacesRead)
        }
        Some(ALL_WORKSPACES) if !(is_write_method(&method) && principal.is_service()) => {
            observer.layer(Layer::AllWorkspaces, false);
            Verdict::Deny(Deny::AllWorkspacesWrite)
        }
        Some(workspace) => role_check(&who, workspace, &route.endpoint.permissions, policy, index, observer),
        None => role_check(&who, SYSTEM_WORKSPACE, &route.endpoint.permissions, policy, index, observer),
    };
    answer(verdict)
}

/// The token-scope layer: skipped when the token has no scopes or only colon-less ones
/// (`openid`, `profile`, ...); otherwise one accepted scope must be present.
pub fn scopes_allow(token_scopes: Option<&[String]>, accepted: &[String]) -> bool {
    let Some(token_scopes) = token_scopes else { return true };
    if !token_scopes.iter().any(|scope| scope.contains(':')) || accepted.is_empty() {
        return true;
    }
    accepted.iter().any(|scope| token_scopes.contains(scope))
}

fn role_check<'a>(
    who: &Resolved<'_>,
    workspace: &'a str,
    permissions: &'a [String],
    policy: &'a PolicyData,
    index: &BindingIndex,
    observer: &mut impl Observer,
) -> Verdict<'a> {
    // The distinct effective roles, borrowed from the index: a handful, so a vector beats a set.
    let mut roles: SmallVec<[&str; 8]> = SmallVec::new();
    index.any_resolved_role(who, workspace, |role| {
        if !roles.contains(&role) {
            roles.push(role);
        }
        false
    });
    observer.roles(workspace, &roles);
    if roles.is_empty() {
        observer.layer(Layer::Roles, false);
        return Verdict::Deny(Deny::NoBinding { workspace });
    }
    let missing = missing_permissions(&roles, permissions, policy);
    observer.layer(Layer::Roles, missing.is_empty());
    if missing.is_empty() {
        // Name only the roles that contributed, so a log line says why; by the policy's own
        // names (a role that grants something is one the policy defines).
        let mut granting: Vec<&'a str> = roles
            .into_iter()
            .filter_map(|role| policy.role(role))
            .filter(|role| permissions.iter().any(|p| role.grants(p)))
            .map(|role| role.name.as_str())
            .collect();
        granting.sort_unstable();
        Verdict::Allow(Allow::RoleGrants { workspace, roles: granting })
    } else {
        Verdict::Deny(Deny::MissingPermissions { workspace, missing })
    }
}

fn missing_permissions<'a>(roles: &[&str], permissions: &'a [String], policy: &PolicyData) -> Vec<&'a str> {
    permissions
        .iter()
        .filter(|permission| !roles.iter().any(|role| policy.role_grants(role, permission)))
        .map(String::as_str)
        .collect()
}

fn explicit_deny(
    who: &Resolved<'_>,
    path: &str,
    segments: &[&str],
    route: Option<Route<'_>>,
    policy: &PolicyData,
    index: &BindingIndex,
) -> Option<DenyRule> {
    let is_service = who.principal().is_service();
    if policy.endpoints().is_empty() {
        return Some(DenyRule::NoPolicyData);
    }
    if route.is_some_and(|route| route.endpoint.deny) {
        return Some(DenyRule::EndpointDenied);
    }
    if !is_service && super::surface::is_pdp_path(path) {
        return Some(DenyRule::PdpServiceOnly);
    }
    if !is_service && SECRET_ACCESS.matches(segments) {
        return Some(DenyRule::SecretAccess);
    }
    if path == BUNDLE_PATH
        && !index.any_resolved_role(who, SYSTEM_WORKSPACE, |role| policy.role_grants(role, BUNDLE_PERMISSION))
    {
        return Some(DenyRule::Bundle);
    }
    let privileged = || is_service || index.is_resolved_platform_admin(who);
    if path.starts_with(ENTITIES_PREFIX) && !is_open_entities_path(segments) && !privileged() {
        return Some(DenyRule::EntitiesPath);
    }
    match route.and_then(|route| route.endpoint.callers) {
        Some(Callers::ServicePrincipal) if !privileged() => Some(DenyRule::ServiceCallersOnly),
        Some(Callers::Principal) if is_service => Some(DenyRule::PrincipalCallersOnly),
        _ => None,
    }
}

static SECRET_ACCESS: LazyLock<PathPattern> = LazyLock::new(|| {
    PathPattern::parse(SECRET_ACCESS_PATTERN).expect("the constant secret-access pattern parses")
});

/// Entity-store paths open to ordinary principals: the workspace collection, one workspace,
/// and `members`/`projects`/`entities` under a named workspace (not `-`).
fn is_open_entities_path(segments: &[&str]) -> bool {
    // ["", "apis", "entities", "v2", "workspaces", w, sub, ...]
    let in_workspaces = segments.len() >= 5 && segments[4] == "workspaces";
    match segments.len() {
        5 => in_workspaces,
        6 => in_workspaces && !segments[5].is_empty(),
        _ => {
            in_workspaces
                && !segments[5].is_empty()
                && segments[5] != ALL_WORKSPACES
                && matches!(segments[6], "members" | "projects" | "entities")
        }
    }
}

/// `has_permissions`: PlatformAdmin (in `system`) holds everything; otherwise the principal's
/// effective roles must grant every permission, each checked in `workspace` or, for the
/// `<workspace>/<permission>` form, in the workspace it names. Anonymous holds nothing.
pub fn has_permissions(
    principal: &Principal,
    workspace: &str,
    permissions: &[&str],
    policy: &PolicyData,
    index: &BindingIndex,
) -> bool {
    if !principal.is_identified() {
        return false;
    }
    if index.is_platform_admin(principal) {
        return true;
    }
    permissions.iter().all(|qualified| {
        let (workspace, permission) = qualified.split_once('/').unwrap_or((workspace, qualified));
        index.any_effective_role(principal, workspace, |role| policy.role_grants(role, permission))
    })
}

/// `has_role`: the exact role is among the principal's effective roles in `workspace`
/// (`*` bindings and the service default included; no inheritance, no PlatformAdmin bypass).
pub fn has_role(
    principal: &Principal,
    workspace: &str,
    role: &str,
    _policy: &PolicyData,
    index: &BindingIndex,
) -> bool {
    index.holds_role(principal, workspace, role)
}

/// Whether `principal` is a PlatformAdmin (bound in `system`, directly, by group or via `*`).
pub fn is_platform_admin(principal: &Principal, index: &BindingIndex) -> bool {
    index.holds_role(principal, SYSTEM_WORKSPACE, PLATFORM_ADMIN_ROLE)
}
