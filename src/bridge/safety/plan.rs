//! The breaker of mass changes, decided without I/O: which changes are destructive, the
//! threshold of a window, whether a change is applied or held, and what a held change keeps
//! to be applied on release.

use std::time::Duration;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::scim::ScimError;
use crate::store::{HoldRow, HoldState};
use crate::tableau::SiteRole;

/// A tenant's breaker settings (`[tenants.safety]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Safety {
    /// Whether destructive changes are counted and held at all.
    pub enabled: bool,
    /// The sliding window destructive changes are counted in.
    pub window: Duration,
    /// Destructive changes a window may hold before the breaker opens, whatever the site's
    /// size.
    pub max_changes: u64,
    /// The same as a share of the users tableau-scim manages: the larger of the two applies.
    pub max_share: f64,
}

impl Default for Safety {
    /// 20 an hour, or 5% of the managed users an hour where that is more: an ordinary day of
    /// offboarding (a few leavers an hour at a site of thousands) never meets it, and an
    /// unassigned group or a wrong mapping is stopped after 20 users at a small site and after
    /// 5% of a large one (500 of 10,000): enough to be seen, few enough to undo by hand.
    fn default() -> Self {
        Safety {
            enabled: true,
            window: Duration::from_secs(3600),
            max_changes: 20,
            max_share: 0.05,
        }
    }
}

/// How long an IdP is told to wait before retrying a held change (`Retry-After`, seconds):
/// an hour, the window's length; Entra ID retries on its own schedule anyway (hours), Okta
/// keeps a task (idp-retries.md section 3).
pub const RETRY_AFTER_SECS: u64 = 3600;

/// Holds kept undecided at most: past it a destructive change is still answered 503, but not
/// kept (logged and counted), so an IdP cannot grow the store without bound.
pub const MAX_HELD: u64 = 50_000;

/// The destructive changes a window may take at a site where tableau-scim manages `managed`
/// users.
pub fn threshold(s: &Safety, managed: u64) -> u64 {
    let share = (s.max_share.max(0.0) * managed as f64).ceil() as u64;
    s.max_changes.max(share).max(1)
}

/// What the breaker does with a destructive change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Count it and apply it.
    Apply,
    /// Keep it, answer 503: the breaker is open.
    Hold,
}

/// Whether a destructive change of `weight` changes (1, or the members a group loses at once)
/// is applied: not while changes are held (the breaker is open until an administrator
/// decides), nor when it would take the window past `threshold`.
pub fn verdict(s: &Safety, in_window: u64, held: u64, managed: u64, weight: u64) -> Verdict {
    if !s.enabled {
        Verdict::Apply
    } else if held > 0 || in_window.saturating_add(weight) > threshold(s, managed) {
        Verdict::Hold
    } else {
        Verdict::Apply
    }
}

/// The window as one process counts it, by the minute, where it alone adds to the store's
/// window (a store without replicas): never below the store's count (another process only
/// clears it: `tableau-scim holds release`), so a change it lets through the store would too.
/// A count it would hold, or any doubt, is decided on the store's count instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MinuteCounts(std::collections::BTreeMap<i64, u64>);

impl MinuteCounts {
    /// `n` changes in the minute of `at_ms`.
    pub fn add(&mut self, at_ms: i64, n: u64) {
        *self.0.entry(at_ms.div_euclid(60_000)).or_default() += n;
    }

    /// The changes from the minute of `since_ms` on (the store's rule); older minutes are
    /// forgotten, so the map holds at most the window's minutes.
    pub fn since(&mut self, since_ms: i64) -> u64 {
        let first = since_ms.div_euclid(60_000);
        self.0 = self.0.split_off(&first);
        self.0.values().sum()
    }

    /// The store's count, read at `at_ms`, taken as all in that minute (it is no older, so
    /// the window forgets it no sooner than the store does).
    pub fn reset_to(&mut self, at_ms: i64, n: u64) {
        self.0.clear();
        if n > 0 {
            self.add(at_ms, n);
        }
    }
}

/// The kind of a hold of members removed from a role-granting group.
pub const GROUP_MEMBERS: &str = "GroupMembers";

/// How many destructive changes removing `removed` members from a group is: one each when the
/// group grants a site role (`group_roles` demotes them at once; a group with a minimum site
/// role no longer licenses them at their next sign-in), none otherwise.
pub fn removal_weight(grants_role: bool, removed: usize) -> u64 {
    if grants_role {
        removed as u64
    } else {
        0
    }
}

