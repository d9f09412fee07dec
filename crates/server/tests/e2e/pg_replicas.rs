//! Replicas on one PostgreSQL (a throwaway cluster, `nmp_testkit::PgCluster`): each replica is a
//! real `nmp-server` process. Covers the reliability cases REP-01..03 and REP-05, the start of
//! three replicas together on an empty database, and a lost notification connection.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use nmp_testkit::PgCluster;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::support::{call, user_token, write_config, ProcessServer, QUICKSTART};

const WS: &str = "/apis/entities/v2/workspaces";

struct Replicas {
    servers: Vec<ProcessServer>,
    _dir: tempfile::TempDir,
}

fn config_for(dir: &std::path::Path, url: &str, extra: &str) -> PathBuf {
    write_config(
        dir,
        &format!(
            "{QUICKSTART}  policy_data_refresh_interval: 0.5\nstore:\n  backend: postgres\n  url: \"{url}\"\n  pool_size: 4\n{extra}"
        ),
    )
}

/// `count` replicas started at the same moment on `database` of `cluster`.
fn start_replicas(cluster: &PgCluster, database: &str, count: usize, extra: &str) -> Replicas {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_for(dir.path(), &cluster.url(database), extra);
    let data = dir.path().join("data");
    let handles: Vec<_> = (0..count)
        .map(|_| {
            let (config, data) = (config.clone(), data.clone());
            std::thread::spawn(move || ProcessServer::spawn(&config, &data))
        })
        .collect();
    let servers = handles.into_iter().map(|h| h.join().expect("thread").expect("replica starts")).collect();
    Replicas { servers, _dir: dir }
}

async fn status(base: &str, token: &str, method: Method, path: &str, body: Option<Value>) -> StatusCode {
    call(base, token, method, path, body).await.0
}

fn admin() -> String {
    user_token("admin@example.com", &[], None)
}

