//! The breaker of mass changes (`[tenants.safety]`): an IdP does what its configuration says,
//! at once and at scale; one unassigned group would deactivate thousands. Destructive changes
//! (a deactivation, a demotion, a user's or a group's deletion, each member removed from a
//! group that grants a site role) are counted in a sliding window in the store, shared by
//! every replica; past the threshold ([`plan::threshold`]) the breaker opens and every
//! further destructive change is *held*: kept in the store as it
//! arrived, not applied, answered 503 with `Retry-After` and a SCIM error naming the hold. The
//! IdP's retries of it are answered the same. Creates, reads and harmless updates flow on.
//!
//! Only an administrator closes it: *release* applies the held changes, in order, through the
//! same paths an IdP request takes (a later retry of each then finds it done), *block*
//! discards them and answers their retries 409 naming the hold. Time alone never releases a
//! hold (`kill -9` and restarts included: all of it is in the store). idp-retries.md is why
//! 503 and why 409 (section 3).

pub mod plan;

use std::sync::atomic::Ordering;

use serde_json::Value;

use crate::backend::timestamp;
use crate::bridge::audit::AuditEvent;
use crate::bridge::error::BridgeResult;
use crate::bridge::operation::Operation;
use crate::bridge::tenant::Tenant;
use crate::scim::change::Change;
use crate::scim::projection::Projection;
use crate::store::{HoldRow, HoldState};
use plan::{apply_delta, blocked_error, fingerprint, held_error, repeated, verdict, Verdict};

/// [`crate::bridge::tenant::BridgeCounters::holds_seen`]: the store holds no hold.
const HOLDS_NONE: u8 = 1;
/// The same: it holds some.
const HOLDS_SOME: u8 = 2;

tokio::task_local! {
    /// Set while a release applies held changes: they pass the breaker.
    static RELEASING: ();
}

/// A destructive change about to be made, as the breaker sees it.
#[derive(Debug, Clone)]
pub(crate) struct Destructive {
    /// `User` or `Group`.
    pub kind: &'static str,
    /// The SCIM id.
    pub resource: String,
    /// Its name.
    pub name: String,
    /// The operation.
    pub op: Operation,
    /// In words.
    pub summary: String,
    /// The attributes it changes (`null` for a delete).
    pub change: Value,
    /// The site role before, and after.
    pub roles: (Option<String>, Option<String>),
    /// How many destructive changes it is: 1, or the members a role-granting group loses.
    pub weight: u64,
}

/// What a release or a block did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The hold.
    pub seq: i64,
    /// Its summary.
    pub summary: String,
    /// What applying it came to (`ok`, or the error), for a release.
    pub outcome: String,
}

impl Tenant {
    /// Let a destructive change through, or hold it. Called under the resource's lock, before
    /// any Tableau call that changes anything.
    pub(crate) async fn safety_gate(&self, d: Destructive) -> BridgeResult<()> {
        let s = self.policy().safety;
        if !s.enabled || RELEASING.try_with(|_| ()).is_ok() {
            return Ok(());
        }
        // One window for the tenant: its count and its additions are serialised across
        // requests (and replicas, whose database lock this takes too).
        let _window = self.locks.lock_window().await?;
        let now = crate::clock::now().timestamp_millis();
        let since = now - i64::try_from(s.window.as_millis()).unwrap_or(i64::MAX);
        let managed = self.caches.names.len() as u64;
        if self.counted_here(&d, now, since, managed).await? {
            return Ok(());
        }
        let fp = fingerprint(d.op.as_str(), &d.resource, &d.change);
        // The store's count, exact for every replica, once the counts queued before are in.
        self.store.settle().await?;
        let (in_window, held) = self.store.safety_state(&self.id, since).await?;
        if held > 0 || self.counters.holds_seen.load(Ordering::Relaxed) != HOLDS_NONE {
            let mine = self.store.holds(&self.id, Some(&d.resource)).await?;
            if let Some(h) = repeated(&mine, &fp) {
                return Err(match h.state {
                    HoldState::Blocked => blocked_error(h),
                    _ => held_error(h, held),
                }
                .into());
            }
        }
        if verdict(&s, in_window, held, managed, d.weight) == Verdict::Apply {
            self.count_destructive(now, d.weight).await?;
            self.window_is(now, Some(in_window + d.weight));
            return Ok(());
        }
        self.window_is(now, Some(in_window));
        let hold = hold_of(&d, d.op.as_str(), &fp);
        if held >= plan::MAX_HELD {
            self.counters.holds_not_kept.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(tenant.id = %self.id, resource = %d.resource, "breaker open with {held} holds: this change is refused, not kept");
            return Err(held_error(&hold, held).into());
        }
        let hold = self.keep(hold).await?;
        if held == 0 {
            tracing::warn!(tenant.id = %self.id, in_window, "the breaker of mass changes opened: destructive changes are held until an administrator decides");
        }
        self.audit(
            AuditEvent::new(d.op, &d.resource)
                .roles(d.roles.0.as_deref(), d.roles.1.as_deref())
                .outcome(format!("held (hold {}): {}", hold.seq, d.summary)),
        );
        self.counters.holds_now.fetch_add(1, Ordering::Relaxed);
        self.counters.breaker_open.store(true, Ordering::Relaxed);
        Err(held_error(&hold, held + 1).into())
    }

