//! Device flow and refresh edge cases against the real test IdP and the real server: denial,
//! code expiry, a refresh token rotated behind the CLI's back, an IdP outage, requested scopes
//! enforced by the server.

use std::time::Duration;

use serde_json::Value;

use super::device_login::{
    claims_of, device_login, now, oidc_platform, store_access_token, stored, token_calls, with_exp, Answer,
    REFRESHED,
};
use super::{names, run_bounded, runtime, LIMIT};
use crate::support::{stderr, stdout, Scratch};

fn run(scratch: &Scratch, args: &[&str]) -> std::process::Output {
    run_bounded(&mut scratch.command(args), LIMIT)
}

/// CLI-D04 / CLI-D05: denied or expired codes end the login with an error and write nothing.
#[test]
fn denied_and_expired_device_codes_fail_without_writing_credentials() {
    let runtime = runtime();
    let (idp, platform) = oidc_platform(&runtime);

    let scratch = Scratch::new();
    let (login, seen) =
        device_login(&runtime, &idp, &platform, &scratch, "bob@example.com", Answer::Deny, &[]);
    assert_eq!(login.status.code(), Some(1), "{seen:?}");
    assert!(seen.contains(&"Error: device authorization was denied".to_string()), "{seen:?}");
    assert!(!scratch.config_path().exists(), "a denied login wrote {}", scratch.config_text());

    // Ctrl-C while polling: the login stops, nothing is written (CLI-D09).
    let scratch = Scratch::new();
    let (login, seen) =
        device_login(&runtime, &idp, &platform, &scratch, "bob@example.com", Answer::Interrupt, &[]);
    assert_eq!(login.status.code(), Some(130), "{seen:?}");
    assert!(seen.contains(&"Login cancelled.".to_string()), "{seen:?}");
    assert!(!scratch.config_path().exists(), "an interrupted login wrote {}", scratch.config_text());

    // Unsigned tokens are refused up front by a cluster that has OIDC login.
    let scratch = Scratch::new();
    let unsigned = run(
        &scratch,
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
    assert_eq!(unsigned.status.code(), Some(1), "{}", stderr(&unsigned));
    assert!(stderr(&unsigned).contains("OIDC authentication configured"), "{}", stderr(&unsigned));
    assert!(!scratch.config_path().exists() || !scratch.config_text().contains("token:"));

    runtime.block_on(idp.set_device_code_ttl(Duration::from_secs(3))).unwrap();
    let scratch = Scratch::new();
    let started = std::time::Instant::now();
    let (login, seen) =
        device_login(&runtime, &idp, &platform, &scratch, "bob@example.com", Answer::Ignore, &[]);
    assert_eq!(login.status.code(), Some(1), "{seen:?}");
    assert!(seen.iter().any(|line| line.starts_with("Error: ") && line.contains("expired")), "{seen:?}");
    assert!(started.elapsed() < Duration::from_secs(30), "polling went on for {:?}", started.elapsed());
    assert!(!scratch.config_path().exists());
    platform.stop(&runtime);
}

/// CLI-T06: the stored refresh token was rotated by someone else (the IdP now answers
/// `invalid_grant`); an expired access token cannot be renewed: a clear error asking for a new
/// login, exit 1, and the stored credentials are left alone.
#[test]
fn a_refresh_token_rotated_elsewhere_asks_for_a_new_login_and_keeps_the_file() {
    let runtime = runtime();
    let (idp, platform) = oidc_platform(&runtime);
    runtime.block_on(idp.set_access_token_ttl(Duration::from_secs(200))).unwrap();
    let scratch = Scratch::new();
    let (login, seen) =
        device_login(&runtime, &idp, &platform, &scratch, "alice@example.com", Answer::Approve, &[]);
    assert!(login.status.success(), "{seen:?}");

    let refresh = stored(&scratch, "refresh_token").unwrap();
    runtime.block_on(idp.refresh(&refresh)).expect("someone else uses the refresh token");

    // Tokens from this login live 200 s (inside the 300 s margin): the refresh is tried and
    // refused, and the token, still valid, is used.
    let before = token_calls(&runtime, &idp);
    let output = run(&scratch, &["workspaces", "list", "-f", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains(REFRESHED));
    assert_eq!(token_calls(&runtime, &idp), before + 1, "one refresh was tried");
    assert_eq!(stored(&scratch, "refresh_token").unwrap(), refresh);

    // Expired: a new login is needed.
    let expired = with_exp(&stored(&scratch, "token").unwrap(), now() - 30);
    store_access_token(&scratch, &expired);
    let before = scratch.config_text();

    let output = run(&scratch, &["workspaces", "list"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "Error: Your access token has expired and could not be refreshed.\n\
         Hint: Run 'nemo auth login' to re-authenticate.\n"
    );
    assert_eq!(scratch.config_text(), before, "nothing deletes stored credentials");
    platform.stop(&runtime);
}

/// CLI-T07: with the IdP down, a token that has not expired yet keeps working (the refresh is
/// retried later); once the IdP is back, the next command refreshes.
#[test]
fn an_idp_outage_keeps_a_valid_token_working_and_refresh_resumes_after() {
    let runtime = runtime();
    let (mut idp, platform) = oidc_platform(&runtime);
    // Inside the 300 s margin: every command wants to refresh.
    runtime.block_on(idp.set_access_token_ttl(Duration::from_secs(200))).unwrap();
    let scratch = Scratch::new();
    let (login, seen) =
        device_login(&runtime, &idp, &platform, &scratch, "alice@example.com", Answer::Approve, &[]);
    assert!(login.status.success(), "{seen:?}");
    let access = stored(&scratch, "token").unwrap();
    let refresh = stored(&scratch, "refresh_token").unwrap();

    runtime.block_on(idp.stop()).unwrap();
    let started = std::time::Instant::now();
    let output = run(&scratch, &["workspaces", "list", "-f", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains(REFRESHED));
    let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(names(&listed).contains(&"default".to_string()));
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    assert_eq!(stored(&scratch, "token").unwrap(), access);
    assert_eq!(stored(&scratch, "refresh_token").unwrap(), refresh);

    runtime.block_on(idp.restart()).unwrap();
    runtime.block_on(idp.set_access_token_ttl(Duration::from_secs(900))).unwrap();
    let before = token_calls(&runtime, &idp);
    let output = run(&scratch, &["workspaces", "list", "-f", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains(REFRESHED), "{}", stderr(&output));
    assert_eq!(token_calls(&runtime, &idp), before + 1);
    assert_ne!(stored(&scratch, "token").unwrap(), access);
    platform.stop(&runtime);
}

/// `--scope platform:read`: the IdP grants it, the token carries it, and the server's scope
/// check lets Alice read but not write, although her roles would allow both.
#[test]
fn requested_scopes_reach_the_token_and_the_server_enforces_them() {
    let runtime = runtime();
    let (idp, platform) = oidc_platform(&runtime);

    let read_only = Scratch::new();
    let (login, seen) = device_login(
        &runtime,
        &idp,
        &platform,
        &read_only,
        "alice@example.com",
        Answer::Approve,
        &["--scope", "platform:read"],
    );
    assert!(login.status.success(), "{seen:?}");
    assert!(
        !seen.iter().any(|line| line.contains("missing requested scopes")),
        "the IdP granted what was asked: {seen:?}"
    );
    let claims = claims_of(&stored(&read_only, "token").unwrap());
    assert_eq!(claims["scope"], "platform:read", "{claims}");
    let status: Value =
        serde_json::from_slice(&run(&read_only, &["auth", "status", "-f", "json"]).stdout).unwrap();
    assert!(status["Scopes"].as_str().unwrap_or_default().contains("platform:read"), "{status}");
    let list = run(&read_only, &["workspaces", "list", "-f", "json"]);
    assert!(list.status.success(), "{}", stderr(&list));
    let create = run(&read_only, &["workspaces", "create", "alice-ws"]);
    assert_eq!(create.status.code(), Some(3), "{}{}", stdout(&create), stderr(&create));
    assert!(stderr(&create).starts_with("Permission denied: (403) "), "{}", stderr(&create));

    // Without API scopes (the cluster's default scopes) only roles decide: creating works.
    let full = Scratch::new();
    let (login, seen) =
        device_login(&runtime, &idp, &platform, &full, "alice@example.com", Answer::Approve, &[]);
    assert!(login.status.success(), "{seen:?}");
    let create = run(&full, &["workspaces", "create", "alice-ws"]);
    assert!(create.status.success(), "{}", stderr(&create));
    let created: Value = serde_json::from_slice(&create.stdout).unwrap();
    assert_eq!(created["created_by"], "u-alice");
    platform.stop(&runtime);
}
