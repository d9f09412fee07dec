//! The full matrix, generated: every shipped endpoint × every role (and none) × binding kind
//! (id, group, `*`) × token scopes × target workspace, checked against a small reference model
//! written here from the raw TSV files, independently of the crate's loader and decision code.

use std::collections::{BTreeMap, BTreeSet};

use nmp_core::policy::{decide, BindingIndex, Request};
use nmp_core::Principal;

use crate::support::policy;

const ROLES_TSV: &str = include_str!("../../policy/roles.tsv");
const ENDPOINTS_TSV: &str = include_str!("../../policy/endpoint-map.tsv");

struct ModelEndpoint {
    method: String,
    pattern: String,
    permissions: Vec<String>,
    scopes: Vec<String>,
}

fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| line.split('\t').collect())
}

fn list(cell: &str) -> Vec<String> {
    if cell == "-" {
        Vec::new()
    } else {
        cell.split(',').map(str::to_string).collect()
    }
}

/// role -> every permission it grants (own + included, recursively); `*` kept as is.
fn model_roles() -> BTreeMap<String, BTreeSet<String>> {
    let declared: BTreeMap<String, (Vec<String>, Vec<String>)> =
        rows(ROLES_TSV).map(|cells| (cells[0].to_string(), (list(cells[1]), list(cells[2])))).collect();
    fn expand(
        role: &str,
        declared: &BTreeMap<String, (Vec<String>, Vec<String>)>,
        out: &mut BTreeSet<String>,
    ) {
        let (includes, permissions) = &declared[role];
        out.extend(permissions.iter().cloned());
        for included in includes {
            expand(included, declared, out);
        }
    }
    declared
        .keys()
        .map(|role| {
            let mut out = BTreeSet::new();
            expand(role, &declared, &mut out);
            (role.clone(), out)
        })
        .collect()
}

fn model_endpoints() -> Vec<ModelEndpoint> {
    rows(ENDPOINTS_TSV)
        .map(|cells| ModelEndpoint {
            method: cells[0].to_string(),
            pattern: cells[1].to_string(),
            permissions: list(cells[2]),
            scopes: list(cells[3]),
        })
        .collect()
}

/// Fill a pattern: the workspace placeholder gets `workspace`, others `x`, a `/-/` tail `a/b`.
/// Returns the path and whether it names a workspace.
fn fill(pattern: &str, workspace: &str) -> (String, bool) {
    let parts: Vec<&str> = pattern.split('/').collect();
    let mut names_workspace = false;
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let is_placeholder = part.starts_with('{');
        let is_workspace = is_placeholder
            && (*part == "{workspace}" || (i > 0 && parts[i - 1] == "workspaces" && !names_workspace));
        if is_workspace && !names_workspace {
            names_workspace = true;
            out.push(workspace.to_string());
        } else if is_placeholder && i == parts.len() - 1 && i > 0 && parts[i - 1] == "-" {
            out.push("a/b".to_string());
        } else if is_placeholder {
            out.push("x".to_string());
        } else {
            out.push(part.to_string());
        }
    }
    (out.join("/"), names_workspace)
}

/// The reference model for a non-service principal whose only binding is `role` in `bound`.
#[allow(clippy::too_many_arguments)]
fn model_allows(
    roles: &BTreeMap<String, BTreeSet<String>>,
    endpoint: &ModelEndpoint,
    path: &str,
    workspace: Option<&str>,
    role: Option<&str>,
    bound: &str,
    scopes: Option<&[&str]>,
) -> bool {
    let platform_admin = role == Some("PlatformAdmin") && bound == "system";
    if path.starts_with("/apis/secrets/") && path.ends_with("/access") {
        return false;
    }
    let segments: Vec<&str> = path.split('/').collect();
    let open_entities = segments.len() >= 5
        && segments[4] == "workspaces"
        && (segments.len() <= 6
            || (segments[5] != "-" && ["members", "projects", "entities"].contains(&segments[6])));
    if path.starts_with("/apis/entities/v2/") && !open_entities && !platform_admin {
        return false;
    }
    let granted = |permission: &str| {
        role.is_some_and(|role| roles[role].contains(permission) || roles[role].contains("*"))
    };
    if path == "/apis/auth/v2/iam/opa-bundle.tar.gz" && !(bound == "system" && granted("iam.bundle.read")) {
        return false;
    }
    if platform_admin {
        return true;
    }
    let scope_layer_on = scopes.is_some_and(|s| s.iter().any(|scope| scope.contains(':')));
    if scope_layer_on
        && !endpoint.scopes.is_empty()
        && !endpoint.scopes.iter().any(|accepted| scopes.unwrap_or_default().contains(&accepted.as_str()))
    {
        return false;
    }
    if endpoint.permissions.is_empty() {
        return true;
    }
    let target = workspace.unwrap_or("system");
    if target == "-" {
        return endpoint.method == "GET" || endpoint.method == "HEAD";
    }
    target == bound && endpoint.permissions.iter().all(|p| granted(p))
}

