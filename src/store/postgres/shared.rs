//! [`Shared`] on PostgreSQL: key locks are transaction-level advisory locks, each held on a
//! connection of its own pool (so that a replica holding locks can always reach the store to
//! finish its work); the change feed, leases and the shared Tableau session are tables.

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Object, Pool};
use futures_util::future::{try_join, try_join4};
use secrecy::{ExposeSecret, SecretString};

use super::super::shared::{BudgetRead, BudgetReport, FeedEntry, HeldLock, Shared, StoredSession};
use super::super::StoreError;

/// Longest wait for a key lock: past it the request fails (503) instead of hanging, and the
/// IdP retries. Set on the lock pool's connections (`lock_timeout`).
pub(super) const LOCK_TIMEOUT: &str = "30s";

/// The replicas' coordination on one database.
pub struct PgShared {
    /// Connections that hold key locks, and nothing else.
    locks: Pool,
    /// The store's pool, for the feed, leases and sessions.
    pool: Pool,
    replica: String,
}

impl PgShared {
    pub(super) fn new(locks: Pool, pool: Pool) -> PgShared {
        PgShared {
            locks,
            pool,
            replica: uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// Take the advisory lock of a text until the transaction ends.
const XACT_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";

/// The text a lock is keyed by; PostgreSQL hashes it (`hashtextextended`, the same in every
/// build and on every replica, unlike Rust's hasher).
fn lock_text(tenant: &str, key: &str) -> String {
    format!("{tenant}\u{1f}{key}")
}

/// A connection inside the transaction that holds an advisory lock. Released by commit; if it
/// is dropped instead (a cancelled request), the transaction is rolled back on a task, or the
/// connection closed when that is impossible, which frees the lock either way.
struct PgLock {
    conn: Option<Object>,
    replica: String,
}

/// Close `conn` rather than return it to the pool in an unknown state.
fn discard(conn: Object) {
    drop(Object::take(conn));
}

#[async_trait]
impl HeldLock for PgLock {
    async fn release(mut self: Box<Self>) {
        if let Some(conn) = self.conn.take() {
            if conn.batch_execute("COMMIT").await.is_err() {
                discard(conn);
            }
        }
    }

    async fn publish_and_release(
        mut self: Box<Self>,
        tenant: &str,
        bodies: &[String],
    ) -> Result<(), StoreError> {
        let conn = self
            .conn
            .take()
            .ok_or_else(|| StoreError::Task("lock connection vanished".into()))?;
        match append(&conn, tenant, &self.replica, bodies, false).await {
            Ok(()) => Ok(()),
            Err(e) => {
                discard(conn);
                Err(e)
            }
        }
    }
}

/// Append `bodies` to `tenant`'s feed inside the transaction open on `conn` (opening one first
/// when `begin`), and commit. Entries of one tenant are appended one transaction at a time, so
/// that they become visible in the order of their numbers: a reader that has seen entry n never
/// later finds an entry below n. The statements are pipelined (one round trip); a failed one
/// makes PostgreSQL roll the transaction back at COMMIT, and its error is what this returns.
async fn append(
    conn: &Object,
    tenant: &str,
    replica: &str,
    bodies: &[String],
    begin: bool,
) -> Result<(), StoreError> {
    let lock = conn.prepare_cached(XACT_LOCK).await?;
    let insert = conn
        .prepare_cached(
            "INSERT INTO changes (tenant, origin, body) SELECT $1, $2, unnest($3::text[])",
        )
        .await?;
    let feed = lock_text(tenant, "\u{1}feed");
    let opening = async {
        if begin {
            conn.batch_execute("BEGIN").await
        } else {
            Ok(())
        }
    };
    try_join4(
        opening,
        conn.execute(&lock, &[&feed]),
        conn.execute(&insert, &[&tenant, &replica, &bodies]),
        conn.batch_execute("COMMIT"),
    )
    .await?;
    Ok(())
}

impl Drop for PgLock {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    if conn.batch_execute("ROLLBACK").await.is_err() {
                        discard(conn);
                    }
                });
            }
            Err(_) => discard(conn),
        }
    }
}

/// A connection taken for a lock: closed if the wait is cancelled half-way (it would otherwise
/// go back to the pool inside a transaction, perhaps still waiting for the lock).
struct Acquiring(Option<Object>);

impl Drop for Acquiring {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            discard(conn);
        }
    }
}

#[async_trait]
impl Shared for PgShared {
    fn replica(&self) -> &str {
        &self.replica
    }

