//! Reconciliation: Tableau as it is now against what the IdP last asserted through us (the
//! store), each difference reported by kind and, when asked, repaired with one Tableau call.
//!
//! `findings` decides (pure), `custody` finds custodies left unfinished (pure), `license` lets the site's seats decide a lower role (pure), `report` renders (pure), `repair` carries a repair out; this
//! module reads the site and sequences the steps. A run whose reading was cut short (a fault
//! that outlasted the retries) reports what it saw, says it is incomplete, and repairs
//! nothing: a partial listing would make present users look missing.

mod custody;
pub mod findings;
mod license;
mod repair;
pub mod report;
pub mod sign_in_grants;
pub mod summary;

use std::collections::{BTreeSet, HashMap};

use findings::{find_drift, groups_to_list, Asserted, Finding, SiteNow};
use license::{classify_license, needs_seats};
use repair::{ReadState, Repaired};
use report::{Calls, Report};

use crate::backend::timestamp;
use crate::bridge::policy::Deprovision;
use crate::bridge::tenant::Tenant;
use crate::store::{DriftRecord, UserRow};
use crate::tableau::model::{Group, User};
use crate::tableau::stats::counted;

/// What a run does besides reporting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Repair role drift, access leaks and membership drift.
    pub apply: bool,
    /// With `apply`, re-create missing users too.
    pub recreate_missing: bool,
}

/// Periodic reconciliation in `serve` (`[tenants.reconcile]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Schedule {
    /// How often; `None`: never (the default: a reconciliation lists the whole site).
    pub every: Option<std::time::Duration>,
    /// What each run does besides reporting.
    pub options: Options,
}

/// Someone watching a long run (a progress bar on a terminal); every method does nothing by
/// default.
pub trait Progress: Send + Sync {
    /// A new stage, with its number of steps when known.
    fn stage(&self, _what: &'static str, _steps: Option<u64>) {}
    /// One step of the stage done.
    fn step(&self) {}
}

/// Nobody watching.
pub struct Silent;

impl Progress for Silent {}

/// What the reading gathered.
struct Seen {
    findings: Vec<Finding>,
    read: ReadState,
    errors: Vec<String>,
}

impl Tenant {
    /// Reconcile: read the site and the store, find the drift, repair it when `opts.apply`
    /// and the reading was complete, keep the result in the store and for `/metrics`.
    pub async fn reconcile(&self, opts: Options, progress: &dyn Progress) -> Report {
        if let Err(e) = self.moves_loaded().await {
            tracing::warn!(tenant.id = %self.id, error = %e, "aliases of moved users not read");
        }
        let at = timestamp();
        let (seen, read) = counted(self.read_drift(opts, progress)).await;
        let Seen {
            mut findings,
            read: state,
            errors,
        } = seen;
        let mut repair = 0;
        if opts.apply && errors.is_empty() {
            let repairs = findings.iter().filter(|f| f.repair.is_some()).count();
            progress.stage("repairing", u64::try_from(repairs).ok());
            for f in findings.iter_mut() {
                let Some(r) = f.repair.clone() else {
                    continue;
                };
                let (outcome, calls) = counted(self.repair(&r, &state)).await;
                repair += calls;
                f.outcome = Some(match outcome {
                    Ok(Repaired::Done) => "repaired".into(),
                    Ok(Repaired::Changed) => {
                        "skipped: changed through SCIM since it was read".into()
                    }
                    Err(e) => format!("failed: {e}"),
                });
                progress.step();
            }
        }
        let report = Report::new(
            &self.id,
            &at,
            opts.apply,
            errors,
            findings,
            Calls { read, repair },
        );
        self.keep_drift(&report).await;
        report
    }

