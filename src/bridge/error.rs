//! Bridge errors, and how each becomes a SCIM error.

use crate::bridge::store::StoreError;
use crate::scim::ScimError;
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

fn tableau_to_scim(e: &TableauError, prefix: &str) -> ScimError {
    match e {
        TableauError::Throttled | TableauError::Unavailable { .. } | TableauError::Uncertain(_) => {
            ScimError::Unavailable(format!("{prefix}Tableau is unavailable right now ({e}); retry later"))
        }
        TableauError::SignIn(_) => ScimError::BadGateway(format!(
            "{prefix}tableau-scim could not sign in to Tableau; check the tenant's credentials ({e})"
        )),
        TableauError::Api { .. } | TableauError::Protocol(_) => {
            ScimError::BadGateway(format!("{prefix}Tableau refused the change: {e}"))
        }
        TableauError::Refused(m) | TableauError::Config(m) => ScimError::Internal(format!("{prefix}{m}")),
    }
}

impl From<BridgeError> for ScimError {
    fn from(e: BridgeError) -> ScimError {
        match e {
            BridgeError::Scim(s) => s,
            BridgeError::Tableau(t) => tableau_to_scim(&t, ""),
            // A database that cannot be reached (or a key lock waited on too long) passes:
            // the IdP retries.
            BridgeError::Store(s @ StoreError::Postgres(_)) => {
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
