//! Explanations: why a request is allowed or denied, and the smallest change that would allow
//! it. `explain` runs the one decision implementation ([`super::decide`] is the same function
//! with a silent observer), records the layers it went through and the roles it read, and adds
//! where those roles come from (id, email, group, `*`) and what would change the answer.
//!
//! An explanation says nothing about other principals' bindings: only the subject's own roles
//! and what the policy data says (which roles grant a permission). So explaining a request on
//! a workspace the subject holds no role in reads the same whether that workspace exists or not.

use super::data::{Grants, PolicyData};
use super::decide::{decide_observed, Decision, Deny, DenyRule, Layer, Observer, Request, ALL_WORKSPACES};
use super::grants::{IMPLICIT_ROLES, PLATFORM_ROLES};
use super::index::{BindingIndex, PLATFORM_ADMIN_ROLE, SERVICE_DEFAULT_ROLE};
use super::pattern::strip_query;
use crate::{Principal, SYSTEM_WORKSPACE, WILDCARD_PRINCIPAL};

/// The answer to "why?": the decision itself plus what it was made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation<'a> {
    /// Exactly what [`super::decide`] answers for the same request.
    pub decision: Decision<'a>,
    /// The method as decided (upper case) and the path without its query string.
    pub method: String,
    pub path: String,
    /// The identities the decision matched bindings against, `*` last; empty when anonymous.
    pub identities: Vec<Identity>,
    /// The token's scopes, `None` when it carried no scope claim.
    pub token_scopes: Option<Vec<String>>,
    /// The layers the decision went through, in order, and whether the request got past each.
    pub layers: Vec<(Layer, bool)>,
    /// The workspace whose roles count for this request (the route's, or `system` for
    /// platform-level routes); `None` when no endpoint matched or it concerns all workspaces.
    pub role_workspace: Option<String>,
    /// The subject's roles there (and a PlatformAdmin binding in `system`), with their source.
    pub role_sources: Vec<RoleSource>,
    /// Roles that on their own grant every permission the endpoint needs there, least first.
    pub granting_roles: Vec<String>,
    /// What would turn a denial into an allow.
    pub remedy: Remedy,
}

/// One identity of the subject, and why it counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub value: String,
    pub kind: IdentityKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKind {
    Id,
    Email,
    Group,
    /// `*`: bindings to every authenticated principal.
    Wildcard,
}

impl IdentityKind {
    pub fn name(self) -> &'static str {
        match self {
            IdentityKind::Id => "id",
            IdentityKind::Email => "email",
            IdentityKind::Group => "group",
            IdentityKind::Wildcard => "wildcard",
        }
    }
}

/// A role the subject holds in a workspace, and through what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSource {
    pub workspace: String,
    pub role: String,
    /// The binding's principal: one of the subject's identities or `*`; `None` for the implicit
    /// `ServiceSystem` role of a service principal without bindings.
    pub through: Option<Identity>,
    /// Which of the endpoint's required permissions this role grants.
    pub grants: Vec<String>,
}

/// What would allow a denied request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remedy {
    /// Nothing to change: the request is allowed.
    NotNeeded,
    /// Apply all of these and the same request is allowed.
    Changes(Vec<Change>),
    /// No change of bindings or scopes allows it; the reason says why.
    Impossible(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The token must carry `scope` (any one of `accepted` would do).
    AddScope { scope: String, accepted: Vec<String> },
    /// Bind `role` to `principal` in `workspace`.
    Grant { principal: String, workspace: String, role: String },
}

/// Records what `decide_observed` reports.
#[derive(Default)]
struct Recorder {
    layers: Vec<(Layer, bool)>,
    /// The workspace whose roles the role layer read (the roles themselves are the index's
    /// `effective_roles` there, which `role_sources` attributes).
    roles_read: Option<String>,
    /// The role layer found no role at all there (nothing to attribute).
    no_roles: bool,
}

impl Observer for Recorder {
    fn layer(&mut self, layer: Layer, passed: bool) {
        self.layers.push((layer, passed));
    }

    fn roles(&mut self, workspace: &str, roles: &[&str]) {
        self.roles_read = Some(workspace.to_string());
        self.no_roles = roles.is_empty();
    }
}