    async fn lock(&self, tenant: &str, key: &str) -> Result<Box<dyn HeldLock>, StoreError> {
        let mut taking = Acquiring(Some(self.locks.get().await?));
        let conn = taking
            .0
            .as_ref()
            .ok_or_else(|| StoreError::Task("lock connection vanished".into()))?;
        let lock = conn.prepare_cached(XACT_LOCK).await?;
        let text = lock_text(tenant, key);
        // Pipelined (tokio-postgres sends both before reading an answer): one round trip.
        try_join(conn.batch_execute("BEGIN"), conn.execute(&lock, &[&text])).await?;
        Ok(Box::new(PgLock {
            conn: taking.0.take(),
            replica: self.replica.clone(),
        }))
    }

    async fn publish(&self, tenant: &str, bodies: &[String]) -> Result<(), StoreError> {
        if bodies.is_empty() {
            return Ok(());
        }
        let c = self.pool.get().await?;
        if let Err(e) = append(&c, tenant, &self.replica, bodies, true).await {
            // Whatever state the connection is in, it does not go back to the pool.
            discard(c);
            return Err(e);
        }
        Ok(())
    }

    async fn changes_after(
        &self,
        tenant: &str,
        seq: i64,
        limit: usize,
    ) -> Result<Vec<FeedEntry>, StoreError> {
        let c = self.pool.get().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = c
            .query(
                &c.prepare_cached("SELECT seq, origin, body FROM changes WHERE tenant = $1 AND seq > $2 ORDER BY seq LIMIT $3").await?,
                &[&tenant, &seq, &limit],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| FeedEntry {
                seq: r.get(0),
                origin: r.get(1),
                body: r.get(2),
            })
            .collect())
    }

    async fn last_change(&self, tenant: &str) -> Result<i64, StoreError> {
        let c = self.pool.get().await?;
        Ok(c.query_one(
            &c.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM changes WHERE tenant = $1")
                .await?,
            &[&tenant],
        )
        .await?
        .get(0))
    }

    async fn prune_changes(&self, age: Duration) -> Result<u64, StoreError> {
        let c = self.pool.get().await?;
        let ms = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
        Ok(c.execute(
            &c.prepare_cached(
                "DELETE FROM changes WHERE at < now() - $1 * interval '1 millisecond'",
            )
            .await?,
            &[&(ms as f64)],
        )
        .await?)
    }

    async fn hold_lease(&self, tenant: &str, job: &str, ttl: Duration) -> Result<bool, StoreError> {
        let c = self.pool.get().await?;
        let ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX) as f64;
        let rows = c
            .query(
                &c.prepare_cached(
                    "INSERT INTO leases (tenant, job, holder, expires_at)
                 VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')
                 ON CONFLICT (tenant, job) DO UPDATE
                   SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
                   WHERE leases.holder = EXCLUDED.holder OR leases.expires_at < now()
                 RETURNING holder",
                )
                .await?,
                &[&tenant, &job, &self.replica, &ms],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn release_leases(&self) -> Result<(), StoreError> {
        let c = self.pool.get().await?;
        c.execute(
            &c.prepare_cached("DELETE FROM leases WHERE holder = $1")
                .await?,
            &[&self.replica],
        )
        .await?;
        // Its share of every call budget returns to the others at once.
        c.execute(
            &c.prepare_cached("DELETE FROM budget_replicas WHERE replica = $1")
                .await?,
            &[&self.replica],
        )
        .await?;
        Ok(())
    }

    async fn stored_session(&self, key: &str) -> Result<Option<StoredSession>, StoreError> {
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                &c.prepare_cached("SELECT token, server, site_id, user_id FROM tableau_sessions WHERE session_key = $1").await?,
                &[&key],
            )
            .await?;
        Ok(row.map(|r| StoredSession {
            token: SecretString::from(r.get::<_, String>(0)),
            server: r.get(1),
            site_id: r.get(2),
            user_id: r.get(3),
        }))
    }

    async fn budget_exchange(
        &self,
        budget: &str,
        news: Option<BudgetReport>,
        live_for: Duration,
    ) -> Result<BudgetRead, StoreError> {
        super::budget::exchange(&self.pool, &self.replica, budget, news, live_for).await
    }

    async fn put_session(&self, key: &str, s: &StoredSession) -> Result<(), StoreError> {
        let c = self.pool.get().await?;
        c.execute(
            &c.prepare_cached("INSERT INTO tableau_sessions (session_key, token, server, site_id, user_id, signed_in_at)
             VALUES ($1, $2, $3, $4, $5, now())
             ON CONFLICT (session_key) DO UPDATE SET token = EXCLUDED.token, server = EXCLUDED.server,
               site_id = EXCLUDED.site_id, user_id = EXCLUDED.user_id, signed_in_at = now()").await?,
            &[
                &key,
                &s.token.expose_secret(),
                &s.server,
                &s.site_id,
                &s.user_id,
            ],
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_of_tenants_never_meet() {
        assert_ne!(lock_text("a", "bc"), lock_text("ab", "c"));
        assert_eq!(lock_text("t", "ann"), lock_text("t", "ann"));
    }
}