    /// Read the site and the store and find the drift.
    async fn read_drift(&self, opts: Options, progress: &dyn Progress) -> Seen {
        let mut errors = Vec::new();
        let fail = |what: &str, e: &dyn std::fmt::Display| format!("{what}: {e}");
        progress.stage("reading the store", None);
        let store = async {
            Ok::<_, crate::store::StoreError>((
                self.store.users(&self.id).await?,
                self.store.groups(&self.id).await?,
                self.store.all_asserted_members(&self.id).await?,
            ))
        }
        .await;
        let (rows, group_rows, asserted_members) = match store {
            Ok(s) => s,
            Err(e) => return Seen::failed(fail("reading the store", &e)),
        };
        progress.stage("listing the site's users", None);
        let users = match self.client.all_users().await {
            Ok(u) => u,
            Err(e) => return Seen::failed(fail("listing the site's users", &e)),
        };
        let signed_in_as = match self.client.session().await {
            Ok(s) => s.user_id.clone(),
            Err(e) => return Seen::failed(fail("signing in", &e)),
        };
        progress.stage("listing the site's groups", None);
        let (groups, groups_seen): (Vec<Group>, bool) = match self.client.all_groups().await {
            Ok(g) => (g, true),
            Err(e) => {
                errors.push(fail("listing the site's groups", &e));
                (Vec::new(), false)
            }
        };
        let asserted = Asserted {
            users: &rows,
            groups: &group_rows,
            members: &asserted_members,
        };
        let to_list = groups_to_list(&groups, &asserted);
        progress.stage(
            "listing the members of the managed groups and of those that grant a role at sign-in",
            u64::try_from(to_list.len()).ok(),
        );
        let mut members = HashMap::new();
        for g in to_list {
            match self.client.group_members(&g.id).await {
                Ok(m) => {
                    members.insert(
                        g.id.clone(),
                        m.into_iter().map(|u| u.id.to_string()).collect(),
                    );
                }
                Err(e) => errors.push(fail(
                    &format!("listing the members of group '{}'", g.name),
                    &e,
                )),
            }
            progress.step();
        }
        let now = SiteNow {
            users: &users,
            groups: &groups,
            members: &members,
            signed_in_as: &signed_in_as,
        };
        let mut findings = find_drift(&now, &asserted, &self.roles(), opts.recreate_missing);
        if self.policy().deprovision == Deprovision::Transfer {
            let by_id: HashMap<&str, &User> = users.iter().map(|u| (u.id.as_ref(), u)).collect();
            findings.extend(custody::custody_findings(&rows, &by_id));
        }
        let rows_by_id: HashMap<&str, &UserRow> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
        sign_in_grants::classify_sign_in_grants(&mut findings, &now, &rows_by_id);
        if !groups_seen {
            // Without the group list every managed group would look missing.
            findings.retain(|f| f.group.is_none());
        }
        if needs_seats(&findings) {
            match self.client.site_info().await {
                Ok(site) => classify_license(&mut findings, &site),
                Err(e) => errors.push(fail("reading the site's license seats", &e)),
            }
        }
        let mut groups_of: HashMap<String, BTreeSet<String>> = HashMap::new();
        for (g, members) in &asserted_members {
            for m in members {
                groups_of.entry(m.clone()).or_default().insert(g.clone());
            }
        }
        Seen {
            findings,
            read: ReadState {
                users: users.into_iter().map(|u| (u.id.to_string(), u)).collect(),
                rows: rows.into_iter().map(|r| (r.id.clone(), r)).collect(),
                groups_of,
            },
            errors,
        }
    }

    /// Keep the report in the store and its counts for `/metrics`.
    async fn keep_drift(&self, report: &Report) {
        self.set_drift_counts(report.at.clone(), report.complete, &report.counts);
        let record = DriftRecord {
            at: report.at.clone(),
            complete: report.complete,
            report: serde_json::to_value(report).unwrap_or_default(),
        };
        if let Err(e) = self.store.put_drift(&self.id, record).await {
            tracing::error!(tenant.id = %self.id, error = %e, "the reconciliation's result was not stored");
        }
    }
}

impl Seen {
    fn failed(error: String) -> Seen {
        Seen {
            findings: Vec::new(),
            read: ReadState::default(),
            errors: vec![error],
        }
    }
}

impl Tenant {
    fn set_drift_counts(
        &self,
        at: String,
        complete: bool,
        counts: &std::collections::BTreeMap<&'static str, usize>,
    ) {
        let summary = summary::DriftSummary {
            at,
            complete,
            counts: counts.iter().map(|(k, v)| ((*k).to_string(), *v)).collect(),
        };
        if let Ok(mut d) = self.drift.lock() {
            *d = Some(summary);
        }
    }

    /// The last reconciliation's counts, if one ran.
    pub fn drift_summary(&self) -> Option<summary::DriftSummary> {
        self.drift.lock().ok().and_then(|d| d.clone())
    }

    /// Read the last reconciliation from the store (one run by `tableau-scim reconcile` in
    /// another process, or before a restart).
    pub async fn load_drift_summary(&self) {
        match self.store.drift(&self.id).await {
            Ok(Some(r)) => {
                let s = summary::DriftSummary::from_report(&r.at, r.complete, &r.report);
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