/// Explain one request. `explain(r, p, i).decision == decide(r, p, i)` always.
pub fn explain<'a>(request: &Request<'a>, policy: &'a PolicyData, index: &BindingIndex) -> Explanation<'a> {
    let mut recorder = Recorder { layers: Vec::with_capacity(9), roles_read: None, no_roles: false };
    let decision = decide_observed(request, policy, index, &mut recorder);
    // Identified exactly when the decision found an identity (its `Identified` layer passed).
    let identified = recorder.layers.contains(&(Layer::Identified, true));
    let principal = request.principal.filter(|_| identified);
    let role_workspace = match (recorder.roles_read, decision.endpoint.is_some()) {
        (Some(workspace), _) => Some(workspace),
        (None, true) => match decision.workspace {
            Some(ALL_WORKSPACES) => None,
            Some(workspace) => Some(workspace.to_string()),
            None => Some(SYSTEM_WORKSPACE.to_string()),
        },
        (None, false) => None,
    };
    let identities = principal.map(identities_of).unwrap_or_default();
    let mut role_sources = Vec::new();
    if let Some(principal) = principal {
        if let Some(workspace) = role_workspace.as_ref().filter(|_| !recorder.no_roles) {
            let required = &decision.required_permissions;
            sources_into(&mut role_sources, principal, &identities, workspace, required, policy, index);
        }
        // Past the PlatformAdmin layer means there is no PlatformAdmin binding to show.
        let not_platform_admin = recorder.layers.contains(&(Layer::PlatformAdmin, true));
        if role_workspace.as_deref() != Some(SYSTEM_WORKSPACE) && !not_platform_admin {
            let platform_admin = identities.iter().filter(|identity| {
                index.roles_of(&identity.value, SYSTEM_WORKSPACE).any(|role| role == PLATFORM_ADMIN_ROLE)
            });
            role_sources.extend(platform_admin.map(|identity| RoleSource {
                workspace: SYSTEM_WORKSPACE.to_string(),
                role: PLATFORM_ADMIN_ROLE.to_string(),
                through: Some(identity.clone()),
                grants: Vec::new(),
            }));
        }
    }
    let granting_roles = match &role_workspace {
        Some(workspace) if !decision.required_permissions.is_empty() => {
            roles_granting(policy, workspace, decision.required_permissions)
        }
        _ => Vec::new(),
    };
    let grantee = identities.first().map(|identity| identity.value.as_str());
    let remedy = remedy(request, principal.zip(grantee), &decision, &granting_roles, policy, index);
    Explanation {
        method: request.method.to_ascii_uppercase(),
        path: strip_query(request.path).to_string(),
        identities,
        token_scopes: principal.and_then(|p| p.scopes.clone()),
        layers: recorder.layers,
        role_workspace,
        role_sources,
        granting_roles,
        remedy,
        decision,
    }
}

/// The subject's identities as the decision matches them, `*` last.
fn identities_of(principal: &Principal) -> Vec<Identity> {
    let mut out: Vec<Identity> = principal
        .identities()
        .into_iter()
        .map(|value| {
            let kind = if value == principal.id {
                IdentityKind::Id
            } else if principal.email.as_deref() == Some(value) {
                IdentityKind::Email
            } else {
                IdentityKind::Group
            };
            Identity { value: value.to_string(), kind }
        })
        .collect();
    out.push(Identity { value: WILDCARD_PRINCIPAL.to_string(), kind: IdentityKind::Wildcard });
    out
}

/// Where each of the subject's effective roles in `workspace` comes from. The roles are those
/// `BindingIndex::effective_roles` gives (a property test holds the two equal).
pub fn role_sources_in(
    principal: &Principal,
    workspace: &str,
    required: &[String],
    policy: &PolicyData,
    index: &BindingIndex,
) -> Vec<RoleSource> {
    let mut sources = Vec::new();
    sources_into(&mut sources, principal, &identities_of(principal), workspace, required, policy, index);
    sources
}

