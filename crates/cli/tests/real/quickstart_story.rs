//! Issue 5, the quickstart story as a new user types it: configure → up → admin creates a
//! workspace and grants Bob Viewer → Bob logs in with an unsigned token and sees exactly that →
//! down. The platform is the real server, started in the background by `nemo quickstart up`.

use std::time::Duration;

use serde_json::Value;

use super::{free_port, names, run_bounded, LIMIT};
use crate::support::{stderr, stdout, Scratch};

const HINT_403: &str = "Hint: Your current credentials do not have access to perform this operation. \
                        Contact your administrator to request access.";

/// Stops the background platform even when an assertion fails: `quickstart down`, then
/// SIGKILL to the recorded pid if it is still alive.
struct PlatformGuard<'a> {
    scratch: &'a Scratch,
}

impl PlatformGuard<'_> {
    fn pid(&self) -> Option<i32> {
        let path = self.scratch.home().join("state/nmp/quickstart/platform.pid");
        std::fs::read_to_string(path).ok()?.trim().parse().ok()
    }
}

impl Drop for PlatformGuard<'_> {
    fn drop(&mut self) {
        let pid = self.pid();
        let _ = run_bounded(&mut self.scratch.command(&["quickstart", "down"]), Duration::from_secs(30));
        if let Some(pid) = pid {
            let pid = nix::unistd::Pid::from_raw(pid);
            if nix::sys::signal::kill(pid, None).is_ok() {
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
}

fn run(scratch: &Scratch, args: &[&str]) -> std::process::Output {
    run_bounded(&mut scratch.command(args), LIMIT)
}

fn ok(scratch: &Scratch, args: &[&str]) -> std::process::Output {
    let output = run(scratch, args);
    assert!(
        output.status.success(),
        "`nemo {}` failed: {}{}",
        args.join(" "),
        stdout(&output),
        stderr(&output)
    );
    output
}

fn json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("not JSON: {}", stdout(output)))
}

#[test]
fn quickstart_story_admin_grants_bob_viewer_and_bob_sees_exactly_that() {
    let scratch = Scratch::new();
    let port = free_port();
    let port_text = port.to_string();
    ok(
        &scratch,
        &[
            "quickstart",
            "configure",
            "--auth",
            "--admin-email",
            "admin@example.com",
            "--port",
            &port_text,
            "--non-interactive",
        ],
    );
    let guard = PlatformGuard { scratch: &scratch };
    let up = ok(&scratch, &["quickstart", "up"]);
    assert!(stdout(&up).contains("admin@example.com"), "{}", stdout(&up));
    assert!(guard.pid().is_some(), "up records the platform's pid");

    // As the admin (the token `up` wrote into the `quickstart` context).
    let created = json(&ok(&scratch, &["workspaces", "create", "team-a"]));
    assert_eq!(created["name"], "team-a");
    assert_eq!(created["created_by"], "admin@example.com");
    ok(&scratch, &["workspaces", "create", "team-b"]);
    let member = json(&ok(
        &scratch,
        &[
            "workspaces",
            "members",
            "create",
            "--workspace",
            "team-a",
            "--principal",
            "bob@example.com",
            "--roles",
            "Viewer",
        ],
    ));
    assert_eq!(member["principal"], "bob@example.com");
    assert_eq!(member["roles"], serde_json::json!(["Viewer"]));

    // Bob.
    let login = ok(&scratch, &["auth", "login", "--unsigned-token", "--email", "bob@example.com"]);
    assert!(stdout(&login).contains("bob@example.com"), "{}", stdout(&login));
    let status = json(&ok(&scratch, &["auth", "status", "-f", "json"]));
    assert_eq!(status["Email"], "bob@example.com");
    assert_eq!(status["Context"], "quickstart");

    let visible = names(&json(&ok(&scratch, &["workspaces", "list", "-f", "json"])));
    assert!(visible.contains(&"team-a".to_string()), "{visible:?}");
    assert!(!visible.contains(&"team-b".to_string()), "Bob sees a workspace he was not granted: {visible:?}");
    let got = json(&ok(&scratch, &["workspaces", "get", "team-a"]));
    assert_eq!(got["name"], "team-a");
    // Viewers may list members (ADR 0023).
    let members =
        json(&ok(&scratch, &["workspaces", "members", "list", "--workspace", "team-a", "-f", "json"]));
    let members = members.get("data").unwrap_or(&members).to_string();
    assert!(members.contains("bob@example.com"), "{members}");
    // ... but not add any.
    let grant = run(
        &scratch,
        &[
            "workspaces",
            "members",
            "create",
            "--workspace",
            "team-a",
            "--principal",
            "eve@example.com",
            "--roles",
            "Admin",
        ],
    );
    assert_eq!(grant.status.code(), Some(3), "{}", stderr(&grant));
    assert_eq!(stderr(&grant), format!("Permission denied: (403) Forbidden\n{HINT_403}\n"));

    let delete = run(&scratch, &["workspaces", "delete", "team-a"]);
    assert_eq!(delete.status.code(), Some(3), "{}", stderr(&delete));
    assert_eq!(stderr(&delete), format!("Permission denied: (403) Forbidden\n{HINT_403}\n"));
    // Not granted: the same 403 whether it exists or not.
    let hidden = run(&scratch, &["workspaces", "get", "team-b"]);
    assert_eq!(hidden.status.code(), Some(3));
    assert!(stderr(&hidden).starts_with("Permission denied: (403) Forbidden\n"), "{}", stderr(&hidden));
    let missing = run(&scratch, &["workspaces", "get", "team-zzz"]);
    assert_eq!(stderr(&missing), stderr(&hidden));

    // Still there for the admin.
    ok(&scratch, &["auth", "login", "--unsigned-token", "--email", "admin@example.com"]);
    ok(&scratch, &["workspaces", "get", "team-a"]);

    let down = ok(&scratch, &["quickstart", "down"]);
    assert!(stdout(&down).contains("stopped"), "{}", stdout(&down));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "the platform still listens");
    drop(guard);
}
