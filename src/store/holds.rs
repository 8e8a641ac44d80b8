//! What the store keeps for the breaker of mass changes (`bridge::safety`): the destructive
//! changes of the sliding window, and the changes held while the breaker is open, each as it
//! arrived, until an administrator releases or blocks them.

use serde_json::Value;

/// Where a hold stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldState {
    /// Kept, not applied; the IdP's retries are answered 503.
    Held,
    /// An administrator released it: applied by the bridge.
    Released,
    /// An administrator blocked it: discarded; the IdP's retries are answered 409.
    Blocked,
    /// The IdP undid it before a decision (a reactivation after a held deactivation).
    Cancelled,
}

impl HoldState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            HoldState::Held => "held",
            HoldState::Released => "released",
            HoldState::Blocked => "blocked",
            HoldState::Cancelled => "cancelled",
        }
    }

    /// The state a stored name names.
    pub fn parse(s: &str) -> Option<HoldState> {
        [
            HoldState::Held,
            HoldState::Released,
            HoldState::Blocked,
            HoldState::Cancelled,
        ]
        .into_iter()
        .find(|h| h.as_str() == s)
    }
}

/// One held change.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldRow {
    /// Its number, in arrival order (set by the store).
    pub seq: i64,
    /// `User` or `Group`.
    pub kind: String,
    /// The SCIM id of the resource.
    pub resource: String,
    /// Its name when held (userName, displayName).
    pub name: String,
    /// The operation (`patch_user`, `replace_user`, `delete_user`, `delete_group`).
    pub operation: String,
    /// What it would do, in words (the console, the CLI, the SCIM error).
    pub summary: String,
    /// What to apply on release: the attributes it changes (`{"active": false}`), `null` for
    /// a delete.
    pub change: Value,
    /// The same change's fingerprint: an IdP's retry of it is recognised.
    pub fingerprint: String,
    /// The site role the user had (impact: seats, administrators).
    pub role_before: Option<String>,
    /// The site role it would leave (`Unlicensed`, a lower role; none for a delete).
    pub role_after: Option<String>,
    /// The request id of the IdP request that brought it.
    pub request_id: String,
    /// When it arrived (RFC 3339).
    pub at: String,
    /// Where it stands.
    pub state: HoldState,
    /// Who decided (the administrator's identity), when decided.
    pub decided_by: Option<String>,
    /// What applying it came to, once released.
    pub outcome: Option<String>,
}