    /// `approve_admin_grants`: a change that makes someone an administrator is held until an
    /// administrator approves it (a release), whatever the window says; it does not open the
    /// breaker for other changes. `d.kind` is `NewUser` for a create (`d.change` its input).
    pub(crate) async fn approval_gate(&self, d: Destructive) -> BridgeResult<()> {
        if RELEASING.try_with(|_| ()).is_ok() {
            return Ok(());
        }
        let fp = fingerprint(plan::GRANT_ADMIN, &d.resource, &d.change);
        let mine = self.store.holds(&self.id, Some(&d.resource)).await?;
        if let Some(h) = repeated(&mine, &fp) {
            return Err(match h.state {
                HoldState::Blocked => blocked_error(h),
                _ => plan::approval_error(h),
            }
            .into());
        }
        let hold = hold_of(&d, plan::GRANT_ADMIN, &fp);
        let hold = self.keep(hold).await?;
        self.audit(
            AuditEvent::new(d.op, &d.resource)
                .roles(d.roles.0.as_deref(), d.roles.1.as_deref())
                .outcome(format!(
                    "held for approval (hold {}): {}",
                    hold.seq, d.summary
                )),
        );
        self.counters.holds_now.fetch_add(1, Ordering::Relaxed);
        Err(plan::approval_error(&hold).into())
    }

    /// On a store without replicas, this process's own count of the window
    /// ([`plan::MinuteCounts`], never below the store's) lets a change through when it fits,
    /// counted in the store without waiting for the commit (it commits with the request's own
    /// writes, before the answer). `false`: the store's count decides: the window is near its
    /// threshold, something is held or awaits approval, the change repeats a hold, or the
    /// store has replicas. Called under the window's lock.
    async fn counted_here(
        &self,
        d: &Destructive,
        now: i64,
        since: i64,
        managed: u64,
    ) -> BridgeResult<bool> {
        if self.store.shared().is_some() {
            return Ok(false);
        }
        if self.window_now(since).is_none() {
            // First use: the window and the holds as the store has them (after a restart, a
            // breaker left open stays open).
            self.store.settle().await?;
            let (in_window, _) = self.store.safety_state(&self.id, since).await?;
            self.refresh_safety_figures().await?;
            self.window_is(now, Some(in_window));
        }
        if self.counters.holds_now.load(Ordering::Relaxed) > 0 {
            return Ok(false);
        }
        if self.counters.holds_seen.load(Ordering::Relaxed) != HOLDS_NONE {
            let mine = self.store.holds(&self.id, Some(&d.resource)).await?;
            let fp = fingerprint(d.op.as_str(), &d.resource, &d.change);
            if repeated(&mine, &fp).is_some() {
                return Ok(false);
            }
        }
        let in_window = self.window_now(since).unwrap_or(u64::MAX);
        if verdict(&self.policy().safety, in_window, 0, managed, d.weight) != Verdict::Apply
            || !self.store.queue_safety_events(&self.id, now, d.weight)
        {
            return Ok(false);
        }
        self.with_window(|w| w.get_or_insert_with(Default::default).add(now, d.weight));
        Ok(true)
    }

