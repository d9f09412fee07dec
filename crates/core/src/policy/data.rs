//! `PolicyData`: the validated roles, permission registry and compiled endpoint map that every
//! decision reads. Built once at start (shipped TSV data plus operator extensions, see `load`)
//! and never changed afterwards; bindings live in `BindingIndex`, not here.

use std::borrow::Cow;
use std::collections::BTreeSet;

// Policy lookups by method, service, role and permission name: foldhash, randomly seeded.
use foldhash::HashMap;

use super::extensions::Callers;
use super::pattern::{path_segments, PathPattern, Segment};

/// A role with its includes resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    /// Roles whose permissions this one inherits, as declared.
    pub includes: Vec<String>,
    /// Permissions granted by this role itself, as declared (`*` = every permission).
    pub own_permissions: Vec<String>,
    pub(crate) grants: Grants,
}

/// What a role grants once includes are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Grants {
    /// `*`: every permission, including ones registered later by extensions.
    All,
    Some(BTreeSet<String>),
}

impl Role {
    pub fn grants(&self, permission: &str) -> bool {
        match &self.grants {
            Grants::All => true,
            Grants::Some(set) => set.contains(permission),
        }
    }

    /// True for roles granting `*`.
    pub fn grants_everything(&self) -> bool {
        matches!(self.grants, Grants::All)
    }

    /// Every permission this role grants (own and inherited), from `registry` when it is `*`.
    pub fn effective_permissions<'a>(&'a self, registry: &'a BTreeSet<String>) -> BTreeSet<&'a str> {
        match &self.grants {
            Grants::All => registry.iter().map(String::as_str).collect(),
            Grants::Some(set) => set.iter().map(String::as_str).collect(),
        }
    }
}

/// One compiled route rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub method: String,
    pub pattern: PathPattern,
    /// All required; empty means "any authenticated caller". A decision borrows them.
    pub permissions: Vec<String>,
    /// Any one accepted; empty means no scope is needed. A decision borrows them.
    pub scopes: Vec<String>,
    pub deny: bool,
    pub callers: Option<Callers>,
}

impl Endpoint {
    /// Routing preference, least first: fewest placeholders, then the pattern that sorts first.
    fn preference(&self) -> (usize, &str) {
        (self.pattern.placeholders(), self.pattern.as_str())
    }
}

/// The endpoint a request matched and the workspace its path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route<'a> {
    pub endpoint: &'a Endpoint,
    /// `None` for platform-level routes; `Some("-")` means "all workspaces".
    pub workspace: Option<&'a str>,
}

/// The whole static policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyData {
    pub(crate) roles: Vec<Role>,
    pub(crate) role_positions: HashMap<String, usize>,
    pub(crate) permissions: BTreeSet<String>,
    pub(crate) endpoints: Vec<Endpoint>,
    /// Endpoint positions by method, then third path segment (the service in `/apis/<service>/...`),
    /// so routing looks at a handful of patterns instead of all of them, and looks them up by
    /// borrowed names.
    pub(crate) routes_by_service: RoutesByService,
    /// Endpoints whose first three segments are not all literal: always considered.
    pub(crate) routes_unindexed: Vec<usize>,
    /// Positions of the roles granting each registered permission (`*` roles included), so
    /// "which roles grant this?" (explanations) is one lookup.
    pub(crate) grantors: HashMap<String, Vec<usize>>,
}

/// The roles granting each registered permission (see [`PolicyData::roles_granting_permission`]).
pub(crate) fn grantors(roles: &[Role], permissions: &BTreeSet<String>) -> HashMap<String, Vec<usize>> {
    permissions
        .iter()
        .map(|permission| {
            let granting =
                roles.iter().enumerate().filter(|(_, role)| role.grants(permission)).map(|(i, _)| i);
            (permission.clone(), granting.collect())
        })
        .collect()
}

/// The routing index of `endpoints` (see [`PolicyData::routes_by_service`]).
/// Endpoint positions keyed by method, then service segment.
pub(crate) type RoutesByService = HashMap<String, HashMap<String, Vec<usize>>>;

