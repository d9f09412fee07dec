//! `explain` against `decide` in instructions rather than time, for machines too noisy for
//! wall-clock medians: run each N times under callgrind and compare the totals (the program's
//! own start-up cancels out between two values of N). Same world and caller as the criterion
//! bench `benches/pdp.rs` at 10 000 bindings; the command and results are in `docs/benchmarks.md`.
//!
//! `explain_cost MODE N` with MODE one of `decide-allow`, `decide-deny`, `explain-allow`,
//! `explain-deny`.

use std::hint::black_box;

use nmp_core::policy::{decide, explain, BindingIndex, PolicyData, Request};
use nmp_core::{BindingRef, Principal};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(mode), Some(count)) = (args.next(), args.next().and_then(|n| n.parse::<usize>().ok())) else {
        eprintln!("usage: explain_cost decide-allow|decide-deny|explain-allow|explain-deny N");
        std::process::exit(2);
    };
    let policy = PolicyData::builtin().expect("shipped policy");
    let mut index = BindingIndex::new();
    for w in 0..1_000 {
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
    for w in [7, 500, 999] {
        index.grant(BindingRef {
            principal: "bob@example.com",
            workspace: &format!("ws-{w}"),
            role: "Viewer",
        });
    }
    let bob = Principal::new("bob-sub").with_email("bob@example.com").with_groups(["group-17"]);
    let path = match mode.as_str() {
        "decide-allow" | "explain-allow" => "/apis/entities/v2/workspaces/ws-7/members",
        _ => "/apis/entities/v2/workspaces/ws-8/members",
    };
    let request = Request { principal: Some(&bob), method: "GET", path };
    let mut allowed = 0usize;
    for _ in 0..count {
        allowed += match mode.as_str() {
            "explain-allow" | "explain-deny" => {
                explain(black_box(&request), &policy, &index).decision.allowed()
            }
            _ => decide(black_box(&request), &policy, &index).allowed(),
        } as usize;
    }
    println!("{mode}: {allowed} of {count} allowed");
}
