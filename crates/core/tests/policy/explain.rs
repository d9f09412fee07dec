//! Explanations over random worlds: the explanation's decision is the decision, its role
//! sources are the roles the decision read, its remedy really allows the request, it hides
//! whether a foreign workspace exists, and `who_can` agrees with `has_permissions`.

use nmp_core::policy::{
    decide, explain, has_permissions, who_can, BindingIndex, Change, Deny, Layer, Remedy, Request,
};
use nmp_core::Principal;
use proptest::prelude::*;
use proptest::sample::select;

use crate::differential::{arb_bindings, arb_principal, arb_request, IDENTITIES, WORKSPACES};
use crate::support::policy;

/// Apply a remedy's changes to a copy of the world and of the principal.
fn apply(changes: &[Change], index: &BindingIndex, principal: &Principal) -> (BindingIndex, Principal) {
    let (mut index, mut principal) = (index.clone(), principal.clone());
    for change in changes {
        match change {
            Change::AddScope { scope, accepted } => {
                assert!(accepted.contains(scope), "{scope} not among {accepted:?}");
                principal.scopes.get_or_insert_with(Vec::new).push(scope.clone());
            }
            Change::Grant { principal: who, workspace, role } => {
                policy().check_grantable(workspace, role).expect("a suggested role is grantable there");
                index.grant(nmp_core::BindingRef { principal: who, workspace, role });
            }
        }
    }
    (index, principal)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// `explain(..).decision == decide(..)`, and the roles it attributes are exactly the roles
    /// the decision read.
    #[test]
    fn explanation_decision_is_the_decision(
        bindings in arb_bindings(),
        principal in arb_principal(),
        requests in prop::collection::vec(arb_request(), 8),
    ) {
        let index = BindingIndex::from_bindings(bindings.iter().cloned());
        for (method, path) in &requests {
            let request = Request { principal: principal.as_ref(), method, path };
            let explanation = explain(&request, policy(), &index);
            prop_assert_eq!(&explanation.decision, &decide(&request, policy(), &index), "{} {}", method, path);
            let roles_reached = explanation.layers.iter().any(|(layer, _)| *layer == Layer::Roles);
            if let (true, Some(principal), Some(workspace)) = (roles_reached, principal.as_ref(), explanation.role_workspace.as_deref()) {
                let attributed: std::collections::BTreeSet<String> = explanation
                    .role_sources
                    .iter()
                    .filter(|source| source.workspace == workspace)
                    .map(|source| source.role.clone())
                    .collect();
                prop_assert_eq!(attributed, index.effective_roles(principal, workspace));
            }
            // A denial is always the last layer the decision went through, failed.
            if !explanation.decision.allowed() {
                prop_assert_eq!(explanation.layers.last().map(|(_, passed)| *passed), Some(false));
            }
        }
    }

    /// The suggested change is correct: applied to the world, the same request is allowed.
    /// Denials that bindings or scopes can fix always come with a suggestion.
    #[test]
    fn remedy_allows_the_request(
        bindings in arb_bindings(),
        principal in arb_principal(),
        requests in prop::collection::vec(arb_request(), 8),
    ) {
        let index = BindingIndex::from_bindings(bindings.iter().cloned());
        for (method, path) in &requests {
            let request = Request { principal: principal.as_ref(), method, path };
            let explanation = explain(&request, policy(), &index);
            // A missing scope is fixable unless the request is a write across all workspaces
            // (for services only), which the next layer refuses whatever the scopes.
            let fixable = match explanation.decision.denial() {
                Some(Deny::NoBinding { .. } | Deny::MissingPermissions { .. }) => true,
                Some(Deny::MissingScope) => explanation.decision.workspace != Some("-"),
                _ => false,
            };
            match &explanation.remedy {
                Remedy::NotNeeded => prop_assert!(explanation.decision.allowed()),
                Remedy::Impossible(why) => prop_assert!(!fixable, "{} {} fixable but: {}", method, path, why),
                Remedy::Changes(changes) => {
                    prop_assert!(!changes.is_empty());
                    let principal = principal.as_ref().expect("only identified principals get changes");
                    let (index, principal) = apply(changes, &index, principal);
                    let after = decide(&Request { principal: Some(&principal), method, path }, policy(), &index);
                    prop_assert!(after.allowed(), "{} {}: {:?} did not allow it: {:?}", method, path, changes, after.verdict);
                }
            }
        }
    }

    /// Existence hiding: for a principal with no role in `ws1` (and no bypass), explaining a
    /// request on `ws1` reads the same whether others hold bindings there (it exists and is
    /// foreign) or nobody does (it may not exist at all).
    #[test]
    fn explanation_hides_foreign_workspaces(
        bindings in arb_bindings(),
        principal in arb_principal(),
        requests in prop::collection::vec(arb_request(), 8),
    ) {
        let index = BindingIndex::from_bindings(bindings.iter().cloned());
        let mut without_ws1 = index.clone();
        without_ws1.remove_workspace("ws1");
        let Some(principal) = principal else { return Ok(()) };
        if !index.effective_roles(&principal, "ws1").is_empty() {
            return Ok(());
        }
        for (method, path) in &requests {
            let request = Request { principal: Some(&principal), method, path };
            let foreign = explain(&request, policy(), &index);
            if foreign.decision.workspace != Some("ws1") {
                continue;
            }
            prop_assert_eq!(&foreign, &explain(&request, policy(), &without_ws1), "{} {}", method, path);
            prop_assert_eq!(foreign.summary(), explain(&request, policy(), &without_ws1).summary());
        }
    }

    /// `who_can` lists a binding for exactly the principals `has_permissions` allows: each
    /// identity holds the permission iff it, `*` or a PlatformAdmin binding of it is listed.
    #[test]
    fn who_can_agrees_with_has_permissions(
        bindings in arb_bindings(),
        workspace in select(WORKSPACES),
        permission in select(&["workspaces.read", "workspaces.members.create", "iam.list", "models.create", "iam.bundle.read", "jobs.logs.create"][..]),
    ) {
        let index = BindingIndex::from_bindings(bindings.iter().cloned());
        let holders = who_can(permission, workspace, policy(), &index);
        let listed = |identity: &str| holders.iter().any(|h| h.principal == identity);
        for identity in IDENTITIES.iter().copied().filter(|i| !i.starts_with("service:") && *i != "*") {
            let principal = Principal::new(identity);
            let holds = has_permissions(&principal, workspace, &[permission], policy(), &index);
            prop_assert_eq!(holds, listed(identity) || listed("*"), "{} {} in {}: {:?}", identity, permission, workspace, holders);
        }
        for holder in &holders {
            let principal = Principal::new(holder.principal.clone());
            prop_assert!(has_permissions(&principal, workspace, &[permission], policy(), &index));
        }
    }
}