#[test]
fn every_endpoint_role_scope_and_workspace_matches_the_model() {
    let roles = model_roles();
    let role_names: Vec<Option<&str>> =
        std::iter::once(None).chain(roles.keys().map(|r| Some(r.as_str()))).collect();
    let scope_sets: [Option<&[&str]>; 7] = [
        None,
        Some(&["openid", "email"]),
        Some(&["platform:read"]),
        Some(&["platform:write"]),
        Some(&["platform:read", "platform:write"]),
        Some(&["models:read", "models:write", "entities:read"]),
        Some(&["jobs:write", "files:read", "auth:read"]),
    ];
    let mut checked = 0;
    let mut failures = Vec::new();
    for endpoint in model_endpoints() {
        for target in ["ws1", "ws2", "-"] {
            let (path, names_workspace) = fill(&endpoint.pattern, target);
            let route = policy().route(&endpoint.method, &path).expect("filled pattern routes");
            assert_eq!(route.endpoint.pattern.as_str(), endpoint.pattern, "{path} routes elsewhere");
            let workspace = names_workspace.then_some(target);
            if !names_workspace && target != "ws1" {
                continue; // platform-level endpoint: the target does not matter
            }
            for role in &role_names {
                // Workspace routes bind in ws1; platform-level routes bind in system.
                let bound = if names_workspace { "ws1" } else { "system" };
                for binding_kind in ["id", "group", "*"] {
                    let principal_for = |scopes: Option<&[&str]>| Principal {
                        id: "user-1".into(),
                        email: Some("user@example.com".into()),
                        groups: vec!["team".into()],
                        scopes: scopes.map(|s| s.iter().map(|x| x.to_string()).collect()),
                        on_behalf_of: None,
                    };
                    let bound_identity = match binding_kind {
                        "id" => "user-1",
                        "group" => "team",
                        _ => "*",
                    };
                    let index = match role {
                        Some(role) => BindingIndex::from_bindings([(bound_identity, bound, *role)]),
                        None => BindingIndex::new(),
                    };
                    for scopes in scope_sets {
                        let principal = principal_for(scopes);
                        let request =
                            Request { principal: Some(&principal), method: &endpoint.method, path: &path };
                        let decision = decide(&request, policy(), &index);
                        let expected =
                            model_allows(&roles, &endpoint, &path, workspace, *role, bound, scopes);
                        checked += 1;
                        if decision.allowed() != expected {
                            failures.push(format!(
                                "{} {path} role={role:?} via {binding_kind} in {bound} scopes={scopes:?}: pdp {} ({:?}), model {expected}",
                                endpoint.method, decision.allowed(), decision.verdict
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 20_000, "only {checked} matrix cells");
    assert!(
        failures.is_empty(),
        "{} of {checked} cells differ:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
}

#[test]
fn decision_13_is_applied_to_the_shipped_roles() {
    let policy = policy();
    assert!(!policy.role_grants("Editor", "workspaces.update"));
    assert!(!policy.role_grants("Editor", "workspaces.delete"));
    assert!(policy.role_grants("Admin", "workspaces.update"));
    assert!(policy.role_grants("Admin", "workspaces.delete"));
    for role in ["Viewer", "Editor", "Admin"] {
        assert!(policy.role_grants(role, "workspaces.members.list"), "{role}");
    }
    assert!(!policy.role_grants("Editor", "workspaces.members.create"));
}
