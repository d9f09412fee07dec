//! The shipped workspace RBAC as a constant Cedar policy set, with the bindings as Cedar entities:
//! what the PDP benchmark (`benches/pdp.rs`) measures beside the native `decide` and the shipped
//! Rego, and what `cedar.rs` proves decides like the native PDP.
//!
//! Cedar does no path routing, so the request is mapped the way a Cedar deployment maps it: the
//! endpoint map (the same router as the native PDP) gives the permissions the route requires and
//! the workspace its path names; each permission becomes one Cedar request (action
//! `Action::"<permission>"`, resource `Workspace::"<workspace>"`, `system` for platform routes),
//! and the request is allowed when every one is. The policy set is generated once from the roles
//! (one `permit` per role with the role's effective permissions, includes resolved; a `*` role
//! permits every action), plus the PlatformAdmin bypass and the token-scope layer. It does not
//! change with the bindings: those are data, one `Workspace` entity per workspace whose `roles`
//! record maps each role to the set of identities (ids, emails, groups, `*`) bound to it there.
//! The caller's identities travel in the request context.
//!
//! Modelled: the role layer (union over id, email, groups and `*`; role includes), the
//! PlatformAdmin bypass, the scope layer. Not modelled (outside [`CedarPdp::allows`]'s domain,
//! which answers `None` there): health paths, anonymous and service principals, unmatched paths,
//! permission-free routes, cross-workspace (`-`) routes and the explicit denies.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicySet, Request,
    RestrictedExpression,
};
use nmp_core::policy::{BindingIndex, PolicyData, PLATFORM_ADMIN_ROLE};
use nmp_core::{Principal, SYSTEM_WORKSPACE, WILDCARD_PRINCIPAL};

/// The policy set and the entities of one binding set.
pub struct CedarPdp {
    pub policies: PolicySet,
    pub entities: Entities,
    authorizer: Authorizer,
}

fn uid(type_name: &str, id: &str) -> EntityUid {
    let type_name = EntityTypeName::from_str(type_name).expect("a constant entity type name");
    EntityUid::from_type_name_and_id(type_name, EntityId::new(id))
}

/// A Cedar string literal.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

/// `context.identities` holds one of the identities bound to `role` in `workspace` (an entity
/// expression).
fn holds(workspace: &str, role: &str) -> String {
    let role = quoted(role);
    format!(
        "({workspace} has roles && {workspace}.roles has {role} && \
         {workspace}.roles[{role}].containsAny(context.identities))"
    )
}

/// The constant policy set for `policy`'s roles.
pub fn policy_text(policy: &PolicyData) -> String {
    let system = format!("Workspace::{}", quoted(SYSTEM_WORKSPACE));
    let platform_admin = holds(&system, PLATFORM_ADMIN_ROLE);
    let mut text = format!(
        "// A PlatformAdmin (bound in `system`) may do anything.\n\
         permit(principal, action, resource) when {{ {platform_admin} }};\n\
         // Scoped tokens need one of the route's accepted scopes, except for a PlatformAdmin.\n\
         forbid(principal, action, resource)\n  \
         when {{ context.scoped && !context.accepted_scopes.isEmpty() && \
         !context.accepted_scopes.containsAny(context.token_scopes) }}\n  \
         unless {{ {platform_admin} }};\n"
    );
    for role in policy.roles() {
        let held = holds("resource", &role.name);
        if role.grants_everything() {
            text.push_str(&format!("permit(principal, action, resource is Workspace) when {{ {held} }};\n"));
            continue;
        }
        let actions: Vec<String> = role
            .effective_permissions(policy.permissions())
            .into_iter()
            .map(|permission| format!("Action::{}", quoted(permission)))
            .collect();
        if actions.is_empty() {
            continue;
        }
        text.push_str(&format!(
            "permit(principal, action in [{}], resource is Workspace) when {{ {held} }};\n",
            actions.join(", ")
        ));
    }
    text
}

