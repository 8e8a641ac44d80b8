//! The bridge's durable state: what Tableau cannot hold (SCIM-only attributes,
//! `meta.created`/`lastModified`, external ids, the role to restore on reactivation, users
//! deleted through SCIM but kept in Tableau, the members the IdP asserted for each group), the
//! audit trail and the last reconciliation.
//!
//! [`Store`] is the seam a backend plugs into; [`sqlite::SqliteStore`] is the embedded one.

pub mod holds;
pub mod moves;
pub mod postgres;
mod read_pool;
pub mod shared;
pub mod sqlite;
pub mod traced;
mod writer;

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::Value;

pub use holds::{HoldRow, HoldState};
pub use moves::{MoveRow, MoveStep};
pub use postgres::PgStore;
pub use shared::Shared;
pub use sqlite::SqliteStore;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The store was written by a newer version of tableau-scim.
    #[error("store: schema version {found} is newer than this build knows ({known}); refusing to downgrade")]
    TooNew {
        /// Version in the store.
        found: i64,
        /// Version this build writes.
        known: i64,
    },
    /// A stored JSON document is damaged.
    #[error("store: damaged JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The store's worker failed or has stopped.
    #[error("store: {0}")]
    Task(String),
    /// PostgreSQL said no, or could not be reached.
    #[error("store: PostgreSQL: {0}")]
    Postgres(String),
}

impl StoreError {
    /// Whether the store is unavailable rather than wrong: a later retry may succeed. A database
    /// server that cannot be reached, a pool with no connection to give, a key lock waited on
    /// too long (every PostgreSQL failure is counted so: the replicas' database is a service
    /// that comes and goes); an embedded SQLite file that fails, a damaged document or a newer
    /// schema will fail again.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Postgres(_))
    }
}

impl From<tokio_postgres::Error> for StoreError {
    /// The server's own message and SQLSTATE when it answered ("db error" says nothing);
    /// otherwise the error with its causes ("error performing TLS handshake" alone does not say
    /// that the certificate names another host).
    fn from(e: tokio_postgres::Error) -> Self {
        if let Some(db) = e.as_db_error() {
            return StoreError::Postgres(format!("{} ({})", db.message(), db.code().code()));
        }
        let mut text = e.to_string();
        let mut cause = std::error::Error::source(&e);
        // A handful of causes at most: each is a layer of the connection (TLS, I/O).
        for _ in 0..4 {
            let Some(c) = cause else { break };
            text.push_str(": ");
            text.push_str(&c.to_string());
            cause = c.source();
        }
        StoreError::Postgres(text)
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Postgres(e.to_string())
    }
}

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
    /// A tombstone: deleted through SCIM but still in Tableau (content owner, or the
    /// `unlicense` policy), hidden from SCIM until the IdP creates the same userName again.
    pub deleted: bool,
    /// Created through SCIM (a POST made or took the user), as opposed to a user Tableau had
    /// that the IdP linked by writing it: administrators not provisioned so are protected
    /// (`manage_unprovisioned_admins`). Rows written before the store kept it read `false`.
    pub provisioned: bool,
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
    /// The operation, e.g. `create_user`.
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

/// Where audit rows go besides the store, as they are written (the audit export's sinks). Never
/// blocks: an implementation queues and returns.
pub trait AuditSink: Send + Sync {
    /// `row` of `tenant`, written at `at` (RFC 3339 UTC).
    fn offer(&self, tenant: &str, at: &str, row: &AuditRow);
}

/// An audit row with its time, as the trail is read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The row.
    pub row: AuditRow,
}

/// Which audit rows to read: all conditions hold; newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// The resource (user or group id) is this.
    pub resource: Option<String>,
    /// The operation is this (`create_user`, `reconcile`, ...).
    pub operation: Option<String>,
    /// At or after this time (RFC 3339).
    pub since: Option<String>,
    /// Before this time (RFC 3339).
    pub until: Option<String>,
    /// At most this many rows (0: no limit).
    pub limit: usize,
    /// Skip this many first.
    pub offset: usize,
}