    /// This process's count of the window from `since` (`None`: not read yet).
    fn window_now(&self, since: i64) -> Option<u64> {
        self.with_window(|w| w.as_mut().map(|w| w.since(since)))
    }

    /// Take the store's count, read at `now`, as this process's (`None`: forget it).
    fn window_is(&self, now: i64, count: Option<u64>) {
        self.with_window(|w| {
            *w = count.map(|n| {
                let mut counts = plan::MinuteCounts::default();
                counts.reset_to(now, n);
                counts
            })
        });
    }

    fn with_window<T>(&self, f: impl FnOnce(&mut Option<plan::MinuteCounts>) -> T) -> T {
        let mut w = self
            .window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut w)
    }

    /// Count a destructive change made at `now`, in the store before answering: the window
    /// is exact for every replica (a minute's row updated in place: the count reads at most
    /// the window's minutes however busy it is).
    async fn count_destructive(&self, now: i64, weight: u64) -> BridgeResult<()> {
        self.store.add_safety_events(&self.id, now, weight).await?;
        Ok(())
    }

    /// Keep `hold` in the store; it comes back with the number the store gave it.
    async fn keep(&self, mut hold: HoldRow) -> BridgeResult<HoldRow> {
        self.store.put_hold(&self.id, hold.clone()).await?;
        self.counters
            .holds_seen
            .store(HOLDS_SOME, Ordering::Relaxed);
        if let Some(kept) = self
            .store
            .holds(&self.id, Some(&hold.resource))
            .await?
            .into_iter()
            .rev()
            .find(|h| h.fingerprint == hold.fingerprint)
        {
            hold.seq = kept.seq;
        }
        Ok(hold)
    }

    /// A reactivation undoes the deactivation held for the user, if any: it is cancelled.
    pub(crate) async fn cancel_held(&self, resource: &str) -> BridgeResult<()> {
        for h in self.store.holds(&self.id, Some(resource)).await? {
            if h.state == HoldState::Held && h.change.get("active") == Some(&Value::Bool(false)) {
                self.store
                    .decide_hold(&self.id, h.seq, HoldState::Cancelled, Some("the IdP"), None)
                    .await?;
                self.audit(
                    AuditEvent::new(Operation::PatchUser, resource).outcome(format!(
                        "hold {} cancelled: the IdP reactivated the user",
                        h.seq
                    )),
                );
            }
        }
        Ok(())
    }

    /// Whether a DELETE of `resource` was held and released: its retry is answered as done.
    pub(crate) async fn released_delete(&self, resource: &str) -> BridgeResult<bool> {
        Ok(self
            .store
            .holds(&self.id, Some(resource))
            .await?
            .iter()
            .any(|h| h.state == HoldState::Released && h.operation.starts_with("delete_")))
    }

    /// Every hold of the tenant, decided ones too, in arrival order (console, CLI).
    pub async fn holds(&self) -> BridgeResult<Vec<HoldRow>> {
        Ok(self.store.holds(&self.id, None).await?)
    }

    /// Read the held changes into the counters `/metrics` shows (the breaker open, how many
    /// held, how old the oldest: alert before the IdPs' retries run out, 28 days for Entra ID).
    pub async fn refresh_safety_figures(&self) -> BridgeResult<()> {
        let all = self.store.holds(&self.id, None).await?;
        let all_empty = all.is_empty();
        let held: Vec<HoldRow> = all
            .into_iter()
            .filter(|h| h.state == HoldState::Held)
            .collect();
        self.counters.holds_seen.store(
            if all_empty { HOLDS_NONE } else { HOLDS_SOME },
            Ordering::Relaxed,
        );
        let oldest = held
            .first()
            .and_then(|h| chrono::DateTime::parse_from_rfc3339(&h.at).ok())
            .map_or(0, |t| u64::try_from(t.timestamp()).unwrap_or(0));
        self.counters
            .holds_now
            .store(held.len() as u64, Ordering::Relaxed);
        self.counters.breaker_open.store(
            held.iter().any(|h| h.operation != plan::GRANT_ADMIN),
            Ordering::Relaxed,
        );
        self.counters
            .oldest_hold_at
            .store(oldest, Ordering::Relaxed);
        Ok(())
    }

    /// Whether the breaker is open (changes are held).
    pub async fn breaker_open(&self) -> BridgeResult<bool> {
        Ok(self.store.safety_state(&self.id, i64::MAX).await?.1 > 0)
    }

    /// Release: apply every held change, in order, through the paths an IdP request takes;
    /// each outcome recorded and audited with `by`; then the window restarts.
    pub async fn release_holds(&self, by: &str) -> BridgeResult<Vec<Decision>> {
        let mut out = Vec::new();
        for h in self.store.holds(&self.id, None).await? {
            if h.state != HoldState::Held {
                continue;
            }
            let applied = RELEASING.scope((), self.apply_held(&h)).await;
            let outcome = match &applied {
                Ok(()) => "ok".to_string(),
                Err(e) => e.to_string(),
            };
            self.store
                .decide_hold(
                    &self.id,
                    h.seq,
                    HoldState::Released,
                    Some(by),
                    Some(&outcome),
                )
                .await?;
            self.audit(
                AuditEvent::new(Operation::Reconcile, &h.resource).outcome(format!(
                    "hold {} released by {by}: {} ({outcome})",
                    h.seq, h.summary
                )),
            );
            out.push(Decision {
                seq: h.seq,
                summary: h.summary.clone(),
                outcome,
            });
        }
        self.restart_window().await?;
        Ok(out)
    }

    /// Block: discard every held change; their retries are answered 409 from now on.
    pub async fn block_holds(&self, by: &str) -> BridgeResult<Vec<Decision>> {
        let mut out = Vec::new();
        for h in self.store.holds(&self.id, None).await? {
            if h.state != HoldState::Held {
                continue;
            }
            self.store
                .decide_hold(&self.id, h.seq, HoldState::Blocked, Some(by), None)
                .await?;
            self.audit(
                AuditEvent::new(Operation::Reconcile, &h.resource)
                    .outcome(format!("hold {} blocked by {by}: {}", h.seq, h.summary)),
            );
            out.push(Decision {
                seq: h.seq,
                summary: h.summary.clone(),
                outcome: "blocked".into(),
            });
        }
        self.restart_window().await?;
        Ok(out)
    }

    async fn restart_window(&self) -> BridgeResult<()> {
        let now = crate::clock::now().timestamp_millis();
        self.store.clear_safety_events(&self.id, now + 1).await?;
        // Read again from the store at the next change.
        self.window_is(now, None);
        self.refresh_safety_figures().await
    }

    /// Apply one held change as the IdP's request would have.
    async fn apply_held(&self, h: &HoldRow) -> BridgeResult<()> {
        match (h.kind.as_str(), h.operation.as_str()) {
            ("NewUser", _) => self.create_user(h.change.clone()).await.map(drop),
            (plan::GROUP_MEMBERS, _) => {
                let patch =
                    crate::scim::patch::PatchRequest::parse(&plan::removal_patch(&h.change))?;
                self.update_group(
                    &h.resource,
                    Change::Patch(&patch),
                    Operation::PatchGroup,
                    None,
                )
                .await
                .map(drop)
            }
            ("Group", _) => self.delete_group(&h.resource, None).await,
            (_, "delete_user") => self.delete_user(&h.resource, None).await,
            _ => {
                let now = self.get_user(&h.resource, &Projection::default()).await?;
                let op = if h.operation == Operation::ReplaceUser.as_str() {
                    Operation::ReplaceUser
                } else {
                    Operation::PatchUser
                };
                self.update_user(
                    &h.resource,
                    Change::Replace(apply_delta(&now, &h.change)),
                    op,
                    None,
                )
                .await
                .map(drop)
            }
        }
    }
}

/// The hold of `d` under `operation`, arriving now from the request being served.
fn hold_of(d: &Destructive, operation: &str, fingerprint: &str) -> HoldRow {
    HoldRow {
        seq: 0,
        kind: d.kind.into(),
        resource: d.resource.clone(),
        name: d.name.clone(),
        operation: operation.into(),
        summary: d.summary.clone(),
        change: d.change.clone(),
        fingerprint: fingerprint.into(),
        role_before: d.roles.0.clone(),
        role_after: d.roles.1.clone(),
        request_id: crate::backend::trace::request_id().unwrap_or_else(|| "-".into()),
        at: timestamp(),
        state: HoldState::Held,
        decided_by: None,
        outcome: None,
    }
}
