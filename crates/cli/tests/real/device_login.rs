//! Issue 5, device flow: `nemo auth login` against the real server with OIDC on and the real test
//! IdP, the test playing the user; then refreshes (forced by a short TTL, a 401, and 20
//! concurrent processes with an expired token) and logout.

use std::process::Stdio;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use nmp_testkit::TestIdp;
use serde_json::Value;

use super::{lines_of, names, run_bounded, runtime, wait_bounded, wait_for_line, Platform, LIMIT};
use crate::support::{stderr, stdout, Scratch};

pub(super) const REFRESHED: &str = "[Auto-refreshed expired token]";

pub(super) fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The same JWT with `exp` changed (the signature no longer matches: the server refuses it).
pub(super) fn with_exp(token: &str, exp: i64) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = claims_of(token);
    claims["exp"] = exp.into();
    format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims.to_string()), parts[2])
}

pub(super) fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

pub(super) fn stored(scratch: &Scratch, key: &str) -> Option<String> {
    scratch.config()["users"][0][key].as_str().map(str::to_string)
}

pub(super) fn store_access_token(scratch: &Scratch, token: &str) {
    let text = scratch.config_text();
    let old = stored(scratch, "token").unwrap();
    assert!(text.contains(&old));
    std::fs::write(scratch.config_path(), text.replace(&old, token)).unwrap();
}

pub(super) fn token_calls(runtime: &tokio::runtime::Runtime, idp: &TestIdp) -> u64 {
    runtime.block_on(idp.counters()).unwrap().token
}

/// The test IdP (device `interval` 1 s) and the real server with OIDC pointed at it, ready.
pub(super) fn oidc_platform(runtime: &tokio::runtime::Runtime) -> (TestIdp, Platform) {
    let idp = runtime.block_on(TestIdp::start()).expect("the test IdP starts (node + tests/idp)");
    runtime.block_on(idp.set_device_interval(Some(1))).unwrap();
    let platform = Platform::start(
        runtime,
        &format!(
            "auth:\n  enabled: true\n  admin_email: admin@example.com\n  oidc:\n    enabled: true\n    \
             issuer: {}\n    client_id: nemo-cli\n    audience: nmp-api\n",
            idp.issuer()
        ),
    );
    let discovery = platform.wait_ready(runtime, true);
    assert_eq!(discovery["oidc"]["client_id"], "nemo-cli");
    (idp, platform)
}

/// How the user answers the device code the CLI prints.
#[derive(Clone, Copy)]
pub(super) enum Answer {
    Approve,
    Deny,
    /// Do nothing (let the code expire).
    Ignore,
    /// Press Ctrl-C (SIGINT) while the CLI polls.
    Interrupt,
}

/// `nemo auth login --base-url <server> --no-browser [extra]`, the test playing `user` on the
/// IdP's pages with the code the CLI printed. Returns the login's output and its stderr lines.
pub(super) fn device_login(
    runtime: &tokio::runtime::Runtime,
    idp: &TestIdp,
    platform: &Platform,
    scratch: &Scratch,
    user: &str,
    answer: Answer,
    extra: &[&str],
) -> (std::process::Output, Vec<String>) {
    let mut args = vec!["auth", "login", "--base-url", &platform.base_url, "--no-browser"];
    args.extend_from_slice(extra);
    let mut login = scratch
        .command(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = lines_of(login.stderr.take().unwrap());
    let mut seen = Vec::new();
    let visit = wait_for_line(&lines, "Visit: ", LIMIT, &mut seen);
    let user_code = wait_for_line(&lines, "Enter code: ", LIMIT, &mut seen);
    assert_eq!(visit, format!("{}/device", idp.issuer()));
    assert!(!user_code.is_empty());
    match answer {
        // The bare code, typed into the IdP's code-entry page, as on another device.
        Answer::Approve => runtime.block_on(idp.approve_device_code(&user_code, user)).expect("approve"),
        Answer::Deny => runtime.block_on(idp.deny_device_code(&user_code, user)).expect("deny"),
        Answer::Ignore => {}
        Answer::Interrupt => {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(login.id()).unwrap());
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
        }
    }
    let output = wait_bounded(login, LIMIT);
    // The reader thread ends with the pipe: collect what is left.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
        seen.push(line);
    }
    (output, seen)
}

