//! The SQLite store against its contract.

use super::*;
use crate::store::Store;

fn row(id: &str, name: &str) -> UserRow {
    UserRow {
        id: id.into(),
        user_name: name.into(),
        external_id: Some("ext'; DROP TABLE users; --".into()),
        attributes: serde_json::json!({"nickName": "B"}),
        created: "2026-01-01T00:00:00Z".into(),
        last_modified: "2026-01-01T00:00:00Z".into(),
        restore_role: Some("Creator".into()),
        deleted: false,
        provisioned: true,
    }
}

/// A store in a fresh directory (kept alive by the returned guard).
fn fresh() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = SqliteStore::open(&dir.path().join("store.db")).expect("open");
    (s, dir)
}

#[tokio::test]
async fn rows_round_trip_per_tenant_and_quotes_are_data() {
    let (s, _dir) = fresh();
    let r = row("u1", "o'brien@example.com");
    assert!(s.put_user("t1", r.clone()).await.is_ok());
    assert_eq!(s.user("t1", "u1").await.ok().flatten(), Some(r.clone()));
    assert_eq!(
        s.user("t2", "u1").await.ok().flatten(),
        None,
        "tenants are separate"
    );
    let ids = s
        .user_ids_by_external_id("t1", "ext'; DROP TABLE users; --")
        .await
        .unwrap_or_default();
    assert_eq!(ids, vec!["u1".to_string()]);
    assert!(s.delete_user("t1", "u1").await.is_ok());
    assert_eq!(s.user("t1", "u1").await.ok().flatten(), None);
    let a = AuditRow {
        operation: "create_user".into(),
        resource: "u1".into(),
        tableau_calls: 2,
        role_before: None,
        role_after: Some("Viewer".into()),
        outcome: "ok".into(),
    };
    assert!(s.audit("t1", "2026-01-01T00:00:00Z", a.clone()).is_ok());
    assert_eq!(s.audit_trail("t1").await.unwrap_or_default(), vec![a]);
}

#[tokio::test]
async fn a_file_store_reopens_and_refuses_newer_schemas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.db");
    {
        let s = SqliteStore::open(&path).expect("open");
        assert!(s.put_user("t", row("u1", "a")).await.is_ok());
    }
    let s = SqliteStore::open(&path).expect("reopen");
    assert!(s.user("t", "u1").await.ok().flatten().is_some());
    drop(s);
    if let Ok(c) = Connection::open(&path) {
        let _ = c.pragma_update(None, "user_version", 99);
    }
    assert!(matches!(
        SqliteStore::open(&path),
        Err(StoreError::TooNew { found: 99, .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_commit_together_and_a_failing_one_fails_alone() {
    let (s, _dir) = fresh();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            if i == 31 {
                s.write(|c| {
                    c.execute("INSERT INTO no_such_table VALUES (1)", [])?;
                    Ok(())
                })
                .await
            } else {
                s.put_user("t", row(&format!("u{i}"), &format!("n{i}")))
                    .await
            }
        }));
    }
    let mut failed = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        if let Ok(Err(_)) | Err(_) = t.await {
            failed.push(i);
        }
    }
    assert_eq!(failed, vec![31], "only the bad statement fails");
    assert_eq!(s.users("t").await.map(|r| r.len()).unwrap_or(0), 63);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_do_not_wait_for_a_write_in_progress() {
    let (s, _dir) = fresh();
    assert!(s.put_user("t", row("u1", "a")).await.is_ok());
    let (started_tx, started) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    // A write that holds the writer's transaction open until the read below is done.
    let writer = s.clone();
    let slow = tokio::spawn(async move {
        writer
            .write(move |c| {
                c.execute("UPDATE users SET user_name = 'b' WHERE id = 'u1'", [])?;
                let _ = started_tx.send(());
                let _ = released.recv_timeout(std::time::Duration::from_secs(10));
                Ok(())
            })
            .await
    });
    tokio::task::spawn_blocking(move || started.recv_timeout(std::time::Duration::from_secs(10)))
        .await
        .expect("join")
        .expect("the write started");
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), s.user("t", "u1")).await;
    let _ = release.send(());
    let row = read
        .expect("a read is not queued behind the open write")
        .expect("read");
    assert_eq!(
        row.map(|r| r.user_name),
        Some("a".to_string()),
        "the read sees the last committed state"
    );
    assert!(slow.await.expect("join").is_ok());
    assert_eq!(
        s.user("t", "u1").await.expect("read").map(|r| r.user_name),
        Some("b".to_string())
    );
}

