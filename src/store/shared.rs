//! What replicas on one store share besides the rows: locks on keys, the feed of cache changes,
//! leases on periodic work and the Tableau session. Only a store several processes open at
//! once offers it ([`super::Store::shared`]); on the embedded store one process serves alone
//! and the bridge keeps all of this in memory.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;

use super::StoreError;

/// One entry of the change feed: what a replica changed in its caches, for the others to do
/// the same before they next read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    /// Position in the feed (increasing in the order entries became visible).
    pub seq: i64,
    /// The replica that wrote it.
    pub origin: String,
    /// The change (the bridge's JSON).
    pub body: String,
}

/// A Tableau session as the replicas share it.
#[derive(Clone)]
pub struct StoredSession {
    /// `X-Tableau-Auth`.
    pub token: SecretString,
    /// Server address the session lives on.
    pub server: String,
    /// Site LUID.
    pub site_id: String,
    /// Signed-in user's LUID.
    pub user_id: String,
}

impl std::fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSession")
            .field("server", &self.server)
            .field("site_id", &self.site_id)
            .finish_non_exhaustive()
    }
}

/// A lock held in the database until released (or until this process's connection ends).
#[async_trait]
pub trait HeldLock: Send + Sync {
    /// Let the lock go now.
    async fn release(self: Box<Self>);

    /// Append `bodies` to `tenant`'s change feed in the lock's own transaction, then let the
    /// lock go: the next holder sees the changes the moment it holds the lock. On failure the
    /// lock is gone and nothing was appended.
    async fn publish_and_release(
        self: Box<Self>,
        tenant: &str,
        bodies: &[String],
    ) -> Result<(), StoreError>;
}

/// The coordination of replicas on one database.
#[async_trait]
pub trait Shared: Send + Sync {
    /// This process among the replicas (random per start).
    fn replica(&self) -> &str;

    /// Hold the lock of `key` in `tenant` (keys are compared as given: callers fold case),
    /// waiting while another replica holds it. Fails rather than wait forever.
    async fn lock(&self, tenant: &str, key: &str) -> Result<Box<dyn HeldLock>, StoreError>;

    /// Append changes to the tenant's feed, after every entry already visible.
    async fn publish(&self, tenant: &str, bodies: &[String]) -> Result<(), StoreError>;

    /// The tenant's feed entries after `seq`, oldest first, at most `limit`.
    async fn changes_after(
        &self,
        tenant: &str,
        seq: i64,
        limit: usize,
    ) -> Result<Vec<FeedEntry>, StoreError>;

    /// The last position of the tenant's feed (0: empty).
    async fn last_change(&self, tenant: &str) -> Result<i64, StoreError>;

    /// Delete feed entries older than `age`, every tenant's; returns how many.
    async fn prune_changes(&self, age: Duration) -> Result<u64, StoreError>;

    /// Take or renew the lease on `job` of `tenant` for `ttl`: true when this replica holds it
    /// now (it was free, expired, or already ours).
    async fn hold_lease(&self, tenant: &str, job: &str, ttl: Duration) -> Result<bool, StoreError>;

    /// Give up every lease this replica holds (shutdown), so another takes the work at once.
    async fn release_leases(&self) -> Result<(), StoreError>;

    /// The Tableau session stored under `key` (a tenant and the server, site and credential
    /// the session belongs to), if any.
    async fn stored_session(&self, key: &str) -> Result<Option<StoredSession>, StoreError>;

    /// Store a Tableau session under `key` (replacing the one before).
    async fn put_session(&self, key: &str, session: &StoredSession) -> Result<(), StoreError>;

    /// Report this replica alive in the call budget `budget` (a Tableau site), publish
    /// `news` if any, and read the budget: the replicas that reported within `live_for`, and
    /// the latest news any of them published.
    async fn budget_exchange(
        &self,
        budget: &str,
        news: Option<BudgetReport>,
        live_for: Duration,
    ) -> Result<BudgetRead, StoreError>;
}

/// What a replica publishes to a call budget: the site's call rate if it met a limit, and how
/// long every call must wait from now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetReport {
    /// Calls per second for the whole site.
    pub site_rate: Option<f64>,
    /// The pause from now.
    pub pause: Duration,
}

/// A call budget as read.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetRead {
    /// Replicas that reported lately (at least 1: the reader).
    pub replicas: usize,
    /// The latest report published, if any.
    pub latest: Option<BudgetEntry>,
}

/// The latest report of a call budget.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetEntry {
    /// Increases with every report.
    pub seq: i64,
    /// The replica that published it.
    pub origin: String,
    /// The site's call rate it set, if any.
    pub site_rate: Option<f64>,
    /// What is left of its pause.
    pub pause_left: Duration,
    /// How long ago it was published.
    pub age: Duration,
}

/// How long the change feed keeps entries. A replica that has not read the feed for half of
/// this clears its caches instead of catching up (it may have missed pruned entries).
pub const FEED_RETENTION: Duration = Duration::from_secs(3600);
