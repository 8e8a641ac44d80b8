//! The bridge's durable state, in SQLite: what Tableau cannot hold (SCIM-only attributes,
//! `meta.created`/`lastModified`, external ids, the role to restore on reactivation, deleted
//! users kept hidden from SCIM) and an audit trail.
//!
//! One connection in WAL mode behind a mutex. Reads run on the blocking pool; writes go to one
//! writer thread that commits whatever has queued up as one transaction (group commit). Every
//! write is a single statement, so one that fails is undone by SQLite alone and fails alone,
//! without a savepoint. A write is acknowledged only after its transaction committed; audit
//! rows are queued without waiting (see [`Store::audit`]). Measured in BENCHMARKS.md section 1:
//! a transaction per write was the largest cost of a SCIM write against the emulator.

use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file was written by a newer version of tableau-scim.
    #[error("store: schema version {found} is newer than this build knows ({known}); refusing to downgrade")]
    TooNew {
        /// Version in the file.
        found: i64,
        /// Version this build writes.
        known: i64,
    },
    /// A stored JSON document is damaged.
    #[error("store: damaged JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The blocking task failed.
    #[error("store: {0}")]
    Task(String),
}

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

/// What the store keeps for a user.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    /// Tableau LUID.
    pub id: String,
    /// userName when last written through us.
    pub user_name: String,
    /// SCIM `externalId`.
    pub external_id: Option<String>,
    /// The SCIM attributes Tableau cannot hold (canonical SCIM JSON object).
    pub attributes: Value,
    /// `meta.created`.
    pub created: String,
    /// `meta.lastModified`.
    pub last_modified: String,
    /// The site role to give back on reactivation.
    pub restore_role: Option<String>,
    /// Deleted through SCIM but still in Tableau (content owner, or `unlicense` policy).
    pub deleted: bool,
}

/// What the store keeps for a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRow {
    /// Tableau LUID.
    pub id: String,
    /// displayName when last written.
    pub display_name: String,
    /// SCIM `externalId`.
    pub external_id: Option<String>,
    /// `meta.created`.
    pub created: String,
    /// `meta.lastModified`.
    pub last_modified: String,
}

/// One audit row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// The SCIM operation, e.g. `create_user`.
    pub operation: String,
    /// The resource id or name.
    pub resource: String,
    /// Tableau calls the operation made.
    pub tableau_calls: u64,
    /// Site role before.
    pub role_before: Option<String>,
    /// Site role after.
    pub role_after: Option<String>,
    /// `ok`, or what went wrong.
    pub outcome: String,
}

/// The store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    writer: Arc<Writer>,
}

/// Most writes committed in one transaction.
const MAX_BATCH: usize = 256;

/// One SQL statement; see the module documentation for why never more.
type WriteFn = Box<dyn FnOnce(&Connection) -> Result<(), StoreError> + Send>;

/// Who waits for a write's outcome; nobody for audit rows.
type Reply = Option<tokio::sync::oneshot::Sender<Result<(), StoreError>>>;

/// One queued write.
struct WriteJob {
    apply: WriteFn,
    reply: Reply,
}

fn writer_stopped() -> StoreError {
    StoreError::Task("the store writer has stopped".into())
}

fn answer(reply: Reply, outcome: Result<(), StoreError>) {
    match (reply, outcome) {
        (Some(waiting), outcome) => {
            let _ = waiting.send(outcome);
        }
        (None, Err(e)) => tracing::error!(error = %e, "an audit row was not written"),
        (None, Ok(())) => {}
    }
}

/// The writer thread and its queue. Dropping the last handle lets the thread finish the queue
/// and waits for it, so nothing acknowledged or queued is lost on an orderly stop.
struct Writer {
    jobs: Option<mpsc::Sender<WriteJob>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!("the store writer thread panicked");
            }
        }
    }
}

fn writer_loop(conn: &Mutex<Connection>, jobs: &mpsc::Receiver<WriteJob>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(conn, batch);
    }
}