/// Every list is in routing preference order (fewest placeholders, then the pattern that sorts
/// first, then declaration order), so the first pattern of a list that matches is that list's best.
pub(crate) fn route_index(endpoints: &[Endpoint]) -> (RoutesByService, Vec<usize>) {
    let mut by_service = RoutesByService::default();
    let mut unindexed = Vec::new();
    for (position, endpoint) in endpoints.iter().enumerate() {
        let literal_prefix = endpoint.pattern.segments().len() > 3
            && endpoint.pattern.segments()[..3].iter().all(|segment| matches!(segment, Segment::Literal(_)));
        match (literal_prefix, endpoint.pattern.segments().get(2)) {
            (true, Some(Segment::Literal(service))) => by_service
                .entry(endpoint.method.clone())
                .or_default()
                .entry(service.clone())
                .or_default()
                .push(position),
            _ => unindexed.push(position),
        }
    }
    // Stable: equal keys keep declaration order, as `min_by` over them would.
    let preference = |&position: &usize| endpoints[position].preference();
    for positions in by_service.values_mut().flat_map(HashMap::values_mut) {
        positions.sort_by_key(preference);
    }
    unindexed.sort_by_key(preference);
    (by_service, unindexed)
}

impl PolicyData {
    pub fn is_known_role(&self, name: &str) -> bool {
        self.role_positions.contains_key(name)
    }

    /// Role names in declaration order (shipped roles first).
    pub fn role_names(&self) -> Vec<&str> {
        self.roles.iter().map(|role| role.name.as_str()).collect()
    }

    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    pub fn role(&self, name: &str) -> Option<&Role> {
        self.role_positions.get(name).map(|&index| &self.roles[index])
    }

    /// Whether `role` grants `permission`; false for unknown roles.
    pub fn role_grants(&self, role: &str, permission: &str) -> bool {
        self.role(role).is_some_and(|role| role.grants(permission))
    }

    /// Roles granting `permission`, in declaration order (only `*` roles for an unregistered one).
    pub fn roles_granting_permission<'a>(&'a self, permission: &str) -> impl Iterator<Item = &'a Role> + 'a {
        let registered = self.grantors.get(permission);
        let everything =
            registered.is_none().then(|| self.roles.iter().filter(|role| role.grants_everything()));
        registered
            .into_iter()
            .flatten()
            .map(move |&position| &self.roles[position])
            .chain(everything.into_iter().flatten())
    }

    /// The permission registry, sorted.
    pub fn permissions(&self) -> &BTreeSet<String> {
        &self.permissions
    }

    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The endpoint for `method` whose pattern matches `path` (query string ignored) with the
    /// fewest placeholders; ties go to the pattern that sorts first, so the answer never
    /// depends on declaration order.
    pub fn route<'a>(&'a self, method: &str, path: &'a str) -> Option<Route<'a>> {
        self.route_segments(&upper_case(method), &path_segments(path))
    }

    /// [`PolicyData::route`] for an upper-case method and a path already split into segments.
    /// Allocation-free.
    pub(crate) fn route_segments<'a>(&'a self, method: &str, segments: &[&'a str]) -> Option<Route<'a>> {
        let service = segments.get(2).copied().unwrap_or_default();
        let indexed = self
            .routes_by_service
            .get(method)
            .and_then(|by_service| by_service.get(service))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        // Both lists are in preference order (`route_index`): the first match of each is its best.
        let first_match = |positions: &[usize]| {
            positions
                .iter()
                .map(|&position| &self.endpoints[position])
                .find(|endpoint| endpoint.method == method && endpoint.pattern.matches(segments))
        };
        // `min_by_key` keeps the first of equals: the indexed one, as the chained lists did.
        let best = [first_match(indexed), first_match(&self.routes_unindexed)]
            .into_iter()
            .flatten()
            .min_by_key(|endpoint| endpoint.preference())?;
        Some(Route { endpoint: best, workspace: best.pattern.workspace_in(segments) })
    }
}

/// `method` in upper case, borrowed when it already is (the usual case).
pub(crate) fn upper_case(method: &str) -> Cow<'_, str> {
    if method.bytes().any(|byte| byte.is_ascii_lowercase()) {
        Cow::Owned(method.to_ascii_uppercase())
    } else {
        Cow::Borrowed(method)
    }
}
