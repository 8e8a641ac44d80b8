//! The bridge's durable state: what Tableau cannot hold (SCIM-only attributes,
//! `meta.created`/`lastModified`, external ids, the role to restore on reactivation, users
//! deleted through SCIM but kept in Tableau) and the audit trail.
//!
//! [`Store`] is the seam a backend plugs into; [`sqlite::SqliteStore`] is the embedded one.

mod read_pool;
pub mod sqlite;
mod writer;

use async_trait::async_trait;
use serde_json::Value;

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

/// Durable state of every tenant, keyed by tenant id. A write returns once it is durable.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The row of a user, tombstones included.
    async fn user(&self, tenant: &str, id: &str) -> Result<Option<UserRow>, StoreError>;

    /// Every user row of a tenant, tombstones included.
    async fn users(&self, tenant: &str) -> Result<Vec<UserRow>, StoreError>;

    /// Ids of the live (not deleted) users with this `externalId`.
    async fn user_ids_by_external_id(
        &self,
        tenant: &str,
        external_id: &str,
    ) -> Result<Vec<String>, StoreError>;

    /// Write a user's row (a tombstone is a row with `deleted`).
    async fn put_user(&self, tenant: &str, row: UserRow) -> Result<(), StoreError>;

    /// Forget a user entirely (removed from Tableau).
    async fn delete_user(&self, tenant: &str, id: &str) -> Result<(), StoreError>;

    /// The row of a group.
    async fn group(&self, tenant: &str, id: &str) -> Result<Option<GroupRow>, StoreError>;

    /// Every group row of a tenant.
    async fn groups(&self, tenant: &str) -> Result<Vec<GroupRow>, StoreError>;

    /// Write a group's row.
    async fn put_group(&self, tenant: &str, row: GroupRow) -> Result<(), StoreError>;

    /// Forget a group.
    async fn delete_group(&self, tenant: &str, id: &str) -> Result<(), StoreError>;

    /// Queue an audit row without waiting for it to be durable (a crash may lose the rows of
    /// the last moments, never a user or group row). Errors only if the store has stopped.
    fn audit(&self, tenant: &str, at: &str, row: AuditRow) -> Result<(), StoreError>;

    /// The audit trail of a tenant, oldest first, including every row queued before the call.
    async fn audit_trail(&self, tenant: &str) -> Result<Vec<AuditRow>, StoreError>;
}