#[tokio::test]
async fn queued_audit_rows_are_written_before_the_store_closes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.db");
    let a = |n: usize| AuditRow {
        operation: "update_user".into(),
        resource: format!("u{n}"),
        tableau_calls: 1,
        role_before: None,
        role_after: None,
        outcome: "ok".into(),
    };
    {
        let s = SqliteStore::open(&path).expect("open");
        for n in 0..500 {
            assert!(s.audit("t", "2026-01-01T00:00:00Z", a(n)).is_ok());
        }
        // Dropped with rows still queued: the writer finishes them first.
    }
    let s = SqliteStore::open(&path).expect("reopen");
    let trail = s.audit_trail("t").await.unwrap_or_default();
    assert_eq!(trail.len(), 500);
    assert_eq!(trail.last(), Some(&a(499)), "in order");
}

fn group(id: &str) -> GroupRow {
    GroupRow {
        id: id.into(),
        display_name: format!("group {id}"),
        external_id: None,
        created: "2026-01-01T00:00:00Z".into(),
        last_modified: "2026-01-01T00:00:00Z".into(),
    }
}

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn sorted(v: Option<Vec<String>>) -> Option<Vec<String>> {
    v.map(|mut v| {
        v.sort();
        v
    })
}

#[tokio::test]
async fn asserted_members_change_by_difference_and_go_with_their_group_and_user() {
    let (s, _dir) = fresh();
    assert!(s.put_group("t", group("g1")).await.is_ok());
    assert_eq!(
        s.asserted_members("t", "g1").await.ok().flatten(),
        None,
        "unknown until a write records them"
    );
    assert!(s
        .change_asserted_members("t", "g1", Vec::new(), Vec::new())
        .await
        .is_ok());
    assert_eq!(
        s.asserted_members("t", "g1").await.ok().flatten(),
        Some(Vec::new()),
        "known and empty is not unknown"
    );
    assert!(s
        .change_asserted_members("t", "g1", ids(&["u1", "u2", "u3"]), Vec::new())
        .await
        .is_ok());
    assert!(s
        .change_asserted_members("t", "g1", ids(&["u4", "u1"]), ids(&["u2"]))
        .await
        .is_ok());
    assert_eq!(
        sorted(s.asserted_members("t", "g1").await.ok().flatten()),
        Some(ids(&["u1", "u3", "u4"]))
    );
    assert_eq!(
        s.asserted_groups_of("t", "u4").await.unwrap_or_default(),
        ids(&["g1"])
    );
    assert!(s
        .asserted_groups_of("t", "u2")
        .await
        .unwrap_or_default()
        .is_empty());
    // A rewrite of the group's row keeps what is known of its members.
    assert!(s.put_group("t", group("g1")).await.is_ok());
    assert!(s.put_user("t", row("u3", "c")).await.is_ok());
    assert!(s.delete_user("t", "u3").await.is_ok());
    let all = s.all_asserted_members("t").await.unwrap_or_default();
    assert_eq!(sorted(all.get("g1").cloned()), Some(ids(&["u1", "u4"])));
    assert!(s
        .all_asserted_members("t2")
        .await
        .unwrap_or_default()
        .is_empty());
    assert!(s.delete_group("t", "g1").await.is_ok());
    assert_eq!(s.asserted_members("t", "g1").await.ok().flatten(), None);
    assert!(s
        .all_asserted_members("t")
        .await
        .unwrap_or_default()
        .is_empty());
}

#[tokio::test]
async fn a_failing_write_of_several_statements_undoes_itself_alone() {
    let (s, _dir) = fresh();
    assert!(s.put_group("t", group("g1")).await.is_ok());
    assert!(s
        .change_asserted_members("t", "g1", ids(&["u1"]), Vec::new())
        .await
        .is_ok());
    let failed = s
        .write(|c| {
            in_savepoint(c, |c| {
                execute(
                    c,
                    "INSERT INTO group_members (tenant, group_id, user_id) VALUES ('t', 'g1', 'u2')",
                    [],
                )?;
                execute(c, "INSERT INTO no_such_table VALUES (1)", [])
            })
        })
        .await;
    assert!(failed.is_err());
    assert_eq!(
        s.asserted_members("t", "g1").await.ok().flatten(),
        Some(ids(&["u1"])),
        "the first statement of the failed write was undone"
    );
}

