//! The binding index: grant/revoke/remove bookkeeping, effective roles and workspace visibility.

use std::collections::BTreeSet;

use nmp_core::policy::{BindingIndex, Visibility};
use nmp_core::{BindingRef, Principal};

fn key<'a>(principal: &'a str, workspace: &'a str, role: &'a str) -> BindingRef<'a> {
    BindingRef { principal, workspace, role }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn grant_revoke_and_remove_workspace() {
    let mut index = BindingIndex::new();
    assert!(index.grant(key("alice", "ws1", "Editor")));
    assert!(!index.grant(key("alice", "ws1", "Editor")), "idempotent");
    index.grant(key("alice", "ws2", "Viewer"));
    index.grant(key("*", "ws1", "Viewer"));
    assert_eq!(index.len(), 3);
    assert_eq!(index.identities_in("ws1").collect::<BTreeSet<_>>(), ["*", "alice"].into_iter().collect());

    assert!(index.revoke(key("alice", "ws1", "Editor")));
    assert!(!index.revoke(key("alice", "ws1", "Editor")));
    assert!(!index.revoke(key("nobody", "ws1", "Editor")));
    assert_eq!(index.identities_in("ws1").collect::<Vec<_>>(), ["*"]);

    assert_eq!(index.remove_workspace("ws1"), 1);
    assert_eq!(index.remove_workspace("ws1"), 0);
    assert!(!index.has_any_binding("*"));
    assert_eq!(index.len(), 1);
    index.revoke(key("alice", "ws2", "Viewer"));
    assert!(index.is_empty());
    assert_eq!(index, BindingIndex::new(), "no empty leftovers");
}

#[test]
fn effective_roles_union_identities_wildcard_and_service_default() {
    let index = BindingIndex::from_bindings([
        ("bob", "ws1", "Viewer"),
        ("bob@example.com", "ws1", "JobRunner"),
        ("team", "ws1", "Editor"),
        ("*", "ws1", "WorkspaceCreator"),
        ("service:bound", "ws2", "Viewer"),
    ]);
    let bob = Principal::new("bob").with_email("bob@example.com").with_groups(["team"]);
    assert_eq!(
        index.effective_roles(&bob, "ws1"),
        set(&["Editor", "JobRunner", "Viewer", "WorkspaceCreator"])
    );
    assert_eq!(index.effective_roles(&Principal::new("x"), "ws1"), set(&["WorkspaceCreator"]));
    assert_eq!(index.effective_roles(&Principal::default(), "ws1"), set(&[]), "anonymous gets no `*` roles");
    assert_eq!(index.effective_roles(&Principal::new("service:free"), "any"), set(&["ServiceSystem"]));
    assert_eq!(index.effective_roles(&Principal::new("service:bound"), "ws2"), set(&["Viewer"]));
    assert_eq!(index.effective_roles(&Principal::new("service:bound"), "ws9"), set(&[]));
}

#[test]
fn visible_workspaces() {
    let index = BindingIndex::from_bindings([
        ("alice", "ws1", "Viewer"),
        ("team", "ws2", "Editor"),
        ("*", "public", "Viewer"),
        ("root@example.com", "system", "PlatformAdmin"),
    ]);
    let alice = Principal::new("alice").with_groups(["team"]);
    assert_eq!(index.visible_workspaces(&alice), Visibility::Only(set(&["public", "ws1", "ws2"])));
    assert_eq!(index.visible_workspaces(&Principal::new("nobody")), Visibility::Only(set(&["public"])));
    assert_eq!(index.visible_workspaces(&Principal::default()), Visibility::Only(set(&[])));
    let root = Principal::new("r").with_email("root@example.com");
    assert_eq!(index.visible_workspaces(&root), Visibility::All);
    assert_eq!(index.visible_workspaces(&Principal::new("service:jobs")), Visibility::All);

    let mut delegated = Principal::new("service:jobs");
    delegated.on_behalf_of = Some(Box::new(Principal::new("alice")));
    assert_eq!(index.visible_workspaces(&delegated), Visibility::Only(set(&["public", "ws1"])));
    assert!(index.visible_workspaces(&root).contains("anything"));
}

#[test]
fn bundle_data_is_deterministic_and_holds_active_bindings() {
    use nmp_core::policy::bundle_data;
    let policy = crate::support::policy();
    let triples =
        [("b", "ws2", "Viewer"), ("a", "ws1", "Editor"), ("a", "ws1", "Viewer"), ("*", "system", "Viewer")];
    let forward = BindingIndex::from_bindings(triples);
    let backward = BindingIndex::from_bindings(triples.into_iter().rev());
    let data = bundle_data(policy, &forward);
    assert_eq!(data.to_string(), bundle_data(policy, &backward).to_string());
    let authz = &data["authz"];
    assert_eq!(authz["principals"]["a"]["workspaces"]["ws1"], serde_json::json!(["Editor", "Viewer"]));
    assert_eq!(authz["roles"]["Editor"]["includes"], serde_json::json!(["Viewer"]));
    assert_eq!(authz["endpoints"].as_array().map(Vec::len), Some(policy.endpoints().len()));
    assert_eq!(authz["config"]["system_workspace"], "system");
    // Rule names of the Rego must not collide with these data keys under `data.authz`.
    for (name, source) in nmp_core::policy::rego_sources() {
        for key in ["principals", "roles", "permissions", "endpoints", "config"] {
            assert!(
                !source.contains(&format!("\n{key} :=")) && !source.contains(&format!("\n{key} if")),
                "{name} defines `{key}`"
            );
        }
    }
}

#[test]
fn resolved_principal_answers_as_the_named_lookups_do() {
    // Twelve groups: past the eight identities a resolved principal keeps inline.
    let groups: Vec<String> = (0..12).map(|i| format!("group-{i}")).collect();
    let mut index = BindingIndex::new();
    index.grant(key("group-11", "ws1", "Editor"));
    index.grant(key("group-2", "ws1", "Viewer"));
    index.grant(key("*", "ws2", "Viewer"));
    index.grant(key("carol", "system", "PlatformAdmin"));
    index.grant(key("service:bound", "ws3", "Viewer"));
    let many = Principal::new("bob").with_email("bob@example.com").with_groups(groups);
    let who = index.resolve(&many);
    let mut roles = BTreeSet::new();
    assert!(!index.any_resolved_role(&who, "ws1", |role| {
        roles.insert(role.to_string());
        false
    }));
    assert_eq!(roles, set(&["Editor", "Viewer"]), "the twelfth group's role is found too");
    assert_eq!(index.effective_roles(&many, "ws1"), roles);
    assert!(index.any_resolved_role(&who, "ws2", |role| role == "Viewer"), "`*` is among the ids");
    assert!(!index.is_resolved_platform_admin(&who));
    assert!(index.is_resolved_platform_admin(&index.resolve(&Principal::new("carol"))));
    // A service holds ServiceSystem only while its own id has no binding.
    let free = Principal::new("service:free");
    assert!(index.any_resolved_role(&index.resolve(&free), "anywhere", |role| role == "ServiceSystem"));
    let bound = Principal::new("service:bound");
    assert!(!index.any_resolved_role(&index.resolve(&bound), "anywhere", |role| role == "ServiceSystem"));
    // Nobody (no identity at all) holds nothing, not even `*` roles.
    let nobody = Principal::new("");
    assert!(!index.any_resolved_role(&index.resolve(&nobody), "ws2", |_| true));
}
