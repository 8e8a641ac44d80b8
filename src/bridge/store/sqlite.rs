//! The embedded store: one SQLite file in WAL mode. Writes go to one writer thread with group
//! commit ([`super::writer`]); reads use their own connections ([`super::read_pool`]).

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::read_pool::ReadPool;
use super::writer::Writer;
use super::{AuditRow, GroupRow, Store, StoreError, UserRow};

/// Numbered migrations; each runs once, in its own transaction with the version bump.
const MIGRATIONS: &[&str] = &[
    // 1: users, groups, audit.
    "CREATE TABLE users (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        user_name TEXT NOT NULL,
        external_id TEXT,
        attributes TEXT NOT NULL,
        created TEXT NOT NULL,
        last_modified TEXT NOT NULL,
        restore_role TEXT,
        deleted INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant, id)
     );
     CREATE INDEX users_external_id ON users (tenant, external_id);
     CREATE TABLE groups (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        display_name TEXT NOT NULL,
        external_id TEXT,
        created TEXT NOT NULL,
        last_modified TEXT NOT NULL,
        PRIMARY KEY (tenant, id)
     );
     CREATE INDEX groups_external_id ON groups (tenant, external_id);
     CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        tenant TEXT NOT NULL,
        operation TEXT NOT NULL,
        resource TEXT NOT NULL,
        tableau_calls INTEGER NOT NULL,
        role_before TEXT,
        role_after TEXT,
        outcome TEXT NOT NULL
     );",
];

/// Read connections kept open: the machine has few cores, and a read is one indexed lookup.
const READERS: usize = 4;

/// The SQLite store. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    writer: Arc<Writer>,
    readers: Arc<ReadPool>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

impl SqliteStore {
    /// Open (creating it on first start) the store at `path`, and migrate it.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        Ok(SqliteStore {
            writer: Arc::new(Writer::start(conn)?),
            readers: Arc::new(ReadPool::new(path.to_path_buf(), READERS)),
        })
    }

    async fn write<F>(&self, f: F) -> Result<(), StoreError>
    where
        F: FnOnce(&Connection) -> Result<(), StoreError> + Send + 'static,
    {
        self.writer.write(Box::new(f)).await
    }
}

