//! The last reconciliation's counts per kind, held by the tenant for `/metrics` (the
//! `tableau_scim_drift{tenant,kind}` gauges) and read back from the store at start. Data
//! only: the tenant's methods that keep it are in `reconcile/mod.rs`.

use std::collections::BTreeMap;

use super::findings::DriftKind;

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
