//! Loading the shipped data and operator extensions: what is accepted, what is rejected, and
//! that every rejection names the bad entry.

use nmp_core::policy::{
    decide, BindingIndex, PolicyData, PolicyError, PolicyExtensions, PolicySources, Request, SHIPPED,
};
use nmp_core::Principal;

use crate::support::policy;

fn extensions(yaml: &str) -> PolicyExtensions {
    serde_yaml_ng::from_str(yaml).expect("extension yaml parses")
}

fn load_error(yaml: &str) -> String {
    PolicyData::with_extensions(&extensions(yaml)).expect_err("rejected").to_string()
}

#[test]
fn shipped_policy_is_complete() {
    let policy = policy();
    assert_eq!(
        policy.role_names(),
        ["Viewer", "Editor", "Admin", "WorkspaceCreator", "PlatformAdmin", "JobRunner", "ServiceSystem"]
    );
    assert_eq!(policy.endpoints().len(), 187, "182 before the 5 access-key routes");
    assert!(policy.is_known_role("JobRunner"));
    assert!(!policy.is_known_role("viewer"), "role names are case-sensitive");
    assert!(policy.role_grants("Admin", "models.read"), "Admin includes Editor includes Viewer");
    assert!(policy.role_grants("ServiceSystem", "anything.at.all"));
    let route = policy.route("GET", "/apis/intake/v2/workspaces/w/spans/groups").expect("routes");
    assert_eq!(route.endpoint.pattern.as_str(), "/apis/intake/v2/workspaces/{workspace}/spans/groups");
    let route =
        policy.route("GET", "/apis/inference-gateway/v2/workspaces/w/openai/-/v1/models").expect("routes");
    assert_eq!(
        route.endpoint.pattern.as_str(),
        "/apis/inference-gateway/v2/workspaces/{workspace}/openai/-/v1/models"
    );
    assert_eq!(route.workspace, Some("w"));
    assert!(policy.route("GET", "/apis/nothing").is_none());
}

#[test]
fn extensions_add_endpoints_and_roles() {
    let yaml = r#"
endpoints:
  - {method: GET, path: "/apis/reports/v1/workspaces/{workspace}/reports", permissions: [reports.list], scopes: ["reports:read", "platform:read"]}
  - {method: POST, path: "/apis/reports/v1/internal/rebuild", permissions: [], callers: service_principal}
  - {method: GET, path: "/apis/legacy/v1/thing", deny: true}
roles:
  - {name: ReportReader, includes: [Viewer], permissions: [reports.list]}
  - {name: Viewer, permissions: [models.prompts.list]}
"#;
    let policy = PolicyData::with_extensions(&extensions(yaml)).expect("valid extensions load");
    assert!(policy.role_grants("ReportReader", "reports.list"));
    assert!(policy.role_grants("ReportReader", "models.read"));
    assert!(policy.role_grants("Viewer", "models.prompts.list"), "existing roles can be extended");
    assert!(policy.role_grants("Admin", "models.prompts.list"), "and the extension is inherited");

    let index = BindingIndex::from_bindings([("rita", "ws1", "ReportReader")]);
    let rita = Principal::new("rita");
    let allowed = |principal: &Principal, method: &str, path: &str| {
        decide(&Request { principal: Some(principal), method, path }, &policy, &index).allowed()
    };
    assert!(allowed(&rita, "GET", "/apis/reports/v1/workspaces/ws1/reports"));
    assert!(!allowed(&rita, "POST", "/apis/reports/v1/internal/rebuild"), "callers: service_principal");
    assert!(allowed(&Principal::new("service:reports"), "POST", "/apis/reports/v1/internal/rebuild"));
    assert!(!allowed(&Principal::new("service:reports"), "GET", "/apis/legacy/v1/thing"), "deny: true");
}

#[test]
fn bad_extensions_are_rejected_naming_the_entry() {
    let cases = [
        ("roles: [{name: R, permissions: [models.fly]}]", "unknown permission `models.fly` in role `R`"),
        ("roles: [{name: R, permissions: [Models.Read]}]", "permission `Models.Read` in role `R`"),
        ("roles: [{name: R, includes: [Ghost]}]", "role `R` includes unknown role `Ghost`"),
        ("roles: [{name: 'bad name'}]", "role name `bad name`"),
        (
            "roles: [{name: A, includes: [B]}, {name: B, includes: [A]}]",
            "role `A` includes itself: `A -> B -> A`",
        ),
        ("endpoints: [{method: FETCH, path: /apis/x}]", "unsupported method `FETCH` for endpoint `/apis/x`"),
        ("endpoints: [{method: GET, path: 'apis/x'}]", "malformed path pattern `apis/x`"),
        ("endpoints: [{method: GET, path: '/apis/{Bad}'}]", "malformed path pattern `/apis/{Bad}`"),
        (
            "endpoints: [{method: GET, path: /apis/x, scopes: [read]}]",
            "scope `read` in endpoint `GET /apis/x`",
        ),
        (
            "endpoints: [{method: GET, path: /apis/x, permissions: ['x:read']}]",
            "permission `x:read` in endpoint `GET /apis/x`",
        ),
        (
            "endpoints: [{method: GET, path: /apis/x, permissions: [models.fly]}]",
            "unknown permission `models.fly` in endpoint `GET /apis/x`",
        ),
        (
            "endpoints: [{method: GET, path: /apis/auth/discovery}]",
            "endpoint `GET /apis/auth/discovery` is declared twice",
        ),
    ];
    for (yaml, expected) in cases {
        let message = load_error(yaml);
        assert!(message.contains(expected), "{yaml}: got `{message}`, expected it to contain `{expected}`");
        assert!(!message.contains('\n'), "single-line message: {message}");
    }
}

#[test]
fn unknown_keys_in_extensions_are_rejected() {
    let error = serde_yaml_ng::from_str::<PolicyExtensions>("roles: [{name: R, permission: [models.read]}]")
        .expect_err("typo rejected")
        .to_string();
    assert!(error.contains("permission"), "{error}");
}

#[test]
fn include_depth_and_cycles() {
    let chain = |depth: usize| {
        let roles: Vec<String> = (0..=depth)
            .map(|i| {
                if i == depth {
                    format!("{{name: R{i}}}")
                } else {
                    format!("{{name: R{i}, includes: [R{}]}}", i + 1)
                }
            })
            .collect();
        format!("roles: [{}]", roles.join(", "))
    };
    assert!(PolicyData::with_extensions(&extensions(&chain(5))).is_ok(), "five levels resolve");
    assert!(load_error(&chain(6)).contains("nests includes deeper than 5 levels"));
    assert!(load_error("roles: [{name: Loop, includes: [Loop]}]").contains("`Loop -> Loop`"));
}

#[test]
fn malformed_shipped_files_name_the_line() {
    let sources = PolicySources { roles_tsv: "# header\nViewer\t-\n", ..SHIPPED };
    let error = PolicyData::load(&sources, &PolicyExtensions::default()).expect_err("rejected");
    assert_eq!(error.to_string(), "roles.tsv line 2: expected 3 columns, found 2");
    assert!(matches!(error, PolicyError::Malformed { line: 2, .. }));
}
