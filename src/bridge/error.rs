//! Bridge errors, and how each becomes a SCIM error.

use crate::scim::ScimError;
use crate::store::StoreError;
use crate::tableau::TableauError;

/// Everything a bridge operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// A protocol-level refusal (bad role, uniqueness, not found, ...).
    #[error(transparent)]
    Scim(#[from] ScimError),
    /// Tableau failed.
    #[error(transparent)]
    Tableau(#[from] TableauError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Tableau failed after earlier calls of the same request succeeded: said honestly.
    #[error("{done} were applied in Tableau, then: {error}")]
    Partial {
        /// What was applied.
        done: String,
        /// What failed.
        error: TableauError,
    },
}

impl BridgeError {
    /// Whether this is a 404 of ours (no such resource).
    pub fn is_not_found(&self) -> bool {
        matches!(self, BridgeError::Scim(ScimError::NotFound(_)))
    }
}

/// How a Tableau failure reaches the IdP. What the IdP or its admin can fix is a 4xx carrying
/// Tableau's own words: IdPs retry a 5xx for days (Entra ID for 28 days,
/// `../shared/reference/idp-retries.md`), which helps nobody when Tableau refused the request
/// itself. Only Tableau being down, throttling past our retries, or answering what we cannot
/// read is a 5xx.
///
/// | Tableau | SCIM |
/// |---|---|
/// | 400xxx (a value Tableau refuses) | 400 `invalidValue` |
/// | 404xxx | 404 |
/// | 409000, 409017 (user exists), 409009 (group exists) | 409 `uniqueness` |
/// | other 409xxx | 409 |
/// | 401xxx after a fresh sign-in (a connected-app scope), 403xxx | 403, naming what is missing |
/// | 429 or 5xx past the retries, an unknown outcome | 503 |
/// | sign-in refused, 405, an answer we cannot read | 502 |
///
/// A 5xx says what happened, not where: the cause of an outage names Tableau's address and the
/// site's id, which are the operator's to see, not the IdP's. It is logged with the request's
/// id (`X-Request-Id` of the answer) by [`log_fault`].
fn tableau_to_scim(e: &TableauError, prefix: &str) -> ScimError {
    match e {
        TableauError::Throttled => ScimError::Unavailable(format!(
            "{prefix}Tableau is throttling tableau-scim's calls; retry later"
        )),
        TableauError::Unavailable { attempts, .. } => ScimError::Unavailable(format!(
            "{prefix}Tableau is unavailable right now ({attempts} attempts; the cause is in tableau-scim's log under this answer's X-Request-Id); retry later"
        )),
        TableauError::Uncertain(_) => ScimError::Unavailable(format!(
            "{prefix}Tableau did not say whether it applied the change (the cause is in tableau-scim's log under this answer's X-Request-Id); retry later"
        )),
        TableauError::SignIn(_) => ScimError::BadGateway(format!(
            "{prefix}tableau-scim could not sign in to Tableau; check the tenant's credentials (the cause is in tableau-scim's log under this answer's X-Request-Id)"
        )),
        TableauError::Api { status, .. } => api_refusal(*status, e, prefix),
        TableauError::Protocol(_) => ScimError::BadGateway(format!(
            "{prefix}Tableau answered something tableau-scim cannot read (in tableau-scim's log under this answer's X-Request-Id)"
        )),
        TableauError::Refused(m) | TableauError::Config(m) => ScimError::Internal(format!("{prefix}{m}")),
    }
}

/// A Tableau error envelope as a SCIM error (the table of [`tableau_to_scim`]).
fn api_refusal(status: u16, e: &TableauError, prefix: &str) -> ScimError {
    match status {
        400 => ScimError::InvalidValue(format!("{prefix}Tableau refused the value: {e}")),
        404 => ScimError::NotFound(format!("{prefix}Tableau has no such object: {e}")),
        409 if e.is_user_exists() || e.is_group_exists() => {
            ScimError::Uniqueness(format!("{prefix}Tableau already has that name: {e}"))
        }
        409 => ScimError::Conflict(format!("{prefix}Tableau refused the change: {e}")),
        401 | 403 => ScimError::Forbidden(format!(
            "{prefix}Tableau does not let tableau-scim's account do this; give that account the right or change the request: {e}"
        )),
        _ => ScimError::BadGateway(format!("{prefix}Tableau refused the request: {e}")),
    }
}

/// Log a failure whose SCIM answer leaves its cause out (an outage, a sign-in, an answer we
/// cannot read, a store fault), inside the request's span: with its request id.
pub fn log_fault(tenant: &str, e: &BridgeError) {
    let fault = match e {
        BridgeError::Tableau(t) | BridgeError::Partial { error: t, .. } => {
            !matches!(t, TableauError::Api { .. })
        }
        BridgeError::Store(_) => true,
        BridgeError::Scim(_) => false,
    };
    if fault {
        tracing::warn!(tenant.id = %tenant, error = %e, "the request failed");
    }
}

impl From<BridgeError> for ScimError {
    fn from(e: BridgeError) -> ScimError {
        match e {
            BridgeError::Scim(s) => s,
            BridgeError::Tableau(t) => tableau_to_scim(&t, ""),
            // A store that is unavailable (the store says which failures are) passes: the IdP
            // retries.
            BridgeError::Store(s) if s.is_unavailable() => {
                ScimError::Unavailable(format!("{s}; retry later"))
            }
            BridgeError::Store(s) => ScimError::Internal(s.to_string()),
            BridgeError::Partial { done, error } => {
                tableau_to_scim(&error, &format!("partly applied: {done}; then "))
            }
        }
    }
}

/// Result alias.
pub type BridgeResult<T> = Result<T, BridgeError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str) -> TableauError {
        TableauError::Api {
            status,
            code: code.into(),
            summary: "Summary".into(),
            detail: "Detail".into(),
        }
    }

    /// No Tableau refusal reaches the IdP as a 5xx: it would retry it for days.
    #[test]
    fn tableau_refusals_are_4xx_and_only_outages_are_5xx() {
        for (e, status, scim_type) in [
            (api(400, "400000"), 400, Some("invalidValue")),
            (api(400, "400003"), 400, Some("invalidValue")),
            (api(404, "404002"), 404, None),
            (api(409, "409017"), 409, Some("uniqueness")),
            (api(409, "409000"), 409, Some("uniqueness")),
            (api(409, "409009"), 409, Some("uniqueness")),
            (api(409, "409003"), 409, None),
            (api(403, "403009"), 403, None),
            (api(401, "401002"), 403, None),
            (api(405, "405000"), 502, None),
            (TableauError::Throttled, 503, None),
            (
                TableauError::Unavailable {
                    attempts: 6,
                    last: "503".into(),
                },
                503,
                None,
            ),
            (TableauError::Uncertain("timeout".into()), 503, None),
            (TableauError::SignIn("401001".into()), 502, None),
            (TableauError::Protocol("not XML".into()), 502, None),
        ] {
            let s = ScimError::from(BridgeError::Tableau(e.clone()));
            let (got, t) = s.status_and_type();
            assert_eq!((got, t.map(|t| t.as_str())), (status, scim_type), "{e}");
            if (400..500).contains(&got) {
                assert!(
                    s.detail().contains("Summary: Detail"),
                    "Tableau's words reach the IdP: {s}"
                );
            }
        }
        let outage = TableauError::Unavailable {
            attempts: 6,
            last: "error sending request for url (http://10.1.2.3:8000/api/3.24/sites/6b7179ba-b82b-4f0f-91ed-812074ac5da6/users)".into(),
        };
        for e in [
            outage.clone(),
            TableauError::Uncertain(format!("{outage}")),
            TableauError::SignIn("401001 at https://10.1.2.3".into()),
            TableauError::Protocol("<html> from http://10.1.2.3".into()),
        ] {
            let d = ScimError::from(BridgeError::Tableau(e)).detail();
            assert!(
                !d.contains("10.1.2.3") && !d.contains("6b7179ba"),
                "no internal address or id: {d}"
            );
            assert!(
                d.contains("X-Request-Id") || d.contains("throttling"),
                "{d}"
            );
        }
        let partial = BridgeError::Partial {
            done: "user u was created".into(),
            error: api(400, "400000"),
        };
        let s = ScimError::from(partial);
        assert_eq!(s.status_and_type().0, 400);
        assert!(s.detail().starts_with("partly applied: user u was created"));
    }
}
