//! The conformance suite against every backend (SQLite, and PostgreSQL on one throwaway cluster
//! for this test binary), plus each backend's own checks.

// Tests measure real elapsed time against real processes: the wall clock is theirs to read.
#![allow(clippy::disallowed_methods)]

mod postgres;

mod sqlite {
    use nmp_store::sqlite::SqliteStore;

    fn fresh() -> SqliteStore {
        // Leak the directory so the database outlives this function; the OS temp dir is cleaned eventually.
        let dir = tempfile::tempdir().expect("tempdir").keep();
        SqliteStore::open(&dir.join("nmp.db")).expect("open")
    }

    nmp_store::conformance_tests!(fresh());

    #[test]
    fn reopening_keeps_data_and_migrations_are_idempotent() {
        use nmp_store::{NewWorkspace, WorkspaceStore};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/nmp.db");
        {
            let store = SqliteStore::open(&path).unwrap();
            let new = NewWorkspace {
                name: "ws1".into(),
                description: None,
                actor: "a".into(),
                at: time::OffsetDateTime::now_utc(),
            };
            store
                .create_workspace(
                    &new,
                    None,
                    &nmp_store::AuditContext::new("a", time::OffsetDateTime::now_utc()),
                )
                .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.get_workspace("ws1").unwrap().name, "ws1");
    }

    #[test]
    fn another_process_writing_moves_the_external_change_marker() {
        use nmp_store::{NewWorkspace, Store, WorkspaceStore};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nmp.db");
        let replica_a = SqliteStore::open(&path).unwrap();
        let replica_b = SqliteStore::open(&path).unwrap();
        let before = replica_a.external_change_marker().unwrap();
        let new = NewWorkspace {
            name: "ws1".into(),
            description: None,
            actor: "a".into(),
            at: time::OffsetDateTime::now_utc(),
        };
        replica_b
            .create_workspace(&new, None, &nmp_store::AuditContext::new("a", time::OffsetDateTime::now_utc()))
            .unwrap();
        assert_ne!(replica_a.external_change_marker().unwrap(), before);
    }

    #[test]
    fn processes_opening_together_on_a_new_file_migrate_once() {
        use std::sync::{Arc, Barrier};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nmp.db");
        let barrier = Arc::new(Barrier::new(6));
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let (barrier, path) = (Arc::clone(&barrier), path.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    SqliteStore::open(&path).map(drop)
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap().expect("every opener succeeds");
        }
        let version: i64 = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, nmp_store::sqlite::latest_version());
    }

    /// Append-only below the API too: the schema refuses to change a recorded event.
    #[test]
    fn audit_events_cannot_be_updated() {
        use nmp_store::{AuditQuery, AuditStore, NewWorkspace, WorkspaceStore};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nmp.db");
        let store = SqliteStore::open(&path).unwrap();
        let new = NewWorkspace {
            name: "ws1".into(),
            description: None,
            actor: "a".into(),
            at: time::OffsetDateTime::now_utc(),
        };
        store.create_workspace(&new, None, &nmp_store::AuditContext::new("alice", new.at)).unwrap();
        let connection = rusqlite::Connection::open(&path).unwrap();
        let refused = connection.execute("UPDATE audit_events SET actor = 'mallory'", []).unwrap_err();
        assert!(refused.to_string().contains("append-only"), "{refused}");
        let events = store.list_audit_events(&AuditQuery::default()).unwrap();
        assert_eq!(events.items[0].actor, "alice");
    }
}
