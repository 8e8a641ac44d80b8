//! The embedded store: one SQLite file in WAL mode. Writes go to one writer thread with group
//! commit ([`super::writer`]); reads use their own connections ([`super::read_pool`]). Another
//! process (`tableau-scim reconcile` beside `serve`) may open the same file: SQLite's locks and
//! the busy timeout serialise the writers.
//!
//! Here the connection and the [`Store`] methods; the SQL of each kind of row in `users`,
//! `groups` and `audit`; the migrations in `schema`.

mod audit;
mod groups;
mod holds;
mod moves;
mod schema;
#[cfg(test)]
mod tests;
mod users;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::Connection;

use super::holds::{HoldRow, HoldState};
use super::moves::MoveRow;
use super::read_pool::ReadPool;
use super::writer::Writer;
use super::{AuditEntry, AuditQuery, AuditRow, DriftRecord, GroupRow, Store, StoreError, UserRow};

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
        keep_private(path);
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn)?;
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

/// The store holds every user's attributes and the audit trail: its file is its owner's only
/// (0600; SQLite gives its `-wal` and `-shm` files the database's mode), created so before
/// SQLite opens it, and its directory 0700 when the directory is ours to change. A mode that
/// cannot be set (a volume owned by another user) is left as it is, with a warning.
fn keep_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Err(e) = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)) {
                tracing::warn!(dir = %dir.display(), error = %e, "the store's directory is not private (0700)");
            }
        }
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path);
        let tightened = created
            .and_then(|_| std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)));
        if let Err(e) = tightened {
            tracing::warn!(file = %path.display(), error = %e, "the store's file is not private (0600)");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Run one statement, prepared once per connection: a write does not parse its SQL again.
fn execute(c: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<(), StoreError> {
    c.prepare_cached(sql)?.execute(params)?;
    Ok(())
}

/// A write of several statements, all or none: the writer commits many writes in one
/// transaction and a failing write must fail alone, so it undoes itself to its savepoint.
fn in_savepoint(
    c: &Connection,
    f: impl FnOnce(&Connection) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    c.execute_batch("SAVEPOINT write")?;
    match f(c) {
        Ok(()) => {
            c.execute_batch("RELEASE write")?;
            Ok(())
        }
        Err(e) => {
            c.execute_batch("ROLLBACK TO write; RELEASE write")?;
            Err(e)
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn user(&self, tenant: &str, id: &str) -> Result<Option<UserRow>, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.readers
            .read(move |c| users::read_user(c, &tenant, &id))
            .await
    }

    async fn users(&self, tenant: &str) -> Result<Vec<UserRow>, StoreError> {
        let tenant = tenant.to_string();
        self.readers
            .read(move |c| users::read_users(c, &tenant))
            .await
    }

    async fn user_rows(&self, tenant: &str, ids: &[String]) -> Result<Vec<UserRow>, StoreError> {
        let (tenant, ids) = (tenant.to_string(), ids.to_vec());
        self.readers
            .read(move |c| users::read_user_rows(c, &tenant, &ids))
            .await
    }

    async fn deleted_user_ids(&self, tenant: &str) -> Result<Vec<String>, StoreError> {
        let tenant = tenant.to_string();
        self.readers
            .read(move |c| users::deleted_ids(c, &tenant))
            .await
    }

    async fn user_ids_by_external_id(
        &self,
        tenant: &str,
        external_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let (tenant, ext) = (tenant.to_string(), external_id.to_string());
        self.readers
            .read(move |c| users::ids_by_external_id(c, &tenant, &ext))
            .await
    }

    async fn user_ids_by_user_name(
        &self,
        tenant: &str,
        user_name: &str,
    ) -> Result<Vec<String>, StoreError> {
        let (tenant, name) = (tenant.to_string(), user_name.to_string());
        self.readers
            .read(move |c| users::ids_by_user_name(c, &tenant, &name))
            .await
    }

    async fn put_user(&self, tenant: &str, row: UserRow) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        self.write(move |c| users::write_user(c, &tenant, &row))
            .await
    }

    async fn delete_user(&self, tenant: &str, id: &str) -> Result<(), StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.write(move |c| users::remove_user(c, &tenant, &id))
            .await
    }

    async fn group(&self, tenant: &str, id: &str) -> Result<Option<GroupRow>, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.readers
            .read(move |c| groups::read_group(c, &tenant, &id))
            .await
    }

    async fn groups(&self, tenant: &str) -> Result<Vec<GroupRow>, StoreError> {
        let tenant = tenant.to_string();
        self.readers
            .read(move |c| groups::read_groups(c, &tenant))
            .await
    }

    async fn put_group(&self, tenant: &str, row: GroupRow) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        self.write(move |c| groups::write_group(c, &tenant, &row))
            .await
    }

    async fn delete_group(&self, tenant: &str, id: &str) -> Result<(), StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.write(move |c| groups::remove_group(c, &tenant, &id))
            .await
    }

    async fn asserted_members(
        &self,
        tenant: &str,
        group_id: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let (tenant, id) = (tenant.to_string(), group_id.to_string());
        self.readers
            .read(move |c| groups::read_members(c, &tenant, &id))
            .await
    }

    async fn all_asserted_members(
        &self,
        tenant: &str,
    ) -> Result<HashMap<String, Vec<String>>, StoreError> {
        let tenant = tenant.to_string();
        self.readers
            .read(move |c| groups::read_all_members(c, &tenant))
            .await
    }

    async fn asserted_groups_of(
        &self,
        tenant: &str,
        user_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let (tenant, id) = (tenant.to_string(), user_id.to_string());
        self.readers
            .read(move |c| groups::read_groups_of(c, &tenant, &id))
            .await
    }

    async fn change_asserted_members(
        &self,
        tenant: &str,
        group_id: &str,
        added: Vec<String>,
        removed: Vec<String>,
    ) -> Result<(), StoreError> {
        let (tenant, id) = (tenant.to_string(), group_id.to_string());
        self.write(move |c| groups::change_members(c, &tenant, &id, &added, &removed))
            .await
    }

    async fn moves(&self, tenant: &str) -> Result<Vec<MoveRow>, StoreError> {
        let tenant = tenant.to_string();
        self.readers
            .read(move |c| moves::read_moves(c, &tenant))
            .await
    }

    async fn put_move(&self, tenant: &str, row: MoveRow) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        self.write(move |c| moves::write_move(c, &tenant, &row))
            .await
    }

    async fn finish_move(
        &self,
        tenant: &str,
        id: &str,
        alias: Option<&str>,
    ) -> Result<(), StoreError> {
        let (tenant, id, alias) = (
            tenant.to_string(),
            id.to_string(),
            alias.map(str::to_string),
        );
        self.write(move |c| {
            in_savepoint(c, |c| moves::finish_move(c, &tenant, &id, alias.as_deref()))
        })
        .await
    }

    async fn aliases(&self, tenant: &str) -> Result<Vec<(String, String)>, StoreError> {
        let tenant = tenant.to_string();
        self.readers
            .read(move |c| moves::read_aliases(c, &tenant))
            .await
    }

    async fn safety_state(&self, tenant: &str, since_ms: i64) -> Result<(u64, u64), StoreError> {
        let tenant = tenant.to_string();
        self.readers
            .read(move |c| holds::state(c, &tenant, since_ms))
            .await
    }

    async fn add_safety_events(&self, tenant: &str, at_ms: i64, n: u64) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        self.write(move |c| holds::add_events(c, &tenant, at_ms, n))
            .await
    }

    fn queue_safety_events(&self, tenant: &str, at_ms: i64, n: u64) -> bool {
        let tenant = tenant.to_string();
        self.writer
            .enqueue(
                Box::new(move |c| holds::add_events(c, &tenant, at_ms, n)),
                None,
            )
            .is_ok()
    }

    async fn settle(&self) -> Result<(), StoreError> {
        self.write(|_| Ok(())).await
    }

    async fn clear_safety_events(&self, tenant: &str, before_ms: i64) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        self.write(move |c| holds::clear_events(c, &tenant, before_ms))
            .await
    }

    async fn put_hold(&self, tenant: &str, row: HoldRow) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        self.write(move |c| holds::insert_hold(c, &tenant, &row))
            .await
    }

    async fn holds(
        &self,
        tenant: &str,
        resource: Option<&str>,
    ) -> Result<Vec<HoldRow>, StoreError> {
        let (tenant, resource) = (tenant.to_string(), resource.map(str::to_string));
        self.readers
            .read(move |c| holds::read_holds(c, &tenant, resource.as_deref()))
            .await
    }

    async fn decide_hold(
        &self,
        tenant: &str,
        seq: i64,
        state: HoldState,
        by: Option<&str>,
        outcome: Option<&str>,
    ) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        let (by, outcome) = (by.map(str::to_string), outcome.map(str::to_string));
        self.write(move |c| {
            holds::decide(c, &tenant, seq, state, by.as_deref(), outcome.as_deref())
        })
        .await
    }

    async fn put_drift(&self, tenant: &str, record: DriftRecord) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        self.write(move |c| audit::write_drift(c, &tenant, &record))
            .await
    }

    async fn drift(&self, tenant: &str) -> Result<Option<DriftRecord>, StoreError> {
        let tenant = tenant.to_string();
        self.readers
            .read(move |c| audit::read_drift(c, &tenant))
            .await
    }

    /// Nothing waits for the row: it is committed in order with the writes queued before it,
    /// an orderly stop writes it, and a crash (kill -9) can lose the rows of the last moments.
    fn audit(&self, tenant: &str, at: &str, row: AuditRow) -> Result<(), StoreError> {
        let (tenant, at) = (tenant.to_string(), at.to_string());
        self.writer.enqueue(
            Box::new(move |c| audit::append(c, &tenant, &at, &row)),
            None,
        )
    }

    async fn audit_trail(&self, tenant: &str) -> Result<Vec<AuditRow>, StoreError> {
        // An empty write behind the queued rows: when it is done, they are committed.
        self.write(|_| Ok(())).await?;
        let tenant = tenant.to_string();
        self.readers.read(move |c| audit::trail(c, &tenant)).await
    }

    async fn audit_entries(
        &self,
        tenant: &str,
        query: &AuditQuery,
    ) -> Result<(Vec<AuditEntry>, usize), StoreError> {
        self.write(|_| Ok(())).await?;
        let (tenant, query) = (tenant.to_string(), query.clone());
        self.readers
            .read(move |c| audit::entries(c, &tenant, &query))
            .await
    }

    /// In batches, each its own write, until none is left: a year of rows does not hold the
    /// writer for long at once.
    async fn prune_audit(&self, before: &str) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let (done, count) = tokio::sync::oneshot::channel();
            let before = before.to_string();
            self.write(move |c| {
                let _ = done.send(audit::prune(c, &before)?);
                Ok(())
            })
            .await?;
            let n = count.await.unwrap_or(0);
            total += n;
            if n == 0 {
                return Ok(total);
            }
        }
    }
}
