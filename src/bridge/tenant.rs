//! One tenant: a Tableau site with its client, caches, store, role mapping and policies.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use tracing::Instrument;

use tokio::sync::{Mutex, MutexGuard};

use crate::bridge::cache::{CacheTtls, Caches};
use crate::bridge::error::BridgeResult;
use crate::bridge::mapping::roles::RoleMapping;
use crate::bridge::policy::Policy;
use crate::bridge::replicas::Replicas;
use crate::reloadable::Reloadable;
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
    /// Identity moves running now.
    pub moves_running: AtomicU64,
    /// Identity moves finished.
    pub moves_done: AtomicU64,
    /// Identity move attempts a fault stopped (each resumes on the next attempt).
    pub move_faults: AtomicU64,
    /// Destructive changes refused without being kept: the breaker held its maximum.
    pub holds_not_kept: AtomicU64,
    /// Changes held now (as last read from the store: `/metrics`).
    pub holds_now: AtomicU64,
    /// Whether mass changes are held now (approvals aside).
    pub breaker_open: std::sync::atomic::AtomicBool,
    /// Whether the store holds any hold of the tenant, decided or not: 0 not known yet, 1 none,
    /// 2 some. With none, a destructive change needs no look for a hold it repeats.
    pub holds_seen: std::sync::atomic::AtomicU8,
    /// When the oldest undecided hold arrived (Unix seconds; 0: none).
    pub oldest_hold_at: AtomicU64,
}

const STRIPES: usize = 256;

/// Per-key locks: operations on one userName or group are serialised, others run in parallel.
/// Striped, so memory stays bounded however many keys pass through. With replicas on one
/// store, the key is also locked in the database, so the serialisation holds across them.
pub struct KeyLocks {
    stripes: Vec<Mutex<()>>,
    /// The lock of the breaker's window, apart from the stripes: it is taken under a user's
    /// lock, whose stripe it could share.
    window: Mutex<()>,
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
            window: Mutex::new(()),
            replicas,
        }
    }

    /// Hold the lock of the breaker's window (every replica's): taken under a user's or a
    /// group's lock, never around one.
    pub async fn lock_window(&self) -> BridgeResult<KeyGuard<'_>> {
        let span = tracing::debug_span!("lock.wait", lock.kind = "safety_window");
        let local = self.window.lock().instrument(span.clone()).await;
        // A control character no user or group name holds (text checks refuse them), and not
        // NUL, which PostgreSQL text cannot carry.
        let held = self
            .replicas
            .lock("\u{1f}safety-window")
            .instrument(span)
            .await?;
        Ok(KeyGuard {
            _local: local,
            held,
            replicas: self.replicas.clone(),
        })
    }

    /// Hold the lock for `key` (compared case-insensitively). Fails only when replicas share
    /// the store and the database cannot be reached or the wait outlasts its limit.
    pub async fn lock(&self, key: &str) -> BridgeResult<KeyGuard<'_>> {
        let key = key.to_lowercase();
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        let i = usize::try_from(h.finish() % STRIPES as u64).unwrap_or(0);
        // The key is a user's or group's name: the span says only what kind of lock it is.
        let span = tracing::debug_span!("lock.wait", lock.kind = "key");
        let local = self.stripes[i].lock().instrument(span.clone()).await;
        let held = self.replicas.lock(&key).instrument(span).await?;
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
    pub(in crate::bridge) id: String,
    /// Tableau.
    pub(in crate::bridge) client: Arc<TableauClient>,
    /// Durable state.
    pub(in crate::bridge) store: Arc<dyn Store>,
    /// Caches.
    pub(in crate::bridge) caches: Arc<Caches>,
    /// The other replicas of this tenant, if any share its store.
    pub(in crate::bridge) replicas: Arc<Replicas>,
    /// Role mapping (replaced by a configuration reload: [`Tenant::set_policies`]).
    pub(in crate::bridge) roles: Reloadable<RoleMapping>,
    /// Policies (the same).
    pub(in crate::bridge) policy: Reloadable<Policy>,
    /// Per-key locks.
    pub(in crate::bridge) locks: KeyLocks,
    /// Counters.
    pub(in crate::bridge) counters: BridgeCounters,
    /// When the last SCIM request reached the tenant (Unix milliseconds; 0: none yet).
    pub(in crate::bridge) last_request_ms: std::sync::atomic::AtomicI64,
    /// The last reconciliation's counts (`/metrics`).
    pub(in crate::bridge) drift:
        std::sync::Mutex<Option<crate::bridge::reconcile::summary::DriftSummary>>,
    /// Whether the site holds users of a directory (Active Directory or LDAP): seen in a
    /// listing or an answer ([`crate::bridge::users::directory`]).
    pub(in crate::bridge) on_directory: std::sync::atomic::AtomicBool,
    /// Where audit rows go besides the store (the audit export), once set.
    pub(in crate::bridge) audit_sink: std::sync::OnceLock<Arc<dyn crate::store::AuditSink>>,
    /// The aliases and moves under way, once read from the store
    /// ([`Tenant::moves_loaded`]).
    pub(in crate::bridge) moves_loaded: tokio::sync::OnceCell<()>,
    /// The breaker's window as this process counts it, on a store without replicas (`None`:
    /// not read from the store yet): `bridge::safety`.
    pub(in crate::bridge) window:
        std::sync::Mutex<Option<crate::bridge::safety::plan::MinuteCounts>>,
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
        let mut caches = Caches::new(ttls);
        caches.aliases = client.aliases().clone();
        let caches = Arc::new(caches);
        let replicas = Arc::new(Replicas::new(id, caches.clone(), store.shared()));
        if let Some(share) = replicas.session_share(client.session_seal()) {
            client.share_session(share);
        }
        if let Some(share) = replicas.budget_share(client.budget_scope()) {
            client.share_budget(share);
        }
        Tenant {
            id: id.to_string(),
            client,
            store,
            caches,
            locks: KeyLocks::new(replicas.clone()),
            replicas,
            roles: Reloadable::new(roles),
            policy: Reloadable::new(policy),
            counters: BridgeCounters::default(),
            last_request_ms: std::sync::atomic::AtomicI64::new(0),
            drift: std::sync::Mutex::new(None),
            on_directory: std::sync::atomic::AtomicBool::new(false),
            audit_sink: std::sync::OnceLock::new(),
            moves_loaded: tokio::sync::OnceCell::new(),
            window: std::sync::Mutex::new(None),
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
        let at = crate::backend::timestamp();
        if let Some(sink) = self.audit_sink.get() {
            sink.offer(&self.id, &at, &row);
        }
        if let Err(e) = self.store.audit(&self.id, &at, row) {
            tracing::error!(error = %e, "audit row not written");
        }
    }
}

