//! Two replicas on one store: a role change made through one is enforced by the other within
//! `policy_data_refresh_interval` (ADR 0017: immediately on the writer, within a second elsewhere).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use super::support::{user_token, write_config, ProcessServer, QUICKSTART};

async fn status(
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> StatusCode {
    let mut request = reqwest::Client::new().request(method, format!("{base}{path}")).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("sent").status()
}

#[tokio::test]
async fn a_grant_and_a_revoke_on_one_replica_reach_the_other_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    // Half a second between checks leaves headroom under the one-second promise on a busy machine.
    let config = write_config(dir.path(), &format!("{QUICKSTART}  policy_data_refresh_interval: 0.5\n"));
    let data = dir.path().join("data");
    let a = ProcessServer::spawn(&config, &data).expect("replica a");
    let b = ProcessServer::spawn(&config, &data).expect("replica b");
    let admin = user_token("admin@example.com", &[], None);
    let bob = user_token("bob@example.com", &[], None);
    let ws = "/apis/entities/v2/workspaces";
    assert_eq!(
        status(&a.base, &admin, reqwest::Method::POST, ws, Some(json!({"name": "ws1"}))).await,
        StatusCode::CREATED
    );
    let member = json!({"principal": "bob@example.com", "roles": ["Viewer"]});
    assert_eq!(
        status(&a.base, &admin, reqwest::Method::POST, &format!("{ws}/ws1/members"), Some(member)).await,
        StatusCode::CREATED
    );
    // Replica a enforces it at once; replica b within the refresh interval.
    assert_eq!(status(&a.base, &bob, reqwest::Method::GET, &format!("{ws}/ws1"), None).await, StatusCode::OK);
    let granted_at = Instant::now();
    while status(&b.base, &bob, reqwest::Method::GET, &format!("{ws}/ws1"), None).await != StatusCode::OK {
        assert!(granted_at.elapsed() < Duration::from_secs(3), "replica b never saw the grant");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let grant_latency = granted_at.elapsed();
    assert_eq!(
        status(&a.base, &admin, reqwest::Method::DELETE, &format!("{ws}/ws1/members/bob@example.com"), None)
            .await,
        StatusCode::OK
    );
    let revoked_at = Instant::now();
    while status(&b.base, &bob, reqwest::Method::GET, &format!("{ws}/ws1"), None).await
        != StatusCode::FORBIDDEN
    {
        assert!(revoked_at.elapsed() < Duration::from_secs(3), "replica b never saw the revoke");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let revoke_latency = revoked_at.elapsed();
    a.kill9();
    b.kill9();
    assert!(
        grant_latency < Duration::from_millis(1500) && revoke_latency < Duration::from_millis(1500),
        "grant took {grant_latency:?}, revoke took {revoke_latency:?}"
    );
}

/// The last-Admin rule across processes: two servers on one SQLite file, each demoting Admins
/// of the same workspace at the same moment. Only the store's write transaction (`BEGIN
/// IMMEDIATE`, the check inside it) can keep one Admin here: the in-process write lock of one
/// server does not see the other's writes.
#[tokio::test]
async fn concurrent_demotions_from_two_processes_leave_exactly_one_admin() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), QUICKSTART);
    let data = dir.path().join("data");
    let a = ProcessServer::spawn(&config, &data).expect("replica a");
    let b = ProcessServer::spawn(&config, &data).expect("replica b");
    let admin = user_token("admin@example.com", &[], None);
    let ws = "/apis/entities/v2/workspaces";
    let http = reqwest::Client::new();
    let rounds = 25;
    for round in 0..rounds {
        let workspace = format!("race{round}");
        assert_eq!(
            status(&a.base, &admin, reqwest::Method::POST, ws, Some(json!({"name": workspace}))).await,
            StatusCode::CREATED
        );
        // The creator is Admin; three more Admins make four, and all four are demoted at once,
        // two through each process.
        let members = format!("{ws}/{workspace}/members");
        let mut principals = vec!["admin@example.com".to_string()];
        for index in 0..3 {
            let principal = format!("admin{index}@example.com");
            let grant = json!({"principal": principal, "roles": ["Admin"]});
            assert_eq!(
                status(&a.base, &admin, reqwest::Method::POST, &members, Some(grant)).await,
                StatusCode::CREATED
            );
            principals.push(principal);
        }
        let demotions = principals.iter().enumerate().map(|(index, principal)| {
            let base = if index % 2 == 0 { &a.base } else { &b.base };
            http.put(format!("{base}{members}/{principal}"))
                .bearer_auth(&admin)
                .json(&json!({"roles": ["Viewer"]}))
                .send()
        });
        let results = futures::future::join_all(demotions).await;
        let statuses: Vec<StatusCode> = results.into_iter().map(|r| r.expect("sent").status()).collect();
        let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        let conflicts = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
        assert_eq!((ok, conflicts), (3, 1), "round {round}: {statuses:?}");
        // Both processes read the same answer from the store: exactly one Admin left.
        for base in [&a.base, &b.base] {
            let list: serde_json::Value = http
                .get(format!("{base}{members}"))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let admins =
                list["data"].as_array().unwrap().iter().filter(|m| m["roles"] == json!(["Admin"])).count();
            assert_eq!(admins, 1, "round {round} via {base}: {list}");
        }
    }
    a.kill9();
    b.kill9();
}

/// The catch-up task reloads the index when another process has written, not on its first tick
/// after the load at start (at a million bindings that reload was 0.4 s of CPU and, while it ran,
/// a second copy of the index, one refresh interval after every start).
#[tokio::test]
async fn a_fresh_server_does_not_reload_what_it_just_loaded() {
    let server =
        super::support::TestServer::start(&format!("{QUICKSTART}  policy_data_refresh_interval: 0.1\n"))
            .await;
    let access = &server._server.state.access;
    let at_start = access.generation();
    // Ten refresh intervals, and no write from anywhere: the index stays the one loaded at start.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(access.generation(), at_start, "the index was reloaded with nothing changed");
    // A local change still moves it (the test would pass on a clock that never ticks otherwise).
    let admin = user_token("admin@example.com", &[], None);
    let ws = "/apis/entities/v2/workspaces";
    assert_eq!(
        status(&server.base, &admin, reqwest::Method::POST, ws, Some(json!({"name": "ws1"}))).await,
        StatusCode::CREATED
    );
    assert!(access.generation() > at_start);
}