#[tokio::test]
async fn the_last_reconciliation_is_kept_per_tenant() {
    let (s, _dir) = fresh();
    assert_eq!(s.drift("t").await.ok().flatten(), None);
    let d = |at: &str, complete: bool| DriftRecord {
        at: at.into(),
        complete,
        report: serde_json::json!({"findings": [{"kind": "role"}]}),
    };
    assert!(s
        .put_drift("t", d("2026-01-01T00:00:00Z", false))
        .await
        .is_ok());
    assert!(s
        .put_drift("t", d("2026-01-02T00:00:00Z", true))
        .await
        .is_ok());
    assert_eq!(
        s.drift("t").await.ok().flatten(),
        Some(d("2026-01-02T00:00:00Z", true))
    );
    assert_eq!(s.drift("t2").await.ok().flatten(), None);
}

#[tokio::test]
async fn audit_entries_are_filtered_paged_newest_first_and_pruned_by_age() {
    let (s, _dir) = fresh();
    let a = |op: &str, res: &str| AuditRow {
        operation: op.into(),
        resource: res.into(),
        tableau_calls: 1,
        role_before: None,
        role_after: Some("Viewer".into()),
        outcome: "ok".into(),
    };
    for (at, op, res) in [
        ("2025-01-01T00:00:00.000Z", "create_user", "u1"),
        ("2026-01-01T00:00:00.000Z", "patch_user", "u1"),
        ("2026-02-01T00:00:00.000Z", "create_user", "u2"),
        ("2026-03-01T00:00:00.000Z", "reconcile", "u1"),
    ] {
        assert!(s.audit("t", at, a(op, res)).is_ok());
    }
    assert!(s
        .audit("other", "2026-03-01T00:00:00.000Z", a("create_user", "x"))
        .is_ok());
    let q = |resource: Option<&str>, operation: Option<&str>, since: Option<&str>| AuditQuery {
        resource: resource.map(str::to_string),
        operation: operation.map(str::to_string),
        since: since.map(str::to_string),
        ..AuditQuery::default()
    };
    let (all, total) = s
        .audit_entries("t", &q(None, None, None))
        .await
        .expect("read");
    assert_eq!(total, 4);
    assert_eq!(all[0].row.operation, "reconcile", "newest first");
    let (u1, n) = s
        .audit_entries("t", &q(Some("u1"), None, None))
        .await
        .expect("read");
    assert_eq!((u1.len(), n), (3, 3));
    let (creates, _) = s
        .audit_entries(
            "t",
            &q(None, Some("create_user"), Some("2026-01-01T00:00:00.000Z")),
        )
        .await
        .expect("read");
    assert_eq!(
        creates
            .iter()
            .map(|e| e.row.resource.as_str())
            .collect::<Vec<_>>(),
        vec!["u2"]
    );
    let page = AuditQuery {
        limit: 2,
        offset: 2,
        ..AuditQuery::default()
    };
    let (second, total) = s.audit_entries("t", &page).await.expect("read");
    assert_eq!((second.len(), total), (2, 4));
    assert_eq!(second[1].at, "2025-01-01T00:00:00.000Z");
    assert_eq!(
        s.prune_audit("2026-01-15T00:00:00.000Z").await.ok(),
        Some(2)
    );
    let (left, _) = s
        .audit_entries("t", &q(None, None, None))
        .await
        .expect("read");
    assert_eq!(left.len(), 2);
    assert_eq!(s.audit_trail("other").await.map(|t| t.len()).ok(), Some(1));
}

#[cfg(unix)]
#[test]
fn the_store_is_its_owners_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("a directory");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = data.join("tableau-scim.db");
    let _store = SqliteStore::open(&path).expect("opens");
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    };
    assert_eq!(mode(&path), 0o600, "the database");
    assert_eq!(mode(&data), 0o700, "its directory");
    let wal = data.join("tableau-scim.db-wal");
    if wal.exists() {
        assert_eq!(mode(&wal) & 0o077, 0, "the WAL takes the database's mode");
    }
}