/// What the console, the commands and the tests may ask of a tenant. Its parts (client, store,
/// caches, replicas) stay private to the bridge, so that a change to one of them cannot break
/// a page or a command unseen: whatever they need is here, by name.
impl Tenant {
    /// Send every audit row from now on to `sink` too (the audit export; set once, at start).
    pub fn export_audit_to(&self, sink: Arc<dyn crate::store::AuditSink>) {
        let _ = self.audit_sink.set(sink);
    }

    /// The tenant's id (store key, logs, URLs).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The identity moves under way (the console): each with its step, progress and the last
    /// fault it met. A store that cannot be read shows none, and says so in the log.
    pub async fn moves_under_way(&self) -> Vec<crate::store::MoveRow> {
        match self.store.moves(&self.id).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(tenant.id = %self.id, error = %e, "moves under way not read");
                Vec::new()
            }
        }
    }

    /// The role mapping now. A user's create, update and delete take it once, so each is decided
    /// under one mapping even when a reload replaces it meanwhile; other paths read it at each
    /// step (a reload between two steps of one request shows in its later steps).
    pub(in crate::bridge) fn roles(&self) -> Arc<RoleMapping> {
        self.roles.get()
    }

    /// The policies now (taken as [`Tenant::roles`] is).
    pub(in crate::bridge) fn policy(&self) -> Arc<Policy> {
        self.policy.get()
    }

    /// Replace the role mapping and policies (a configuration reload): requests that started
    /// keep what they read; the next reads the new ones. The deployment is not among what may
    /// change (the Tableau client was built for it; `config::reload` refuses such a file).
    pub fn set_policies(&self, roles: RoleMapping, policy: Policy) {
        self.roles.set(roles);
        self.policy.set(policy);
    }

    /// Tableau Cloud or Tableau Server.
    pub fn deployment(&self) -> crate::tableau::Deployment {
        self.policy().deployment
    }

    /// When the last SCIM request reached the tenant (Unix milliseconds; 0: none yet).
    pub fn last_request_ms(&self) -> i64 {
        self.last_request_ms
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Tableau's version (Server Info).
    pub async fn server_info(
        &self,
    ) -> Result<crate::tableau::model::ServerInfo, crate::tableau::TableauError> {
        self.client.server_info().await
    }

    /// The site's seats and settings (Query Site).
    pub async fn site_info(
        &self,
    ) -> Result<crate::tableau::model::SiteInfo, crate::tableau::TableauError> {
        self.client.site_info().await
    }

    /// Every user of the site as the last name listing saw them, while it is fresh.
    pub fn listed_users(
        &self,
        now: std::time::Instant,
    ) -> Option<Vec<Arc<crate::tableau::model::User>>> {
        self.caches.names.users(now)
    }

    /// The id of the user the name listing knows by `user_name`, if it knows them.
    pub fn listed_user_id(&self, user_name: &str, now: std::time::Instant) -> Option<String> {
        match self.caches.names.lookup(user_name, now) {
            crate::bridge::cache::names::Answer::Present(u) => Some(u.id.to_string()),
            _ => None,
        }
    }

    /// The audit rows `query` selects, newest first, and how many it selects in all.
    pub async fn audit_entries(
        &self,
        query: &crate::store::AuditQuery,
    ) -> Result<(Vec<crate::store::AuditEntry>, usize), crate::store::StoreError> {
        self.store.audit_entries(&self.id, query).await
    }

    /// The whole audit trail, oldest first.
    pub async fn audit_trail(
        &self,
    ) -> Result<Vec<crate::store::AuditRow>, crate::store::StoreError> {
        self.store.audit_trail(&self.id).await
    }

    /// The names of the users and groups the store knows, by id (an auditor reads names); what
    /// the store cannot say is left out.
    pub async fn names_by_id(&self) -> std::collections::HashMap<String, String> {
        let mut names = std::collections::HashMap::new();
        if let Ok(users) = self.store.users(&self.id).await {
            names.extend(users.into_iter().map(|u| (u.id, u.user_name)));
        }
        if let Ok(groups) = self.store.groups(&self.id).await {
            names.extend(groups.into_iter().map(|g| (g.id, g.display_name)));
        }
        names
    }

    /// The last reconciliation as the store keeps it.
    pub async fn last_drift(
        &self,
    ) -> Result<Option<crate::store::DriftRecord>, crate::store::StoreError> {
        self.store.drift(&self.id).await
    }

    /// Sign in to Tableau now (a command that wants its session before it starts).
    pub async fn sign_in(&self) -> Result<(), crate::tableau::TableauError> {
        self.client.sign_in().await
    }

    /// The Tableau site as it stands, for a preview ([`crate::tableau::snapshot::SiteSnapshot`];
    /// reads only).
    pub async fn site_snapshot(
        &self,
    ) -> Result<crate::tableau::snapshot::SiteSnapshot, crate::tableau::TableauError> {
        self.client.snapshot().await
    }

    /// Sign out of Tableau (a session shared with other replicas stays signed in).
    pub async fn sign_out(&self) {
        self.client.sign_out().await;
    }

    /// Give up this process's leases on periodic work, so another replica takes it now.
    pub async fn release_leases(&self) {
        self.replicas.release_leases().await;
    }

    /// Publish this process's cache changes to the other replicas now.
    pub async fn publish_changes(&self) -> Result<(), crate::store::StoreError> {
        self.replicas.publish().await
    }

    /// The Tableau calls made so far, by endpoint, with retries and sign-ins.
    pub fn tableau_stats(&self) -> crate::tableau::stats::StatsSnapshot {
        self.client.stats()
    }

    /// The adaptive limits on Tableau calls now: calls in flight, calls per second (none until
    /// a 429), 429s received.
    pub fn tableau_limits(&self) -> (usize, Option<f64>, u64) {
        self.client.limits()
    }

    /// Start counting Tableau calls afresh.
    pub fn reset_tableau_stats(&self) {
        self.client.reset_stats();
    }

    /// The bridge's own counters.
    pub fn counters(&self) -> &BridgeCounters {
        &self.counters
    }

    /// Forget the cached pages of the site's users: the next listing reads Tableau (a cold
    /// measurement).
    pub fn forget_user_pages(&self) {
        self.caches.user_pages.invalidate_all();
    }

    /// Forget the name listing: lookups go to Tableau until the next listing.
    pub fn forget_name_listing(&self) {
        self.caches.names.forget_listing();
    }
}