/// One `Workspace` entity per workspace with bindings: `roles` maps each role to its identities.
pub fn entities(index: &BindingIndex) -> Entities {
    let mut workspaces: HashMap<&str, BTreeMap<&str, Vec<&str>>> = HashMap::new();
    for (identity, bound) in index.entries() {
        for (workspace, roles) in bound {
            let by_role = workspaces.entry(workspace).or_default();
            for role in roles {
                by_role.entry(role).or_default().push(identity);
            }
        }
    }
    let entities = workspaces.into_iter().map(|(workspace, by_role)| {
        let roles = by_role.into_iter().map(|(role, identities)| {
            let set = identities
                .into_iter()
                .map(|identity| RestrictedExpression::new_entity_uid(uid("Identity", identity)));
            (role.to_string(), RestrictedExpression::new_set(set))
        });
        let roles = RestrictedExpression::new_record(roles).expect("role names are distinct");
        let attributes = HashMap::from([("roles".to_string(), roles)]);
        Entity::new(uid("Workspace", workspace), attributes, HashSet::new()).expect("entity attributes")
    });
    Entities::from_entities(entities, None).expect("workspace entities are distinct")
}

impl CedarPdp {
    pub fn new(policy: &PolicyData, index: &BindingIndex) -> Self {
        let policies = PolicySet::from_str(&policy_text(policy))
            .unwrap_or_else(|error| panic!("the generated Cedar policy set parses: {error:?}"));
        CedarPdp { policies, entities: entities(index), authorizer: Authorizer::new() }
    }

    /// The Cedar requests for `principal` calling `method path`: one per permission the route
    /// requires. `None` outside the modelled domain (see the module comment).
    pub fn requests(
        principal: &Principal,
        method: &str,
        path: &str,
        policy: &PolicyData,
    ) -> Option<Vec<Request>> {
        if !principal.is_identified() || principal.is_service() {
            return None;
        }
        let path = path.split('?').next().unwrap_or(path);
        let route = policy.route(method, path)?;
        let workspace = match route.workspace {
            Some("-") => return None,
            Some(workspace) => workspace,
            None => SYSTEM_WORKSPACE,
        };
        if route.endpoint.permissions.is_empty() {
            return None;
        }
        let identities = principal
            .identities()
            .into_iter()
            .chain([WILDCARD_PRINCIPAL])
            .map(|identity| RestrictedExpression::new_entity_uid(uid("Identity", identity)));
        let strings = |values: &[String]| {
            RestrictedExpression::new_set(values.iter().map(|v| RestrictedExpression::new_string(v.clone())))
        };
        let token_scopes = principal.scopes.as_deref().unwrap_or(&[]);
        let context = Context::from_pairs([
            ("identities".to_string(), RestrictedExpression::new_set(identities)),
            (
                "scoped".to_string(),
                RestrictedExpression::new_bool(token_scopes.iter().any(|s| s.contains(':'))),
            ),
            ("token_scopes".to_string(), strings(token_scopes)),
            ("accepted_scopes".to_string(), strings(&route.endpoint.scopes)),
        ])
        .expect("context keys are distinct");
        let caller = uid("Identity", &principal.id);
        let resource = uid("Workspace", workspace);
        let requests = route.endpoint.permissions.iter().map(|permission| {
            Request::new(caller.clone(), uid("Action", permission), resource.clone(), context.clone(), None)
                .expect("no schema to validate against")
        });
        Some(requests.collect())
    }

    /// Whether every request is allowed (an evaluation error would deny, and is a bug here).
    pub fn allows_all(&self, requests: &[Request]) -> bool {
        requests.iter().all(|request| {
            let response = self.authorizer.is_authorized(request, &self.policies, &self.entities);
            if let Some(error) = response.diagnostics().errors().next() {
                panic!("Cedar evaluation error: {error}");
            }
            response.decision() == Decision::Allow
        })
    }

    /// The Cedar decision for `principal` calling `method path`; `None` outside the domain.
    pub fn allows(
        &self,
        principal: &Principal,
        method: &str,
        path: &str,
        policy: &PolicyData,
    ) -> Option<bool> {
        Self::requests(principal, method, path, policy).map(|requests| self.allows_all(&requests))
    }
}
