//! Several replicas of one tenant on one store ([`Shared`]): what one replica's writes changed
//! in its caches reaches the others before their next read, the per-key locks hold across
//! replicas, and one Tableau session serves them all. Without a shared store (SQLite: one
//! process) all of this costs nothing: no feed, no database locks.
//!
//! Why a feed read at the start of every request rather than LISTEN/NOTIFY alone: a
//! notification arrives when it arrives, so an IdP whose next request reaches another replica
//! a millisecond after our answer could still read the old entry there. Reading the feed first
//! (one indexed query that usually returns nothing) makes read-your-writes hold across
//! replicas, whatever the timing.

mod budget;
pub mod listing_diff;

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Mutex;

use crate::bridge::cache::change::CacheChange;
use secrecy::{ExposeSecret, SecretString};

use crate::bridge::cache::Caches;
use crate::store::shared::{HeldLock, Shared, StoredSession, FEED_RETENTION};
use crate::store::StoreError;
use crate::tableau::{Session, SessionSeal, SessionShare};

/// Feed entries read per query while catching up.
const FEED_PAGE: usize = 1_000;

/// Where this replica is in the tenant's feed.
#[derive(Debug, Default)]
struct Position {
    /// The last entry applied (or skipped as our own).
    seq: i64,
    /// When the last read of the feed started; `None` before the first time.
    read_at: Option<Instant>,
}

/// One tenant's place among its replicas.
pub struct Replicas {
    shared: Option<Arc<dyn Shared>>,
    tenant: String,
    caches: Arc<Caches>,
    position: Mutex<Position>,
    /// One publication at a time, so that a request returns only after its changes are in the
    /// feed (a publication under way may hold them).
    publishing: Mutex<()>,
}

impl std::fmt::Debug for Replicas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replicas")
            .field("tenant", &self.tenant)
            .field("shared", &self.shared.is_some())
            .finish()
    }
}

/// What a catch-up must do, from how long ago the feed was last read.
#[derive(Debug, PartialEq, Eq)]
pub enum CatchUp {
    /// The first read: start from the end (the caches are empty).
    Start,
    /// Read the entries since the last one applied.
    Follow,
    /// Entries may have been pruned unseen: forget every cached entry, start from the end.
    Restart,
}

/// Decide the catch-up: a replica that has not read the feed for half its retention may have
/// missed pruned entries, so it forgets what it cached instead of trusting it.
pub fn catch_up_kind(since_last_read: Option<std::time::Duration>) -> CatchUp {
    match since_last_read {
        None => CatchUp::Start,
        Some(d) if d > FEED_RETENTION / 2 => CatchUp::Restart,
        Some(_) => CatchUp::Follow,
    }
}

impl Replicas {
    /// The replicas of `tenant` on `shared` (none: this process serves alone).
    pub fn new(tenant: &str, caches: Arc<Caches>, shared: Option<Arc<dyn Shared>>) -> Replicas {
        if shared.is_some() {
            caches.outbox.enable();
        }
        Replicas {
            shared,
            tenant: tenant.to_string(),
            caches,
            position: Mutex::new(Position::default()),
            publishing: Mutex::new(()),
        }
    }

    /// Whether other processes may serve this tenant from the same store.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// The shared Tableau session of this tenant, for its client, its token sealed by `seal`
    /// in the store.
    pub fn session_share(&self, seal: SessionSeal) -> Option<Arc<dyn SessionShare>> {
        let shared = self.shared.clone()?;
        Some(Arc::new(TenantSession {
            shared,
            tenant: self.tenant.clone(),
            seal,
        }))
    }

    /// The call budget of the Tableau site `scope` (`TableauClient::budget_scope`) shared
    /// with the other replicas, for the tenant's client.
    pub fn budget_share(
        &self,
        scope: String,
    ) -> Option<Arc<dyn crate::tableau::client::budget::BudgetShare>> {
        let shared = self.shared.clone()?;
        Some(Arc::new(budget::SiteShare {
            shared,
            budget: scope,
        }))
    }

    /// Make every change other replicas published before this call: before a request reads
    /// the caches, and after a key lock is taken. Concurrent calls share reads: a call that
    /// waited while another read the feed is done if that read started after it was made
    /// (what it must see was committed before it was called, so that read saw it).
    pub async fn catch_up(&self) -> Result<(), StoreError> {
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        let asked = Instant::now();
        let mut pos = self.position.lock().await;
        if pos.read_at.is_some_and(|t| t >= asked) {
            return Ok(());
        }
        let now = Instant::now();
        match catch_up_kind(pos.read_at.map(|t| now.saturating_duration_since(t))) {
            CatchUp::Start | CatchUp::Restart => {
                if pos.read_at.is_some() {
                    tracing::warn!(tenant.id = %self.tenant, "the change feed was not read for a long time; caches cleared");
                    self.caches.clear();
                }
                pos.seq = shared.last_change(&self.tenant).await?;
            }
            CatchUp::Follow => loop {
                let entries = shared
                    .changes_after(&self.tenant, pos.seq, FEED_PAGE)
                    .await?;
                for e in &entries {
                    if e.origin != shared.replica() {
                        match serde_json::from_str::<CacheChange>(&e.body) {
                            Ok(change) => self.caches.apply(change),
                            Err(err) => {
                                // A newer replica's change we cannot read: forget everything
                                // rather than keep what it may have changed.
                                tracing::warn!(tenant.id = %self.tenant, error = %err, "unreadable change in the feed; caches cleared");
                                self.caches.clear();
                            }
                        }
                    }
                    pos.seq = e.seq;
                }
                if entries.len() < FEED_PAGE {
                    break;
                }
            },
        }
        pos.read_at = Some(now);
        Ok(())
    }

