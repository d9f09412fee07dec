//! The conformance suite every backend must pass. A backend's tests invoke
//! [`conformance_tests!`](crate::conformance_tests) with an expression that makes a fresh, empty
//! store; each case becomes a named `#[test]`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test suite: a panic is a failed case

use std::collections::BTreeSet;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::*;

/// Generate one `#[test]` per conformance case for a backend.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@cases $make;
            workspace_create_get_list_update_delete,
            workspace_duplicate_name_conflicts,
            workspace_create_with_creator_admin_is_atomic,
            workspace_list_pagination_sort_filter_and_visibility,
            workspace_delete_refuses_when_projects_remain,
            workspace_delete_removes_bindings,
            ensure_workspace_is_idempotent,
            binding_create_conflict_revoke_and_reactivate,
            binding_list_filters,
            seed_binding_not_recreated_after_revoke,
            members_add_is_idempotent_per_role,
            members_set_roles_upserts_and_revokes,
            last_admin_cannot_be_demoted_or_removed,
            last_admin_rule_holds_under_concurrency,
            workspace_total_stays_exact_under_concurrent_creates_and_deletes,
            members_of_missing_workspace_are_not_found,
            projects_crud_and_uniqueness,
            unknown_filter_field_is_invalid,
            own_writes_do_not_move_the_external_change_marker,
            sessions_create_get_update_delete_and_expire,
            audit_records_every_access_change_with_before_and_after,
            audit_failed_or_idle_changes_leave_no_event,
            audit_query_filters_and_pages,
            audit_prune_removes_only_older_events,
            access_key_lifecycle,
            access_key_listing_pages_and_visibility,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let store = $make;
                $crate::conformance::$case(store);
            }
        )*
    };
}

fn ws(name: &str) -> WorkspaceName {
    WorkspaceName::from(name)
}

fn who(principal: &str) -> PrincipalId {
    PrincipalId::from(principal)
}

fn t(offset_seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("valid") + Duration::seconds(offset_seconds)
}

fn new_ws(name: &str, at: i64) -> NewWorkspace {
    NewWorkspace { name: name.into(), description: None, actor: "alice".into(), at: t(at) }
}

/// The context of the tests' access changes: actor `tester`, request `req-1`.
fn audit() -> AuditContext {
    AuditContext { actor: "tester".into(), request_id: Some("req-1".into()), at: t(0) }
}

fn audit_at(at: OffsetDateTime) -> AuditContext {
    AuditContext { at, ..audit() }
}

fn grant(principal: &str, workspace: &str, role: &str, at: i64) -> Grant {
    Grant {
        principal: principal.into(),
        workspace: workspace.into(),
        role: role.into(),
        granted_by: "tester".into(),
        at: t(at),
        name: nmp_core::binding_name_for_api(principal, workspace, role),
    }
}

fn member(workspace: &str, principal: &str, roles: &[&str], at: i64) -> MemberRoles {
    MemberRoles {
        workspace: workspace.into(),
        principal: principal.into(),
        roles: roles.iter().map(|r| RoleName::from(*r)).collect(),
        granted_by: "tester".into(),
        at: t(at),
    }
}

fn query(page: u64, page_size: u64, sort: &str, filter: Option<&str>) -> ListQuery {
    ListQuery {
        page,
        page_size,
        sort: Sort::parse(sort, &[SortField::CreatedAt, SortField::Name, SortField::UpdatedAt])
            .expect("sort"),
        filter: filter.map(|f| Filter::parse(f).expect("filter")),
    }
}

fn names(page: &PageOf<Workspace>) -> Vec<&str> {
    page.items.iter().map(|w| w.name.as_str()).collect()
}

pub fn workspace_create_get_list_update_delete(store: impl Store) {
    let (created, binding) = store.create_workspace(&new_ws("ws1", 0), None, &audit()).unwrap();
    assert!(binding.is_none());
    assert!(created.id.starts_with("workspace-"));
    assert_eq!(created.created_by, "alice");
    assert_eq!(store.get_workspace("ws1").unwrap(), created);
    let update = EntityUpdate { description: Some(Some("hello".into())), actor: "bob".into(), at: t(5) };
    let updated = store.update_workspace("ws1", &update).unwrap();
    assert_eq!(updated.description.as_deref(), Some("hello"));
    assert_eq!(updated.updated_by, "bob");
    assert_eq!(updated.updated_at, t(5));
    assert_eq!(updated.created_at, t(0));
    assert_eq!(store.list_workspaces(&query(1, 10, "name", None), None).unwrap().total, 1);
    store.delete_workspace("ws1", &audit()).unwrap();
    assert!(
        matches!(store.get_workspace("ws1"), Err(StoreError::NotFound(m)) if m == "Workspace 'ws1' not found")
    );
    assert!(matches!(store.update_workspace("ws1", &update), Err(StoreError::NotFound(_))));
    assert!(matches!(store.delete_workspace("ws1", &audit()), Err(StoreError::NotFound(_))));
}

