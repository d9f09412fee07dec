//! The conformance suite against PostgreSQL (each case in a fresh database of the shared test
//! cluster), plus PostgreSQL-specific checks: migrations under concurrency, start-up errors,
//! the change feed's revisions.

use std::sync::{Arc, Barrier};

use nmp_store::postgres::{PostgresOptions, PostgresStore};
use nmp_store::{NewWorkspace, Store, StoreError, WorkspaceStore};
use nmp_testkit::PgCluster;

fn options(database: &str) -> PostgresOptions {
    let mut options = PostgresOptions::from_url(&PgCluster::shared().url(database)).expect("test URL parses");
    options.pool_size = 4;
    options
}

fn fresh_database() -> String {
    PgCluster::shared().create_database("conformance").expect("create database")
}

fn fresh() -> PostgresStore {
    PostgresStore::open(&options(&fresh_database())).expect("open")
}

nmp_store::conformance_tests!(fresh());

fn workspace(name: &str) -> NewWorkspace {
    NewWorkspace {
        name: name.into(),
        description: None,
        actor: "a".into(),
        at: time::OffsetDateTime::now_utc(),
    }
}

#[test]
fn replicas_opening_together_on_an_empty_database_migrate_once() {
    let database = fresh_database();
    let barrier = Arc::new(Barrier::new(6));
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let (barrier, options) = (Arc::clone(&barrier), options(&database));
            std::thread::spawn(move || {
                barrier.wait();
                PostgresStore::open(&options)
            })
        })
        .collect();
    let stores: Vec<PostgresStore> = handles.into_iter().map(|h| h.join().unwrap().expect("open")).collect();
    let applied = PgCluster::shared()
        .psql(&database, "SELECT count(*) || ' ' || max(version) FROM schema_migrations")
        .unwrap();
    let latest = nmp_store::postgres::latest_version();
    assert_eq!(applied, format!("{} {latest}", nmp_store::postgres::MIGRATIONS.len()));
    // All of them serve the same data.
    stores[0]
        .create_workspace(
            &workspace("ws1"),
            None,
            &nmp_store::AuditContext::new("a", time::OffsetDateTime::now_utc()),
        )
        .unwrap();
    assert!(stores.iter().all(|s| s.get_workspace("ws1").is_ok()));
}

#[test]
fn reopening_keeps_data_and_applies_nothing_twice() {
    let database = fresh_database();
    PostgresStore::open(&options(&database))
        .unwrap()
        .create_workspace(
            &workspace("ws1"),
            None,
            &nmp_store::AuditContext::new("a", time::OffsetDateTime::now_utc()),
        )
        .unwrap();
    let again = PostgresStore::open(&options(&database)).unwrap();
    assert_eq!(again.get_workspace("ws1").unwrap().name, "ws1");
    let rows = PgCluster::shared().psql(&database, "SELECT count(*) FROM schema_migrations").unwrap();
    assert_eq!(rows, nmp_store::postgres::MIGRATIONS.len().to_string());
}

#[test]
fn a_database_migrated_by_a_newer_version_is_refused() {
    let database = fresh_database();
    drop(PostgresStore::open(&options(&database)).unwrap());
    PgCluster::shared()
        .psql(&database, "INSERT INTO schema_migrations (version, name) VALUES (9999, 'from the future')")
        .unwrap();
    let error = PostgresStore::open(&options(&database)).unwrap_err().to_string();
    assert!(error.contains("version 9999"), "{error}");
}

#[test]
fn another_replica_writing_moves_the_external_change_marker_and_the_revision() {
    let database = fresh_database();
    let replica_a = PostgresStore::open(&options(&database)).unwrap();
    let replica_b = PostgresStore::open(&options(&database)).unwrap();
    let (marker, revision) =
        (replica_a.external_change_marker().unwrap(), replica_a.current_revision().unwrap());
    replica_b
        .create_workspace(
            &workspace("ws1"),
            None,
            &nmp_store::AuditContext::new("a", time::OffsetDateTime::now_utc()),
        )
        .unwrap();
    assert!(replica_a.external_change_marker().unwrap() > marker);
    assert_eq!(replica_a.current_revision().unwrap(), revision + 1);
    // A write that fails (duplicate) takes no revision.
    assert!(replica_b
        .create_workspace(
            &workspace("ws1"),
            None,
            &nmp_store::AuditContext::new("a", time::OffsetDateTime::now_utc())
        )
        .is_err());
    assert_eq!(replica_a.current_revision().unwrap(), revision + 1);
}