fn commit_batch(conn: &Mutex<Connection>, batch: Vec<WriteJob>) {
    let Ok(guard) = conn.lock() else {
        for job in batch {
            answer(
                job.reply,
                Err(StoreError::Task("store lock poisoned".into())),
            );
        }
        return;
    };
    let c: &Connection = &guard;
    // Cached statements: rusqlite's `transaction()` parses BEGIN and COMMIT each time, which
    // showed up in the profile.
    let run = |sql: &str| c.prepare_cached(sql).and_then(|mut st| st.execute([]));
    let mut outcomes: Vec<(Reply, Result<(), StoreError>)> = Vec::with_capacity(batch.len());
    // Outcomes from `open` on belong to the transaction in progress, if `in_tx`.
    let mut open = 0;
    let mut in_tx = run("BEGIN").is_ok();
    for job in batch {
        let outcome = (job.apply)(c);
        let rolled_back = in_tx && outcome.is_err() && c.is_autocommit();
        outcomes.push((job.reply, outcome));
        if rolled_back {
            // Some errors (I/O, disk full) make SQLite roll the whole transaction back: the
            // writes before this one in it are gone too, and must not be reported as done.
            undo(&mut outcomes[open..], "rolled back with a failing write");
            open = outcomes.len();
            in_tx = run("BEGIN").is_ok();
        }
    }
    if in_tx {
        if let Err(e) = run("COMMIT") {
            let _ = run("ROLLBACK");
            undo(&mut outcomes[open..], &format!("commit failed: {e}"));
        }
    }
    for (reply, outcome) in outcomes {
        answer(reply, outcome);
    }
}

