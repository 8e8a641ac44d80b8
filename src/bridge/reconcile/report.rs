//! A reconciliation's report: what was found, what was repaired, what it cost, whether it saw
//! everything; as text for a person, JSON for a program, and the exit status. Pure.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::findings::{DriftKind, Finding};

/// Tableau calls of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Calls {
    /// To read the site (users, groups, members of the managed groups, seats).
    pub read: u64,
    /// To repair.
    pub repair: u64,
}

/// One reconciliation of one tenant.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The tenant.
    pub tenant: String,
    /// When it started.
    pub at: String,
    /// Whether it saw the whole site. A run cut short reports what it saw and repairs nothing.
    pub complete: bool,
    /// Whether repairs were asked for (`--apply`).
    pub apply: bool,
    /// What cut it short, or failed.
    pub errors: Vec<String>,
    /// Findings per kind (every kind, zeros included).
    pub counts: BTreeMap<&'static str, usize>,
    /// Tableau calls.
    pub tableau_calls: Calls,
    /// Every finding, with its repair's outcome after `--apply`.
    pub findings: Vec<Finding>,
}

impl Report {
    /// A report of `findings`, counted per kind.
    pub fn new(
        tenant: &str,
        at: &str,
        apply: bool,
        errors: Vec<String>,
        findings: Vec<Finding>,
        tableau_calls: Calls,
    ) -> Report {
        let mut counts: BTreeMap<&'static str, usize> =
            DriftKind::ALL.iter().map(|k| (k.as_str(), 0)).collect();
        for f in &findings {
            *counts.entry(f.kind.as_str()).or_default() += 1;
        }
        Report {
            tenant: tenant.to_string(),
            at: at.to_string(),
            complete: errors.is_empty(),
            apply,
            errors,
            counts,
            tableau_calls,
            findings,
        }
    }

    /// Findings that are drift (not `unmanaged`) and were not repaired.
    pub fn remaining_drift(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.kind.is_drift() && f.outcome.as_deref() != Some("repaired"))
            .count()
    }

    /// Repairs that failed.
    pub fn failed_repairs(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| {
                f.outcome
                    .as_deref()
                    .is_some_and(|o| o.starts_with("failed"))
            })
            .count()
    }

    /// The exit status: 2 when the run was cut short or a repair failed, 1 when drift remains
    /// (found by a dry run, or not repairable), 0 when none does.
    pub fn exit_code(&self) -> u8 {
        if !self.complete || self.failed_repairs() > 0 {
            2
        } else if self.remaining_drift() > 0 {
            1
        } else {
            0
        }
    }

    /// The report for a person.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mode = if self.apply { "applied" } else { "dry run" };
        let _ = writeln!(
            out,
            "tenant {}, {} ({mode}){}",
            self.tenant,
            self.at,
            if self.complete { "" } else { ": INCOMPLETE" }
        );
        for e in &self.errors {
            let _ = writeln!(out, "  error: {e}");
        }
        for k in DriftKind::ALL {
            let _ = writeln!(
                out,
                "  {:<12} {}",
                k.as_str(),
                self.counts.get(k.as_str()).copied().unwrap_or(0)
            );
        }
        for f in &self.findings {
            let _ = writeln!(out, "{}", line(f));
        }
        let _ = writeln!(
            out,
            "Tableau calls: {} to read the site, {} to repair. Drift remaining: {}.",
            self.tableau_calls.read,
            self.tableau_calls.repair,
            self.remaining_drift()
        );
        out
    }
}

fn line(f: &Finding) -> String {
    let mut s = format!("{:<12}", f.kind.as_str());
    if let Some(g) = &f.group {
        let _ = write!(s, " group '{}' ({})", g.name, g.id);
    }
    if let Some(u) = &f.user {
        let _ = write!(s, " user '{}' ({})", u.name, u.id);
    }
    let _ = write!(
        s,
        ": Tableau says {}; the IdP asserted {}",
        f.tableau, f.asserted
    );
    if let Some(o) = &f.outcome {
        let _ = write!(s, " [{o}]");
    }
    if let Some(n) = &f.note {
        let _ = write!(s, " ({n})");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::reconcile::findings::Named;

    fn finding(kind: DriftKind, outcome: Option<&str>) -> Finding {
        Finding {
            kind,
            user: Some(Named {
                id: "u1".into(),
                name: "ana@example.com".into(),
            }),
            group: None,
            tableau: "Creator".into(),
            asserted: "Viewer".into(),
            repair: None,
            note: None,
            outcome: outcome.map(str::to_string),
        }
    }

    #[test]
    fn the_exit_status_says_none_drift_or_error() {
        let r = |errors: Vec<String>, f: Vec<Finding>| {
            Report::new("t", "now", true, errors, f, Calls::default()).exit_code()
        };
        assert_eq!(r(vec![], vec![]), 0);
        assert_eq!(r(vec![], vec![finding(DriftKind::Unmanaged, None)]), 0);
        assert_eq!(r(vec![], vec![finding(DriftKind::Role, None)]), 1);
        assert_eq!(
            r(vec![], vec![finding(DriftKind::Role, Some("repaired"))]),
            0
        );
        assert_eq!(
            r(vec![], vec![finding(DriftKind::Role, Some("failed: 500"))]),
            2
        );
        assert_eq!(r(vec!["listing users: 503".into()], vec![]), 2);
    }

    #[test]
    fn counts_cover_every_kind_and_the_text_names_each_finding() {
        let rep = Report::new(
            "demo",
            "2026-11-27T00:00:00Z",
            false,
            vec![],
            vec![
                finding(DriftKind::Role, None),
                finding(DriftKind::Role, None),
            ],
            Calls { read: 3, repair: 0 },
        );
        assert_eq!(rep.counts.len(), DriftKind::ALL.len());
        assert_eq!(rep.counts.get("role"), Some(&2));
        assert_eq!(rep.counts.get("access_leak"), Some(&0));
        let text = rep.to_text();
        assert!(
            text.contains("role         user 'ana@example.com' (u1): Tableau says Creator; the IdP asserted Viewer")
        );
        assert!(text.contains("3 to read the site"));
        let json = serde_json::to_value(&rep).unwrap_or_default();
        assert_eq!(json["findings"][0]["kind"], "role");
        assert_eq!(json["complete"], true);
    }
}