#[test]
fn start_up_errors_name_the_problem_and_never_the_password() {
    let cluster = PgCluster::shared();
    let wrong_password =
        format!("postgres://postgres:not-the-password-7f3a@127.0.0.1:{}/postgres", cluster.port());
    let error = PostgresStore::open(&PostgresOptions::from_url(&wrong_password).unwrap()).unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, StoreError::Unavailable(_)));
    assert!(text.contains("password authentication failed"), "{text}");
    assert!(!text.contains("not-the-password-7f3a"), "{text}");

    let missing = PostgresStore::open(&options("no_such_database")).unwrap_err().to_string();
    assert!(missing.contains("does not exist"), "{missing}");
    assert!(!missing.contains(nmp_testkit::PG_SUPERUSER_PASSWORD), "{missing}");

    // Nothing listens on the port of a listener we just closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut unreachable =
        PostgresOptions::from_url(&format!("postgres://u:pw-9c1d@127.0.0.1:{port}/db")).unwrap();
    unreachable.connect_timeout = std::time::Duration::from_secs(2);
    let text = PostgresStore::open(&unreachable).unwrap_err().to_string();
    assert!(text.contains("cannot connect to the database at postgres://u@127.0.0.1"), "{text}");
    assert!(!text.contains("pw-9c1d"), "{text}");
}

#[test]
fn a_commit_on_one_replica_wakes_the_listener_of_another_and_replicas_report_what_they_applied() {
    use std::sync::mpsc;
    let database = fresh_database();
    let replica_a = PostgresStore::open(&options(&database)).unwrap();
    let replica_b = PostgresStore::open(&options(&database)).unwrap();
    let (woken, wakes) = mpsc::channel::<()>();
    let woken = std::sync::Mutex::new(woken);
    let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
        let _ = woken.lock().unwrap().send(());
    });
    let feed = replica_a.change_feed().expect("PostgreSQL has a change feed");
    feed.watch(Arc::downgrade(&wake));
    // The first wake says the listener is connected (and asks for a catch-up).
    wakes.recv_timeout(std::time::Duration::from_secs(10)).expect("listener connects");
    replica_b
        .create_workspace(
            &workspace("ws1"),
            None,
            &nmp_store::AuditContext::new("a", time::OffsetDateTime::now_utc()),
        )
        .unwrap();
    wakes.recv_timeout(std::time::Duration::from_secs(5)).expect("notified of the commit");

    let revision = feed.current_revision().unwrap();
    let live = std::time::Duration::from_secs(30);
    let feed_b = replica_b.change_feed().unwrap();
    feed_b.report_applied(revision - 1).unwrap();
    assert_eq!(feed.lagging_replicas(revision, live).unwrap(), 1, "B has not applied the last revision");
    feed_b.report_applied(revision).unwrap();
    assert_eq!(feed.lagging_replicas(revision, live).unwrap(), 0);
    // A replica's own row never counts as lagging for itself.
    feed.report_applied(0).unwrap();
    assert_eq!(feed.lagging_replicas(revision, live).unwrap(), 0);
    assert_eq!(feed_b.lagging_replicas(revision, live).unwrap(), 1);
}

/// Append-only below the API too: the schema refuses to change a recorded event.
#[test]
fn audit_events_cannot_be_updated() {
    use nmp_store::{AuditQuery, AuditStore};
    let database = fresh_database();
    let store = PostgresStore::open(&options(&database)).unwrap();
    store
        .create_workspace(
            &workspace("ws1"),
            None,
            &nmp_store::AuditContext::new("alice", time::OffsetDateTime::now_utc()),
        )
        .unwrap();
    let refused =
        PgCluster::shared().psql(&database, "UPDATE audit_events SET actor = 'mallory'").unwrap_err();
    assert!(format!("{refused:#}").contains("append-only"), "{refused:#}");
    assert_eq!(store.list_audit_events(&AuditQuery::default()).unwrap().items[0].actor, "alice");
}
