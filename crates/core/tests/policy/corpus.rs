//! The hand-written authorization corpus: YAML fixtures under `tests/fixtures/authz/`, each a
//! binding set and named cases (principal, scopes, request → expected decision). Every case is
//! checked against the native PDP and against the shipped Rego. Cases about the HTTP surface
//! (`path_class`) and about grants (`grant`) have no Rego counterpart and run natively only.

use std::path::PathBuf;

use nmp_core::policy::{classify, decide, has_permissions, has_role, BindingIndex, Request};
use nmp_core::Principal;
use serde::Deserialize;

use crate::support::{policy, PrincipalSpec, Rego};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureFile {
    /// `[principal, workspace, role]` triples shared by every case of the file.
    #[serde(default)]
    bindings: Vec<(String, String, String)>,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// Replaces the file's bindings for this case.
    #[serde(default)]
    bindings: Option<Vec<(String, String, String)>>,
    /// Absent = anonymous.
    #[serde(default)]
    principal: Option<PrincipalSpec>,
    /// Absent = the token carried no scope claim.
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    has_permissions: Option<HasPermissions>,
    #[serde(default)]
    has_role: Option<HasRole>,
    /// `PathClass` of `path`: `Public`, `Callout` or `Decided`.
    #[serde(default)]
    path_class: Option<String>,
    /// Whether `role` may be granted in `workspace` (`allowed`), and why not (`reason`).
    #[serde(default)]
    grant: Option<GrantCase>,
    /// Required except for `path_class` cases.
    #[serde(default)]
    allowed: Option<bool>,
    /// `Decision::reason_kind()` of the native decision.
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HasPermissions {
    workspace: String,
    permissions: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantCase {
    workspace: String,
    role: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HasRole {
    workspace: String,
    role: String,
}

fn fixture_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/authz");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture directory exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_cases_hold_natively_and_in_rego() {
    let rego = Rego::new();
    let mut failures = Vec::new();
    let mut total = 0;
    for file in fixture_files() {
        let text = std::fs::read_to_string(&file).expect("fixture readable");
        let fixture: FixtureFile =
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let file_name = file.file_name().unwrap_or_default().to_string_lossy().to_string();
        for case in &fixture.cases {
            total += 1;
            let bindings = case.bindings.as_ref().unwrap_or(&fixture.bindings);
            let index = BindingIndex::from_bindings(bindings.iter().cloned());
            let principal = case.principal.as_ref().map(|p| p.build(case.scopes.as_deref()));
            let mut world = rego.world(policy(), &index);
            let label = format!("{file_name}: {}", case.name);
            if let Some(expected) = &case.path_class {
                let path = case.path.as_deref().unwrap_or_else(|| panic!("{label}: path missing"));
                let actual = format!("{:?}", classify(path));
                if &actual != expected {
                    failures.push(format!("{label}: path class {actual}, expected {expected}"));
                }
                if case.allowed.is_none() {
                    continue;
                }
            }
            let Some(allowed) = case.allowed else { panic!("{label}: `allowed` missing") };
            if let Some(grant) = &case.grant {
                let outcome = policy().check_grantable(&grant.workspace, &grant.role);
                if outcome.is_ok() != allowed {
                    failures.push(format!("{label}: grantable={}, expected {allowed}", outcome.is_ok()));
                }
                if let (Some(expected), Err(error)) = (&case.reason, &outcome) {
                    if error.kind() != expected {
                        failures.push(format!("{label}: reason {}, expected {expected}", error.kind()));
                    }
                }
                continue;
            }
            let (native, in_rego, reason) = run_case(case, principal.as_ref(), &index, &mut world);
            if native != allowed {
                failures.push(format!("{label}: native allowed={native}, expected {allowed} ({reason:?})"));
            }
            if in_rego != allowed {
                failures.push(format!("{label}: rego allowed={in_rego}, expected {allowed}"));
            }
            if let (Some(expected), Some(actual)) = (&case.reason, &reason) {
                if expected != actual {
                    failures.push(format!("{label}: reason {actual}, expected {expected}"));
                }
            }
        }
    }
    assert!(total >= 60, "the corpus shrank to {total} cases");
    assert!(
        failures.is_empty(),
        "{} of {total} corpus cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// (native answer, Rego answer, native reason kind for `allow` cases).
fn run_case(
    case: &Case,
    principal: Option<&Principal>,
    index: &BindingIndex,
    world: &mut crate::support::RegoWorld,
) -> (bool, bool, Option<String>) {
    let anonymous = Principal::default();
    if let Some(check) = &case.has_permissions {
        let permissions: Vec<&str> = check.permissions.iter().map(String::as_str).collect();
        let native =
            has_permissions(principal.unwrap_or(&anonymous), &check.workspace, &permissions, policy(), index);
        let in_rego = world.has_permissions(principal, &check.workspace, &permissions);
        return (native, in_rego, None);
    }
    if let Some(check) = &case.has_role {
        let native =
            has_role(principal.unwrap_or(&anonymous), &check.workspace, &check.role, policy(), index);
        let in_rego = world.has_role(principal, &check.workspace, &check.role);
        return (native, in_rego, None);
    }
    let method = case.method.as_deref().unwrap_or_else(|| panic!("{}: method missing", case.name));
    let path = case.path.as_deref().unwrap_or_else(|| panic!("{}: path missing", case.name));
    let decision = decide(&Request { principal, method, path }, policy(), index);
    let in_rego = world.allow(principal, method, path);
    (decision.allowed(), in_rego, Some(decision.reason_kind().to_string()))
}
