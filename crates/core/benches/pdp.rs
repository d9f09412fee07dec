//! The policy decision point at 10 000, 100 000 and 1 000 000 active bindings: the native
//! `decide`, `explain` (the same decision with its explanation), the shipped Rego evaluated by
//! `regorus` on the same bundle data, the equivalent constant Cedar policy set evaluated by
//! `cedar-policy` on entities built from the same bindings (`tests/policy/cedar_model.rs`, which
//! `tests/policy/cedar.rs` proves decides as the native PDP does), and the visible-workspace
//! listing. Results and the command are in `docs/benchmarks.md` ("PDP").
//!
//! World of size N: N/10 workspaces, each with one Admin and nine Viewers (users and groups);
//! the caller, bob, holds Viewer in three of them and is in one group bound elsewhere.
//!
//! `cargo bench -p nmp-core --bench pdp` (set `NMP_BENCH_SIZES=10000,100000` to choose sizes;
//! Rego runs up to `NMP_BENCH_REGO_MAX`, default 100 000, because loading a million bindings
//! into its data document takes minutes; `NMP_BENCH_REGO_SAMPLES` sets criterion's sample count
//! for it, default 100, at least 10; Cedar runs with `--features cedar`, up to
//! `NMP_BENCH_CEDAR_MAX`, default 1 000 000).

use std::hint::black_box;

#[cfg(feature = "cedar")]
#[path = "../tests/policy/cedar_model.rs"]
#[allow(dead_code)] // `allows` serves the agreement test
mod cedar_model;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use nmp_core::policy::{
    allow_input, bundle_data, decide, explain, rego_sources, BindingIndex, PolicyData, Request,
};
use nmp_core::{BindingRef, Principal};

fn world(bindings: usize) -> BindingIndex {
    let workspaces = bindings / 10;
    let mut index = BindingIndex::new();
    for w in 0..workspaces {
        let workspace = format!("ws-{w}");
        index.grant(BindingRef {
            principal: &format!("admin-{w}@example.com"),
            workspace: &workspace,
            role: "Admin",
        });
        for v in 0..9 {
            let viewer = if v % 3 == 0 {
                format!("group-{}", (w + v) % 1000)
            } else {
                format!("user-{}@example.com", w * 9 + v)
            };
            index.grant(BindingRef { principal: &viewer, workspace: &workspace, role: "Viewer" });
        }
    }
    for w in [7, workspaces / 2, workspaces - 1] {
        index.grant(BindingRef {
            principal: "bob@example.com",
            workspace: &format!("ws-{w}"),
            role: "Viewer",
        });
    }
    index
}

fn ask<'a>(principal: &'a Principal, path: &'a str) -> Request<'a> {
    Request { principal: Some(principal), method: "GET", path }
}

fn bob() -> Principal {
    Principal::new("bob-sub").with_email("bob@example.com").with_groups(["group-17"])
}

fn sizes() -> Vec<usize> {
    std::env::var("NMP_BENCH_SIZES")
        .ok()
        .map(|text| text.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000])
}

fn pdp(c: &mut Criterion) {
    let policy = PolicyData::builtin().expect("shipped policy");
    let setting = |name: &str, default: usize| -> usize {
        std::env::var(name).ok().and_then(|n| n.parse().ok()).unwrap_or(default)
    };
    let rego_max = setting("NMP_BENCH_REGO_MAX", 100_000);
    let rego_samples = setting("NMP_BENCH_REGO_SAMPLES", 100).max(10);
    #[cfg(feature = "cedar")]
    let cedar_max = setting("NMP_BENCH_CEDAR_MAX", 1_000_000);
    let principal = bob();
    let allowed_path = "/apis/entities/v2/workspaces/ws-7/members";
    let denied_path = "/apis/entities/v2/workspaces/ws-8/members";
    let mut group = c.benchmark_group("pdp");
    for size in sizes() {
        let index = world(size);
        assert!(decide(&ask(&principal, allowed_path), &policy, &index).allowed());
        assert!(!decide(&ask(&principal, denied_path), &policy, &index).allowed());
        group.bench_with_input(BenchmarkId::new("native_allow", size), &size, |b, _| {
            b.iter(|| decide(black_box(&ask(&principal, allowed_path)), &policy, &index))
        });
        group.bench_with_input(BenchmarkId::new("native_deny", size), &size, |b, _| {
            b.iter(|| decide(black_box(&ask(&principal, denied_path)), &policy, &index))
        });
        // Explain runs the same decision with an observer and adds the role sources and the
        // remedy; the target is at most twice the plain decision.
        let explained = explain(&ask(&principal, denied_path), &policy, &index);
        assert_eq!(explained.decision, decide(&ask(&principal, denied_path), &policy, &index));
        group.bench_with_input(BenchmarkId::new("explain_allow", size), &size, |b, _| {
            b.iter(|| explain(black_box(&ask(&principal, allowed_path)), &policy, &index))
        });
        group.bench_with_input(BenchmarkId::new("explain_deny", size), &size, |b, _| {
            b.iter(|| explain(black_box(&ask(&principal, denied_path)), &policy, &index))
        });
        group.bench_with_input(BenchmarkId::new("visible_workspaces", size), &size, |b, _| {
            b.iter(|| index.visible_workspaces(black_box(&principal)))
        });
        #[cfg(feature = "cedar")]
        if size <= cedar_max {
            let cedar = cedar_model::CedarPdp::new(&policy, &index);
            let allowed = |path| {
                let requests = cedar_model::CedarPdp::requests(&principal, "GET", path, &policy);
                cedar.allows_all(&requests.expect("inside the Cedar model's domain"))
            };
            assert!(allowed(allowed_path), "Cedar agrees with the native PDP (allow)");
            assert!(!allowed(denied_path), "Cedar agrees with the native PDP (deny)");
            // The Cedar request is built from the principal and the route on every call, as the
            // native PDP works from them on every call.
            group.bench_with_input(BenchmarkId::new("cedar_allow", size), &size, |b, _| {
                b.iter(|| allowed(black_box(allowed_path)))
            });
            group.bench_with_input(BenchmarkId::new("cedar_deny", size), &size, |b, _| {
                b.iter(|| allowed(black_box(denied_path)))
            });
            // The evaluation alone, on a request built once (as the Rego's input is).
            let prebuilt = cedar_model::CedarPdp::requests(&principal, "GET", allowed_path, &policy)
                .expect("inside the Cedar model's domain");
            group.bench_with_input(BenchmarkId::new("cedar_allow_evaluation", size), &size, |b, _| {
                b.iter(|| cedar.allows_all(black_box(&prebuilt)))
            });
        }
        if size <= rego_max {
            let mut engine = regorus::Engine::new();
            for (name, source) in rego_sources() {
                engine.add_policy(name.to_string(), source.to_string()).expect("shipped Rego parses");
            }
            engine.add_data(regorus::Value::from(bundle_data(&policy, &index))).expect("bundle data loads");
            let input = regorus::Value::from(allow_input(Some(&principal), "GET", allowed_path));
            engine.set_input(input.clone());
            let answer = engine.eval_rule("data.authz.allow".to_string()).expect("allow evaluates");
            assert_eq!(answer["allowed"], regorus::Value::from(true), "Rego agrees with the native PDP");
            group.sample_size(rego_samples);
            group.bench_with_input(BenchmarkId::new("rego_allow", size), &size, |b, _| {
                b.iter(|| {
                    engine.set_input(input.clone());
                    engine.eval_rule("data.authz.allow".to_string())
                })
            });
            group.sample_size(100);
        }
    }
    group.finish();
}

criterion_group!(benches, pdp);
criterion_main!(benches);