#[test]
fn device_login_refresh_and_logout_against_the_real_server_and_idp() {
    let runtime = runtime();
    let (idp, platform) = oidc_platform(&runtime);
    let scratch = Scratch::new();

    // Tokens issued at login live 200 s: inside the CLI's 300 s margin, so the next API
    // command must refresh.
    runtime.block_on(idp.set_access_token_ttl(Duration::from_secs(200))).unwrap();

    // --- login: the test reads the code the CLI prints and approves it as Alice ---------------
    let (login, seen) =
        device_login(&runtime, &idp, &platform, &scratch, "alice@example.com", Answer::Approve, &[]);
    assert!(login.status.success(), "login failed: {seen:?}");
    assert!(
        seen.iter().any(|line| line.contains("nemo-cli") && line.contains(idp.issuer())),
        "the CLI says which client of which IdP asks: {seen:?}"
    );
    assert!(stdout(&login).starts_with("Logged in as alice@example.com.\n"), "{}", stdout(&login));

    let config = scratch.config();
    assert_eq!(config["users"][0]["type"].as_str(), Some("oauth"));
    assert_eq!(config["clusters"][0]["base_url"].as_str(), Some(format!("{}/", platform.base_url).as_str()));
    let first_access = stored(&scratch, "token").expect("access token stored");
    let first_refresh = stored(&scratch, "refresh_token").expect("refresh token stored");
    let claims = claims_of(&first_access);
    assert_eq!(claims["iss"], idp.issuer());
    assert_eq!(claims["sub"], "u-alice");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(scratch.config_path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    // --- status shows the user ----------------------------------------------------------------
    let status = run_bounded(&mut scratch.command(&["auth", "status", "-f", "json"]), LIMIT);
    assert!(status.status.success(), "{}", stderr(&status));
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["Email"], "alice@example.com");
    assert_eq!(status["User ID"], "u-alice");
    assert_eq!(status["Auth Type"], "oauth");
    assert_eq!(status["Refresh Token"], "available");
    assert!(status.get("Warning").is_none(), "a signed token is not flagged: {status}");

    // --- the first API command refreshes the short-lived token, once --------------------------
    runtime.block_on(idp.set_access_token_ttl(Duration::from_secs(900))).unwrap();
    let before = token_calls(&runtime, &idp);
    let list = run_bounded(&mut scratch.command(&["workspaces", "list", "-f", "json"]), LIMIT);
    assert!(list.status.success(), "{}", stderr(&list));
    assert!(stderr(&list).contains(REFRESHED), "{}", stderr(&list));
    assert_eq!(token_calls(&runtime, &idp), before + 1);
    let listed: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert!(names(&listed).contains(&"default".to_string()), "{listed}");
    let second_access = stored(&scratch, "token").unwrap();
    let second_refresh = stored(&scratch, "refresh_token").unwrap();
    assert_ne!(second_access, first_access);
    assert_ne!(second_refresh, first_refresh, "the IdP rotates refresh tokens; the CLI keeps the new one");
    let claims = claims_of(&second_access);
    assert!(claims["exp"].as_i64().unwrap() - now() > 800, "{claims}");

    // A fresh token is used as is.
    let list = run_bounded(&mut scratch.command(&["workspaces", "list", "-f", "json"]), LIMIT);
    assert!(list.status.success(), "{}", stderr(&list));
    assert!(!stderr(&list).contains(REFRESHED));
    assert_eq!(token_calls(&runtime, &idp), before + 1);

    // --- a token the CLI believes valid but the server refuses: one refresh, one retry ---------
    let forged = with_exp(&second_access, now() + 3000);
    store_access_token(&scratch, &forged);
    let before = token_calls(&runtime, &idp);
    let list = run_bounded(&mut scratch.command(&["workspaces", "list", "-f", "json"]), LIMIT);
    assert!(list.status.success(), "{}", stderr(&list));
    assert_eq!(token_calls(&runtime, &idp), before + 1);
    assert_ne!(stored(&scratch, "token").unwrap(), forged);

    // --- `nemo auth refresh` after the IdP rotates its signing key: the server learns the new
    // key (unknown kid → JWKS re-fetch) and the refreshed token works -------------------------
    let kid = runtime.block_on(idp.rotate_key("ES256")).unwrap();
    let before = token_calls(&runtime, &idp);
    let refreshed = run_bounded(&mut scratch.command(&["auth", "refresh"]), LIMIT);
    assert!(refreshed.status.success(), "{}", stderr(&refreshed));
    assert!(
        stdout(&refreshed).starts_with("Token refreshed for context `default`. Expires: "),
        "{}",
        stdout(&refreshed)
    );
    assert_eq!(token_calls(&runtime, &idp), before + 1);
    let rotated = stored(&scratch, "token").unwrap();
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(rotated.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["kid"], kid.as_str(), "signed with the new key: {header}");
    assert_eq!(header["alg"], "ES256");
    let list = run_bounded(&mut scratch.command(&["workspaces", "list", "-f", "json"]), LIMIT);
    assert!(list.status.success(), "{}", stderr(&list));
    assert!(!stderr(&list).contains(REFRESHED));

    // --- 20 processes at once with an expired token: exactly one refresh at the IdP -----------
    let current = stored(&scratch, "token").unwrap();
    let expired = with_exp(&current, now() - 30);
    store_access_token(&scratch, &expired);
    let refresh_before = stored(&scratch, "refresh_token").unwrap();
    // The expired token (also badly signed now) is refused by the server: without a refresh,
    // no process can succeed.
    let refused =
        run_bounded(scratch.command(&["workspaces", "list"]).env("NMP_ACCESS_TOKEN", &expired), LIMIT);
    assert_eq!(refused.status.code(), Some(3), "{}", stderr(&refused));
    assert!(stderr(&refused).starts_with("Authentication error: (401)"), "{}", stderr(&refused));

    let before = token_calls(&runtime, &idp);
    let children: Vec<_> = (0..20)
        .map(|_| {
            scratch
                .command(&["workspaces", "list", "-f", "json"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut announced = 0;
    for child in children {
        let output = wait_bounded(child, LIMIT);
        assert!(output.status.success(), "{}", stderr(&output));
        let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert!(names(&listed).contains(&"default".to_string()));
        announced += usize::from(stderr(&output).contains(REFRESHED));
    }
    assert_eq!(token_calls(&runtime, &idp), before + 1, "exactly one refresh reached the IdP");
    assert_eq!(announced, 1, "exactly one process refreshed");
    let after = stored(&scratch, "token").unwrap();
    assert_ne!(after, expired);
    assert!(claims_of(&after)["exp"].as_i64().unwrap() > now());
    let latest_refresh = stored(&scratch, "refresh_token").unwrap();
    assert_ne!(latest_refresh, refresh_before);

    // --- logout removes the tokens ------------------------------------------------------------
    let logout = run_bounded(&mut scratch.command(&["auth", "logout"]), LIMIT);
    assert!(logout.status.success(), "{}", stderr(&logout));
    assert!(stdout(&logout).starts_with("Logged out successfully.\n"), "{}", stdout(&logout));
    let config = scratch.config();
    assert_eq!(config["users"][0]["type"].as_str(), Some("no-auth"));
    assert!(config["users"][0].get("token").is_none());
    assert!(config["users"][0].get("refresh_token").is_none());
    // No token material anywhere in the config directory (config, lock file, temp files).
    for entry in std::fs::read_dir(scratch.config_path().parent().unwrap()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                !text.contains(&after) && !text.contains(&latest_refresh),
                "{} keeps a token",
                path.display()
            );
            assert!(!text.contains("eyJ"), "{} keeps a JWT", path.display());
        }
    }
    let list = run_bounded(&mut scratch.command(&["workspaces", "list"]), LIMIT);
    assert_eq!(list.status.code(), Some(3), "{}", stderr(&list));
    assert!(stderr(&list).starts_with("Authentication error: (401)"), "{}", stderr(&list));

    platform.stop(&runtime);
}
