//! Issue 5, the interactive `nemo quickstart configure` prompts, answered through a real
//! pseudo-terminal (rexpect): advanced options → yes, authentication → Yes, admin email.

use rexpect::process::WaitStatus;

use super::free_port;
use crate::support::Scratch;

const TIMEOUT_MS: u64 = 30_000;
const ARROW_DOWN: &str = "\x1b[B";
const ENTER: &str = "\r";

#[test]
fn quickstart_configure_prompts_are_answered_through_a_pty() {
    let scratch = Scratch::new();
    let port = free_port().to_string();
    let mut command = scratch.command(&["quickstart", "configure", "--port", &port]);
    command.env("TERM", "xterm-256color");
    let mut session = rexpect::session::spawn_command(command, Some(TIMEOUT_MS)).expect("spawn in a pty");
    // Never outlive the test: the session's drop kills the process (SIGKILL after 5 s).
    session.process_mut().set_kill_timeout(Some(5_000));

    session.exp_string("Configure advanced options?").expect("advanced options prompt");
    session.send("y").unwrap();
    session.flush().unwrap();
    session.exp_string("Enable authentication/authorization?").expect("authentication prompt");
    // Items are No, Yes (default No): move down to Yes and confirm.
    session.send(ARROW_DOWN).unwrap();
    session.send(ENTER).unwrap();
    session.flush().unwrap();
    session.exp_string("Admin email (grants PlatformAdmin role)").expect("admin email prompt");
    // Not an email: the prompt says so and asks again.
    session.send("not-an-email").unwrap();
    session.send(ENTER).unwrap();
    session.flush().unwrap();
    session.exp_string("enter an email address").expect("validation message");
    session.send("admin@example.com").unwrap();
    session.send(ENTER).unwrap();
    session.flush().unwrap();
    session.exp_string("Quickstart configuration saved to").expect("saved");
    session.exp_string("Authentication: enabled").unwrap();
    session.exp_string("Admin email: admin@example.com").unwrap();
    session.exp_eof().expect("the command ends");
    match session.process().wait().unwrap() {
        WaitStatus::Exited(_, code) => assert_eq!(code, 0),
        other => panic!("nemo quickstart configure ended with {other:?}"),
    }

    let saved: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(scratch.home().join(".config/nmp/quickstart/config.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(saved["auth_enabled"].as_bool(), Some(true));
    assert_eq!(saved["admin_email"].as_str(), Some("admin@example.com"));
    assert_eq!(saved["port"].as_u64().map(|port| port.to_string()), Some(port));
}
