//! The last reconciliation's counts per kind, held by the tenant for `/metrics` (the
//! `tableau_scim_drift{tenant,kind}` gauges) and read back from the store at start.

use std::collections::BTreeMap;

use super::findings::DriftKind;
use crate::bridge::tenant::Tenant;

/// Counts of the last reconciliation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriftSummary {
    /// When it ran.
    pub at: String,
    /// Whether it saw the whole site.
    pub complete: bool,
    /// Findings per kind name.
    pub counts: BTreeMap<String, usize>,
}

impl DriftSummary {
    /// The summary of a stored report (its `counts`), kinds it does not name at zero.
    pub fn from_report(at: &str, complete: bool, report: &serde_json::Value) -> DriftSummary {
        let counts = DriftKind::ALL
            .iter()
            .map(|k| {
                let n = report["counts"][k.as_str()].as_u64().unwrap_or(0);
                (
                    k.as_str().to_string(),
                    usize::try_from(n).unwrap_or(usize::MAX),
                )
            })
            .collect();
        DriftSummary {
            at: at.to_string(),
            complete,
            counts,
        }
    }
}

impl Tenant {
    pub(super) fn set_drift_counts(
        &self,
        at: String,
        complete: bool,
        counts: &BTreeMap<&'static str, usize>,
    ) {
        let summary = DriftSummary {
            at,
            complete,
            counts: counts.iter().map(|(k, v)| ((*k).to_string(), *v)).collect(),
        };
        if let Ok(mut d) = self.drift.lock() {
            *d = Some(summary);
        }
    }

    /// The last reconciliation's counts, if one ran.
    pub fn drift_summary(&self) -> Option<DriftSummary> {
        self.drift.lock().ok().and_then(|d| d.clone())
    }

    /// Read the last reconciliation from the store (one run by `tableau-scim reconcile` in
    /// another process, or before a restart).
    pub async fn load_drift_summary(&self) {
        match self.store.drift(&self.id).await {
            Ok(Some(r)) => {
                let s = DriftSummary::from_report(&r.at, r.complete, &r.report);
                if let Ok(mut d) = self.drift.lock() {
                    *d = Some(s);
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(tenant.id = %self.id, error = %e, "the last reconciliation could not be read")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_report_gives_every_kind_a_count() {
        let s = DriftSummary::from_report(
            "t",
            true,
            &serde_json::json!({"counts": {"role": 2, "unmanaged": 1}}),
        );
        assert_eq!(s.counts.len(), DriftKind::ALL.len());
        assert_eq!(s.counts.get("role"), Some(&2));
        assert_eq!(s.counts.get("access_leak"), Some(&0));
    }
}