fn sources_into(
    sources: &mut Vec<RoleSource>,
    principal: &Principal,
    identities: &[Identity],
    workspace: &str,
    required: &[String],
    policy: &PolicyData,
    index: &BindingIndex,
) {
    let grants = |role: &str| -> Vec<String> {
        required.iter().filter(|permission| policy.role_grants(role, permission)).cloned().collect()
    };
    for identity in identities {
        // Sorted, as `effective_roles` gives them.
        let mut roles: Vec<&str> = index.roles_of(&identity.value, workspace).collect();
        roles.sort_unstable();
        for role in roles {
            sources.push(RoleSource {
                workspace: workspace.to_string(),
                role: role.to_string(),
                through: Some(identity.clone()),
                grants: grants(role),
            });
        }
    }
    if principal.is_service() && !index.has_any_binding(&principal.id) {
        sources.push(RoleSource {
            workspace: workspace.to_string(),
            role: SERVICE_DEFAULT_ROLE.to_string(),
            through: None,
            grants: grants(SERVICE_DEFAULT_ROLE),
        });
    }
}

/// Grantable roles in `workspace` that grant every one of `permissions`, fewest permissions
/// first (then declaration order).
pub fn roles_granting<P: AsRef<str>>(policy: &PolicyData, workspace: &str, permissions: &[P]) -> Vec<String> {
    let Some((first, others)) = permissions.split_first() else { return Vec::new() };
    let mut candidates: Vec<(usize, &str)> = policy
        .roles_granting_permission(first.as_ref())
        .filter(|role| is_grantable(workspace, &role.name))
        .filter(|role| others.iter().all(|permission| role.grants(permission.as_ref())))
        .map(|role| {
            let size = match &role.grants {
                Grants::All => usize::MAX,
                Grants::Some(set) => set.len(),
            };
            (size, role.name.as_str())
        })
        .collect();
    // Ties in size keep declaration order (the sort is stable).
    candidates.sort_by_key(|(size, _)| *size);
    candidates.into_iter().map(|(_, name)| name.to_string()).collect()
}

/// `PolicyData::check_grantable` for a role known to exist, without building its error (a
/// property test checks every suggested role with `check_grantable` itself).
fn is_grantable(workspace: &str, role: &str) -> bool {
    !IMPLICIT_ROLES.contains(&role) && (workspace == SYSTEM_WORKSPACE || !PLATFORM_ROLES.contains(&role))
}

/// `granting` is `roles_granting` for every required permission in the role workspace.
fn remedy(
    request: &Request<'_>,
    principal: Option<(&Principal, &str)>,
    decision: &Decision,
    granting: &[String],
    policy: &PolicyData,
    index: &BindingIndex,
) -> Remedy {
    let Some(deny) = decision.denial() else { return Remedy::NotNeeded };
    // `grantee`: the principal's first identity, the one a direct binding names.
    let Some((principal, grantee)) = principal else {
        return Remedy::Impossible("no identity: authenticate first (the server answers 401)");
    };
    let grantee = grantee.to_string();
    let grant = |workspace: &str, missing: &[&str]| -> Change {
        let role = roles_granting(policy, workspace, missing).into_iter().next();
        match role {
            Some(role) => {
                Change::Grant { principal: grantee.clone(), workspace: workspace.to_string(), role }
            }
            // No single role grants them all there: PlatformAdmin bypasses every role check.
            None => platform_admin(&grantee),
        }
    };
    match deny {
        Deny::Anonymous => Remedy::Impossible("no identity: authenticate first (the server answers 401)"),
        Deny::NoMatchingEndpoint => Remedy::Impossible("no endpoint matches this method and path"),
        Deny::AllWorkspacesWrite => {
            Remedy::Impossible("writes across all workspaces are for service principals only")
        }
        Deny::ExternalPdp => Remedy::Impossible("the external policy decision point denied it"),
        // `granting` already lists the roles granting every required permission there.
        Deny::NoBinding { workspace } => Remedy::Changes(vec![match granting.first() {
            Some(role) => Change::Grant {
                principal: grantee.clone(),
                workspace: workspace.to_string(),
                role: role.clone(),
            },
            None => {
                let required: Vec<&str> = decision.required_permissions.iter().map(String::as_str).collect();
                grant(workspace, &required)
            }
        }]),
        Deny::MissingPermissions { workspace, missing } => Remedy::Changes(vec![grant(workspace, missing)]),
        Deny::MissingScope => {
            let Some(scope) = decision.accepted_scopes.first().cloned() else {
                return Remedy::Impossible("the endpoint accepts no scope");
            };
            let mut changes =
                vec![Change::AddScope { scope: scope.clone(), accepted: decision.accepted_scopes.to_vec() }];
            // With the scope, the remaining layers decide: ask the decision again.
            let mut scoped = principal.clone();
            scoped.scopes.get_or_insert_with(Vec::new).push(scope);
            let again = Request { principal: Some(&scoped), ..*request };
            let decision = super::decide(&again, policy, index);
            match remedy(&again, Some((&scoped, &grantee)), &decision, granting, policy, index) {
                Remedy::NotNeeded => Remedy::Changes(changes),
                Remedy::Changes(more) => {
                    changes.extend(more);
                    Remedy::Changes(changes)
                }
                impossible @ Remedy::Impossible(_) => impossible,
            }
        }
        Deny::ExplicitDeny(rule) => match rule {
            DenyRule::Bundle | DenyRule::EntitiesPath | DenyRule::ServiceCallersOnly => {
                Remedy::Changes(vec![platform_admin(&grantee)])
            }
            DenyRule::EndpointDenied => {
                Remedy::Impossible("the endpoint map denies this endpoint to everyone")
            }
            DenyRule::SecretAccess => {
                Remedy::Impossible("secret values are read only by services acting for a user")
            }
            DenyRule::PrincipalCallersOnly => {
                Remedy::Impossible("this endpoint does not accept service principals")
            }
            DenyRule::NoPolicyData => {
                Remedy::Impossible("no endpoint data is loaded: every request is denied")
            }
            DenyRule::PdpServiceOnly => {
                Remedy::Impossible("the policy decision endpoints answer service principals only")
            }
        },
    }
}

