//! What a tenant does on its own: list the site's names at start and every few minutes
//! ([`crate::bridge::cache::names`]), each tenant at its own moment; reconcile the site every
//! `[tenants.reconcile] every` ([`crate::bridge::reconcile`]); and, for the store, audit retention and
//! the change feed's retention.
//!
//! With replicas on one store, reconciliation and the retentions run on one replica at a time:
//! each replica asks for the job's lease when it is due, and only the holder runs it. A lease
//! lasts a period and a half, so when its holder dies another replica takes the job over at its
//! next turn. The site's names are listed by each replica at start (its index lives in its
//! memory), then only by the holder of the listing lease, which publishes what it found
//! changed ([`crate::bridge::replicas::listing_diff`]); the others apply that and trust their index as fresh.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bridge::cache::names::next_listing;
use crate::bridge::reconcile::{Schedule, Silent};
use crate::bridge::replicas::may_run;
use crate::bridge::tenant::Tenant;
use crate::store::Store;

/// How soon a failed listing is tried again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// Every 15 s, read the breaker's holds into the figures `/metrics` shows (another replica,
/// or a release from the command line, changes them too).
pub fn spawn_safety_figures(tenant: &Arc<Tenant>) {
    let weak = Arc::downgrade(tenant);
    tokio::spawn(async move {
        loop {
            let Some(t) = weak.upgrade() else {
                return;
            };
            if let Err(e) = t.refresh_safety_figures().await {
                tracing::warn!(tenant.id = %t.id, error = %e, "the breaker's holds not read");
            }
            drop(t);
            tokio::time::sleep(Duration::from_secs(15)).await;
        }
    });
}

/// Finish the identity moves a crash left in the store, once, in the background.
pub fn spawn_move_resumption(tenant: &Arc<Tenant>) {
    let t = tenant.clone();
    tokio::spawn(async move {
        match t.resume_moves().await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(tenant.id = %t.id, moves = n, "identity moves resumed and finished")
            }
            Err(e) => {
                tracing::warn!(tenant.id = %t.id, error = %e, "identity moves not finished; the IdP's retry or the next start resumes them")
            }
        }
    });
}

/// List `tenant`'s names now and every `every` while the tenant lives; nothing when `every`
/// is zero.
pub fn spawn_name_listing(tenant: &Arc<Tenant>, every: Duration) {
    if every.is_zero() {
        return;
    }
    let weak = Arc::downgrade(tenant);
    let id = tenant.id.clone();
    tokio::spawn(async move {
        // Join the change feed before listing: a change another replica makes while the
        // listing runs is then applied to it, not skipped.
        loop {
            let Some(t) = weak.upgrade() else {
                return;
            };
            // A listing before the aliases are read would show a moved person twice.
            let ready = match t.moves_loaded().await {
                Ok(()) => t.replicas.catch_up().await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match ready {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(tenant.id = %id, error = %e, "cannot read the change feed; listing waits");
                    drop(t);
                    tokio::time::sleep(RETRY_AFTER_FAILURE.min(every)).await;
                }
            }
        }
        loop {
            let Some(t) = weak.upgrade() else {
                return;
            };
            let started = Instant::now();
            // With replicas, one lists (the lease holder) and the others apply what it found;
            // an index that never listed (or forgot its listing) lists for itself.
            if t.caches.names.has_listed() && !t.replicas.may_run("names", lease_for(every)).await {
                drop(t);
                tokio::time::sleep_until(next_listing(started, every, &id).into()).await;
                continue;
            }
            let next = match t.list_names().await {
                Ok(()) => next_listing(started, every, &id),
                Err(e) => {
                    tracing::warn!(tenant.id = %id, error = %e, "listing the site's names failed; unknown names are asked of Tableau until it succeeds");
                    started + RETRY_AFTER_FAILURE.min(every)
                }
            };
            drop(t);
            tokio::time::sleep_until(next.into()).await;
        }
    });
}

/// How often the last reconciliation is read back from the store when `serve` does not
/// reconcile itself (a `tableau-scim reconcile` run beside it shows in `/metrics`).
const DRIFT_REREAD: Duration = Duration::from_secs(60);

/// The first periodic reconciliation comes this long after start at most (after the first
/// listing of names), not a whole period later.
const FIRST_RECONCILIATION: Duration = Duration::from_secs(60);

