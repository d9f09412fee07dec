//! `docs/oidc-setup.md`, "The generic case, step by step", followed literally: the page's own
//! config block (issuer pointed at the real test IdP, whose client and audience are the page's
//! `nemo-cli` and `nmp-api`), `nemo services check`, the server, `nemo auth login` with the device
//! flow, the admin creating a workspace and binding a group, and a member of that group using it.

use serde_json::Value;

use super::device_login::{device_login, Answer};
use super::{names, run_bounded, runtime, Platform, LIMIT};
use crate::support::{stderr, stdout, Scratch};

const GUIDE: &str = include_str!("../../../../docs/oidc-setup.md");

/// The YAML block after `<!-- fixture: generic -->`, without its list indentation.
fn generic_block() -> String {
    let after = GUIDE.split_once("<!-- fixture: generic -->").expect("the generic fixture block").1;
    let block = after.split_once("```yaml\n").and_then(|(_, rest)| rest.split_once("```")).expect("yaml").0;
    let indent = block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    block.lines().map(|line| line.get(indent..).unwrap_or("")).collect::<Vec<_>>().join("\n") + "\n"
}

fn nemo(scratch: &Scratch, args: &[&str]) -> std::process::Output {
    run_bounded(&mut scratch.command(args), LIMIT)
}

fn ok(output: std::process::Output) -> String {
    assert!(output.status.success(), "{}{}", stdout(&output), stderr(&output));
    stdout(&output)
}

#[test]
fn the_generic_oidc_guide_followed_literally() {
    let runtime = runtime();
    let idp =
        runtime.block_on(nmp_testkit::TestIdp::start()).expect("the test IdP starts (node + tests/idp)");
    runtime.block_on(idp.set_device_interval(Some(1))).unwrap();

    // Step 2: the page's config, with only the IdP's address changed.
    let guide_yaml = generic_block();
    assert!(
        guide_yaml.contains("client_id: nemo-cli") && guide_yaml.contains("audience: nmp-api"),
        "{guide_yaml}"
    );
    assert_eq!(idp.client_id(), "nemo-cli");
    assert_eq!(idp.audience(), "nmp-api");
    let yaml = guide_yaml.replace("https://idp.example.com", idp.issuer());
    assert_ne!(yaml, guide_yaml, "the page's issuer was replaced");

    // Step 3: the check runs and says what is missing for production (no gateway declared).
    let scratch = Scratch::new();
    let config = scratch.home().join("platform.yaml");
    std::fs::write(&config, &yaml).unwrap();
    let check = nemo(&scratch, &["services", "check", "--config", config.to_str().unwrap(), "-f", "json"]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    let report: Value = serde_json::from_slice(&check.stdout).unwrap();
    let serious: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "high" || f["severity"] == "critical")
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(serious, ["no-tls-no-gateway"], "{report}");

    // Steps 3 and 4: the server, and what it tells clients.
    let platform = Platform::start(&runtime, &yaml);
    let discovery = platform.wait_ready(&runtime, true);
    assert_eq!(discovery["auth_enabled"], true);
    assert_eq!(discovery["oidc"]["client_id"], "nemo-cli");
    assert_eq!(
        discovery["oidc"]["default_scopes"],
        "openid profile email offline_access platform:read platform:write"
    );

    // Step 5: the admin signs in with the device flow.
    let (login, seen) =
        device_login(&runtime, &idp, &platform, &scratch, "admin@example.com", Answer::Approve, &[]);
    assert!(login.status.success(), "admin login failed: {seen:?}");
    let status: Value = serde_json::from_str(&ok(nemo(&scratch, &["auth", "status", "-f", "json"]))).unwrap();
    assert_eq!(status["Email"], "admin@example.com");
    let claims: Value = serde_json::from_str(&ok(nemo(&scratch, &["auth", "token", "--decode"]))).unwrap();
    assert_eq!(claims["aud"], "nmp-api");

    // Step 6: grant a group, then a member of it signs in and uses the API.
    ok(nemo(&scratch, &["workspaces", "create", "ml-research"]));
    ok(nemo(
        &scratch,
        &[
            "workspaces",
            "members",
            "create",
            "--workspace",
            "ml-research",
            "--principal",
            "ml-team",
            "--roles",
            "Editor",
        ],
    ));
    let (login, seen) =
        device_login(&runtime, &idp, &platform, &scratch, "alice@example.com", Answer::Approve, &[]);
    assert!(login.status.success(), "alice login failed: {seen:?}");
    let listed: Value =
        serde_json::from_str(&ok(nemo(&scratch, &["workspaces", "list", "-f", "json"]))).unwrap();
    assert!(names(&listed).contains(&"ml-research".to_string()), "{listed}");

    // "To see how the server maps any token": the page's `curl` of `/apis/auth/authenticate`.
    let token = ok(nemo(&scratch, &["auth", "token"])).trim().to_string();
    let whoami: Value = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!("{}/apis/auth/authenticate", platform.base_url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(whoami["principal"], "u-alice");
    assert_eq!(whoami["email"], "alice@example.com");
    assert_eq!(whoami["groups"], serde_json::json!(["ml-team"]));
    let scopes = whoami["scopes"].as_array().unwrap();
    assert!(
        scopes.contains(&Value::from("platform:read")) && scopes.contains(&Value::from("platform:write")),
        "{whoami}"
    );

    // Someone outside the group does not see it.
    let (login, seen) =
        device_login(&runtime, &idp, &platform, &scratch, "bob@example.com", Answer::Approve, &[]);
    assert!(login.status.success(), "bob login failed: {seen:?}");
    let listed: Value =
        serde_json::from_str(&ok(nemo(&scratch, &["workspaces", "list", "-f", "json"]))).unwrap();
    assert!(!names(&listed).contains(&"ml-research".to_string()), "{listed}");
    platform.stop(&runtime);
}
