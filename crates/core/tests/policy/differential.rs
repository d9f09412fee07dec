//! Differential test (decision 18): the shipped Rego, evaluated by regorus over `bundle_data`,
//! answers `allow`, `has_permissions` and `has_role` exactly like the native PDP on random
//! worlds (bindings over ids, emails, groups, `*` and services) and random requests drawn from
//! the endpoint map, with segment values including `-` and `system`, plus unknown paths.

use std::sync::atomic::{AtomicUsize, Ordering};

use nmp_core::policy::{decide, has_permissions, has_role, BindingIndex, Request};
use nmp_core::Principal;
use proptest::prelude::*;
use proptest::sample::select;

use crate::support::{policy, Rego};

pub const IDENTITIES: &[&str] = &[
    "alice",
    "alice@example.com",
    "bob",
    "bob@example.com",
    "team-a",
    "team-b",
    "*",
    "service:jobs",
    "service:eval",
];
pub const WORKSPACES: &[&str] = &["ws1", "ws2", "system", "default", "-"];
pub const ROLES: &[&str] = &[
    "Viewer",
    "Editor",
    "Admin",
    "WorkspaceCreator",
    "PlatformAdmin",
    "JobRunner",
    "ServiceSystem",
    "Bogus",
];
const SCOPES: &[&str] = &[
    "platform:read",
    "platform:write",
    "models:read",
    "models:write",
    "entities:read",
    "entities:write",
    "files:write",
    "auth:read",
    "jobs:read",
    "inference:write",
    "secrets:read",
    "openid",
    "profile",
];
const SEGMENT_VALUES: &[&str] = &["ws1", "ws2", "-", "system", "default", "x", "groups"];
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const EXTRA_PATHS: &[&str] = &[
    "/health/live",
    "/metrics",
    "/status?verbose=1",
    "/internal/iam/opa-bundle.tar.gz",
    "/apis/unknown/v1/x",
    "/apis/entities/v2/entities/e1",
    "/apis/entities/v2/workspaces/ws1/secrets",
    "/apis/entities/v2/workspaces/",
    "/apis/entities/v2/workspaces/-/members",
    "/apis/auth/v2/iam/opa-bundle.tar.gz",
    "/",
    "",
    "/apis/secrets/v2/workspaces/ws1/secrets/s/access",
    "/apis/models/v2/workspaces//models",
];
/// Requests per random world; with the proptest case count this gives ≥ 10 000 `allow` cases.
const REQUESTS_PER_WORLD: usize = 40;
const WORLDS: u32 = 256;

pub fn arb_bindings() -> impl Strategy<Value = Vec<(String, String, String)>> {
    prop::collection::vec(
        (select(IDENTITIES), select(WORKSPACES), select(ROLES))
            .prop_map(|(p, w, r)| (p.to_string(), w.to_string(), r.to_string())),
        0..10,
    )
}

pub fn arb_principal() -> impl Strategy<Value = Option<Principal>> {
    let id = select(&["alice", "bob", "carol", "service:jobs", "service:eval", ""][..]);
    let email = prop::option::of(select(&["alice@example.com", "bob@example.com", ""][..]));
    let groups = prop::collection::vec(select(&["team-a", "team-b", "*", ""][..]), 0..3);
    let scopes = prop::option::of(prop::collection::vec(select(SCOPES), 0..4));
    let anonymous = prop::bool::weighted(0.05);
    (id, email, groups, scopes, anonymous).prop_map(|(id, email, groups, scopes, anonymous)| {
        (!anonymous).then(|| Principal {
            id: id.to_string(),
            email: email.map(str::to_string),
            groups: groups.into_iter().map(str::to_string).collect(),
            scopes: scopes.map(|s| s.into_iter().map(str::to_string).collect()),
            on_behalf_of: None,
        })
    })
}

/// A request: mostly an endpoint pattern filled with random segment values (method usually its
/// own), sometimes a fixed awkward path.
pub fn arb_request() -> impl Strategy<Value = (String, String)> {
    let endpoints = policy().endpoints().len();
    let filled = (
        0..endpoints,
        prop::collection::vec(select(SEGMENT_VALUES), 8),
        prop::bool::weighted(0.85),
        select(METHODS),
        1..3usize,
        prop::bool::weighted(0.1),
    )
        .prop_map(|(i, values, own_method, other_method, tail_len, query)| {
            let endpoint = &policy().endpoints()[i];
            let mut values = values.into_iter();
            let mut parts = Vec::new();
            for (k, segment) in endpoint.pattern.as_str().split('/').enumerate() {
                let last = k + 1 == endpoint.pattern.as_str().split('/').count();
                if segment.starts_with('{') {
                    let value = values.next().unwrap_or("x");
                    if last && endpoint.pattern.has_tail() {
                        parts.push(vec![value; tail_len].join("/"));
                    } else {
                        parts.push(value.to_string());
                    }
                } else {
                    parts.push(segment.to_string());
                }
            }
            let mut path = parts.join("/");
            if query {
                path.push_str("?page=1");
            }
            let method = if own_method { endpoint.method.clone() } else { other_method.to_string() };
            (method, path)
        });
    prop_oneof![
        9 => filled,
        1 => (select(METHODS), select(EXTRA_PATHS)).prop_map(|(m, p)| (m.to_string(), p.to_string())),
    ]
}