/// The body of a held removal of members, applied on release as the PATCH an IdP sends:
/// `{"op": "remove", "path": "members", "value": [{"value": id}, ...]}`.
pub fn removal_patch(change: &Value) -> Value {
    let members: Vec<Value> = change["members_removed"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .map(|id| serde_json::json!({"value": id}))
                .collect()
        })
        .unwrap_or_default();
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": "members", "value": members}],
    })
}

/// The attributes `desired` changes of `before` (top-level keys; a removed key is `null`):
/// what a held update keeps, applied on release to the resource as it is then, so that what
/// the IdP changed meanwhile stays.
pub fn delta(before: &Value, desired: &Value) -> Value {
    let empty = Map::new();
    let (b, d) = (
        before.as_object().unwrap_or(&empty),
        desired.as_object().unwrap_or(&empty),
    );
    let mut out = Map::new();
    for (k, v) in d {
        if k != "meta" && k != "id" && b.get(k) != Some(v) {
            out.insert(k.clone(), v.clone());
        }
    }
    for k in b.keys() {
        if k != "meta" && k != "id" && !d.contains_key(k) {
            out.insert(k.clone(), Value::Null);
        }
    }
    Value::Object(out)
}

/// `now` with a held `delta` applied.
pub fn apply_delta(now: &Value, delta: &Value) -> Value {
    let mut out = now.clone();
    if let (Some(o), Some(d)) = (out.as_object_mut(), delta.as_object()) {
        for (k, v) in d {
            if v.is_null() {
                o.remove(k);
            } else {
                o.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

/// A change's fingerprint: the operation, the resource and what it changes. An IdP's retry of
/// a held change has the same one.
pub fn fingerprint(operation: &str, resource: &str, change: &Value) -> String {
    let mut h = Sha256::new();
    h.update(operation.as_bytes());
    h.update([0]);
    h.update(resource.as_bytes());
    h.update([0]);
    h.update(change.to_string().as_bytes());
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The operation name of a held administrator grant: held for approval, not counted in the
/// window, and not what opens the breaker.
pub const GRANT_ADMIN: &str = "grant_admin";

/// Whether going from `before` to `after` makes someone a site or server administrator.
pub fn grants_admin(before: Option<SiteRole>, after: Option<SiteRole>) -> bool {
    let admin = |r: Option<SiteRole>| {
        matches!(
            r,
            Some(
                SiteRole::SiteAdministratorCreator
                    | SiteRole::SiteAdministratorExplorer
                    | SiteRole::ServerAdministrator
            )
        )
    };
    admin(after) && !admin(before)
}

/// The answer to a change the breaker holds (or keeps holding).
pub fn held_error(hold: &HoldRow, held_now: u64) -> ScimError {
    ScimError::Held(
        format!(
            "Held by tableau-scim's breaker of mass changes (hold {}): {}. {held_now} destructive changes of this tenant await an administrator (the console's holds page, or `tableau-scim holds list`); nothing was changed in Tableau. Retried changes are answered the same until released or blocked",
            hold.seq, hold.summary
        ),
        RETRY_AFTER_SECS,
    )
}

/// The answer to an administrator grant that waits for approval (`approve_admin_grants`).
pub fn approval_error(hold: &HoldRow) -> ScimError {
    ScimError::Held(
        format!(
            "Held by tableau-scim for approval (hold {}): {}. This tenant has approve_admin_grants = true: an administrator approves it on the console's holds page, or with `tableau-scim holds release`; nothing was changed in Tableau",
            hold.seq, hold.summary
        ),
        RETRY_AFTER_SECS,
    )
}

/// The answer to a change an administrator blocked: a 409 the IdP's error report shows
/// (Okta stops retrying a 409; idp-retries.md section 2.1), never applied.
pub fn blocked_error(hold: &HoldRow) -> ScimError {
    ScimError::Conflict(format!(
        "Blocked by an administrator of tableau-scim (hold {}, {}): {}. Fix the assignment in the IdP; this change will not be applied",
        hold.seq,
        hold.decided_by.as_deref().unwrap_or("an administrator"),
        hold.summary
    ))
}

/// Of a resource's holds, the one an incoming change with `fingerprint` repeats, if any,
/// newest first: a held or blocked one answers the retry.
pub fn repeated<'a>(holds: &'a [HoldRow], fingerprint: &str) -> Option<&'a HoldRow> {
    holds
        .iter()
        .rev()
        .filter(|h| matches!(h.state, HoldState::Held | HoldState::Blocked))
        .find(|h| h.fingerprint == fingerprint)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
