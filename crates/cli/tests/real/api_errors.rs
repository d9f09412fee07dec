//! Issue 5, API error rendering against the real server: the message on stderr and exit code 3
//! for 401/403/404/409/422, with the server's own `detail`.

use super::{run_bounded, runtime, Platform, LIMIT};
use crate::support::{stderr, stdout, Scratch};

const HINT_409: &str = "Hint: This can mean a resource with that name already exists (try a different name \
                        or delete the existing one), or a concurrent update conflicted (retry the operation).";
const HINT_403: &str = "Hint: Your current credentials do not have access to perform this operation. \
                        Contact your administrator to request access.";
const HINT_401: &str = "Hint: Run 'nemo auth login' or set the token manually with nemo config set \
                        --access-token <token>, or use NMP_ACCESS_TOKEN.";

const QUICKSTART: &str =
    "auth:\n  enabled: true\n  allow_unsigned_jwt: true\n  admin_email: admin@example.com\n";

fn run(scratch: &Scratch, args: &[&str]) -> std::process::Output {
    run_bounded(&mut scratch.command(args), LIMIT)
}

/// Exit code 3 and exactly `expected` on stderr (stdout empty).
fn assert_api_error(output: &std::process::Output, expected: &str) {
    assert_eq!(output.status.code(), Some(3), "{}", stderr(output));
    assert_eq!(stderr(output), expected);
    assert_eq!(stdout(output), "");
}

#[test]
fn api_errors_from_the_real_server_render_with_exit_code_3() {
    let runtime = runtime();
    let platform = Platform::start(&runtime, QUICKSTART);
    platform.wait_ready(&runtime, false);
    let admin = Scratch::new();
    let login = run(
        &admin,
        &[
            "auth",
            "login",
            "--base-url",
            &platform.base_url,
            "--unsigned-token",
            "--email",
            "admin@example.com",
        ],
    );
    assert!(login.status.success(), "{}", stderr(&login));

    // 404
    assert_api_error(
        &run(&admin, &["workspaces", "get", "nope"]),
        "Not found: (404) Workspace 'nope' not found\n",
    );
    assert_api_error(
        &run(&admin, &["workspaces", "members", "list", "--workspace", "nope"]),
        "Not found: (404) Workspace 'nope' not found\n",
    );

    // 409
    let created = run(&admin, &["workspaces", "create", "ws1"]);
    assert!(created.status.success(), "{}", stderr(&created));
    assert_api_error(
        &run(&admin, &["workspaces", "create", "ws1"]),
        &format!("Conflict: (409) Workspace 'ws1' already exists\n{HINT_409}\n"),
    );
    let exist_ok = run(&admin, &["workspaces", "create", "ws1", "--exist-ok"]);
    assert!(exist_ok.status.success(), "{}", stderr(&exist_ok));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&exist_ok.stdout).unwrap()["name"], "ws1");

    // 404 inside a visible workspace
    assert_api_error(
        &run(&admin, &["workspaces", "members", "delete", "zed@example.com", "--workspace", "ws1"]),
        "Not found: (404) Member 'zed@example.com' not found in workspace 'ws1'\n",
    );

    // 422: the reference's pattern message for a bad name, and unknown roles (ADR 0020).
    let bad_name = run(&admin, &["workspaces", "create", "Bad Name!"]);
    assert_eq!(bad_name.status.code(), Some(3), "{}", stderr(&bad_name));
    let text = stderr(&bad_name);
    assert!(
        text.starts_with("Validation error: (422) body.name: String should match pattern '^[a-z](?!.*--)"),
        "{text}"
    );
    assert!(text.ends_with("(input: \"Bad Name!\")\n"), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
    let bad_role = run(
        &admin,
        &[
            "workspaces",
            "members",
            "create",
            "--workspace",
            "ws1",
            "--principal",
            "bob@example.com",
            "--roles",
            "Superuser",
        ],
    );
    assert_eq!(bad_role.status.code(), Some(3), "{}", stderr(&bad_role));
    let text = stderr(&bad_role);
    assert!(text.starts_with("Validation error: (422) "), "{text}");
    assert!(
        text.contains("Superuser") && text.contains("Viewer"),
        "names the bad and the valid roles: {text}"
    );

    // 403: Bob has no role in ws1.
    let bob = Scratch::new();
    let login = run(
        &bob,
        &[
            "auth",
            "login",
            "--base-url",
            &platform.base_url,
            "--unsigned-token",
            "--email",
            "bob@example.com",
        ],
    );
    assert!(login.status.success(), "{}", stderr(&login));
    assert_api_error(
        &run(&bob, &["workspaces", "get", "ws1"]),
        &format!("Permission denied: (403) Forbidden\n{HINT_403}\n"),
    );
    assert_api_error(
        &run(&bob, &["workspaces", "delete", "ws1"]),
        &format!("Permission denied: (403) Forbidden\n{HINT_403}\n"),
    );

    // 401: no credentials at all.
    let anonymous = Scratch::new();
    let output = run_bounded(
        anonymous.command(&["workspaces", "list"]).env("NMP_BASE_URL", &platform.base_url),
        LIMIT,
    );
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.starts_with("Authentication error: (401) "), "{text}");
    assert!(text.ends_with(&format!("\n{HINT_401}\n")), "{text}");

    platform.stop(&runtime);
}