/// The last reconciliation of a tenant, as the bridge wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftRecord {
    /// When it ran.
    pub at: String,
    /// Whether it saw the whole site (a run cut short by a fault is not).
    pub complete: bool,
    /// The report (`bridge::reconcile`'s JSON form).
    pub report: Value,
}

/// Durable state of every tenant, keyed by tenant id. A write returns once it is durable.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The row of a user, tombstones included.
    async fn user(&self, tenant: &str, id: &str) -> Result<Option<UserRow>, StoreError>;

    /// Every user row of a tenant, tombstones included.
    async fn users(&self, tenant: &str) -> Result<Vec<UserRow>, StoreError>;

    /// The rows of the users `ids` that the store holds (tombstones included), in no
    /// particular order: a page of `GET /Users` reads its own rows, not every row.
    async fn user_rows(&self, tenant: &str, ids: &[String]) -> Result<Vec<UserRow>, StoreError>;

    /// Ids of the users deleted through SCIM but kept in Tableau (tombstones), which SCIM
    /// listings leave out.
    async fn deleted_user_ids(&self, tenant: &str) -> Result<Vec<String>, StoreError>;

    /// Ids of the live (not deleted) users with this `externalId`.
    async fn user_ids_by_external_id(
        &self,
        tenant: &str,
        external_id: &str,
    ) -> Result<Vec<String>, StoreError>;

    /// Ids of the live users whose row holds this userName, any letter case (ASCII): the
    /// name the IdP wrote, which on an Active Directory server differs from Tableau's.
    async fn user_ids_by_user_name(
        &self,
        tenant: &str,
        user_name: &str,
    ) -> Result<Vec<String>, StoreError>;

    /// Write a user's row (a tombstone is a row with `deleted`).
    async fn put_user(&self, tenant: &str, row: UserRow) -> Result<(), StoreError>;

    /// Forget a user entirely (removed from Tableau), with its asserted group memberships.
    async fn delete_user(&self, tenant: &str, id: &str) -> Result<(), StoreError>;

    /// The row of a group.
    async fn group(&self, tenant: &str, id: &str) -> Result<Option<GroupRow>, StoreError>;

    /// Every group row of a tenant.
    async fn groups(&self, tenant: &str) -> Result<Vec<GroupRow>, StoreError>;

    /// Write a group's row.
    async fn put_group(&self, tenant: &str, row: GroupRow) -> Result<(), StoreError>;

    /// Forget a group and the members asserted for it.
    async fn delete_group(&self, tenant: &str, id: &str) -> Result<(), StoreError>;

    /// The members the IdP last asserted for a group (user ids), or `None` when no write
    /// through us has recorded them (a group we never wrote, or one last written before the
    /// store kept them).
    async fn asserted_members(
        &self,
        tenant: &str,
        group_id: &str,
    ) -> Result<Option<Vec<String>>, StoreError>;

    /// Every group's asserted members that are known, by group id.
    async fn all_asserted_members(
        &self,
        tenant: &str,
    ) -> Result<HashMap<String, Vec<String>>, StoreError>;

    /// The groups (ids) whose known asserted members include `user_id`.
    async fn asserted_groups_of(
        &self,
        tenant: &str,
        user_id: &str,
    ) -> Result<Vec<String>, StoreError>;

    /// Change a group's asserted members by difference (a 10,000-member group gaining one
    /// member writes one row) and mark them known.
    async fn change_asserted_members(
        &self,
        tenant: &str,
        group_id: &str,
        added: Vec<String>,
        removed: Vec<String>,
    ) -> Result<(), StoreError>;

    /// Keep the last reconciliation of a tenant (replacing the one before).
    async fn put_drift(&self, tenant: &str, record: DriftRecord) -> Result<(), StoreError>;

    /// The last reconciliation of a tenant, if any ran.
    async fn drift(&self, tenant: &str) -> Result<Option<DriftRecord>, StoreError>;

    /// The identity moves under way of a tenant.
    async fn moves(&self, tenant: &str) -> Result<Vec<MoveRow>, StoreError>;

    /// Record a move's state, before the step it names is taken.
    async fn put_move(&self, tenant: &str, row: MoveRow) -> Result<(), StoreError>;

    /// A move is over: forget it and, when it switched the person to a new Tableau user,
    /// keep `id` as the alias of `alias` (one write: never a switch without its alias).
    async fn finish_move(
        &self,
        tenant: &str,
        id: &str,
        alias: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Every alias moves left: the SCIM id to the person's LUID now.
    async fn aliases(&self, tenant: &str) -> Result<Vec<(String, String)>, StoreError>;

    /// The breaker's state: destructive changes counted since `since_ms` (Unix milliseconds; by
    /// the minute, so the minute `since_ms` falls in counts whole), and changes held now
    /// (approvals of administrator grants aside).
    async fn safety_state(&self, tenant: &str, since_ms: i64) -> Result<(u64, u64), StoreError>;

    /// Count `n` destructive changes made at `at_ms` (a group's members removed at once are
    /// one change each).
    async fn add_safety_events(&self, tenant: &str, at_ms: i64, n: u64) -> Result<(), StoreError>;

    /// Count `n` destructive changes at `at_ms` without waiting for their commit, where the
    /// store can promise they commit no later than any write queued after them (SQLite's one
    /// writer: first queued, first committed), so the request's own writes, awaited before
    /// it answers, carry the count to disk with them. `false`: it cannot (count with
    /// [`Store::add_safety_events`]).
    fn queue_safety_events(&self, _tenant: &str, _at_ms: i64, _n: u64) -> bool {
        false
    }

    /// Wait until every write queued before this call has committed (SQLite's writer); at once
    /// where writes are not queued.
    async fn settle(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Forget the destructive changes counted up to the minute of `before_ms` (now: the window
    /// restarts).
    async fn clear_safety_events(&self, tenant: &str, before_ms: i64) -> Result<(), StoreError>;

    /// Keep a held change (its `seq` is the store's to give).
    async fn put_hold(&self, tenant: &str, row: HoldRow) -> Result<(), StoreError>;

    /// The holds of a tenant (of one resource, if given), in arrival order, decided ones too.
    async fn holds(&self, tenant: &str, resource: Option<&str>)
        -> Result<Vec<HoldRow>, StoreError>;

    /// Record a decision on a hold (and, once applied, what applying it came to).
    async fn decide_hold(
        &self,
        tenant: &str,
        seq: i64,
        state: HoldState,
        by: Option<&str>,
        outcome: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Queue an audit row without waiting for it to be durable (a crash may lose the rows of
    /// the last moments, never a user or group row). Errors only if the store has stopped.
    fn audit(&self, tenant: &str, at: &str, row: AuditRow) -> Result<(), StoreError>;

    /// The audit trail of a tenant, oldest first, including every row queued before the call.
    async fn audit_trail(&self, tenant: &str) -> Result<Vec<AuditRow>, StoreError>;

    /// The audit rows of a tenant `query` selects, newest first, with their times, and how
    /// many rows it selects in all (for paging). Includes every row queued before the call.
    async fn audit_entries(
        &self,
        tenant: &str,
        query: &AuditQuery,
    ) -> Result<(Vec<AuditEntry>, usize), StoreError>;

    /// Delete the audit rows older than `before` (RFC 3339), every tenant's; returns how many.
    async fn prune_audit(&self, before: &str) -> Result<usize, StoreError>;

    /// Whether the store answers now (`/readyz`): an embedded file always does; a database
    /// must answer a query.
    async fn ready(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// What replicas on this store share (locks, the change feed, leases, the Tableau
    /// session), when several processes may serve from it at once; `None` for a store one
    /// process serves alone.
    fn shared(&self) -> Option<std::sync::Arc<dyn Shared>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_that_comes_and_goes_is_unavailable_and_nothing_else_is() {
        assert!(StoreError::Postgres("connection refused".into()).is_unavailable());
        assert!(!StoreError::Task("the writer stopped".into()).is_unavailable());
        assert!(!StoreError::TooNew { found: 9, known: 3 }.is_unavailable());
        let damaged = serde_json::from_str::<Value>("{").map_err(StoreError::from);
        assert!(damaged.is_err_and(|e| !e.is_unavailable()));
    }
}