#[tokio::test]
async fn three_replicas_started_together_on_an_empty_database_are_ready_and_migrated_once() {
    let cluster = PgCluster::shared();
    let database = cluster.create_database("replicas_start").unwrap();
    let replicas = start_replicas(cluster, &database, 3, "");
    for server in &replicas.servers {
        let response = reqwest::get(format!("{}/health/ready", server.base)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{}", server.log());
    }
    let migrations = cluster.psql(&database, "SELECT count(*) FROM schema_migrations").unwrap();
    assert_eq!(migrations, nmp_store::postgres::MIGRATIONS.len().to_string());
    // Seeding ran on all three but created the system workspace once.
    let system = cluster.psql(&database, "SELECT count(*) FROM workspaces WHERE name = 'system'").unwrap();
    assert_eq!(system, "1");
}

/// REP-05 and the multi-replica promise: with `wait_role_propagation` (the default), the very
/// next request through any other replica already sees the change.
#[tokio::test]
async fn rep_05_a_role_change_waited_for_is_enforced_by_every_replica_on_the_next_request() {
    let cluster = PgCluster::shared();
    let database = cluster.create_database("replicas_wait").unwrap();
    let replicas = start_replicas(cluster, &database, 3, "");
    let bases: Vec<&str> = replicas.servers.iter().map(|s| s.base.as_str()).collect();
    let (admin, bob) = (admin(), user_token("bob@example.com", &[], None));
    assert_eq!(
        status(bases[0], &admin, Method::POST, WS, Some(json!({"name": "ws1"}))).await,
        StatusCode::CREATED
    );
    for round in 0..5 {
        let writer = bases[round % 3];
        let member = json!({"principal": "bob@example.com", "roles": ["Viewer"]});
        let path = format!("{WS}/ws1/members?wait_role_propagation=true");
        assert_eq!(status(writer, &admin, Method::POST, &path, Some(member)).await, StatusCode::CREATED);
        for base in &bases {
            assert_eq!(
                status(base, &bob, Method::GET, &format!("{WS}/ws1"), None).await,
                StatusCode::OK,
                "round {round}"
            );
        }
        let revoker = bases[(round + 1) % 3];
        let path = format!("{WS}/ws1/members/bob@example.com");
        assert_eq!(status(revoker, &admin, Method::DELETE, &path, None).await, StatusCode::OK);
        for base in &bases {
            assert_eq!(
                status(base, &bob, Method::GET, &format!("{WS}/ws1"), None).await,
                StatusCode::FORBIDDEN,
                "round {round}: revoked member still allowed"
            );
        }
    }
}

/// REP-01: a revocation through replica A, answered at commit (`wait_role_propagation=false`),
/// is enforced on replica B soon after (the benchmark measures how soon; here a generous bound).
#[tokio::test]
async fn rep_01_a_revocation_through_one_replica_is_refused_on_another() {
    let cluster = PgCluster::shared();
    let database = cluster.create_database("replicas_revoke").unwrap();
    let replicas = start_replicas(cluster, &database, 2, "");
    let (a, b) = (replicas.servers[0].base.as_str(), replicas.servers[1].base.as_str());
    let (admin, bob) = (admin(), user_token("bob@example.com", &[], None));
    assert_eq!(status(a, &admin, Method::POST, WS, Some(json!({"name": "ws1"}))).await, StatusCode::CREATED);
    // 20 cycles here; the propagation benchmark runs this test with NMP_PROPAGATION_CYCLES=200.
    let cycles: usize =
        std::env::var("NMP_PROPAGATION_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let (mut grants, mut revokes) = (Vec::new(), Vec::new());
    for _ in 0..cycles {
        let member = json!({"principal": "bob@example.com", "roles": ["Viewer"]});
        let path = format!("{WS}/ws1/members?wait_role_propagation=false");
        assert_eq!(status(a, &admin, Method::POST, &path, Some(member)).await, StatusCode::CREATED);
        grants.push(wait_for(b, &bob, StatusCode::OK).await);
        let path = format!("{WS}/ws1/members/bob@example.com?wait_role_propagation=false");
        assert_eq!(status(a, &admin, Method::DELETE, &path, None).await, StatusCode::OK);
        revokes.push(wait_for(b, &bob, StatusCode::FORBIDDEN).await);
    }
    for (what, mut latencies) in [("grant", grants), ("revoke", revokes)] {
        latencies.sort();
        let percentile = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
        eprintln!(
            "propagation of a {what} from replica a to replica b over {cycles} cycles: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            percentile(50).as_secs_f64() * 1000.0,
            percentile(99).as_secs_f64() * 1000.0,
            latencies[latencies.len() - 1].as_secs_f64() * 1000.0
        );
    }
}

/// Poll `base` as `token` until reading ws1 gives `expected`; the time it took. Fails after 2 s.
async fn wait_for(base: &str, token: &str, expected: StatusCode) -> Duration {
    let started = Instant::now();
    loop {
        if status(base, token, Method::GET, &format!("{WS}/ws1"), None).await == expected {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(2), "replica did not reach {expected} within 2 s");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// REP-02: concurrent demotions of a workspace's last two Admins through two replicas.
#[tokio::test]
async fn rep_02_concurrent_demotions_of_the_last_two_admins_through_two_replicas_exactly_one_succeeds() {
    let cluster = PgCluster::shared();
    let database = cluster.create_database("replicas_admins").unwrap();
    let replicas = start_replicas(cluster, &database, 2, "");
    let (a, b) = (replicas.servers[0].base.clone(), replicas.servers[1].base.clone());
    let admin = admin();
    for round in 0..50 {
        let ws = format!("team-{round}");
        let create = json!({"name": ws});
        assert_eq!(status(&a, &admin, Method::POST, WS, Some(create)).await, StatusCode::CREATED);
        // Exactly two Admins: alice and carol (the creator steps down to Viewer).
        for principal in ["alice@example.com", "carol@example.com"] {
            let member = json!({"principal": principal, "roles": ["Admin"]});
            let path = format!("{WS}/{ws}/members?wait_role_propagation=false");
            assert_eq!(status(&a, &admin, Method::POST, &path, Some(member)).await, StatusCode::CREATED);
        }
        let path = format!("{WS}/{ws}/members/admin@example.com?wait_role_propagation=false");
        assert_eq!(status(&a, &admin, Method::DELETE, &path, None).await, StatusCode::OK);
        let demote = |base: String, principal: &'static str| {
            let (admin, ws) = (admin.clone(), ws.clone());
            tokio::spawn(async move {
                let path = format!("{WS}/{ws}/members/{principal}?wait_role_propagation=false");
                status(&base, &admin, Method::PUT, &path, Some(json!({"roles": ["Viewer"]}))).await
            })
        };
        let first = demote(a.clone(), "alice@example.com");
        let second = demote(b.clone(), "carol@example.com");
        let mut outcomes = vec![first.await.unwrap(), second.await.unwrap()];
        outcomes.sort();
        assert_eq!(outcomes, vec![StatusCode::OK, StatusCode::CONFLICT], "round {round}");
        let (_, members) = call(&b, &admin, Method::GET, &format!("{WS}/{ws}/members"), None).await;
        let admins = members["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["roles"].as_array().is_some_and(|r| r.iter().any(|role| role == "Admin")))
            .count();
        assert_eq!(admins, 1, "round {round}: {members}");
    }
}

/// REP-03: the database stopped under load: 503 (never 500), `/health/ready` 503, and recovery
/// without a restart once it is back.
#[tokio::test]
async fn rep_03_database_stopped_for_ten_seconds_answers_503_then_recovers_without_restart() {
    let cluster = PgCluster::start().expect("own cluster");
    let database = cluster.create_database("replicas_outage").unwrap();
    let replicas =
        start_replicas(&cluster, &database, 2, "  max_staleness_seconds: 2\n  connect_timeout_seconds: 1\n");
    let (a, b) = (replicas.servers[0].base.clone(), replicas.servers[1].base.clone());
    let admin = admin();
    assert_eq!(status(&a, &admin, Method::POST, WS, Some(json!({"name": "ws1"}))).await, StatusCode::CREATED);
    cluster.stop_server().unwrap();
    let stopped = Instant::now();
    let mut seen = std::collections::BTreeMap::<u16, u32>::new();
    let mut n = 0;
    while stopped.elapsed() < Duration::from_secs(10) {
        n += 1;
        let base = if n % 2 == 0 { &a } else { &b };
        let create = json!({"name": format!("during-{n}")});
        for code in [
            status(base, &admin, Method::POST, WS, Some(create)).await,
            status(base, &admin, Method::GET, &format!("{WS}/ws1"), None).await,
        ] {
            assert_ne!(code, StatusCode::INTERNAL_SERVER_ERROR);
            *seen.entry(code.as_u16()).or_default() += 1;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen.keys().all(|code| *code == 503), "only 503 while the database is down: {seen:?}");
    for base in [&a, &b] {
        let ready = reqwest::get(format!("{base}/health/ready")).await.unwrap();
        assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    cluster.start_server().unwrap();
    let back = Instant::now();
    for base in [&a, &b] {
        loop {
            let created = status(base, &admin, Method::POST, WS, Some(json!({"name": format!("after-{}", base.len() + back.elapsed().as_nanos() as usize % 100000)}))).await;
            let ready = reqwest::get(format!("{base}/health/ready")).await.unwrap().status();
            if created == StatusCode::CREATED && ready == StatusCode::OK {
                break;
            }
            assert!(
                back.elapsed() < Duration::from_secs(20),
                "replica {base} did not recover: {created} {ready}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The notification connection of one replica killed by the server while its pool stays
/// healthy: a revocation through another replica is still enforced within 2 s.
#[tokio::test]
async fn a_killed_listener_connection_still_lets_a_revocation_through_within_two_seconds() {
    let cluster = PgCluster::shared();
    let database = cluster.create_database("replicas_listener").unwrap();
    let replicas = start_replicas(cluster, &database, 2, "");
    let (a, b) = (replicas.servers[0].base.as_str(), replicas.servers[1].base.as_str());
    let (admin, bob) = (admin(), user_token("bob@example.com", &[], None));
    assert_eq!(status(a, &admin, Method::POST, WS, Some(json!({"name": "ws1"}))).await, StatusCode::CREATED);
    let member = json!({"principal": "bob@example.com", "roles": ["Viewer"]});
    assert_eq!(
        status(a, &admin, Method::POST, &format!("{WS}/ws1/members"), Some(member)).await,
        StatusCode::CREATED
    );
    assert_eq!(status(b, &bob, Method::GET, &format!("{WS}/ws1"), None).await, StatusCode::OK);
    let killed = cluster
        .psql(
            &database,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        )
        .unwrap();
    assert_eq!(killed, "2", "both replicas' listeners found");
    let path = format!("{WS}/ws1/members/bob@example.com?wait_role_propagation=false");
    assert_eq!(status(a, &admin, Method::DELETE, &path, None).await, StatusCode::OK);
    wait_for(b, &bob, StatusCode::FORBIDDEN).await;
}

/// REP-04: `kill -9` of a replica during a write load: every acknowledged write is present
/// afterwards (read through another replica), and none is half-applied (each created workspace
/// has its creator's Admin binding).
#[tokio::test]
async fn rep_04_kill_9_of_a_replica_during_writes_loses_no_acknowledged_write() {
    let cluster = PgCluster::shared();
    let database = cluster.create_database("replicas_kill").unwrap();
    let mut replicas = start_replicas(cluster, &database, 2, "");
    let (a, b) = (replicas.servers[0].base.clone(), replicas.servers[1].base.clone());
    let admin = admin();
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (a, admin) = (a.clone(), admin.clone());
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for n in 0.. {
                    let name = format!("w{writer}-{n}");
                    let sent = reqwest::Client::new()
                        .post(format!("{a}{WS}"))
                        .bearer_auth(&admin)
                        .json(&json!({"name": name}))
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status() == StatusCode::CREATED => acknowledged.push(name),
                        Ok(response) => panic!("unexpected {} while the replica lives", response.status()),
                        Err(_) => return acknowledged, // the replica is gone
                    }
                }
                acknowledged
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    replicas.servers.remove(0).kill9();
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    assert!(acknowledged.len() > 10, "the load wrote too little to mean anything: {}", acknowledged.len());
    for name in &acknowledged {
        let (code, members) = call(&b, &admin, Method::GET, &format!("{WS}/{name}/members"), None).await;
        assert_eq!(code, StatusCode::OK, "acknowledged workspace {name} is missing");
        assert!(members.to_string().contains("Admin"), "{name} lost its creator's Admin binding: {members}");
    }
    let orphans = cluster
        .psql(
            &database,
            "SELECT count(*) FROM workspaces w WHERE w.name LIKE 'w%-%' AND NOT EXISTS \
             (SELECT 1 FROM role_bindings b WHERE b.workspace = w.name AND b.role = 'Admin')",
        )
        .unwrap();
    assert_eq!(orphans, "0", "a workspace was committed without its Admin binding");
}

/// nginx round robin in front of three replicas: a member granted through the load balancer acts
/// on the very next requests, whichever replica serves them; once revoked, on none.
#[tokio::test]
async fn three_replicas_behind_nginx_round_robin_agree_on_grants_and_revocations() {
    let cluster = PgCluster::shared();
    let database = cluster.create_database("replicas_nginx").unwrap();
    let replicas = start_replicas(cluster, &database, 3, "");
    let upstreams: String = replicas
        .servers
        .iter()
        .map(|s| format!("        server {};\n", s.base.trim_start_matches("http://")))
        .collect();
    let nginx = super::nginx::Nginx::start_with(|port| {
        format!(
            "worker_processes 1;\nevents {{ worker_connections 256; }}\nhttp {{\n    access_log off;\n    \
             client_body_temp_path temp/client_body;\n    proxy_temp_path temp/proxy;\n    \
             fastcgi_temp_path temp/fastcgi;\n    uwsgi_temp_path temp/uwsgi;\n    scgi_temp_path temp/scgi;\n    \
             upstream nmp {{\n{upstreams}    }}\n    server {{\n        listen 127.0.0.1:{port};\n        \
             location / {{ proxy_pass http://nmp; }}\n    }}\n}}\n"
        )
    });
    let lb = nginx.url("");
    let (admin, bob) = (admin(), user_token("bob@example.com", &[], None));
    assert_eq!(
        status(&lb, &admin, Method::POST, WS, Some(json!({"name": "ws1"}))).await,
        StatusCode::CREATED
    );
    for round in 0..3 {
        let member = json!({"principal": "bob@example.com", "roles": ["Editor"]});
        let path = format!("{WS}/ws1/members");
        assert_eq!(status(&lb, &admin, Method::POST, &path, Some(member)).await, StatusCode::CREATED);
        // Six requests: two on each replica, round robin.
        for _ in 0..6 {
            let project = format!("{WS}/ws1/projects");
            let (code, body) = call(&lb, &bob, Method::GET, &project, None).await;
            assert_eq!(code, StatusCode::OK, "round {round}: granted member refused: {body}");
        }
        let path = format!("{WS}/ws1/members/bob@example.com");
        assert_eq!(status(&lb, &admin, Method::DELETE, &path, None).await, StatusCode::OK);
        for _ in 0..6 {
            let code = status(&lb, &bob, Method::GET, &format!("{WS}/ws1/projects"), None).await;
            assert_eq!(code, StatusCode::FORBIDDEN, "round {round}: revoked member allowed");
        }
    }
    // Each replica reports how far behind the change feed it may be: caught up, so well under
    // the staleness bound.
    for server in &replicas.servers {
        let text = reqwest::get(format!("{}/metrics", server.base)).await.unwrap().text().await.unwrap();
        let lag: f64 = text
            .lines()
            .find_map(|line| line.strip_prefix("nmp_replica_propagation_lag_seconds "))
            .unwrap_or_else(|| panic!("no propagation lag series in:\n{text}"))
            .trim()
            .parse()
            .unwrap();
        assert!((0.0..5.0).contains(&lag), "replica {} lags {lag} s", server.base);
    }
}

/// Runs the real binary against `config` with extra environment and returns its exit status
/// and stderr; the server must refuse to start on its own (the test does not stop it).
fn refused_start(config: &std::path::Path, env: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_nmp-server"));
    command.args(["--host", "127.0.0.1", "--port", "0", "--config"]).arg(config);
    command.arg("--data-dir").arg(config.parent().expect("config dir").join("data"));
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("run nmp-server");
    (output.status, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Item 2 of the PostgreSQL issue through the real binary: a bad URL, a wrong password (in the
/// file and through the reference's `DATABASE_*` variables), and an unreachable database each
/// stop the server at start with an error naming the problem, and never print the password.
#[test]
fn start_up_errors_through_the_binary_name_the_problem_and_never_the_password() {
    let cluster = PgCluster::shared();
    let dir = tempfile::tempdir().unwrap();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    type Case<'a> = (&'a str, String, Vec<(&'a str, String)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "malformed URL",
            "postgres://nmp:pw-malformed-1b2c@127.0.0.1:notaport/db".into(),
            vec![],
            "store.url",
        ),
        (
            "wrong password in store.url",
            format!("postgres://postgres:pw-wrong-4d5e@127.0.0.1:{}/postgres", cluster.port()),
            vec![],
            "password authentication failed",
        ),
        (
            "unreachable database",
            format!("postgres://nmp:pw-unreach-6f7a@127.0.0.1:{closed_port}/db"),
            vec![],
            "cannot connect to the database",
        ),
        (
            "wrong DATABASE_PASSWORD",
            "postgres://unused@127.0.0.1:1/unused".into(),
            vec![
                ("DATABASE_HOST", "127.0.0.1".into()),
                ("DATABASE_PORT", cluster.port().to_string()),
                ("DATABASE_USER", "postgres".into()),
                ("DATABASE_NAME", "postgres".into()),
                ("DATABASE_PASSWORD", "pw-env-8b9c".into()),
            ],
            "password authentication failed",
        ),
    ];
    for (case, url, env, expected) in cases {
        let config = write_config(
            dir.path(),
            &format!(
                "{QUICKSTART}store:\n  backend: postgres\n  url: \"{url}\"\n  connect_timeout_seconds: 2\n"
            ),
        );
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, stderr) = refused_start(&config, &env);
        assert!(!status.success(), "{case}: the server must refuse to start\n{stderr}");
        assert!(!stderr.contains("nmp listening on"), "{case}: it listened\n{stderr}");
        assert!(stderr.contains(expected), "{case}: expected `{expected}` in\n{stderr}");
        for secret in ["pw-malformed-1b2c", "pw-wrong-4d5e", "pw-unreach-6f7a", "pw-env-8b9c"] {
            assert!(!stderr.contains(secret), "{case}: the password leaked\n{stderr}");
        }
        assert!(!stderr.contains("panicked"), "{case}: panic\n{stderr}");
    }
}

/// OPS-03 on PostgreSQL: SIGTERM ends a replica cleanly (exit 0, no panic). Closing the pool's
/// connections of the synchronous driver on an async worker thread used to abort the process
/// ("Cannot start a runtime from within a runtime").
#[tokio::test]
async fn a_replica_on_postgres_exits_cleanly_on_sigterm() {
    let cluster = PgCluster::shared();
    let database = cluster.create_database("replicas_sigterm").unwrap();
    let mut replicas = start_replicas(cluster, &database, 1, "");
    let server = replicas.servers.pop().expect("one replica");
    // Use the pool, so it holds open connections when the server stops.
    let admin = admin();
    assert_eq!(
        status(&server.base, &admin, Method::POST, WS, Some(json!({"name": "ws1"}))).await,
        StatusCode::CREATED
    );
    let mut server = server;
    let term =
        std::process::Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "the replica did not exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = server.log();
    assert!(exit.success(), "exit {exit:?}:\n{log}");
    assert!(!log.contains("panicked") && !log.contains("runtime"), "{log}");
}