fn platform_admin(grantee: &str) -> Change {
    Change::Grant {
        principal: grantee.to_string(),
        workspace: SYSTEM_WORKSPACE.to_string(),
        role: PLATFORM_ADMIN_ROLE.to_string(),
    }
}

impl Explanation<'_> {
    /// One or two sentences for people: the verdict, what the endpoint needs, and what would
    /// change the answer (e.g. "needs `workspaces.members.create` in `ml-team`: Admin grants
    /// it; holds Viewer through group `ml-readers`").
    pub fn summary(&self) -> String {
        let d = &self.decision;
        let needs = if d.required_permissions.is_empty() {
            String::new()
        } else {
            let permissions =
                d.required_permissions.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ");
            match &self.role_workspace {
                Some(workspace) => format!("needs {permissions} in `{workspace}`"),
                None => format!("needs {permissions}"),
            }
        };
        let granting = match self.granting_roles.as_slice() {
            [] => String::new(),
            [one] => format!(": {one} grants it"),
            many => format!(": {} grant it", many.join(", ")),
        };
        let held = self
            .role_sources
            .iter()
            .filter(|source| Some(&source.workspace) == self.role_workspace.as_ref())
            .map(|source| match &source.through {
                Some(identity) if identity.kind == IdentityKind::Wildcard => {
                    format!("{} through `*`", source.role)
                }
                Some(identity) => {
                    format!("{} through {} `{}`", source.role, identity.kind.name(), identity.value)
                }
                None => format!("{} (implicit for services)", source.role),
            })
            .collect::<Vec<_>>();
        let held = match (&self.role_workspace, held.is_empty()) {
            (Some(workspace), true) if !d.required_permissions.is_empty() => {
                format!("; holds no role in `{workspace}`")
            }
            (_, true) => String::new(),
            (_, false) => format!("; holds {}", held.join(", ")),
        };
        if d.allowed() {
            return format!(
                "allowed ({}){}{}",
                d.reason_kind(),
                if needs.is_empty() { String::new() } else { format!(": {needs}") },
                held
            );
        }
        let why = match d.denial() {
            Some(Deny::MissingScope) => format!(
                "the token lacks a scope this endpoint accepts ({})",
                d.accepted_scopes.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(" or ")
            ),
            Some(Deny::NoBinding { .. } | Deny::MissingPermissions { .. }) => {
                format!("{needs}{granting}{held}")
            }
            _ => match &self.remedy {
                Remedy::Impossible(reason) => reason.to_string(),
                _ => format!("{} ({})", d.reason_kind(), needs),
            },
        };
        let fix = match &self.remedy {
            Remedy::Changes(changes) => format!(
                "; to allow it: {}",
                changes
                    .iter()
                    .map(|change| match change {
                        Change::AddScope { scope, .. } => format!("add scope `{scope}` to the token"),
                        Change::Grant { principal, workspace, role } => {
                            format!("grant {role} to `{principal}` in `{workspace}`")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
            _ => String::new(),
        };
        format!("denied: {why}{fix}")
    }
}

impl Layer {
    /// Stable name for the API and logs.
    pub fn name(self) -> &'static str {
        match self {
            Layer::HealthPath => "health_path",
            Layer::Identified => "identified",
            Layer::ExplicitDenies => "explicit_denies",
            Layer::PlatformAdmin => "platform_admin",
            Layer::Route => "route",
            Layer::Scopes => "scopes",
            Layer::PermissionFree => "permission_free",
            Layer::AllWorkspaces => "all_workspaces",
            Layer::Roles => "roles",
        }
    }
}

/// Every registered permission `principal` holds in `workspace` (`can-i --list`), by asking
/// [`super::has_permissions`] for each, so the list cannot disagree with the checks.
pub fn permissions_held(
    principal: &Principal,
    workspace: &str,
    policy: &PolicyData,
    index: &BindingIndex,
) -> Vec<String> {
    policy
        .permissions()
        .iter()
        .filter(|permission| {
            super::has_permissions(principal, workspace, &[permission.as_str()], policy, index)
        })
        .cloned()
        .collect()
}

/// Who holds `permission` in `workspace`, and through which binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The binding's principal: an id, email or group, or `*`.
    pub principal: String,
    pub workspace: String,
    pub role: String,
    /// The PlatformAdmin bypass (a binding in `system`) rather than a role granting it.
    pub platform_admin: bool,
}

/// Every binding through which some principal holds `permission` in `workspace`: bindings there
/// whose role grants it (direct, group or `*`) and PlatformAdmin bindings in `system`. Service
/// principals without bindings also hold it (their implicit `ServiceSystem` role grants all).
pub fn who_can(permission: &str, workspace: &str, policy: &PolicyData, index: &BindingIndex) -> Vec<Holder> {
    let mut holders = Vec::new();
    let mut identities: Vec<&str> = index.identities_in(workspace).collect();
    identities.sort_unstable();
    for identity in identities {
        let mut roles: Vec<&str> = index.roles_of(identity, workspace).collect();
        roles.sort_unstable();
        for role in roles {
            if policy.role_grants(role, permission) {
                holders.push(Holder {
                    principal: identity.to_string(),
                    workspace: workspace.to_string(),
                    role: role.to_string(),
                    platform_admin: false,
                });
            }
        }
    }
    let mut admins: Vec<&str> = index
        .identities_in(SYSTEM_WORKSPACE)
        .filter(|identity| index.roles_of(identity, SYSTEM_WORKSPACE).any(|role| role == PLATFORM_ADMIN_ROLE))
        .collect();
    admins.sort_unstable();
    for identity in admins {
        if workspace == SYSTEM_WORKSPACE
            && holders.iter().any(|h| h.principal == identity && h.role == PLATFORM_ADMIN_ROLE)
        {
            continue;
        }
        holders.push(Holder {
            principal: identity.to_string(),
            workspace: SYSTEM_WORKSPACE.to_string(),
            role: PLATFORM_ADMIN_ROLE.to_string(),
            platform_admin: true,
        });
    }
    holders
}

/// Whether `caller` may look at other principals' access in `workspace` (explain for someone
/// else, who-can, the workspace's audit trail): a PlatformAdmin, or who holds `iam.list` there
/// (the workspace's Admins). `None` (a platform-level question) needs it in `system`.
pub fn may_inspect(
    caller: &Principal,
    workspace: Option<&str>,
    policy: &PolicyData,
    index: &BindingIndex,
) -> bool {
    let workspace = match workspace {
        Some(ALL_WORKSPACES) | None => SYSTEM_WORKSPACE,
        Some(workspace) => workspace,
    };
    super::has_permissions(caller, workspace, &[INSPECT_PERMISSION], policy, index)
}

/// The permission that lets a workspace's Admins inspect its access (who-can, audit, explain
/// for others); PlatformAdmins hold every permission.
pub const INSPECT_PERMISSION: &str = "iam.list";
