//! Role drift that Tableau's seats decide: a role lower than asserted can be repaired only
//! while its license tier has a free seat. Pure.

use super::findings::{DriftKind, Finding, Repair};
use crate::tableau::model::SiteInfo;
use crate::tableau::SiteRole;

/// Whether any role finding is a lower role than asserted (so the site's seats decide
/// whether it is `license`).
pub fn needs_seats(findings: &[Finding]) -> bool {
    findings.iter().any(|f| lower_than_asserted(f).is_some())
}

fn lower_than_asserted(f: &Finding) -> Option<SiteRole> {
    let Some(Repair::SetRole { from, to, .. }) = &f.repair else {
        return None;
    };
    let from: Option<SiteRole> = from.parse().ok();
    (f.kind == DriftKind::Role && from.is_some_and(|r| r.privilege() < to.privilege()))
        .then_some(*to)
}

/// A role lower than asserted whose tier has no free seat is `license`: Tableau would refuse
/// the repair (409014), so none is offered.
pub fn classify_license(findings: &mut [Finding], site: &SiteInfo) {
    for f in findings.iter_mut() {
        let Some(to) = lower_than_asserted(f) else {
            continue;
        };
        if to.tier().is_some_and(|t| !site.seat_free(t)) {
            f.kind = DriftKind::License;
            f.repair = None;
            f.note = Some(format!(
                "no {} seat is free on the site",
                to.tier().map_or("", |t| t.as_str())
            ));
        }
    }
}
