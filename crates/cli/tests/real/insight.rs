//! `nemo auth whoami|can-i|explain` and `nemo iam who-can|audit|access-state` against the real server: with
//! quickstart tokens (`nemo auth login --unsigned-token`) and with a token from the real test
//! IdP (`nemo config set --access-token`); exit codes 0 yes, 1 no, 2 usage, 3 API error.

use serde_json::Value;

use super::{run_bounded, runtime, Platform, LIMIT};
use crate::support::{stderr, stdout, Scratch};

const QUICKSTART: &str =
    "auth:\n  enabled: true\n  allow_unsigned_jwt: true\n  admin_email: admin@example.com\n";

fn nemo(scratch: &Scratch, args: &[&str]) -> std::process::Output {
    run_bounded(&mut scratch.command(args), LIMIT)
}

/// Runs `nemo args` and checks its exit code; returns stdout.
fn expect(scratch: &Scratch, args: &[&str], code: i32) -> String {
    let output = nemo(scratch, args);
    assert_eq!(
        output.status.code(),
        Some(code),
        "`nemo {}`: {}{}",
        args.join(" "),
        stdout(&output),
        stderr(&output)
    );
    stdout(&output)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

fn login(base_url: &str, email: &str) -> Scratch {
    let scratch = Scratch::new();
    expect(&scratch, &["auth", "login", "--base-url", base_url, "--unsigned-token", "--email", email], 0);
    scratch
}

#[test]
fn can_i_explain_whoami_and_who_can_with_quickstart_tokens() {
    let runtime = runtime();
    let platform = Platform::start(&runtime, QUICKSTART);
    platform.wait_ready(&runtime, false);
    let admin = login(&platform.base_url, "admin@example.com");
    let bob = login(&platform.base_url, "bob@example.com");
    expect(&admin, &["workspaces", "create", "ml-team"], 0);
    expect(
        &admin,
        &[
            "workspaces",
            "members",
            "create",
            "--workspace",
            "ml-team",
            "--principal",
            "bob@example.com",
            "--roles",
            "Viewer",
        ],
        0,
    );

    let me = json(&expect(&bob, &["auth", "whoami", "-f", "json"], 0));
    assert_eq!(me["principal"], "bob@example.com");
    assert_eq!(me["token_kind"], "unsigned_token");
    assert_eq!(me["platform_admin"], false);
    let table = expect(&admin, &["auth", "whoami", "-f", "table"], 0);
    assert!(table.contains("PlatformAdmin") && table.contains("admin@example.com"), "{table}");

    // METHOD PATH: yes → 0, no → 1, with the answer printed.
    let ws = "/apis/entities/v2/workspaces/ml-team";
    assert_eq!(expect(&bob, &["auth", "can-i", "GET", ws, "-f", "table"], 0).trim(), "yes");
    let no = expect(&bob, &["auth", "can-i", "DELETE", ws, "-f", "table"], 1);
    assert!(no.starts_with("no\n") && no.contains("Admin grants it"), "{no}");
    let answer = json(&expect(&bob, &["auth", "can-i", "delete", ws, "-f", "json"], 1));
    assert_eq!(answer["allowed"], false);
    // VERB RESOURCE --workspace W.
    assert_eq!(
        expect(&bob, &["auth", "can-i", "get", "workspaces", "--workspace", "ml-team", "-f", "table"], 0)
            .trim(),
        "yes"
    );
    assert_eq!(
        expect(&bob, &["auth", "can-i", "create", "members", "--workspace", "ml-team", "-f", "table"], 1)
            .trim(),
        "no"
    );
    expect(&admin, &["auth", "can-i", "create", "members", "--workspace", "ml-team"], 0);
    let unknown = nemo(&bob, &["auth", "can-i", "explode", "workspaces", "--workspace", "ml-team"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", stderr(&unknown));
    assert!(stderr(&unknown).contains("workspaces.explode"), "{}", stderr(&unknown));
    expect(&bob, &["auth", "can-i", "GET"], 2);
    // --list.
    let list = json(&expect(&bob, &["auth", "can-i", "--list", "--workspace", "ml-team", "-f", "json"], 0));
    let held: Vec<&str> =
        list["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert!(held.contains(&"workspaces.read") && !held.contains(&"workspaces.delete"), "{held:?}");
    assert_eq!(list["roles"], serde_json::json!(["Viewer"]));

    // explain, for oneself and (as the PlatformAdmin) for bob.
    let why = expect(&bob, &["auth", "explain", "DELETE", ws, "-f", "table"], 0);
    assert!(why.contains("DENIED"), "{why}");
    assert!(
        why.contains(
            "nemo workspaces members create --workspace ml-team --principal bob@example.com --roles Admin"
        ),
        "{why}"
    );
    // A platform-level grant (in `system`) is suggested through the IAM role-bindings API.
    let why = expect(&bob, &["auth", "explain", "GET", "/apis/auth/v2/iam/role-bindings", "-f", "table"], 0);
    assert!(
        why.contains("to allow:    nemo iam role-bindings create --principal bob@example.com --role "),
        "{why}"
    );
    assert!(!why.contains("--workspace system"), "{why}");
    let as_bob =
        json(&expect(&admin, &["auth", "explain", "GET", ws, "--as", "bob@example.com", "-f", "json"], 0));
    assert_eq!(
        (as_bob["principal"].as_str(), as_bob["allowed"].as_bool()),
        (Some("bob@example.com"), Some(true))
    );
    let refused = nemo(&bob, &["auth", "explain", "GET", ws, "--as", "admin@example.com"]);
    assert_eq!(refused.status.code(), Some(3), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("(403)"), "{}", stderr(&refused));

    // who-can: for the PlatformAdmin, not for a Viewer (API error, exit 3).
    let who = json(&expect(
        &admin,
        &["iam", "who-can", "workspaces.read", "--workspace", "ml-team", "-f", "json"],
        0,
    ));
    let principals: Vec<&str> =
        who["holders"].as_array().unwrap().iter().map(|h| h["principal"].as_str().unwrap()).collect();
    assert!(principals.contains(&"bob@example.com") && principals.contains(&"admin@example.com"), "{who}");
    let table =
        expect(&admin, &["iam", "who-can", "workspaces.delete", "--workspace", "ml-team", "-f", "table"], 0);
    assert!(table.contains("platform_admin") && !table.contains("bob@example.com"), "{table}");
    expect(&bob, &["iam", "who-can", "workspaces.read", "--workspace", "ml-team"], 3);

    // The audit trail and the access-state export.
    let events =
        json(&expect(&admin, &["iam", "audit", "--workspace", "ml-team", "--oldest-first", "-f", "json"], 0));
    let actions: Vec<&str> =
        events.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["workspace.created", "binding.granted", "member.added"], "{events}");
    assert_eq!(events[2]["principal"], "bob@example.com");
    assert_eq!(events[2]["actor"], "admin@example.com");
    let table = expect(&admin, &["iam", "audit", "--principal", "bob@example.com", "-f", "table"], 0);
    assert!(table.contains("member.added") && table.contains("REQUEST ID"), "{table}");
    let all = json(&expect(&admin, &["iam", "audit", "--page-size", "1", "--all-pages", "-f", "json"], 0));
    assert!(all.as_array().unwrap().len() >= 3, "{all}");
    expect(&bob, &["iam", "audit", "--workspace", "ml-team"], 3);
    let csv = expect(&admin, &["iam", "access-state", "--csv"], 0);
    assert!(csv.starts_with("workspace,principal,role,granted_by,granted_at\n"), "{csv}");
    assert!(csv.contains("ml-team,bob@example.com,Viewer,admin@example.com,"), "{csv}");
    let state = json(&expect(&admin, &["iam", "access-state", "-f", "json"], 0));
    assert!(
        state["bindings"].as_array().unwrap().iter().any(|b| b["principal"] == "bob@example.com"),
        "{state}"
    );
    expect(&bob, &["iam", "access-state", "--csv"], 3);
    platform.stop(&runtime);
}

#[test]
fn can_i_and_who_can_with_an_idp_token() {
    let runtime = runtime();
    let idp =
        runtime.block_on(nmp_testkit::TestIdp::start()).expect("the test IdP starts (node + tests/idp)");
    let yaml = format!(
        "auth:\n  enabled: true\n  admin_email: admin@example.com\n  oidc:\n    enabled: true\n    issuer: {}\n    audience: {}\n    client_id: {}\n",
        idp.issuer(),
        idp.audience(),
        idp.client_id()
    );
    let platform = Platform::start(&runtime, &yaml);
    platform.wait_ready(&runtime, true);
    let scopes = "openid email platform:read platform:write";
    let token =
        |user: &str| runtime.block_on(idp.device_login(user, scopes)).expect("device login").access_token;
    let with_token = |user: &str| {
        let scratch = Scratch::new();
        expect(
            &scratch,
            &["config", "set", "--base-url", &platform.base_url, "--access-token", &token(user)],
            0,
        );
        scratch
    };
    let admin = with_token("admin@example.com");
    let carol = with_token("carol@example.com");
    expect(&admin, &["workspaces", "create", "data"], 0);
    expect(
        &admin,
        &[
            "workspaces",
            "members",
            "create",
            "--workspace",
            "data",
            "--principal",
            "data-team",
            "--roles",
            "Editor",
        ],
        0,
    );

    // carol is Editor through her `data-team` group.
    let me = json(&expect(&carol, &["auth", "whoami", "-f", "json"], 0));
    assert_eq!(me["token_kind"], "oidc_access_token");
    assert_eq!(me["groups"], serde_json::json!(["ml-team", "data-team"]));
    assert_eq!(
        expect(&carol, &["auth", "can-i", "create", "projects", "--workspace", "data", "-f", "table"], 0)
            .trim(),
        "yes"
    );
    let no =
        expect(&carol, &["auth", "can-i", "DELETE", "/apis/entities/v2/workspaces/data", "-f", "table"], 1);
    assert!(no.contains("Editor through group `data-team`"), "{no}");
    let who =
        json(&expect(&admin, &["iam", "who-can", "projects.create", "--workspace", "data", "-f", "json"], 0));
    assert!(
        who["holders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["principal"] == "data-team" && h["via"] == "binding"),
        "{who}"
    );
    expect(&carol, &["iam", "who-can", "projects.create", "--workspace", "data"], 3);
    platform.stop(&runtime);
}