    /// Put what this replica's writes changed into the feed. On failure the changes stay
    /// queued for the next call.
    pub async fn publish(&self) -> Result<(), StoreError> {
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        let _one = self.publishing.lock().await;
        let (pending, bodies) = self.pending();
        if pending.is_empty() {
            return Ok(());
        }
        match shared.publish(&self.tenant, &bodies).await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.caches.outbox.put_back(pending);
                Err(e)
            }
        }
    }

    /// The changes waiting to be published, and each as the feed carries it.
    fn pending(&self) -> (Vec<CacheChange>, Vec<String>) {
        let pending = self.caches.outbox.take();
        let bodies = pending
            .iter()
            .filter_map(|c| serde_json::to_string(c).ok())
            .collect();
        (pending, bodies)
    }

    /// Let `held` go, with this replica's pending changes published in its transaction (so
    /// the next holder, on any replica, reads them as it takes the lock). Changes that could not
    /// be published stay queued.
    pub async fn publish_and_release(&self, held: Box<dyn HeldLock>) {
        let _one = self.publishing.lock().await;
        let (pending, bodies) = self.pending();
        if pending.is_empty() {
            held.release().await;
            return;
        }
        if let Err(e) = held.publish_and_release(&self.tenant, &bodies).await {
            self.caches.outbox.put_back(pending);
            tracing::warn!(tenant.id = %self.tenant, error = %e, "changes not published; they are sent with the next ones");
        }
    }

    /// Hold the database lock of `key` (already case-folded) when replicas share the store,
    /// then catch up with what the last holder changed.
    pub async fn lock(&self, key: &str) -> Result<Option<Box<dyn HeldLock>>, StoreError> {
        let Some(shared) = &self.shared else {
            return Ok(None);
        };
        let held = shared.lock(&self.tenant, key).await?;
        self.catch_up().await?;
        Ok(Some(held))
    }

    /// Give up this replica's leases (shutdown).
    pub async fn release_leases(&self) {
        if let Some(shared) = &self.shared {
            if let Err(e) = shared.release_leases().await {
                tracing::warn!(tenant.id = %self.tenant, error = %e, "leases not released; they expire on their own");
            }
        }
    }

    /// Whether this replica should run `job` now: always when it serves alone; with replicas,
    /// when it holds the job's lease (taken or renewed for `ttl`).
    pub async fn may_run(&self, job: &str, ttl: std::time::Duration) -> bool {
        may_run(self.shared.as_ref(), &self.tenant, job, ttl).await
    }
}

/// Whether this process should run `job` of `tenant` (`""`: the whole store's) now: always
/// without replicas (`shared` is `None`); with them, when it holds the job's lease (taken or
/// renewed for `ttl`). A database that cannot be reached runs nothing: the job waits.
pub async fn may_run(
    shared: Option<&Arc<dyn Shared>>,
    tenant: &str,
    job: &str,
    ttl: std::time::Duration,
) -> bool {
    let Some(shared) = shared else {
        return true;
    };
    match shared.hold_lease(tenant, job, ttl).await {
        Ok(held) => held,
        Err(e) => {
            tracing::warn!(tenant.id = %tenant, job, error = %e, "lease not taken; the job waits");
            false
        }
    }
}

/// The lock key of the tenant's Tableau sign-in (no SCIM key starts with a control character).
const SESSION_KEY: &str = "\u{1}tableau-session";

/// A tenant's Tableau session kept in the shared store.
struct TenantSession {
    shared: Arc<dyn Shared>,
    tenant: String,
    /// The token is stored sealed: the store never holds a live session in clear.
    seal: SessionSeal,
}

impl TenantSession {
    /// The stored session's key: the tenant and what the session belongs to.
    fn key(&self, scope: &str) -> String {
        format!("{}\u{1f}{scope}", self.tenant)
    }
}

#[async_trait::async_trait]
impl SessionShare for TenantSession {
    async fn lock(&self) -> Result<Box<dyn Send + Sync>, String> {
        let held = self
            .shared
            .lock(&self.tenant, SESSION_KEY)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Box::new(held))
    }

    async fn load(&self, scope: &str) -> Result<Option<Session>, String> {
        let key = self.key(scope);
        let stored = self
            .shared
            .stored_session(&key)
            .await
            .map_err(|e| e.to_string())?;
        let Some(s) = stored else {
            return Ok(None);
        };
        match self.seal.open(s.token.expose_secret(), &key) {
            Some(token) => Ok(Some(Session::new(token, s.server, s.site_id, s.user_id))),
            None => {
                // Sealed under another credential (one rotated, or not yet rotated here), or
                // stored in clear by an earlier version: this replica signs in itself, and its
                // sealed session replaces the row.
                tracing::info!(tenant.id = %self.tenant, "the stored Tableau session does not open with this replica's credential; signing in");
                Ok(None)
            }
        }
    }

    async fn save(&self, scope: &str, session: &Session) -> Result<(), String> {
        let key = self.key(scope);
        let stored = StoredSession {
            token: SecretString::from(self.seal.seal(session.token(), &key)),
            server: session.server.clone(),
            site_id: session.site_id.clone(),
            user_id: session.user_id.clone(),
        };
        self.shared
            .put_session(&key, &stored)
            .await
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_replica_that_stopped_reading_forgets_instead_of_following() {
        assert_eq!(catch_up_kind(None), CatchUp::Start);
        assert_eq!(catch_up_kind(Some(Duration::from_secs(5))), CatchUp::Follow);
        assert_eq!(
            catch_up_kind(Some(FEED_RETENTION / 2 + Duration::from_secs(1))),
            CatchUp::Restart
        );
    }
}