/// Reconcile `tenant` on `schedule` while it lives; without a schedule, keep reading the last
/// reconciliation from the store for `/metrics`.
pub fn spawn_reconciliation(tenant: &Arc<Tenant>, schedule: Schedule) {
    let weak = Arc::downgrade(tenant);
    let id = tenant.id.clone();
    tokio::spawn(async move {
        let mut wait = schedule
            .every
            .map_or(DRIFT_REREAD, |e| e.min(FIRST_RECONCILIATION));
        if let Some(t) = weak.upgrade() {
            t.load_drift_summary().await;
        }
        loop {
            tokio::time::sleep(wait).await;
            let Some(t) = weak.upgrade() else {
                return;
            };
            let Some(every) = schedule.every else {
                t.load_drift_summary().await;
                continue;
            };
            wait = every;
            if !t.replicas.may_run("reconcile", lease_for(every)).await {
                t.load_drift_summary().await;
                continue;
            }
            let r = t.reconcile(schedule.options, &Silent).await;
            let drift = r.remaining_drift();
            if !r.complete {
                tracing::warn!(tenant.id = %id, errors = ?r.errors, "reconciliation incomplete; nothing was repaired");
            } else if drift > 0 || r.failed_repairs() > 0 {
                tracing::warn!(tenant.id = %id, counts = ?r.counts, remaining = drift, failed = r.failed_repairs(), tableau.calls = r.tableau_calls.read + r.tableau_calls.repair, "reconciliation found drift");
            } else {
                tracing::info!(tenant.id = %id, counts = ?r.counts, tableau.calls = r.tableau_calls.read + r.tableau_calls.repair, "reconciliation: no drift remains");
            }
        }
    });
}

/// How long a replica holds the lease of a job it runs every `every`: past its next turn, so
/// it keeps it while alive, and not much longer, so another takes over soon after it dies.
pub fn lease_for(every: Duration) -> Duration {
    every + every / 2
}

/// Whether this process runs a store-wide job now (see [`may_run`]).
async fn store_may_run(store: &Arc<dyn Store>, job: &str, every: Duration) -> bool {
    may_run(store.shared().as_ref(), "", job, lease_for(every)).await
}

/// How often audit retention runs.
const AUDIT_RETENTION_EVERY: Duration = Duration::from_secs(24 * 3600);

/// How often the change feed is pruned.
const FEED_PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Delete change-feed entries past their retention, every ten minutes, on one replica.
pub fn spawn_feed_retention(store: &Arc<dyn Store>) {
    if store.shared().is_none() {
        return;
    }
    let weak = Arc::downgrade(store);
    tokio::spawn(async move {
        loop {
            let Some(store) = weak.upgrade() else {
                return;
            };
            if let Some(shared) = store.shared() {
                if store_may_run(&store, "feed-retention", FEED_PRUNE_EVERY).await {
                    match shared
                        .prune_changes(crate::store::shared::FEED_RETENTION)
                        .await
                    {
                        Ok(0) => {}
                        Ok(n) => tracing::debug!(entries = n, "change feed pruned"),
                        Err(e) => tracing::warn!(error = %e, "change feed not pruned"),
                    }
                }
            }
            drop(store);
            tokio::time::sleep(FEED_PRUNE_EVERY).await;
        }
    });
}

/// Delete audit rows older than `keep`, at start and then daily, while the store is open.
pub fn spawn_audit_retention(store: &Arc<dyn Store>, keep: std::time::Duration) {
    let weak = Arc::downgrade(store);
    tokio::spawn(async move {
        loop {
            let Some(store) = weak.upgrade() else {
                return;
            };
            if !store_may_run(&store, "audit-retention", AUDIT_RETENTION_EVERY).await {
                drop(store);
                tokio::time::sleep(AUDIT_RETENTION_EVERY).await;
                continue;
            }
            let cutoff = crate::clock::now()
                - chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
            let before = cutoff.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            match store.prune_audit(&before).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(rows = n, before = %before, "audit rows past their retention deleted")
                }
                Err(e) => tracing::warn!(error = %e, "audit retention could not run"),
            }
            drop(store);
            tokio::time::sleep(AUDIT_RETENTION_EVERY).await;
        }
    });
}