/// Mark writes whose transaction did not commit as failed.
fn undo(outcomes: &mut [(Reply, Result<(), StoreError>)], why: &str) {
    for (_, outcome) in outcomes {
        if outcome.is_ok() {
            *outcome = Err(StoreError::Task(why.to_string()));
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    /// Open (creating it on first start) the store at `path`, and migrate it.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    /// A store in memory (tests).
    pub fn in_memory() -> Result<Store, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Store, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
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
        let conn = Arc::new(Mutex::new(conn));
        let (jobs, queue) = mpsc::channel::<WriteJob>();
        let for_writer = conn.clone();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer_loop(&for_writer, &queue))
            .map_err(|e| StoreError::Task(format!("cannot start the store writer: {e}")))?;
        Ok(Store {
            conn,
            writer: Arc::new(Writer {
                jobs: Some(jobs),
                thread: Some(thread),
            }),
        })
    }

    /// Run `f` on the connection on the blocking pool.
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Task("store lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Queue `f` for the writer thread; done when its transaction has committed.
    async fn write<F>(&self, f: F) -> Result<(), StoreError>
    where
        F: FnOnce(&Connection) -> Result<(), StoreError> + Send + 'static,
    {
        let (done, outcome) = tokio::sync::oneshot::channel();
        self.enqueue(Box::new(f), Some(done))?;
        outcome.await.map_err(|_| writer_stopped())?
    }

    fn enqueue(&self, apply: WriteFn, reply: Reply) -> Result<(), StoreError> {
        self.writer
            .jobs
            .as_ref()
            .ok_or_else(writer_stopped)?
            .send(WriteJob { apply, reply })
            .map_err(|_| writer_stopped())
    }

    /// The row of a user.
    pub async fn user(&self, tenant: &str, id: &str) -> Result<Option<UserRow>, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.run(move |c| read_user(c, &tenant, &id)).await
    }

    /// Rows of many users at once.
    pub async fn users(&self, tenant: &str) -> Result<Vec<UserRow>, StoreError> {
        let tenant = tenant.to_string();
        self.run(move |c| {
            let mut st = c.prepare(
                "SELECT id, user_name, external_id, attributes, created, last_modified, restore_role, deleted
                 FROM users WHERE tenant = ?1",
            )?;
            let rows = st
                .query_map(params![tenant], user_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(|r| r.map_err(StoreError::from)).collect()
        })
        .await
    }

    /// Ids of users with this externalId.
    pub async fn user_ids_by_external_id(
        &self,
        tenant: &str,
        external_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let (tenant, ext) = (tenant.to_string(), external_id.to_string());
        self.run(move |c| {
            let mut st = c.prepare(
                "SELECT id FROM users WHERE tenant = ?1 AND external_id = ?2 AND deleted = 0",
            )?;
            let ids = st
                .query_map(params![tenant, ext], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(ids)
        })
        .await
    }

    /// Write a user's row.
    pub async fn put_user(&self, tenant: &str, row: UserRow) -> Result<(), StoreError> {
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

    /// Forget a user entirely (removed from Tableau).
    pub async fn delete_user(&self, tenant: &str, id: &str) -> Result<(), StoreError> {
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

    /// The row of a group.
    pub async fn group(&self, tenant: &str, id: &str) -> Result<Option<GroupRow>, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT id, display_name, external_id, created, last_modified FROM groups WHERE tenant = ?1 AND id = ?2",
                params![tenant, id],
                group_from_row,
            )
            .optional()?)
        })
        .await
    }

    /// Every group row of a tenant.
    pub async fn groups(&self, tenant: &str) -> Result<Vec<GroupRow>, StoreError> {
        let tenant = tenant.to_string();
        self.run(move |c| {
            let mut st = c.prepare("SELECT id, display_name, external_id, created, last_modified FROM groups WHERE tenant = ?1")?;
            let rows = st.query_map(params![tenant], group_from_row)?.collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Write a group's row.
    pub async fn put_group(&self, tenant: &str, row: GroupRow) -> Result<(), StoreError> {
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

    /// Forget a group.
    pub async fn delete_group(&self, tenant: &str, id: &str) -> Result<(), StoreError> {
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

    /// Queue an audit row. Nothing waits for it: it is committed in order with the writes
    /// queued before it, an orderly stop writes it, and a crash (kill -9) can lose the rows of
    /// the last moments. Errors only if the writer has stopped.
    pub fn audit(&self, tenant: &str, at: &str, row: AuditRow) -> Result<(), StoreError> {
        let (tenant, at) = (tenant.to_string(), at.to_string());
        self.enqueue(
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

    /// The audit trail of a tenant, oldest first, including every row queued before the call.
    pub async fn audit_trail(&self, tenant: &str) -> Result<Vec<AuditRow>, StoreError> {
        // An empty write behind the queued rows: when it is done, they are committed.
        self.write(|_| Ok(())).await?;
        let tenant = tenant.to_string();
        self.run(move |c| {
            let mut st = c.prepare(
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

    #[tokio::test]
    async fn rows_round_trip_per_tenant_and_quotes_are_data() {
        let s = Store::in_memory().map_err(|e| e.to_string());
        let Ok(s) = s else { panic!("store") };
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
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let Ok(dir) = dir else { panic!("tempdir") };
        let path = dir.path().join("store.db");
        {
            let s = Store::open(&path).map_err(|e| e.to_string());
            let Ok(s) = s else { panic!("open") };
            assert!(s.put_user("t", row("u1", "a")).await.is_ok());
        }
        let s = Store::open(&path).map_err(|e| e.to_string());
        let Ok(s) = s else { panic!("reopen") };
        assert!(s.user("t", "u1").await.ok().flatten().is_some());
        drop(s);
        if let Ok(c) = Connection::open(&path) {
            let _ = c.pragma_update(None, "user_version", 99);
        }
        assert!(matches!(
            Store::open(&path),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writes_commit_together_and_a_failing_one_fails_alone() {
        let s = Store::in_memory().map_err(|e| e.to_string());
        let Ok(s) = s else { panic!("store") };
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

    #[tokio::test]
    async fn queued_audit_rows_are_written_before_the_store_closes() {
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let Ok(dir) = dir else { panic!("tempdir") };
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
            let s = Store::open(&path).map_err(|e| e.to_string());
            let Ok(s) = s else { panic!("open") };
            for n in 0..500 {
                assert!(s.audit("t", "2026-01-01T00:00:00Z", a(n)).is_ok());
            }
            // Dropped with rows still queued: the writer finishes them first.
        }
        let s = Store::open(&path).map_err(|e| e.to_string());
        let Ok(s) = s else { panic!("reopen") };
        let trail = s.audit_trail("t").await.unwrap_or_default();
        assert_eq!(trail.len(), 500);
        assert_eq!(trail.last(), Some(&a(499)), "in order");
    }
}