/// Run the migrations the file has not seen; refuse a file from a newer build.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(i + 1).unwrap_or(i64::MAX),
        )?;
        tx.commit()?;
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn user(&self, tenant: &str, id: &str) -> Result<Option<UserRow>, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.readers.read(move |c| read_user(c, &tenant, &id)).await
    }

    async fn users(&self, tenant: &str) -> Result<Vec<UserRow>, StoreError> {
        let tenant = tenant.to_string();
        self.readers
            .read(move |c| {
                let mut st = c.prepare_cached(
                    "SELECT id, user_name, external_id, attributes, created, last_modified, restore_role, deleted
                     FROM users WHERE tenant = ?1",
                )?;
                let rows = st
                    .query_map(params![tenant], user_from_row)?
                    .collect::<Result<Vec<_>, _>>()?;
                rows.into_iter()
                    .map(|r| r.map_err(StoreError::from))
                    .collect()
            })
            .await
    }

    async fn user_ids_by_external_id(
        &self,
        tenant: &str,
        external_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let (tenant, ext) = (tenant.to_string(), external_id.to_string());
        self.readers
            .read(move |c| {
                let mut st = c.prepare_cached(
                    "SELECT id FROM users WHERE tenant = ?1 AND external_id = ?2 AND deleted = 0",
                )?;
                let ids = st
                    .query_map(params![tenant, ext], |r| r.get(0))?
                    .collect::<Result<Vec<String>, _>>()?;
                Ok(ids)
            })
            .await
    }

    async fn put_user(&self, tenant: &str, row: UserRow) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        self.write(move |c| {
            execute(
                c,
                "INSERT INTO users (tenant, id, user_name, external_id, attributes, created, last_modified, restore_role, deleted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (tenant, id) DO UPDATE SET user_name = ?3, external_id = ?4, attributes = ?5,
                   created = ?6, last_modified = ?7, restore_role = ?8, deleted = ?9",
                params![
                    tenant,
                    row.id,
                    row.user_name,
                    row.external_id,
                    row.attributes.to_string(),
                    row.created,
                    row.last_modified,
                    row.restore_role,
                    row.deleted
                ],
            )
        })
        .await
    }

    async fn delete_user(&self, tenant: &str, id: &str) -> Result<(), StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.write(move |c| {
            execute(
                c,
                "DELETE FROM users WHERE tenant = ?1 AND id = ?2",
                params![tenant, id],
            )
        })
        .await
    }

    async fn group(&self, tenant: &str, id: &str) -> Result<Option<GroupRow>, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.readers
            .read(move |c| {
                Ok(c.prepare_cached(
                    "SELECT id, display_name, external_id, created, last_modified FROM groups WHERE tenant = ?1 AND id = ?2",
                )?
                .query_row(params![tenant, id], group_from_row)
                .optional()?)
            })
            .await
    }

    async fn groups(&self, tenant: &str) -> Result<Vec<GroupRow>, StoreError> {
        let tenant = tenant.to_string();
        self.readers
            .read(move |c| {
                let mut st = c.prepare_cached("SELECT id, display_name, external_id, created, last_modified FROM groups WHERE tenant = ?1")?;
                let rows = st.query_map(params![tenant], group_from_row)?.collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await
    }

    async fn put_group(&self, tenant: &str, row: GroupRow) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        self.write(move |c| {
            execute(
                c,
                "INSERT INTO groups (tenant, id, display_name, external_id, created, last_modified) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (tenant, id) DO UPDATE SET display_name = ?3, external_id = ?4, created = ?5, last_modified = ?6",
                params![tenant, row.id, row.display_name, row.external_id, row.created, row.last_modified],
            )
        })
        .await
    }

    async fn delete_group(&self, tenant: &str, id: &str) -> Result<(), StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.write(move |c| {
            execute(
                c,
                "DELETE FROM groups WHERE tenant = ?1 AND id = ?2",
                params![tenant, id],
            )
        })
        .await
    }

    /// Nothing waits for the row: it is committed in order with the writes queued before it,
    /// an orderly stop writes it, and a crash (kill -9) can lose the rows of the last moments.
    fn audit(&self, tenant: &str, at: &str, row: AuditRow) -> Result<(), StoreError> {
        let (tenant, at) = (tenant.to_string(), at.to_string());
        self.writer.enqueue(
            Box::new(move |c| {
                execute(
                    c,
                    "INSERT INTO audit (at, tenant, operation, resource, tableau_calls, role_before, role_after, outcome)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        at,
                        tenant,
                        row.operation,
                        row.resource,
                        i64::try_from(row.tableau_calls).unwrap_or(i64::MAX),
                        row.role_before,
                        row.role_after,
                        row.outcome
                    ],
                )
            }),
            None,
        )
    }

    async fn audit_trail(&self, tenant: &str) -> Result<Vec<AuditRow>, StoreError> {
        // An empty write behind the queued rows: when it is done, they are committed.
        self.write(|_| Ok(())).await?;
        let tenant = tenant.to_string();
        self.readers
            .read(move |c| {
                let mut st = c.prepare_cached(
                    "SELECT operation, resource, tableau_calls, role_before, role_after, outcome FROM audit WHERE tenant = ?1 ORDER BY seq",
                )?;
                let rows = st
                    .query_map(params![tenant], |r| {
                        Ok(AuditRow {
                            operation: r.get(0)?,
                            resource: r.get(1)?,
                            tableau_calls: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                            role_before: r.get(3)?,
                            role_after: r.get(4)?,
                            outcome: r.get(5)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await
    }
}

type RowResult = Result<UserRow, serde_json::Error>;

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RowResult> {
    let attributes: String = r.get(3)?;
    let id: String = r.get(0)?;
    let user_name: String = r.get(1)?;
    let external_id: Option<String> = r.get(2)?;
    let created: String = r.get(4)?;
    let last_modified: String = r.get(5)?;
    let restore_role: Option<String> = r.get(6)?;
    let deleted: bool = r.get(7)?;
    Ok(serde_json::from_str(&attributes).map(|attributes| UserRow {
        id,
        user_name,
        external_id,
        attributes,
        created,
        last_modified,
        restore_role,
        deleted,
    }))
}

/// Run one statement, prepared once per connection: a write does not parse its SQL again.
fn execute(c: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<(), StoreError> {
    c.prepare_cached(sql)?.execute(params)?;
    Ok(())
}

fn read_user(c: &Connection, tenant: &str, id: &str) -> Result<Option<UserRow>, StoreError> {
    let row = c
        .prepare_cached(
            "SELECT id, user_name, external_id, attributes, created, last_modified, restore_role, deleted
             FROM users WHERE tenant = ?1 AND id = ?2",
        )?
        .query_row(params![tenant, id], user_from_row)
        .optional()?;
    match row {
        Some(r) => Ok(Some(r?)),
        None => Ok(None),
    }
}

fn group_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<GroupRow> {
    Ok(GroupRow {
        id: r.get(0)?,
        display_name: r.get(1)?,
        external_id: r.get(2)?,
        created: r.get(3)?,
        last_modified: r.get(4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        tokio::task::spawn_blocking(move || {
            started.recv_timeout(std::time::Duration::from_secs(10))
        })
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
}