fn arb_permission_check() -> impl Strategy<Value = (String, Vec<String>)> {
    let permission = select(
        &[
            "models.read",
            "models.create",
            "workspaces.delete",
            "workspaces.members.list",
            "iam.bundle.read",
            "secrets.access",
            "jobs.logs.create",
            "ws1/models.create",
            "system/iam.list",
            "ws2/jobs.read",
        ][..],
    );
    (select(WORKSPACES), prop::collection::vec(permission, 0..3))
        .prop_map(|(w, ps)| (w.to_string(), ps.into_iter().map(str::to_string).collect()))
}

static ALLOW_CASES: AtomicUsize = AtomicUsize::new(0);
static CHECK_CASES: AtomicUsize = AtomicUsize::new(0);
static ALLOWED: AtomicUsize = AtomicUsize::new(0);

#[test]
fn rego_agrees_with_the_native_pdp_on_random_worlds() {
    let rego = Rego::new();
    let started = std::time::Instant::now();
    let config = ProptestConfig { cases: WORLDS, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(config, |(
        bindings in arb_bindings(),
        principals in prop::collection::vec(arb_principal(), 4),
        requests in prop::collection::vec(arb_request(), REQUESTS_PER_WORLD),
        checks in prop::collection::vec(arb_permission_check(), 5),
        roles_asked in prop::collection::vec((select(WORKSPACES), select(ROLES)), 5),
    )| {
        let index = BindingIndex::from_bindings(bindings.iter().cloned());
        let mut world = rego.world(policy(), &index);
        let anonymous = Principal::default();
        for (i, (method, path)) in requests.iter().enumerate() {
            let principal = principals[i % principals.len()].as_ref();
            let native = decide(&Request { principal, method, path }, policy(), &index);
            let in_rego = world.allow(principal, method, path);
            prop_assert_eq!(native.allowed, in_rego, "{} {} as {:?} with {:?}: native {:?}", method, path, principal, bindings, native.reason);
            ALLOW_CASES.fetch_add(1, Ordering::Relaxed);
            if in_rego {
                ALLOWED.fetch_add(1, Ordering::Relaxed);
            }
        }
        for (i, (workspace, permissions)) in checks.iter().enumerate() {
            let principal = principals[i % principals.len()].as_ref();
            let permissions: Vec<&str> = permissions.iter().map(String::as_str).collect();
            let native = has_permissions(principal.unwrap_or(&anonymous), workspace, &permissions, policy(), &index);
            prop_assert_eq!(native, world.has_permissions(principal, workspace, &permissions), "has_permissions {} {:?} as {:?} with {:?}", workspace, permissions, principal, bindings);
            CHECK_CASES.fetch_add(1, Ordering::Relaxed);
        }
        for (i, (workspace, role)) in roles_asked.iter().enumerate() {
            let principal = principals[i % principals.len()].as_ref();
            let native = has_role(principal.unwrap_or(&anonymous), workspace, role, policy(), &index);
            prop_assert_eq!(native, world.has_role(principal, workspace, role), "has_role {} {} as {:?} with {:?}", workspace, role, principal, bindings);
            CHECK_CASES.fetch_add(1, Ordering::Relaxed);
        }
    });
    let allow_cases = ALLOW_CASES.load(Ordering::Relaxed);
    let check_cases = CHECK_CASES.load(Ordering::Relaxed);
    let allowed = ALLOWED.load(Ordering::Relaxed);
    eprintln!(
        "differential: {allow_cases} allow cases ({allowed} allowed) + {check_cases} has_permissions/has_role cases agree ({:.1?})",
        started.elapsed()
    );
    assert!(allow_cases >= 10_000, "only {allow_cases} generated allow cases");
    // Both outcomes must be well represented, or agreement proves little.
    assert!(
        allowed * 10 > allow_cases && allowed * 10 < allow_cases * 9,
        "{allowed} of {allow_cases} allowed"
    );
}