pub fn workspace_duplicate_name_conflicts(store: impl Store) {
    store.create_workspace(&new_ws("ws1", 0), None, &audit()).unwrap();
    let err = store.create_workspace(&new_ws("ws1", 1), None, &audit()).unwrap_err();
    assert_eq!(err, StoreError::Conflict("Workspace 'ws1' already exists".into()));
}

pub fn workspace_create_with_creator_admin_is_atomic(store: impl Store) {
    let admin = grant("alice", "ws1", "Admin", 0);
    let (_, binding) = store.create_workspace(&new_ws("ws1", 0), Some(&admin), &audit()).unwrap();
    assert_eq!(binding.unwrap().role, "Admin");
    // A failed create (duplicate) must not leave a binding for the second attempt's grant.
    let other = grant("mallory", "ws1", "Admin", 1);
    assert!(store.create_workspace(&new_ws("ws1", 1), Some(&other), &audit()).is_err());
    let members = store.list_members("ws1").unwrap();
    assert_eq!(members.iter().map(|b| b.principal.as_str()).collect::<Vec<_>>(), vec!["alice"]);
}

pub fn workspace_list_pagination_sort_filter_and_visibility(store: impl Store) {
    for (i, name) in ["delta", "alpha", "charlie", "bravo"].iter().enumerate() {
        store.create_workspace(&new_ws(name, i as i64), None, &audit()).unwrap();
    }
    let newest_first = store.list_workspaces(&query(1, 10, "-created_at", None), None).unwrap();
    assert_eq!(names(&newest_first), vec!["bravo", "charlie", "alpha", "delta"]);
    let page2 = store.list_workspaces(&query(2, 1, "name", None), None).unwrap();
    assert_eq!((names(&page2), page2.total), (vec!["bravo"], 4));
    for (page_size, shown) in [(2u64, 2usize), (4, 4), (5, 4)] {
        let first = store.list_workspaces(&query(1, page_size, "name", None), None).unwrap();
        assert_eq!((first.items.len(), first.total), (shown, 4), "page size {page_size}");
    }
    let beyond = store.list_workspaces(&query(9, 10, "name", None), None).unwrap();
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, 4);
    let filtered =
        store.list_workspaces(&query(1, 10, "name", Some(r#"name:"alpha" OR name~"ar""#)), None).unwrap();
    assert_eq!(names(&filtered), vec!["alpha", "charlie"]);
    let json = store
        .list_workspaces(&query(1, 10, "name", Some(r#"{"name":{"$in":["bravo","delta"]}}"#)), None)
        .unwrap();
    assert_eq!(names(&json), vec!["bravo", "delta"]);
    let visible: BTreeSet<String> = ["alpha", "delta", "nonexistent"].iter().map(|s| s.to_string()).collect();
    let only = store.list_workspaces(&query(1, 10, "name", None), Some(&visible)).unwrap();
    assert_eq!((names(&only), only.total), (vec!["alpha", "delta"], 2));
    // Paging and sorting within a visible set match paging and sorting without one.
    let three: BTreeSet<String> = ["alpha", "bravo", "delta"].iter().map(|s| s.to_string()).collect();
    let second = store.list_workspaces(&query(2, 1, "-name", None), Some(&three)).unwrap();
    assert_eq!((names(&second), second.total), (vec!["bravo"], 3));
    let newest = store.list_workspaces(&query(1, 2, "-created_at", None), Some(&three)).unwrap();
    assert_eq!(names(&newest), vec!["bravo", "alpha"]);
    let past_the_end = store.list_workspaces(&query(3, 2, "name", None), Some(&three)).unwrap();
    assert_eq!((past_the_end.items.len(), past_the_end.total), (0, 3));
    let filtered = store.list_workspaces(&query(1, 10, "name", Some(r#"name~"a""#)), Some(&three)).unwrap();
    assert_eq!(names(&filtered), vec!["alpha", "bravo", "delta"]);
    // Nothing visible, and exactly as many names as one statement looks up by name (64).
    let none = store.list_workspaces(&query(1, 10, "name", None), Some(&BTreeSet::new())).unwrap();
    assert_eq!((none.items.len(), none.total), (0, 0));
    let mut sixty_four: BTreeSet<String> = (0..62).map(|i| format!("other-{i}")).collect();
    sixty_four.extend(["delta".to_string(), "alpha".to_string()]);
    let boundary = store.list_workspaces(&query(1, 10, "-name", None), Some(&sixty_four)).unwrap();
    assert_eq!((names(&boundary), boundary.total), (vec!["delta", "alpha"], 2));
    // A large visible set (a user in hundreds of workspaces) gives the same answer.
    let mut many: BTreeSet<String> = (0..500).map(|i| format!("other-{i}")).collect();
    many.extend(["bravo".to_string(), "charlie".to_string()]);
    let wide = store.list_workspaces(&query(1, 10, "name", None), Some(&many)).unwrap();
    assert_eq!((names(&wide), wide.total), (vec!["bravo", "charlie"], 2));
    let like_is_literal = store.list_workspaces(&query(1, 10, "name", Some(r#"name~"%""#)), None).unwrap();
    assert!(like_is_literal.items.is_empty(), "`%` must not act as a wildcard");
}

pub fn workspace_delete_refuses_when_projects_remain(store: impl Store) {
    store.create_workspace(&new_ws("ws1", 0), None, &audit()).unwrap();
    for (i, name) in ["p1", "p2", "p3"].iter().enumerate() {
        let new = NewProject {
            workspace: "ws1".into(),
            name: name.to_string(),
            description: None,
            actor: "a".into(),
            at: t(i as i64),
        };
        store.create_project(&new).unwrap();
    }
    let err = store.delete_workspace("ws1", &audit()).unwrap_err();
    assert_eq!(
        err,
        StoreError::Conflict(
            "Cannot delete workspace 'ws1': workspace contains entities that must be deleted first: project (3)".into()
        )
    );
    assert!(store.get_workspace("ws1").is_ok(), "a refused delete changes nothing");
}

pub fn workspace_delete_removes_bindings(store: impl Store) {
    store.create_workspace(&new_ws("ws1", 0), Some(&grant("alice", "ws1", "Admin", 0)), &audit()).unwrap();
    store.add_member(&member("ws1", "bob", &["Viewer"], 1), &audit()).unwrap();
    let deleted = store.delete_workspace("ws1", &audit()).unwrap();
    assert_eq!(deleted.removed_bindings.len(), 2);
    assert!(store.active_bindings().unwrap().iter().all(|b| b.workspace != "ws1"));
    // Re-creating the name starts clean.
    store.create_workspace(&new_ws("ws1", 2), None, &audit()).unwrap();
    assert!(store.list_members("ws1").unwrap().is_empty());
}

pub fn ensure_workspace_is_idempotent(store: impl Store) {
    assert!(store.ensure_workspace(&new_ws("system", 0)).unwrap());
    assert!(!store.ensure_workspace(&new_ws("system", 1)).unwrap());
    assert_eq!(store.get_workspace("system").unwrap().created_at, t(0));
}

pub fn binding_create_conflict_revoke_and_reactivate(store: impl Store) {
    store.create_workspace(&new_ws("ws1", 0), None, &audit()).unwrap();
    let g = grant("bob", "ws1", "Viewer", 1);
    let created = store.create_binding(&g, &audit()).unwrap();
    assert!(created.id.starts_with("role-binding-"));
    assert_eq!(created.name, g.name);
    assert!(matches!(store.create_binding(&g, &audit()), Err(StoreError::Conflict(_))));
    assert_eq!(store.get_binding(&g.name).unwrap(), created);
    let revoked = store.revoke_binding(&g.name, &audit_at(t(2))).unwrap();
    assert_eq!(revoked.revoked_at, Some(t(2)));
    assert_eq!(
        store.revoke_binding(&g.name, &audit_at(t(3))).unwrap_err(),
        StoreError::Conflict("Role binding is already revoked".into())
    );
    let again = store.create_binding(&grant("bob", "ws1", "Viewer", 4), &audit()).unwrap();
    assert_eq!((again.id.as_str(), again.revoked_at, again.granted_at), (created.id.as_str(), None, t(4)));
    assert_eq!(store.get_binding("nope").unwrap_err(), StoreError::NotFound("Role binding not found".into()));
    assert!(matches!(
        store.create_binding(&grant("bob", "missing", "Viewer", 5), &audit()),
        Err(StoreError::NotFound(_))
    ));
}

pub fn binding_list_filters(store: impl Store) {
    store.create_workspace(&new_ws("ws1", 0), None, &audit()).unwrap();
    store.create_workspace(&new_ws("ws2", 0), None, &audit()).unwrap();
    for (i, (p, w, r)) in
        [("a@x.com", "ws1", "Viewer"), ("b@x.com", "ws1", "Editor"), ("a@x.com", "ws2", "Admin")]
            .iter()
            .enumerate()
    {
        store.create_binding(&grant(p, w, r, i as i64 + 1), &audit()).unwrap();
    }
    store
        .revoke_binding(&nmp_core::binding_name_for_api("b@x.com", "ws1", "Editor"), &audit_at(t(10)))
        .unwrap();
    let by = |q: BindingQuery| store.list_bindings(&q).unwrap();
    assert_eq!(
        by(BindingQuery { principal: Some(StringMatch::Eq("a@x.com".into())), ..Default::default() }).total,
        2
    );
    assert_eq!(by(BindingQuery { workspace: Some("ws1".into()), ..Default::default() }).total, 2);
    assert_eq!(by(BindingQuery { is_active: Some(true), ..Default::default() }).total, 2);
    assert_eq!(by(BindingQuery { is_active: Some(false), ..Default::default() }).total, 1);
    assert_eq!(
        by(BindingQuery {
            role: Some(StringMatch::In(vec!["Admin".into(), "Editor".into()])),
            ..Default::default()
        })
        .total,
        2
    );
    assert_eq!(
        by(BindingQuery { principal: Some(StringMatch::Like("b@".into())), ..Default::default() }).total,
        1
    );
    let ranged =
        by(BindingQuery { granted_at: TimeRange { gte: Some(t(2)), lte: Some(t(3)) }, ..Default::default() });
    assert_eq!(ranged.total, 2);
    let page = by(BindingQuery { page: 2, page_size: 2, ..Default::default() });
    assert_eq!((page.items.len(), page.total), (1, 3));
    let newest = by(BindingQuery { descending: true, page_size: 1, ..Default::default() });
    assert_eq!(newest.items[0].workspace, "ws2");
}

pub fn seed_binding_not_recreated_after_revoke(store: impl Store) {
    store.ensure_workspace(&new_ws("default", 0)).unwrap();
    let seed = Grant {
        name: nmp_core::binding_name_for_seed("*", "default", "Editor"),
        ..grant("*", "default", "Editor", 0)
    };
    assert!(matches!(store.ensure_seed_binding(&seed).unwrap(), SeedOutcome::Created(_)));
    assert_eq!(store.ensure_seed_binding(&seed).unwrap(), SeedOutcome::AlreadyActive);
    store.revoke_binding("wildcard-default-editor", &audit_at(t(1))).unwrap();
    assert_eq!(store.ensure_seed_binding(&seed).unwrap(), SeedOutcome::RevokedByOperator);
    assert!(store.active_bindings().unwrap().is_empty());
}

pub fn members_add_is_idempotent_per_role(store: impl Store) {
    store.create_workspace(&new_ws("ws1", 0), None, &audit()).unwrap();
    let first = store.add_member(&member("ws1", "bob", &["Viewer", "Editor"], 1), &audit()).unwrap();
    assert_eq!(first.granted.len(), 2);
    let second = store.add_member(&member("ws1", "bob", &["Viewer"], 2), &audit()).unwrap();
    assert!(second.granted.is_empty());
    assert_eq!(second.current.len(), 2);
    assert_eq!(store.list_members("ws1").unwrap().len(), 2);
}

pub fn members_set_roles_upserts_and_revokes(store: impl Store) {
    store.create_workspace(&new_ws("ws1", 0), None, &audit()).unwrap();
    let created = store.set_member_roles(&member("ws1", "zed", &["Viewer"], 1), &audit()).unwrap();
    assert_eq!(created.granted.len(), 1);
    let changed = store.set_member_roles(&member("ws1", "zed", &["Editor"], 2), &audit()).unwrap();
    assert_eq!(changed.revoked.iter().map(|b| b.role.as_str()).collect::<Vec<_>>(), vec!["Viewer"]);
    assert_eq!(changed.current.iter().map(|b| b.role.as_str()).collect::<Vec<_>>(), vec!["Editor"]);
    let removed = store.remove_member(&ws("ws1"), &who("zed"), &audit_at(t(3))).unwrap();
    assert_eq!(removed.revoked.len(), 1);
    assert_eq!(
        store.remove_member(&ws("ws1"), &who("zed"), &audit_at(t(4))).unwrap_err(),
        StoreError::NotFound("Member 'zed' not found in workspace 'ws1'".into())
    );
}

pub fn last_admin_cannot_be_demoted_or_removed(store: impl Store) {
    store.create_workspace(&new_ws("ws1", 0), Some(&grant("alice", "ws1", "Admin", 0)), &audit()).unwrap();
    let message = "Cannot remove Admin role from 'alice'. This is the last Admin for workspace 'ws1'. Add another Admin before removing this one.";
    assert_eq!(
        store.set_member_roles(&member("ws1", "alice", &["Viewer"], 1), &audit()).unwrap_err(),
        StoreError::Conflict(message.into())
    );
    assert_eq!(
        store.remove_member(&ws("ws1"), &who("alice"), &audit_at(t(1))).unwrap_err(),
        StoreError::Conflict(message.into())
    );
    let name = nmp_core::binding_name_for_api("alice", "ws1", "Admin");
    assert_eq!(
        store.revoke_binding(&name, &audit_at(t(1))).unwrap_err(),
        StoreError::Conflict(message.into())
    );
    // Nothing was half-applied: alice is still Admin and gained no Viewer.
    let roles: Vec<String> =
        store.list_members("ws1").unwrap().into_iter().map(|b| b.role.into_string()).collect();
    assert_eq!(roles, vec!["Admin"]);
    store.add_member(&member("ws1", "bob", &["Admin"], 2), &audit()).unwrap();
    store.set_member_roles(&member("ws1", "alice", &["Viewer"], 3), &audit()).unwrap();
}

pub fn last_admin_rule_holds_under_concurrency(store: impl Store + 'static) {
    store.create_workspace(&new_ws("ws1", 0), None, &audit()).unwrap();
    let admins: Vec<String> = (0..8).map(|i| format!("admin{i}")).collect();
    for (i, admin) in admins.iter().enumerate() {
        store.add_member(&member("ws1", admin, &["Admin"], i as i64), &audit()).unwrap();
    }
    let store = Arc::new(store);
    let handles: Vec<_> = admins
        .iter()
        .cloned()
        .map(|admin| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                store.set_member_roles(&member("ws1", &admin, &["Viewer"], 100), &audit()).is_ok()
            })
        })
        .collect();
    let succeeded = handles.into_iter().map(|h| h.join().unwrap()).filter(|ok| *ok).count();
    assert_eq!(succeeded, 7, "exactly one demotion must be refused");
    let remaining_admins =
        store.list_members("ws1").unwrap().into_iter().filter(|b| b.role == "Admin").count();
    assert_eq!(remaining_admins, 1);
}

/// The unfiltered list's total is a kept count, not a scan: it must follow every create and
/// delete, also concurrent ones, and agree with a count over the rows (a filtered list counts
/// them) and with the rows themselves, at every moment a reader looks.
pub fn workspace_total_stays_exact_under_concurrent_creates_and_deletes(store: impl Store + 'static) {
    const WRITERS: usize = 4;
    const PER_WRITER: usize = 20;
    let store = Arc::new(store);
    let counted = |store: &dyn Store| {
        store.list_workspaces(&query(1, 1, "name", Some(r#"name~"w""#)), None).unwrap().total
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..PER_WRITER {
                    let name = format!("w{writer}-{i}");
                    store.create_workspace(&new_ws(&name, i as i64), None, &audit()).unwrap();
                    // Every odd one goes again, so creates and deletes interleave across writers.
                    if i % 2 == 1 {
                        store.delete_workspace(&name, &audit()).unwrap();
                    }
                }
            })
        })
        .collect();
    let mut looks = 0;
    while writers.iter().any(|w| !w.is_finished()) || looks == 0 {
        let page = store.list_workspaces(&query(1, 1000, "name", None), None).unwrap();
        assert_eq!(
            page.total,
            page.items.len() as u64,
            "the kept total names exactly the rows listed with it"
        );
        looks += 1;
    }
    for writer in writers {
        writer.join().unwrap();
    }
    let page = store.list_workspaces(&query(1, 3, "name", None), None).unwrap();
    let kept_over = (WRITERS * PER_WRITER / 2) as u64;
    assert_eq!(page.total, kept_over);
    assert_eq!(page.total, counted(store.as_ref()), "the kept total equals a count over the rows");
    assert_eq!(
        store.list_workspaces(&query(99, 3, "name", None), None).unwrap().total,
        kept_over,
        "past the last page too"
    );
}

pub fn members_of_missing_workspace_are_not_found(store: impl Store) {
    let missing = StoreError::NotFound("Workspace 'nope' not found".into());
    assert_eq!(store.list_members("nope").unwrap_err(), missing);
    assert_eq!(store.add_member(&member("nope", "bob", &["Viewer"], 0), &audit()).unwrap_err(), missing);
    assert_eq!(
        store.set_member_roles(&member("nope", "bob", &["Viewer"], 0), &audit()).unwrap_err(),
        missing
    );
    assert_eq!(store.remove_member(&ws("nope"), &who("bob"), &audit_at(t(0))).unwrap_err(), missing);
}

pub fn projects_crud_and_uniqueness(store: impl Store) {
    store.create_workspace(&new_ws("ws1", 0), None, &audit()).unwrap();
    let new = NewProject {
        workspace: "ws1".into(),
        name: "p1".into(),
        description: Some("d".into()),
        actor: "a".into(),
        at: t(1),
    };
    let created = store.create_project(&new).unwrap();
    assert!(created.id.starts_with("project-"));
    assert!(matches!(store.create_project(&new), Err(StoreError::Conflict(_))));
    assert_eq!(store.get_project(&ws("ws1"), "p1").unwrap(), created);
    let update = EntityUpdate { description: Some(None), actor: "b".into(), at: t(2) };
    assert_eq!(store.update_project(&ws("ws1"), "p1", &update).unwrap().description, None);
    assert_eq!(store.list_projects(&ws("ws1"), &query(1, 10, "-created_at", None)).unwrap().total, 1);
    assert_eq!(
        store.get_project(&ws("nope"), "p1").unwrap_err(),
        StoreError::NotFound("Workspace 'nope' not found".into())
    );
    assert_eq!(
        store.get_project(&ws("ws1"), "p9").unwrap_err(),
        StoreError::NotFound("Project 'p9' not found in workspace 'ws1'".into())
    );
    store.delete_project(&ws("ws1"), "p1").unwrap();
    assert!(matches!(store.delete_project(&ws("ws1"), "p1"), Err(StoreError::NotFound(_))));
    assert!(matches!(
        store.create_project(&NewProject { workspace: "nope".into(), ..new }),
        Err(StoreError::NotFound(_))
    ));
}

pub fn unknown_filter_field_is_invalid(store: impl Store) {
    let err = store.list_workspaces(&query(1, 10, "name", Some(r#"secret:"x""#)), None).unwrap_err();
    assert!(matches!(err, StoreError::Invalid(m) if m.contains("unknown filter field `secret`")));
}

pub fn own_writes_do_not_move_the_external_change_marker(store: impl Store) {
    let before = store.external_change_marker().unwrap();
    store.create_workspace(&new_ws("ws1", 0), None, &audit()).unwrap();
    store.add_member(&member("ws1", "bob", &["Viewer"], 1), &audit()).unwrap();
    assert_eq!(store.external_change_marker().unwrap(), before);
}

pub fn sessions_create_get_update_delete_and_expire(store: impl Store) {
    let t0 = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let session = |id: &str, expires_in: i64| StoredSession {
        id_hash: id.into(),
        data: format!("{{\"who\":\"{id}\"}}"),
        created_at: t0,
        last_seen_at: t0,
        expires_at: t0 + Duration::seconds(expires_in),
    };
    store.create_session(&session("a", 60)).unwrap();
    store.create_session(&session("b", 10)).unwrap();
    assert!(matches!(store.create_session(&session("a", 60)), Err(StoreError::Conflict(_))));
    assert_eq!(store.get_session("a", t0).unwrap(), session("a", 60));
    assert!(matches!(store.get_session("missing", t0), Err(StoreError::NotFound(_))));

    let mut updated = session("a", 120);
    updated.data = "{\"who\":\"a2\"}".into();
    updated.last_seen_at = t0 + Duration::seconds(5);
    store.update_session(&updated).unwrap();
    assert_eq!(store.get_session("a", t0).unwrap(), updated);
    assert!(matches!(store.update_session(&session("missing", 5)), Err(StoreError::NotFound(_))));

    // Expired sessions are not found, then purged.
    let later = t0 + Duration::seconds(10);
    assert!(matches!(store.get_session("b", later), Err(StoreError::NotFound(_))));
    assert_eq!(store.delete_expired_sessions(later).unwrap(), 1);
    assert_eq!(store.delete_expired_sessions(later).unwrap(), 0);
    assert!(store.delete_session("a").unwrap());
    assert!(!store.delete_session("a").unwrap());
    assert!(matches!(store.get_session("a", t0), Err(StoreError::NotFound(_))));
}

fn all_events(store: &impl Store) -> Vec<AuditEvent> {
    let query = AuditQuery { page_size: 1000, oldest_first: true, ..AuditQuery::default() };
    store.list_audit_events(&query).unwrap().items
}

fn actions_of(events: &[AuditEvent]) -> Vec<(String, Option<String>, Option<String>)> {
    events.iter().map(|e| (e.action.clone(), e.workspace.clone(), e.principal.clone())).collect()
}

pub fn audit_records_every_access_change_with_before_and_after(store: impl Store) {
    let admin = grant("alice", "ws1", "Admin", 0);
    store.create_workspace(&new_ws("ws1", 0), Some(&admin), &audit()).unwrap();
    store.add_member(&member("ws1", "bob", &["Viewer"], 1), &audit()).unwrap();
    store.add_member(&member("ws1", "bob", &["Editor"], 2), &audit()).unwrap();
    store.set_member_roles(&member("ws1", "bob", &["Admin"], 3), &audit()).unwrap();
    store.remove_member(&ws("ws1"), &who("bob"), &audit_at(t(4))).unwrap();
    let binding = store.create_binding(&grant("team-a", "ws1", "Viewer", 5), &audit()).unwrap();
    store.revoke_binding(&binding.name, &audit_at(t(6))).unwrap();
    store
        .ensure_seed_binding(&Grant { granted_by: "system".into(), ..grant("*", "ws1", "Viewer", 7) })
        .unwrap();
    let seeded = AuditContext::new("system", t(8));
    assert!(store.ensure_workspace(&NewWorkspace { actor: "system".into(), ..new_ws("seeded", 8) }).unwrap());
    store.delete_workspace("ws1", &audit_at(t(9))).unwrap();
    let events = all_events(&store);
    let some = |s: &str| Some(s.to_string());
    assert_eq!(
        actions_of(&events),
        vec![
            ("workspace.created".into(), some("ws1"), None),
            ("binding.granted".into(), some("ws1"), some("alice")),
            ("member.added".into(), some("ws1"), some("bob")),
            ("member.roles_changed".into(), some("ws1"), some("bob")),
            ("member.roles_changed".into(), some("ws1"), some("bob")),
            ("member.removed".into(), some("ws1"), some("bob")),
            ("binding.granted".into(), some("ws1"), some("team-a")),
            ("binding.revoked".into(), some("ws1"), some("team-a")),
            ("binding.granted".into(), some("ws1"), some("*")),
            ("workspace.created".into(), some("seeded"), None),
            ("workspace.deleted".into(), some("ws1"), None),
        ]
    );
    assert!(events.windows(2).all(|pair| pair[0].id < pair[1].id), "ids grow");
    assert_eq!(events[0].actor, "tester");
    assert_eq!(events[0].request_id.as_deref(), Some("req-1"));
    assert_eq!(events[0].after, Some(serde_json::json!({"name": "ws1", "description": null})));
    assert_eq!(events[3].before, Some(serde_json::json!({"roles": ["Viewer"]})));
    assert_eq!(events[3].after, Some(serde_json::json!({"roles": ["Editor", "Viewer"]})));
    assert_eq!(events[4].after, Some(serde_json::json!({"roles": ["Admin"]})));
    assert_eq!(events[5].before, Some(serde_json::json!({"roles": ["Admin"]})));
    assert_eq!(events[5].at, t(4));
    assert_eq!(events[7].before.as_ref().unwrap()["role"], "Viewer");
    assert_eq!((events[8].actor.as_str(), events[8].request_id.as_deref()), ("system", None));
    assert_eq!((events[9].actor.as_str(), events[9].at), (seeded.actor.as_str(), seeded.at));
    let deleted = events[10].before.as_ref().unwrap();
    assert_eq!(
        deleted["bindings"],
        serde_json::json!([{"principal": "*", "role": "Viewer"}, {"principal": "alice", "role": "Admin"}])
    );
}

pub fn audit_failed_or_idle_changes_leave_no_event(store: impl Store) {
    store.create_workspace(&new_ws("ws1", 0), Some(&grant("alice", "ws1", "Admin", 0)), &audit()).unwrap();
    store.add_member(&member("ws1", "bob", &["Viewer"], 1), &audit()).unwrap();
    let before = all_events(&store);
    // Refused changes: each rolls back, and its event with it.
    assert!(store
        .create_workspace(&new_ws("ws1", 2), Some(&grant("mallory", "ws1", "Admin", 2)), &audit())
        .is_err());
    assert!(store.remove_member(&ws("ws1"), &who("alice"), &audit()).is_err(), "last Admin");
    assert!(store.set_member_roles(&member("ws1", "alice", &["Viewer"], 3), &audit()).is_err(), "last Admin");
    assert!(store.add_member(&member("nope", "bob", &["Viewer"], 3), &audit()).is_err());
    assert!(store.create_binding(&grant("bob", "ws1", "Viewer", 3), &audit()).is_err(), "already active");
    assert!(store.remove_member(&ws("ws1"), &who("nobody"), &audit()).is_err());
    store
        .create_project(&NewProject {
            workspace: "ws1".into(),
            name: "p".into(),
            description: None,
            actor: "a".into(),
            at: t(3),
        })
        .unwrap();
    assert!(store.delete_workspace("ws1", &audit()).is_err(), "a project remains");
    // Changes that change nothing: no event either.
    store.add_member(&member("ws1", "bob", &["Viewer"], 4), &audit()).unwrap();
    store.set_member_roles(&member("ws1", "bob", &["Viewer"], 4), &audit()).unwrap();
    assert!(!store.ensure_workspace(&new_ws("ws1", 4)).unwrap());
    assert_eq!(all_events(&store), before);
}

pub fn audit_query_filters_and_pages(store: impl Store) {
    for (i, name) in ["ws1", "ws2"].into_iter().enumerate() {
        let ctx = AuditContext { actor: format!("actor-{i}"), request_id: None, at: t(i as i64 * 10) };
        store.create_workspace(&new_ws(name, 0), Some(&grant("alice", name, "Admin", 0)), &ctx).unwrap();
    }
    store.add_member(&member("ws2", "bob", &["Viewer"], 20), &audit_at(t(20))).unwrap();
    let page = |query: AuditQuery| store.list_audit_events(&AuditQuery { page_size: 100, ..query }).unwrap();
    assert_eq!(page(AuditQuery::default()).total, 5);
    let ws2 = page(AuditQuery { workspace: Some("ws2".into()), ..AuditQuery::default() });
    assert_eq!(ws2.total, 3);
    assert_eq!(ws2.items[0].action, "member.added", "newest first");
    assert_eq!(page(AuditQuery { principal: Some("alice".into()), ..AuditQuery::default() }).total, 2);
    assert_eq!(page(AuditQuery { actor: Some("actor-1".into()), ..AuditQuery::default() }).total, 2);
    assert_eq!(page(AuditQuery { action: Some("binding.granted".into()), ..AuditQuery::default() }).total, 2);
    assert_eq!(page(AuditQuery { since: Some(t(10)), ..AuditQuery::default() }).total, 3);
    assert_eq!(page(AuditQuery { since: Some(t(5)), until: Some(t(10)), ..AuditQuery::default() }).total, 2);
    let first = store
        .list_audit_events(&AuditQuery { page: 1, page_size: 2, oldest_first: true, ..AuditQuery::default() })
        .unwrap();
    let second = store
        .list_audit_events(&AuditQuery { page: 2, page_size: 2, oldest_first: true, ..AuditQuery::default() })
        .unwrap();
    assert_eq!((first.total, first.items.len(), second.items.len()), (5, 2, 2));
    assert!(first.items[1].id < second.items[0].id);
}

pub fn audit_prune_removes_only_older_events(store: impl Store) {
    store.create_workspace(&new_ws("old", 0), None, &audit_at(t(0))).unwrap();
    store.create_workspace(&new_ws("new", 0), None, &audit_at(t(100))).unwrap();
    assert_eq!(store.prune_audit_events(t(50)).unwrap(), 1);
    let left = all_events(&store);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].workspace.as_deref(), Some("new"));
    assert_eq!(store.prune_audit_events(t(50)).unwrap(), 0);
}

fn key(jti_digit: char, owner: &str, subject: &str, entity: AccessKeyEntity, issued: i64) -> AccessKeyRecord {
    AccessKeyRecord {
        jti: format!("ak_{}", jti_digit.to_string().repeat(32)),
        name: Some("ci".into()),
        description: None,
        owner: owner.into(),
        subject: subject.into(),
        entity_type: entity,
        issuer: "http://platform/apis/auth".into(),
        audiences: vec!["nemo-platform-access-key".into()],
        issued_at: t(issued),
        expires_at: Some(t(issued + 100)),
        status: AccessKeyStatus::Active,
        updated_at: t(issued),
    }
}

pub fn access_key_lifecycle(store: impl Store) {
    let record = key('a', "bob", "bob", AccessKeyEntity::User, 0);
    store.create_access_key(&record, &audit_at(t(0))).unwrap();
    assert_eq!(store.get_access_key(&record.jti).unwrap(), record);
    assert!(matches!(store.create_access_key(&record, &audit_at(t(0))), Err(StoreError::Conflict(_))));
    let missing = format!("ak_{}", "f".repeat(32));
    assert!(matches!(store.revoke_access_key(&missing, &audit_at(t(1))), Err(StoreError::NotFound(_))));

    let suspended = store.suspend_access_key(&record.jti, &audit_at(t(1))).unwrap();
    assert!(suspended.changed);
    assert_eq!(suspended.record.status, AccessKeyStatus::Suspended);
    assert!(!store.suspend_access_key(&record.jti, &audit_at(t(2))).unwrap().changed);
    let active = store.unsuspend_access_key(&record.jti, &audit_at(t(3))).unwrap();
    assert!(active.changed);
    assert_eq!(store.get_access_key(&record.jti).unwrap().status, AccessKeyStatus::Active);
    // Expired: suspend does nothing.
    let after_expiry = store.suspend_access_key(&record.jti, &audit_at(t(200))).unwrap();
    assert!(!after_expiry.changed);
    assert_eq!(after_expiry.record.status, AccessKeyStatus::Active);

    let revoked = store.revoke_access_key(&record.jti, &audit_at(t(4))).unwrap();
    assert!(revoked.changed);
    assert!(!store.revoke_access_key(&record.jti, &audit_at(t(5))).unwrap().changed);
    assert!(matches!(store.suspend_access_key(&record.jti, &audit_at(t(6))), Err(StoreError::Conflict(_))));
    assert!(matches!(store.unsuspend_access_key(&record.jti, &audit_at(t(6))), Err(StoreError::Conflict(_))));
    let all = store.all_access_keys().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, AccessKeyStatus::Revoked);
    assert_eq!(all[0].updated_at, t(4));
    // One event per change, in its transaction; refusals and no-ops record nothing.
    let events = all_events(&store);
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["access_key.created", "access_key.suspended", "access_key.unsuspended", "access_key.revoked"]
    );
    assert!(events.iter().all(|e| e.principal.as_deref() == Some("bob") && e.workspace.is_none()));
    let revoke = &events[3];
    assert_eq!(revoke.at, t(4));
    assert_eq!(revoke.before.as_ref().unwrap()["status"], "ACTIVE");
    assert_eq!(revoke.after.as_ref().unwrap()["status"], "REVOKED");
    assert_eq!(revoke.after.as_ref().unwrap()["jti"], record.jti.as_str());
}

pub fn access_key_listing_pages_and_visibility(store: impl Store) {
    store.create_access_key(&key('1', "bob", "bob", AccessKeyEntity::User, 1), &audit_at(t(0))).unwrap();
    store.create_access_key(&key('2', "bob", "bob", AccessKeyEntity::User, 2), &audit_at(t(0))).unwrap();
    store.create_access_key(&key('3', "carol", "carol", AccessKeyEntity::User, 3), &audit_at(t(0))).unwrap();
    store
        .create_access_key(
            &key('4', "admin", "service-account:intake", AccessKeyEntity::ServiceAccount, 4),
            &audit_at(t(0)),
        )
        .unwrap();
    let list = |owner: &str, admin: bool, page: u64, page_size: u64| {
        let query =
            AccessKeyListQuery { owner: owner.into(), include_service_accounts: admin, page, page_size };
        let page = store.list_access_keys(&query).unwrap();
        (page.keys.iter().map(|k| k.jti[3..4].to_string()).collect::<Vec<_>>().join(""), page.has_more)
    };
    assert_eq!(list("bob", false, 1, 100), ("21".into(), false));
    assert_eq!(list("bob", false, 1, 1), ("2".into(), true));
    assert_eq!(list("bob", false, 2, 1), ("1".into(), false));
    assert_eq!(list("bob", false, 3, 1), ("".into(), false));
    // The SA key's creator sees it only while a PlatformAdmin; any admin sees every SA key.
    assert_eq!(list("admin", false, 1, 100), ("".into(), false));
    assert_eq!(list("carol", true, 1, 100), ("43".into(), false));
}
