//! The audit trail over real HTTP: every access change leaves one event with actor, before/after
//! and request id; refused changes leave none; no route alters events; PlatformAdmins read all,
//! a workspace's Admins only theirs (the same 403 for a foreign and a missing workspace); the
//! access-state export as JSON and CSV; and under `kill -9`, a change and its event are durable
//! together or not at all.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::support::{call, user_token, write_config, ProcessServer, TestServer, QUICKSTART};

const WS: &str = "/apis/entities/v2/workspaces";
const EVENTS: &str = "/apis/auth/v2/audit-events";

async fn with_request_id(
    server: &TestServer,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    request_id: &str,
) -> StatusCode {
    let auth = format!("Bearer {token}");
    let (status, answer) = server
        .call(method, path, body, &[("Authorization", auth.as_str()), ("X-Request-Id", request_id)])
        .await;
    assert!(status.is_success(), "{path}: {answer}");
    status
}

fn actions(page: &Value) -> Vec<String> {
    page["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn access_changes_are_audited_with_actor_before_after_and_request_id() {
    let server = TestServer::start(QUICKSTART).await;
    let admin = user_token("admin@example.com", &[], None);
    let dave = user_token("dave@example.com", &[], None);
    let bob = user_token("bob@example.com", &[], None);
    with_request_id(&server, &admin, Method::POST, WS, Some(json!({"name": "ws1"})), "req-1").await;
    with_request_id(&server, &admin, Method::POST, WS, Some(json!({"name": "ws3"})), "req-2").await;
    let members = format!("{WS}/ws1/members");
    let add = |who: &str, role: &str| json!({"principal": who, "roles": [role]});
    with_request_id(&server, &admin, Method::POST, &members, Some(add("dave@example.com", "Admin")), "req-3")
        .await;
    with_request_id(&server, &admin, Method::POST, &members, Some(add("bob@example.com", "Viewer")), "req-4")
        .await;
    with_request_id(
        &server,
        &dave,
        Method::PUT,
        &format!("{members}/bob@example.com"),
        Some(json!({"roles": ["Editor"]})),
        "req-5",
    )
    .await;
    with_request_id(&server, &dave, Method::DELETE, &format!("{members}/bob@example.com"), None, "req-6")
        .await;
    let binding = json!({"principal": "carol@example.com", "workspace": "ws1", "role": "Viewer"});
    let (status, created) =
        server.as_token(&admin, Method::POST, "/apis/auth/v2/iam/role-bindings", Some(binding)).await;
    assert_eq!(status, StatusCode::CREATED);
    let revoke = format!("/apis/auth/v2/iam/role-bindings/{}", created["name"].as_str().unwrap());
    with_request_id(&server, &admin, Method::DELETE, &revoke, None, "req-8").await;
    with_request_id(&server, &admin, Method::POST, WS, Some(json!({"name": "gone"})), "req-9").await;
    with_request_id(&server, &admin, Method::DELETE, &format!("{WS}/gone"), None, "req-10").await;

    // The PlatformAdmin reads everything, oldest first.
    let (status, page) =
        server.as_token(&admin, Method::GET, &format!("{EVENTS}?page_size=100&sort=created_at"), None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let ours: Vec<&Value> =
        page["data"].as_array().unwrap().iter().filter(|e| e["actor"] != "system").collect();
    let summary: Vec<(String, String, String)> = ours
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or("-").to_string();
            (text("action"), text("principal"), text("request_id"))
        })
        .collect();
    let row = |a: &str, p: &str, r: &str| (a.to_string(), p.to_string(), r.to_string());
    assert_eq!(
        summary,
        vec![
            row("workspace.created", "-", "req-1"),
            row("binding.granted", "admin@example.com", "req-1"),
            row("workspace.created", "-", "req-2"),
            row("binding.granted", "admin@example.com", "req-2"),
            row("member.added", "dave@example.com", "req-3"),
            row("member.added", "bob@example.com", "req-4"),
            row("member.roles_changed", "bob@example.com", "req-5"),
            row("member.removed", "bob@example.com", "req-6"),
            row("binding.granted", "carol@example.com", summary[8].2.as_str()),
            row("binding.revoked", "carol@example.com", "req-8"),
            row("workspace.created", "-", "req-9"),
            row("binding.granted", "admin@example.com", "req-9"),
            row("workspace.deleted", "-", "req-10"),
        ]
    );
    assert_eq!(summary[8].2.len(), 32, "a request without X-Request-Id gets one of ours");
    let changed = ours[6];
    assert_eq!(changed["actor"], "dave@example.com");
    assert_eq!(
        (&changed["before"], &changed["after"]),
        (&json!({"roles": ["Viewer"]}), &json!({"roles": ["Editor"]}))
    );
    assert!(changed["at"].as_str().unwrap().ends_with('Z'));
    // Filters and paging.
    let get = |query: String| {
        let (server, admin) = (&server, &admin);
        async move { server.as_token(admin, Method::GET, &format!("{EVENTS}?{query}"), None).await.1 }
    };
    assert_eq!(
        actions(&get("workspace=ws1&principal=bob@example.com".into()).await),
        ["member.removed", "member.roles_changed", "member.added"]
    );
    assert_eq!(get("actor=dave@example.com".into()).await["pagination"]["total_results"], 2);
    assert_eq!(get("action=workspace.deleted".into()).await["data"][0]["workspace"], "gone");
    let first = get("page_size=3".into()).await;
    assert_eq!(first["data"].as_array().unwrap().len(), 3);
    let since = first["data"][2]["at"].as_str().unwrap().to_string();
    assert!(get(format!("since={since}")).await["pagination"]["total_results"].as_u64().unwrap() >= 3);
    assert_eq!(get("until=2000-01-01T00:00:00Z".into()).await["pagination"]["total_results"], 0);
    let (status, answer) =
        server.as_token(&admin, Method::GET, &format!("{EVENTS}?since=yesterday"), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["detail"][0]["loc"], json!(["query", "since"]));

    // A workspace's Admin reads its events only; others get the middleware's 403.
    let (status, mine) = server
        .as_token(&dave, Method::GET, "/apis/auth/v2/workspaces/ws1/audit-events?page_size=100", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert!(mine["data"].as_array().unwrap().iter().all(|e| e["workspace"] == "ws1"), "{mine}");
    assert_eq!(mine["pagination"]["total_results"], 8);
    let (status, _) = server
        .as_token(&dave, Method::GET, "/apis/auth/v2/workspaces/ws1/audit-events?workspace=ws3", None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let foreign =
        server.as_token(&dave, Method::GET, "/apis/auth/v2/workspaces/ws3/audit-events", None).await;
    let missing =
        server.as_token(&dave, Method::GET, "/apis/auth/v2/workspaces/ghost/audit-events", None).await;
    assert_eq!(foreign, (StatusCode::FORBIDDEN, json!({"detail": "Forbidden"})));
    assert_eq!(foreign, missing);
    assert_eq!(server.as_token(&dave, Method::GET, EVENTS, None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        server.as_token(&bob, Method::GET, "/apis/auth/v2/workspaces/ws1/audit-events", None).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(server.get(EVENTS).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refused_changes_leave_no_event_and_no_route_alters_events() {
    let server = TestServer::start(QUICKSTART).await;
    let admin = user_token("admin@example.com", &[], None);
    let count = || async {
        server.as_token(&admin, Method::GET, EVENTS, None).await.1["pagination"]["total_results"].clone()
    };
    server.as_token(&admin, Method::POST, WS, Some(json!({"name": "ws1"}))).await;
    let (status, _) = server
        .as_token(&admin, Method::POST, &format!("{WS}/ws1/projects"), Some(json!({"name": "proj"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let before = count().await;
    for (method, path, body, expected) in [
        (Method::POST, WS.to_string(), Some(json!({"name": "ws1"})), StatusCode::CONFLICT),
        (Method::DELETE, format!("{WS}/ws1"), None, StatusCode::CONFLICT),
        (Method::DELETE, format!("{WS}/ws1/members/admin@example.com"), None, StatusCode::CONFLICT),
        (
            Method::POST,
            format!("{WS}/ws1/members"),
            Some(json!({"principal": "x", "roles": ["Boss"]})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            format!("{WS}/ghost/members"),
            Some(json!({"principal": "x", "roles": ["Viewer"]})),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, answer) = server.as_token(&admin, method.clone(), &path, body).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
    }
    assert_eq!(count().await, before, "no event for a refused change");
    // Nothing but GET is served on the audit paths, to anyone.
    let (_, page) = server.as_token(&admin, Method::GET, EVENTS, None).await;
    let id = page["data"][0]["id"].as_i64().unwrap();
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        for path in
            [EVENTS.to_string(), format!("{EVENTS}/{id}"), "/apis/auth/v2/workspaces/ws1/audit-events".into()]
        {
            let (status, _) =
                server.as_token(&admin, method.clone(), &path, Some(json!({"actor": "mallory"}))).await;
            assert!((403..=405).contains(&status.as_u16()), "{method} {path}: {status}");
        }
    }
    let (_, after) = server.as_token(&admin, Method::GET, EVENTS, None).await;
    assert_eq!(after["data"], page["data"], "events unchanged");
}

#[tokio::test]
async fn access_state_exports_as_json_and_csv_for_platform_admins() {
    let server = TestServer::start(QUICKSTART).await;
    let admin = user_token("admin@example.com", &[], None);
    let dave = user_token("dave@example.com", &[], None);
    server.as_token(&admin, Method::POST, WS, Some(json!({"name": "ws1"}))).await;
    let (status, _) = server
        .as_token(
            &admin,
            Method::POST,
            &format!("{WS}/ws1/members"),
            Some(json!({"principal": "dave@example.com", "roles": ["Admin"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, state) = server.as_token(&admin, Method::GET, "/apis/auth/v2/access-state", None).await;
    assert_eq!(status, StatusCode::OK, "{state}");
    let rows = state["bindings"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|r| r["workspace"] == "ws1" && r["principal"] == "dave@example.com" && r["role"] == "Admin"),
        "{state}"
    );
    assert!(rows.iter().any(|r| r["workspace"] == "system" && r["role"] == "PlatformAdmin"), "{state}");
    let response = server
        .request(Method::GET, "/apis/auth/v2/access-state?format=csv")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = response.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("workspace,principal,role,granted_by,granted_at"));
    assert_eq!(lines.count(), rows.len());
    assert!(csv.contains("ws1,dave@example.com,Admin,admin@example.com,"), "{csv}");
    assert_eq!(
        server.as_token(&dave, Method::GET, "/apis/auth/v2/access-state", None).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, _) =
        server.as_token(&admin, Method::GET, "/apis/auth/v2/access-state?format=xml", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Member grants fired at a server that is `kill -9`ed mid-stream: after the restart, every
/// acknowledged grant has its binding and its event, and bindings and events match one to one
/// (no event without its change, no change without its event).
#[tokio::test]
async fn a_change_and_its_event_survive_kill_9_together() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), QUICKSTART);
    let data = dir.path().join("data");
    let server = ProcessServer::spawn(&config, &data).expect("starts");
    let admin = user_token("admin@example.com", &[], None);
    let base = server.base.clone();
    let (status, _) = call(&base, &admin, Method::POST, WS, Some(json!({"name": "crash"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let members = format!("{WS}/crash/members");
    let acked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = Vec::new();
    for i in 0..300 {
        let (base, admin, members, acked) = (base.clone(), admin.clone(), members.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            let body = json!({"principal": format!("user-{i}@example.com"), "roles": ["Viewer"]});
            let request = reqwest::Client::new()
                .post(format!("{base}{members}"))
                .bearer_auth(&admin)
                .json(&body)
                .timeout(std::time::Duration::from_secs(20));
            let ok = matches!(request.send().await, Ok(r) if r.status() == StatusCode::CREATED);
            if ok {
                acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            ok.then_some(i)
        }));
    }
    // Kill once some grants are acknowledged, while the others are still in flight.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while acked.load(std::sync::atomic::Ordering::SeqCst) < 20 {
        assert!(std::time::Instant::now() < deadline, "no grant was acknowledged");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.kill9();
    let mut acknowledged = BTreeSet::new();
    for writer in writers {
        if let Some(i) = writer.await.unwrap() {
            acknowledged.insert(format!("user-{i}@example.com"));
        }
    }
    assert!(
        acknowledged.len() < 300,
        "the kill interrupted the stream ({} acknowledged)",
        acknowledged.len()
    );
    let server = ProcessServer::spawn(&config, &data).expect("restarts");
    let base = server.base.clone();
    let (_, listed) = call(&base, &admin, Method::GET, &members, None).await;
    let bound: BTreeSet<String> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["principal"].as_str().unwrap().to_string())
        .filter(|p| p.starts_with("user-"))
        .collect();
    let (_, events) = call(
        &base,
        &admin,
        Method::GET,
        "/apis/auth/v2/workspaces/crash/audit-events?action=member.added&page_size=1000",
        None,
    )
    .await;
    let audited: BTreeSet<String> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["principal"].as_str().unwrap().to_string())
        .collect();
    assert!(acknowledged.is_subset(&bound), "acknowledged grants are durable");
    assert_eq!(bound, audited, "each committed grant has exactly its event, and no event lacks its grant");
    server.kill9();
}

/// `server.audit_retention_days`: on start (and hourly) events older than the retention are
/// deleted, the rest kept; `0` keeps everything. Time comes from a manual clock.
#[tokio::test]
async fn retention_prunes_only_events_older_than_the_setting() {
    use std::sync::Arc;

    use nmp_core::clock::{Clock, ManualClock};
    use nmp_store::AuditQuery;

    const DAY: i64 = 86_400;
    let dir = tempfile::tempdir().unwrap();
    let count = |state: &nmp_server::state::AppState| {
        state.store.list_audit_events(&AuditQuery::default()).unwrap().total
    };
    let start = |yaml: &str, clock: &Arc<ManualClock>| {
        let settings = super::support::settings_from_yaml(yaml, dir.path());
        nmp_server::prepare(settings, Arc::clone(clock) as Arc<dyn Clock>)
    };
    let t0 = 1_800_000_000;
    let clock = Arc::new(ManualClock::new(t0));
    // Day 0: seeding records its events.
    let seeded = count(&start(QUICKSTART, &clock).await.unwrap());
    assert!(seeded >= 4, "the seed events: {seeded}");
    // Day 10 with retention 0: everything stays.
    clock.set(t0 + 10 * DAY);
    let keep = format!("{QUICKSTART}server:\n  audit_retention_days: 0\n");
    assert_eq!(count(&start(&keep, &clock).await.unwrap()), seeded);
    // Day 10 with retention 30: still within it.
    let month = format!("{QUICKSTART}server:\n  audit_retention_days: 30\n");
    let state = start(&month, &clock).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(count(&state), seeded);
    // Day 10 with retention 5: the day-0 events go; a new one stays.
    let week = format!("{QUICKSTART}server:\n  audit_retention_days: 5\n");
    let state = start(&week, &clock).await.unwrap();
    let audit = nmp_store::AuditContext::new("admin@example.com", state.now());
    let new = nmp_store::NewWorkspace {
        name: "fresh".into(),
        description: None,
        actor: "a".into(),
        at: state.now(),
    };
    state.store.create_workspace(&new, None, &audit).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while count(&state) != 1 {
        assert!(std::time::Instant::now() < deadline, "old events not pruned: {} left", count(&state));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let left = state.store.list_audit_events(&AuditQuery::default()).unwrap().items;
    assert_eq!(left[0].workspace.as_deref(), Some("fresh"));
}
