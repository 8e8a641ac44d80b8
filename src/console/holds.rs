//! The breaker's holds of a tenant: what is held (who, what change, from which IdP request),
//! its impact, and the two decisions, *release* and *keep blocking*, audited with the admin.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::auth::{check_csrf, check_operate, form_of, CsrfForm};
use super::respond::{message, page, see_other, Nav};
use super::tenant_page::TenantPage;
use crate::store::{HoldRow, HoldState};
use crate::tableau::SiteRole;

/// Entra ID drops a failed change after 28 days (idp-retries.md 1.2): a hold older than 21
/// days is flagged, a week before the IdP forgets it.
const UNDECIDED_WARNING_DAYS: i64 = 21;

struct Line {
    seq: i64,
    at: String,
    summary: String,
    request_id: String,
    state: &'static str,
    decided: String,
}

/// What releasing the held changes would do, counted.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Impact {
    /// Seats freed, per tier (Creator, Explorer, Viewer).
    pub seats: Vec<(&'static str, u64)>,
    /// Site or server administrators demoted or removed.
    pub admins: u64,
    /// Users deleted.
    pub deletes: u64,
    /// Held changes older than the warning.
    pub old: u64,
    /// Users held for a deactivation, a demotion or a deletion who own content (`None`: the
    /// site's content could not be read).
    pub owners: Option<u64>,
}

/// Of the held changes to users, those whose user owns content (`owners`: the owners' ids).
pub(super) fn held_owners(held: &[&HoldRow], owners: &std::collections::HashSet<String>) -> u64 {
    held.iter()
        .filter(|h| h.kind == "User" && owners.contains(&h.resource))
        .count() as u64
}

/// The impact of the held changes (pure): a deactivation, a deletion or a demotion frees the
/// seat of the tier the user held.
pub(super) fn impact(held: &[&HoldRow], now: chrono::DateTime<chrono::Utc>) -> Impact {
    let mut seats = [("Creator", 0u64), ("Explorer", 0), ("Viewer", 0)];
    let mut out = Impact::default();
    for h in held {
        let before = h
            .role_before
            .as_deref()
            .and_then(|r| r.parse::<SiteRole>().ok());
        if let Some(tier) = before.and_then(SiteRole::tier) {
            let name = format!("{tier:?}");
            if let Some(s) = seats.iter_mut().find(|(n, _)| *n == name) {
                s.1 += 1;
            }
        }
        if matches!(
            before,
            Some(
                SiteRole::SiteAdministratorCreator
                    | SiteRole::SiteAdministratorExplorer
                    | SiteRole::ServerAdministrator
            )
        ) {
            out.admins += 1;
        }
        if h.operation.starts_with("delete_") {
            out.deletes += 1;
        }
        let old = chrono::DateTime::parse_from_rfc3339(&h.at).is_ok_and(|t| {
            (now - t.with_timezone(&chrono::Utc)).num_days() >= UNDECIDED_WARNING_DAYS
        });
        out.old += u64::from(old);
    }
    out.seats = seats.into_iter().filter(|(_, n)| *n > 0).collect();
    out
}

#[derive(Template)]
#[template(path = "console/holds.html")]
struct Holds {
    nav: Nav,
    tenant: String,
    held: usize,
    impact: Impact,
    lines: Vec<Line>,
}

/// `GET /admin/tenants/{id}/holds`.
pub(super) async fn holds(tp: TenantPage) -> HttpResponse {
    let all = match tp.tenant().tenant.holds().await {
        Ok(h) => h,
        Err(e) => return failed(tp.nav.clone(), &e.to_string()),
    };
    let held: Vec<&HoldRow> = all.iter().filter(|h| h.state == HoldState::Held).collect();
    let mut impact = impact(&held, crate::clock::now());
    // Who owns content is read only while something is held: the site's content listings,
    // one per kind, paged (bridge::site::what_if).
    if !held.is_empty() {
        impact.owners = match tp.tenant().tenant.content_owner_ids().await {
            Ok(owners) => Some(held_owners(&held, &owners)),
            Err(e) => {
                tracing::warn!(error = %e, "the content owners of the held changes could not be read");
                None
            }
        };
    }
    let lines = all
        .iter()
        .rev()
        .take(1000)
        .map(|h| Line {
            seq: h.seq,
            at: h.at.clone(),
            summary: h.summary.clone(),
            request_id: h.request_id.clone(),
            state: h.state.as_str(),
            decided: h.decided_by.clone().unwrap_or_default(),
        })
        .collect();
    page(
        StatusCode::OK,
        &Holds {
            tenant: tp.id().to_string(),
            held: held.len(),
            impact,
            lines,
            nav: tp.nav.clone(),
        },
    )
}

/// `POST /admin/tenants/{id}/holds/release`: apply every held change, in order.
pub(super) async fn release(tp: TenantPage, body: web::Bytes) -> HttpResponse {
    decide(tp, body, true).await
}

/// `POST /admin/tenants/{id}/holds/block`: discard them; the IdP's retries get a 409.
pub(super) async fn block(tp: TenantPage, body: web::Bytes) -> HttpResponse {
    decide(tp, body, false).await
}

async fn decide(tp: TenantPage, body: web::Bytes, release: bool) -> HttpResponse {
    let form: CsrfForm = form_of(&body);
    if let Err(r) = check_csrf(&tp.session, &form.csrf, &tp.console) {
        return *r;
    }
    if let Err(r) = check_operate(&tp.session, Some(tp.id()), &tp.console) {
        return *r;
    }
    let who = tp.session.who();
    let t = &tp.tenant().tenant;
    let done = if release {
        t.release_holds(&who).await
    } else {
        t.block_holds(&who).await
    };
    match done {
        Ok(d) => {
            tracing::info!(tenant.id = %t.id(), decided = d.len(), release, by = %who, "holds decided from the console");
            see_other(&format!("/admin/tenants/{}/holds", t.id()))
        }
        Err(e) => failed(tp.nav.clone(), &e.to_string()),
    }
}

/// The holds could not be read or decided (the store, or Tableau during a release).
fn failed(nav: Nav, e: &str) -> HttpResponse {
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        nav,
        "The holds could not be read or decided",
        e,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(op: &str, role: &str, at: &str) -> HoldRow {
        HoldRow {
            seq: 1,
            kind: "User".into(),
            resource: "u".into(),
            name: "n".into(),
            operation: op.into(),
            summary: String::new(),
            change: serde_json::Value::Null,
            fingerprint: String::new(),
            role_before: Some(role.into()),
            role_after: None,
            request_id: "-".into(),
            at: at.into(),
            state: HoldState::Held,
            decided_by: None,
            outcome: None,
        }
    }

    #[test]
    fn the_impact_counts_seats_per_tier_administrators_deletes_and_old_holds() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-30T00:00:00Z")
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        let hs = [
            hold("patch_user", "Creator", "2026-12-29T00:00:00Z"),
            hold(
                "delete_user",
                "SiteAdministratorCreator",
                "2026-12-01T00:00:00Z",
            ),
            hold("patch_user", "Viewer", "2026-12-29T00:00:00Z"),
        ];
        let refs: Vec<&HoldRow> = hs.iter().collect();
        let i = impact(&refs, now);
        assert_eq!(i.seats, vec![("Creator", 2), ("Viewer", 1)]);
        assert_eq!((i.admins, i.deletes, i.old), (1, 1, 1));
        let owners: std::collections::HashSet<String> = ["u".to_string()].into();
        assert_eq!(held_owners(&refs, &owners), 3);
        assert_eq!(held_owners(&refs, &Default::default()), 0);
    }
}
