//! `nemo services migrate-store`: a populated SQLite store moved into PostgreSQL serves the same
//! listings, decisions and audit trail (the same corpus of requests gets the same answers), and a non-empty
//! target is refused unless forced.

use nmp_server::migrate_store::{migrate_store, MigrateStoreArgs};
use nmp_testkit::PgCluster;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::support::{call, user_token, write_config, ProcessServer, QUICKSTART};

const WS: &str = "/apis/entities/v2/workspaces";

/// Requests whose answers must not change when the store moves: listings as several users,
/// bindings (revoked too), members, projects, and allowed/denied calls.
async fn corpus(base: &str) -> Vec<(String, StatusCode, Value)> {
    let users = ["admin@example.com", "alice@example.com", "bob@example.com", "carol@example.com"];
    let paths = [
        format!("{WS}?sort=name&page_size=50"),
        format!("{WS}/team-a"),
        format!("{WS}/team-a/members"),
        format!("{WS}/team-b/members"),
        format!("{WS}/team-a/projects?sort=name"),
        "/apis/auth/v2/iam/role-bindings?page_size=100".to_string(),
        "/apis/auth/v2/iam/role-bindings?filter%5Bis_active%5D=false&page_size=100".to_string(),
        "/apis/auth/v2/audit-events?page_size=1000&sort=created_at".to_string(),
    ];
    let mut answers = Vec::new();
    for user in users {
        let token = user_token(user, &[], None);
        for path in &paths {
            let (status, body) = call(base, &token, Method::GET, path, None).await;
            answers.push((format!("{user} GET {path}"), status, body));
        }
    }
    answers
}

#[tokio::test]
async fn a_sqlite_store_moved_to_postgres_gives_the_same_listings_and_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite_config = write_config(dir.path(), QUICKSTART);
    let data = dir.path().join("data");
    let before = {
        let server = ProcessServer::spawn(&sqlite_config, &data).expect("sqlite server");
        let admin = user_token("admin@example.com", &[], None);
        for name in ["team-a", "team-b"] {
            let (code, _) = call(&server.base, &admin, Method::POST, WS, Some(json!({"name": name}))).await;
            assert_eq!(code, StatusCode::CREATED);
        }
        for (ws, principal, roles) in [
            ("team-a", "alice@example.com", json!(["Editor"])),
            ("team-a", "bob@example.com", json!(["Viewer"])),
            ("team-b", "carol@example.com", json!(["Admin"])),
        ] {
            let body = json!({"principal": principal, "roles": roles});
            let (code, _) =
                call(&server.base, &admin, Method::POST, &format!("{WS}/{ws}/members"), Some(body)).await;
            assert_eq!(code, StatusCode::CREATED);
        }
        let path = format!("{WS}/team-a/members/bob@example.com");
        assert_eq!(call(&server.base, &admin, Method::DELETE, &path, None).await.0, StatusCode::OK);
        let project = json!({"name": "p1", "description": "first"});
        let path = format!("{WS}/team-a/projects");
        assert_eq!(
            call(&server.base, &admin, Method::POST, &path, Some(project)).await.0,
            StatusCode::CREATED
        );
        let answers = corpus(&server.base).await;
        server.kill9();
        answers
    };

    let cluster = PgCluster::shared();
    let database = cluster.create_database("migrate_store").unwrap();
    let args =
        MigrateStoreArgs { from: data.join("nmp-platform.db"), to: cluster.url(&database), force: false };
    let counts = tokio::task::spawn_blocking({
        let args = args.clone();
        move || migrate_store(&args)
    })
    .await
    .unwrap()
    .expect("migrate");
    assert_eq!((counts.workspaces, counts.projects), (4, 1), "system, default, team-a, team-b; one project");
    assert!(counts.bindings >= 5, "{counts:?}");

    let pg_dir = tempfile::tempdir().unwrap();
    let pg_config = write_config(
        pg_dir.path(),
        &format!("{QUICKSTART}store:\n  backend: postgres\n  url: \"{}\"\n", cluster.url(&database)),
    );
    let server = ProcessServer::spawn(&pg_config, &pg_dir.path().join("data")).expect("postgres server");
    let after = corpus(&server.base).await;
    for ((request, status_before, body_before), (_, status_after, body_after)) in before.iter().zip(&after) {
        assert_eq!((status_before, body_before), (status_after, body_after), "{request}");
    }
    assert!(before.iter().any(|(_, status, _)| *status == StatusCode::FORBIDDEN), "the corpus has denials");
    assert_eq!(
        counts.audit_events as u64,
        after[7].2["pagination"]["total_results"].as_u64().unwrap(),
        "{}",
        after[7].0
    );
    // The audit trail continues after the imported events.
    let admin = user_token("admin@example.com", &[], None);
    let imported_last = after[7].2["data"].as_array().unwrap().last().unwrap()["id"].as_i64().unwrap();
    let (status, _) = call(&server.base, &admin, Method::POST, WS, Some(json!({"name": "after-move"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, newest) =
        call(&server.base, &admin, Method::GET, "/apis/auth/v2/audit-events?page_size=1", None).await;
    assert!(newest["data"][0]["id"].as_i64().unwrap() > imported_last, "{newest}");

    // The target now holds workspaces: a second copy is refused, and allowed with --force.
    let refused = tokio::task::spawn_blocking({
        let args = args.clone();
        move || migrate_store(&args)
    })
    .await
    .unwrap()
    .unwrap_err();
    assert!(format!("{refused:#}").contains("--force"), "{refused:#}");
    let forced = MigrateStoreArgs { force: true, ..args };
    tokio::task::spawn_blocking(move || migrate_store(&forced)).await.unwrap().expect("forced copy");
}