/// The wording the issue asks for, on a fixed world: a group Viewer asking to add a member.
#[test]
fn explains_a_missing_role_in_words() {
    let index = BindingIndex::from_bindings([
        ("ml-readers", "ml-team", "Viewer"),
        ("ml-admin@example.com", "ml-team", "Admin"),
    ]);
    let bob = Principal::new("bob").with_email("bob@example.com").with_groups(["ml-readers"]);
    let request = Request {
        principal: Some(&bob),
        method: "POST",
        path: "/apis/entities/v2/workspaces/ml-team/members",
    };
    let explanation = explain(&request, policy(), &index);
    assert!(!explanation.decision.allowed());
    assert_eq!(
        explanation.summary(),
        "denied: needs `workspaces.members.create` in `ml-team`: Admin grants it; holds Viewer through group \
         `ml-readers`; to allow it: grant Admin to `bob` in `ml-team`"
    );
    let scoped = bob.clone().with_scopes(["entities:read"]);
    let request = Request { principal: Some(&scoped), ..request };
    let explanation = explain(&request, policy(), &index);
    assert_eq!(
        explanation.summary(),
        "denied: the token lacks a scope this endpoint accepts (`entities:write` or `platform:write`); to allow \
         it: add scope `entities:write` to the token and grant Admin to `bob` in `ml-team`"
    );
}

/// Existence hiding on a fixed world: a foreign workspace with members and a workspace nobody
/// ever created give the same explanation, word for word, apart from the name.
#[test]
fn foreign_and_missing_workspaces_explain_alike() {
    let index = BindingIndex::from_bindings([
        ("carol@example.com", "secret-team", "Admin"),
        ("*", "system", "Viewer"),
    ]);
    let bob = Principal::new("bob").with_email("bob@example.com");
    for method in ["GET", "DELETE"] {
        let foreign = explain(
            &Request {
                principal: Some(&bob),
                method,
                path: "/apis/entities/v2/workspaces/secret-team/members",
            },
            policy(),
            &index,
        );
        let missing = explain(
            &Request {
                principal: Some(&bob),
                method,
                path: "/apis/entities/v2/workspaces/no-such-team/members",
            },
            policy(),
            &index,
        );
        assert!(!foreign.decision.allowed());
        assert_eq!(
            foreign.summary().replace("secret-team", "W"),
            missing.summary().replace("no-such-team", "W")
        );
        assert!(!foreign.summary().contains("carol"), "{}", foreign.summary());
        assert_eq!(foreign.role_sources, missing.role_sources);
    }
}
