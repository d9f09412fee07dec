//! Differential test (ADR 0018): the shipped Rego, evaluated by regorus over `bundle_data`,
//! answers `allow`, `has_permissions` and `has_role` exactly like the native PDP on random
//! worlds (bindings over ids, emails, groups, `*` and services) and random requests drawn from
//! the endpoint map, with segment values including `-` and `system`, plus unknown paths.

use std::sync::atomic::{AtomicUsize, Ordering};

use nmp_core::policy::{decide, explain, has_permissions, has_role, BindingIndex, PolicyData, Request};
use nmp_core::Principal;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;

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
const SEGMENT_VALUES: &[&str] = &["ws1", "ws2", "-", "system", "default", "x", "groups", "b", "c"];
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
    arb_bindings_with(ROLES)
}

fn arb_bindings_with(roles: &'static [&'static str]) -> impl Strategy<Value = Vec<(String, String, String)>> {
    prop::collection::vec(
        (select(IDENTITIES), select(WORKSPACES), select(roles))
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
            id: id.into(),
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
    arb_request_in(policy())
}

fn arb_request_in(policy: &'static PolicyData) -> impl Strategy<Value = (String, String)> {
    let endpoints = policy.endpoints().len();
    let filled = (
        0..endpoints,
        prop::collection::vec(select(SEGMENT_VALUES), 8),
        prop::bool::weighted(0.85),
        select(METHODS),
        1..3usize,
        prop::bool::weighted(0.1),
    )
        .prop_map(|(i, values, own_method, other_method, tail_len, query)| {
            let endpoint = &policy.endpoints()[i];
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

/// How many cases a differential run compared, and how many were allowed.
struct Counts {
    allow: AtomicUsize,
    allowed: AtomicUsize,
    checks: AtomicUsize,
}

impl Counts {
    const fn new() -> Self {
        Counts { allow: AtomicUsize::new(0), allowed: AtomicUsize::new(0), checks: AtomicUsize::new(0) }
    }
}

type Binding = (String, String, String);

/// Compare native and Rego answers for one world; counts what it compared.
#[allow(clippy::too_many_arguments)]
fn compare_world(
    policy: &PolicyData,
    rego: &Rego,
    counts: &Counts,
    bindings: &[Binding],
    principals: &[Option<Principal>],
    requests: &[(String, String)],
    checks: &[(String, Vec<String>)],
    roles_asked: &[(&str, &str)],
) -> Result<(), TestCaseError> {
    let index = BindingIndex::from_bindings(bindings.iter().cloned());
    let mut world = rego.world(policy, &index);
    let anonymous = Principal::default();
    for (i, (method, path)) in requests.iter().enumerate() {
        let principal = principals[i % principals.len()].as_ref();
        let native = decide(&Request { principal, method, path }, policy, &index);
        let in_rego = world.allow(principal, method, path);
        prop_assert_eq!(
            native.allowed(),
            in_rego,
            "{} {} as {:?} with {:?}: native {:?}",
            method,
            path,
            principal,
            bindings,
            native.verdict
        );
        // The explanation carries the same decision, so it agrees with the Rego too.
        let explained = explain(&Request { principal, method, path }, policy, &index);
        prop_assert_eq!(explained.decision.allowed(), in_rego, "explain {} {}", method, path);
        counts.allow.fetch_add(1, Ordering::Relaxed);
        if in_rego {
            counts.allowed.fetch_add(1, Ordering::Relaxed);
        }
    }
    for (i, (workspace, permissions)) in checks.iter().enumerate() {
        let principal = principals[i % principals.len()].as_ref();
        let permissions: Vec<&str> = permissions.iter().map(String::as_str).collect();
        let native =
            has_permissions(principal.unwrap_or(&anonymous), workspace, &permissions, policy, &index);
        prop_assert_eq!(
            native,
            world.has_permissions(principal, workspace, &permissions),
            "has_permissions {} {:?} as {:?} with {:?}",
            workspace,
            permissions,
            principal,
            bindings
        );
        counts.checks.fetch_add(1, Ordering::Relaxed);
    }
    for (i, (workspace, role)) in roles_asked.iter().enumerate() {
        let principal = principals[i % principals.len()].as_ref();
        let native = has_role(principal.unwrap_or(&anonymous), workspace, role, policy, &index);
        prop_assert_eq!(
            native,
            world.has_role(principal, workspace, role),
            "has_role {} {} as {:?} with {:?}",
            workspace,
            role,
            principal,
            bindings
        );
        counts.checks.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// Report, and insist both outcomes are well represented, or agreement proves little.
fn report(name: &str, counts: &Counts, minimum: usize, started: std::time::Instant) {
    let (allow, allowed, checks) = (
        counts.allow.load(Ordering::Relaxed),
        counts.allowed.load(Ordering::Relaxed),
        counts.checks.load(Ordering::Relaxed),
    );
    eprintln!("{name}: {allow} allow cases ({allowed} allowed) + {checks} has_permissions/has_role cases agree ({:.1?})", started.elapsed());
    assert!(allow >= minimum, "only {allow} generated allow cases");
    assert!(allowed * 10 > allow && allowed * 10 < allow * 9, "{allowed} of {allow} allowed");
}

static SHIPPED_COUNTS: Counts = Counts::new();

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
        compare_world(policy(), &rego, &SHIPPED_COUNTS, &bindings, &principals, &requests, &checks, &roles_asked)?;
    });
    report("differential (shipped policy)", &SHIPPED_COUNTS, 10_000, started);
}

/// Operator extensions exercise what the shipped data does not: `deny`, `callers`, pattern
/// ties, `{workspace_id}`, multi-permission endpoints and deeper role includes.
const EXTENSIONS: &str = r#"
endpoints:
  - {method: GET, path: "/apis/reports/v1/workspaces/{workspace_id}/reports", permissions: [reports.list], scopes: ["reports:read", "platform:read"]}
  - {method: POST, path: "/apis/reports/v1/workspaces/{workspace_id}/reports/{name}/-/{rest}", permissions: [reports.write, reports.list], scopes: ["reports:write"]}
  - {method: DELETE, path: "/apis/reports/v1/workspaces/{workspace_id}", permissions: [reports.admin]}
  - {method: GET, path: "/apis/reports/v1/tie/{x}/c", permissions: [reports.list]}
  - {method: GET, path: "/apis/reports/v1/tie/b/{y}", permissions: [reports.admin]}
  - {method: POST, path: "/apis/reports/v1/internal/rebuild", callers: service_principal}
  - {method: GET, path: "/apis/reports/v1/me", callers: principal}
  - {method: GET, path: "/apis/legacy/v1/{thing}", deny: true}
roles:
  - {name: ReportReader, includes: [Viewer], permissions: [reports.list]}
  - {name: ReportWriteOnly, permissions: [reports.write]}
  - {name: ReportWriter, includes: [ReportReader, ReportWriteOnly]}
  - {name: ReportAdmin, includes: [ReportWriter, Admin], permissions: [reports.admin]}
  - {name: Viewer, permissions: [models.prompts.list]}
"#;
pub const EXTENDED_ROLES: &[&str] =
    &["ReportReader", "ReportWriteOnly", "ReportWriter", "ReportAdmin", "Viewer", "PlatformAdmin", "Bogus"];
static EXTENDED_COUNTS: Counts = Counts::new();

pub fn extended_policy() -> &'static PolicyData {
    static POLICY: std::sync::OnceLock<PolicyData> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| {
        let extensions = serde_yaml_ng::from_str(EXTENSIONS).expect("extensions parse");
        PolicyData::with_extensions(&extensions).expect("extensions load")
    })
}

/// Requests on the extension routes (the shipped ones are covered above) or on no route.
pub fn arb_extension_request() -> impl Strategy<Value = (String, String)> {
    let extended = extended_policy();
    let shipped = policy().endpoints().len();
    arb_request_in(extended).prop_filter("extension routes", move |(method, path)| {
        extended
            .route(method, path)
            .is_none_or(|route| extended.endpoints()[shipped..].contains(route.endpoint))
    })
}

#[test]
fn rego_agrees_with_the_native_pdp_on_extended_policy() {
    let rego = Rego::new();
    let started = std::time::Instant::now();
    let extended = extended_policy();
    let config = ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(config, |(
        bindings in arb_bindings_with(EXTENDED_ROLES),
        principals in prop::collection::vec(arb_principal(), 4),
        requests in prop::collection::vec(arb_extension_request(), REQUESTS_PER_WORLD),
        roles_asked in prop::collection::vec((select(WORKSPACES), select(EXTENDED_ROLES)), 5),
    )| {
        let checks: Vec<(String, Vec<String>)> = vec![
            ("ws1".into(), vec!["reports.list".into(), "reports.write".into()]),
            ("ws2".into(), vec!["ws1/reports.admin".into()]),
        ];
        compare_world(extended, &rego, &EXTENDED_COUNTS, &bindings, &principals, &requests, &checks, &roles_asked)?;
    });
    report("differential (extended policy)", &EXTENDED_COUNTS, 2_000, started);
}
