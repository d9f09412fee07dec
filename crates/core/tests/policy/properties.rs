//! Invariants over random worlds: deny by default, no decision crosses workspaces, grants are
//! monotonic and revocation restores the previous decisions.

use nmp_core::policy::{decide, Allow, BindingIndex, Request, Verdict};
use nmp_core::BindingRef;
use proptest::prelude::*;
use proptest::sample::select;

use crate::differential::{arb_bindings, arb_principal, arb_request, ROLES};
use crate::support::policy;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// With no bindings, a non-service caller gets only health paths, permissionless endpoints
    /// and cross-workspace reads (which the services filter to nothing).
    #[test]
    fn deny_by_default(principal in arb_principal(), (method, path) in arb_request()) {
        let index = BindingIndex::new();
        let principal = principal.filter(|p| !p.is_service());
        let decision = decide(&Request { principal: principal.as_ref(), method: &method, path: &path }, policy(), &index);
        if decision.allowed() {
            prop_assert!(
                matches!(decision.verdict, Verdict::Allow(Allow::HealthPath | Allow::Authenticated | Allow::AllWorkspacesRead)),
                "{} {} allowed with no bindings: {:?}", method, path, decision.verdict
            );
        }
    }

    /// A binding in workspace W changes no decision about another named workspace W'
    /// (unless it makes the caller a PlatformAdmin, i.e. W is `system`).
    #[test]
    fn no_decision_crosses_workspaces(
        bindings in arb_bindings(),
        principal in arb_principal(),
        (method, path) in arb_request(),
        identity in select(&["alice", "alice@example.com", "team-a", "*", "service:jobs", "carol"][..]),
        workspace in select(&["ws1", "ws2", "default"][..]),
        role in select(ROLES),
    ) {
        let before = BindingIndex::from_bindings(bindings.iter().cloned());
        let mut after = before.clone();
        after.grant(BindingRef { principal: identity, workspace, role });
        let request = Request { principal: principal.as_ref(), method: &method, path: &path };
        let (old, new) = (decide(&request, policy(), &before), decide(&request, policy(), &after));
        let target = new.workspace;
        // Service principals lose their default role on their first binding anywhere.
        let service_default_changed = principal.as_ref().is_some_and(|p| p.is_service() && p.id == identity);
        if let Some(target) = target.filter(|&t| t != workspace && t != "-") {
            if !service_default_changed {
                prop_assert_eq!(old.allowed(), new.allowed(), "binding {} {} {} changed {} {} on {}", identity, workspace, role, method, path, target);
            }
        }
        // And whatever is allowed on a named workspace is allowed by a binding there (or bypass).
        if let (true, Some(target)) = (new.allowed(), new.workspace) {
            let ok = match &new.verdict {
                Verdict::Allow(Allow::RoleGrants { workspace, .. }) => *workspace == target,
                other => matches!(other, Verdict::Allow(Allow::PlatformAdmin | Allow::Authenticated | Allow::AllWorkspacesRead | Allow::HealthPath)),
            };
            prop_assert!(ok, "{} {} allowed on {} by {:?}", method, path, target, new.verdict);
        }
    }

    /// Granting never removes access (for non-service callers), and revoking what was granted
    /// restores every decision.
    #[test]
    fn grant_is_monotonic_and_revoke_restores(
        bindings in arb_bindings(),
        principal in arb_principal(),
        requests in prop::collection::vec(arb_request(), 10),
        identity in select(&["alice", "team-a", "*", "bob@example.com"][..]),
        workspace in select(&["ws1", "ws2", "system", "-"][..]),
        role in select(ROLES),
    ) {
        let before = BindingIndex::from_bindings(bindings.iter().cloned());
        let mut after = before.clone();
        let added = after.grant(BindingRef { principal: identity, workspace, role });
        let mut restored = after.clone();
        if added {
            restored.revoke(BindingRef { principal: identity, workspace, role });
        }
        let principal = principal.filter(|p| !p.is_service());
        for (method, path) in &requests {
            let request = Request { principal: principal.as_ref(), method, path };
            let old = decide(&request, policy(), &before);
            let new = decide(&request, policy(), &after);
            prop_assert!(!old.allowed() || new.allowed(), "grant removed access to {} {}", method, path);
            prop_assert_eq!(old, decide(&request, policy(), &restored));
        }
    }

    /// Check ⊆ list (METH-02): whoever may read a workspace sees it in the workspace listing,
    /// and the listing shows only workspaces where the caller has some role.
    #[test]
    fn readable_workspaces_are_listed(
        bindings in arb_bindings(),
        principal in arb_principal(),
        workspace in select(&["ws1", "ws2", "system", "default", "other"][..]),
    ) {
        let index = BindingIndex::from_bindings(bindings.iter().cloned());
        let Some(principal) = principal else { return Ok(()) };
        let path = format!("/apis/entities/v2/workspaces/{workspace}");
        let decision = decide(&Request { principal: Some(&principal), method: "GET", path: &path }, policy(), &index);
        let visible = index.visible_workspaces(&principal);
        if decision.allowed() {
            prop_assert!(visible.contains(workspace), "{} readable but not listed: {:?}", workspace, visible);
        }
        if let nmp_core::policy::Visibility::Only(listed) = &visible {
            for listed_workspace in listed {
                prop_assert!(!index.effective_roles(&principal, listed_workspace).is_empty());
            }
        }
    }
}
