//! The Cedar policy set of the PDP benchmark (`cedar_model.rs`) decides as the native PDP does,
//! on random worlds and requests (the differential test's generators) and on the benchmark's own
//! world, so that measuring it beside the native PDP compares like with like. Only requests
//! inside the model's domain are compared; both outcomes must be well represented.

use std::cell::Cell;

use nmp_core::policy::{decide, BindingIndex, Deny, PolicyData, Request, Verdict};
use nmp_core::Principal;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;

use crate::cedar_model::CedarPdp;
use crate::differential::{
    arb_extension_request, arb_principal, arb_request, extended_policy, EXTENDED_ROLES, IDENTITIES, ROLES,
    WORKSPACES,
};
use crate::support::policy;

/// Requests compared and how many were allowed (cells: proptest's closure is `Fn`).
#[derive(Default)]
struct Tally {
    compared: Cell<usize>,
    allowed: Cell<usize>,
}

/// Compare Cedar with `decide` on every request of one world inside the model's domain.
fn compare(
    policy: &PolicyData,
    bindings: &[(String, String, String)],
    principals: &[Option<Principal>],
    requests: &[(String, String)],
    tally: &Tally,
) -> Result<(), TestCaseError> {
    let index = BindingIndex::from_bindings(bindings.iter().cloned());
    let cedar = CedarPdp::new(policy, &index);
    for (i, (method, path)) in requests.iter().enumerate() {
        let Some(principal) = principals[i % principals.len()].as_ref() else { continue };
        let native = decide(&Request { principal: Some(principal), method, path }, policy, &index);
        // The explicit denies are not part of the model.
        if matches!(native.verdict, Verdict::Deny(Deny::ExplicitDeny(_))) {
            continue;
        }
        let Some(in_cedar) = cedar.allows(principal, method, path, policy) else { continue };
        prop_assert_eq!(
            native.allowed(),
            in_cedar,
            "{} {} as {:?} with {:?}: native {:?}",
            method,
            path,
            principal,
            bindings,
            native.verdict
        );
        tally.compared.set(tally.compared.get() + 1);
        tally.allowed.set(tally.allowed.get() + usize::from(in_cedar));
    }
    Ok(())
}

/// Denser worlds than the differential test's (10 to 40 bindings), so that enough requests are
/// allowed for agreement to mean something.
fn arb_dense_bindings(
    roles: &'static [&'static str],
) -> impl Strategy<Value = Vec<(String, String, String)>> {
    prop::collection::vec(
        (select(IDENTITIES), select(WORKSPACES), select(roles))
            .prop_map(|(p, w, r)| (p.to_string(), w.to_string(), r.to_string())),
        10..40,
    )
}

fn assert_representative(name: &str, tally: &Tally, minimum: usize) {
    let (compared, allowed) = (tally.compared.get(), tally.allowed.get());
    eprintln!("{name}: {compared} requests compared, {allowed} allowed");
    assert!(compared >= minimum, "only {compared} requests inside the Cedar model's domain");
    assert!(allowed * 10 > compared && allowed * 10 < compared * 9, "{allowed} of {compared} allowed");
}

#[test]
fn cedar_agrees_with_the_native_pdp_on_random_worlds() {
    let tally = Tally::default();
    let config = ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(config, |(
        bindings in arb_dense_bindings(ROLES),
        principals in prop::collection::vec(arb_principal(), 4),
        requests in prop::collection::vec(arb_request(), 40),
    )| {
        compare(policy(), &bindings, &principals, &requests, &tally)?;
    });
    assert_representative("cedar (shipped policy)", &tally, 2_000);
}

/// Multi-permission routes and deeper role includes (the differential test's extensions).
#[test]
fn cedar_agrees_with_the_native_pdp_on_extended_policy() {
    let tally = Tally::default();
    let config = ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(config, |(
        bindings in arb_dense_bindings(EXTENDED_ROLES),
        principals in prop::collection::vec(arb_principal(), 4),
        requests in prop::collection::vec(arb_extension_request(), 80),
    )| {
        compare(extended_policy(), &bindings, &principals, &requests, &tally)?;
    });
    assert_representative("cedar (extended policy)", &tally, 300);
}

/// The benchmark's world (`benches/pdp.rs`, 10 000 bindings) and callers: its own admins,
/// viewers, group members and bob, on every endpoint of a sample of workspaces.
#[test]
fn cedar_agrees_with_the_native_pdp_on_the_benchmark_world() {
    let policy = policy();
    let workspaces = 1_000;
    let mut bindings = Vec::new();
    for w in 0..workspaces {
        bindings.push((format!("admin-{w}@example.com"), format!("ws-{w}"), "Admin".to_string()));
        for v in 0..9 {
            let viewer = if v % 3 == 0 {
                format!("group-{}", (w + v) % 1000)
            } else {
                format!("user-{}@example.com", w * 9 + v)
            };
            bindings.push((viewer, format!("ws-{w}"), "Viewer".to_string()));
        }
    }
    for w in [7, workspaces / 2, workspaces - 1] {
        bindings.push(("bob@example.com".to_string(), format!("ws-{w}"), "Viewer".to_string()));
    }
    bindings.push(("root@example.com".to_string(), "system".to_string(), "PlatformAdmin".to_string()));
    let callers = vec![
        Some(Principal::new("bob-sub").with_email("bob@example.com").with_groups(["group-17"])),
        Some(Principal::new("a-sub").with_email("admin-7@example.com")),
        Some(Principal::new("u-sub").with_email("user-64@example.com")),
        Some(Principal::new("g-sub").with_groups(["group-10", "group-500"])),
        Some(Principal::new("root-sub").with_email("root@example.com")),
    ];
    let mut requests = Vec::new();
    for endpoint in policy.endpoints() {
        for w in [7, 8, 10, 500, 999] {
            let path = endpoint
                .pattern
                .as_str()
                .split('/')
                .map(|segment| match segment {
                    "{workspace}" | "{name}" => format!("ws-{w}"),
                    s if s.starts_with('{') => "x".to_string(),
                    s => s.to_string(),
                })
                .collect::<Vec<_>>()
                .join("/");
            requests.push((endpoint.method.clone(), path));
        }
    }
    let tally = Tally::default();
    for principal in &callers {
        compare(policy, &bindings, std::slice::from_ref(principal), &requests, &tally)
            .unwrap_or_else(|error| panic!("{error}"));
    }
    assert_representative("cedar (benchmark world)", &tally, 1_000);
}
