//! One tenant: a Tableau site with its client, caches, store, role mapping and policies.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard};

use crate::bridge::cache::{CacheTtls, Caches};
use crate::bridge::error::BridgeResult;
use crate::bridge::mapping::roles::RoleMapping;
use crate::bridge::policy::Policy;
use crate::bridge::replicas::Replicas;
use crate::store::shared::HeldLock;
use crate::store::Store;
use crate::tableau::TableauClient;

/// Counters the bridge keeps besides the caches' and the client's.
#[derive(Debug, Default)]
pub struct BridgeCounters {
    /// Users who got a lower site role than asked for (no seat).
    pub license_downgrades: AtomicU64,
    /// Refused changes of the signed-in account's own site role.
    pub own_role_refusals: AtomicU64,
}

const STRIPES: usize = 256;

/// Per-key locks: operations on one userName or group are serialised, others run in parallel.
/// Striped, so memory stays bounded however many keys pass through. With replicas on one
/// store, the key is also locked in the database, so the serialisation holds across them.
pub struct KeyLocks {
    stripes: Vec<Mutex<()>>,
    replicas: Arc<Replicas>,
}

/// A held key lock. Dropping it lets the key go; with replicas, this replica's changes are
/// published before the database lock goes, so the next holder, wherever it runs, reads them.
pub struct KeyGuard<'a> {
    _local: MutexGuard<'a, ()>,
    held: Option<Box<dyn HeldLock>>,
    replicas: Arc<Replicas>,
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        let Some(held) = self.held.take() else {
            return;
        };
        let replicas = self.replicas.clone();
        // Without a runtime (never in serving), dropping `held` closes its connection, which
        // frees the lock.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { replicas.publish_and_release(held).await });
        }
    }
}

impl KeyLocks {
    fn new(replicas: Arc<Replicas>) -> KeyLocks {
        KeyLocks {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            replicas,
        }
    }

    /// Hold the lock for `key` (compared case-insensitively). Fails only when replicas share
    /// the store and the database cannot be reached or the wait outlasts its limit.
    pub async fn lock(&self, key: &str) -> BridgeResult<KeyGuard<'_>> {
        let key = key.to_lowercase();
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        let i = usize::try_from(h.finish() % STRIPES as u64).unwrap_or(0);
        let local = self.stripes[i].lock().await;
        let held = self.replicas.lock(&key).await?;
        Ok(KeyGuard {
            _local: local,
            held,
            replicas: self.replicas.clone(),
        })
    }
}

/// Everything one tenant needs.
pub struct Tenant {
    /// Tenant id (store key, logs).
    pub id: String,
    /// Tableau.
    pub client: Arc<TableauClient>,
    /// Durable state.
    pub store: Arc<dyn Store>,
    /// Caches.
    pub caches: Arc<Caches>,
    /// The other replicas of this tenant, if any share its store.
    pub replicas: Arc<Replicas>,
    /// Role mapping.
    pub roles: RoleMapping,
    /// Policies.
    pub policy: Policy,
    /// Per-key locks.
    pub locks: KeyLocks,
    /// Counters.
    pub counters: BridgeCounters,
    /// When the last SCIM request reached the tenant (Unix milliseconds; 0: none yet).
    pub last_request_ms: std::sync::atomic::AtomicI64,
    /// The last reconciliation's counts (`/metrics`).
    pub(crate) drift: std::sync::Mutex<Option<crate::bridge::reconcile::summary::DriftSummary>>,
    /// Whether the site holds users of a directory (Active Directory or LDAP): seen in a
    /// listing or an answer ([`crate::bridge::users::directory`]).
    pub(crate) on_directory: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Tenant {
    /// A tenant.
    pub fn new(
        id: &str,
        client: Arc<TableauClient>,
        store: Arc<dyn Store>,
        roles: RoleMapping,
        policy: Policy,
        ttls: CacheTtls,
    ) -> Tenant {
        let caches = Arc::new(Caches::new(ttls));
        let replicas = Arc::new(Replicas::new(id, caches.clone(), store.shared()));
        if let Some(share) = replicas.session_share() {
            client.share_session(share);
        }
        Tenant {
            id: id.to_string(),
            client,
            store,
            caches,
            locks: KeyLocks::new(replicas.clone()),
            replicas,
            roles,
            policy,
            counters: BridgeCounters::default(),
            last_request_ms: std::sync::atomic::AtomicI64::new(0),
            drift: std::sync::Mutex::new(None),
            on_directory: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl Tenant {
    /// Record `event` with the time and the Tableau calls of the current operation. The row is
    /// queued, not awaited (see [`crate::store::Store::audit`]); a store that has stopped is
    /// logged, never a reason to fail a change already made in Tableau.
    pub(crate) fn audit(&self, event: crate::bridge::audit::AuditEvent) {
        let row = crate::store::AuditRow {
            operation: event.operation.as_str().into(),
            resource: event.resource,
            tableau_calls: crate::tableau::stats::calls_in_scope(),
            role_before: event.role_before,
            role_after: event.role_after,
            outcome: event.outcome,
        };
        if let Err(e) = self
            .store
            .audit(&self.id, &crate::backend::timestamp(), row)
        {
            tracing::error!(error = %e, "audit row not written");
        }
    }
}
