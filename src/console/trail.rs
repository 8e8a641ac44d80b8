//! The audit trail page and its CSV: newest first, filtered by user or group, operation and
//! days, read from the store a page at a time.

use std::collections::HashMap;
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::respond::{csv, page, store_failed, Nav};
use super::state::ConsoleTenant;
use super::tenant_page::TenantPage;
use super::views::{thousands, Pager, PAGE_SIZE};
use crate::export::audit_csv as audit_csv_file;
use crate::store::{AuditEntry, AuditQuery};

/// The audit page's query.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct AuditFilter {
    user: String,
    operation: String,
    since: String,
    until: String,
    page: usize,
}

/// The write operations an audit row may name.
const OPERATIONS: [&str; 10] = [
    "create_user",
    "replace_user",
    "patch_user",
    "delete_user",
    "create_group",
    "replace_group",
    "patch_group",
    "delete_group",
    "group_role",
    "reconcile",
];

impl AuditFilter {
    /// The store query: a user name becomes its id (from the name index), a day a time range
    /// (`until` includes its day).
    fn query(&self, t: &ConsoleTenant) -> AuditQuery {
        let user = self.user.trim();
        let resource = (!user.is_empty()).then(|| {
            t.tenant
                .listed_user_id(user, Instant::now())
                .unwrap_or_else(|| user.to_string())
        });
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
        AuditQuery {
            resource,
            operation: OPERATIONS
                .iter()
                .find(|o| **o == self.operation)
                .map(|o| o.to_string()),
            since: day(&self.since).map(|d| format!("{d}T00:00:00")),
            until: day(&self.until)
                .and_then(|d| d.succ_opt())
                .map(|d| format!("{d}T00:00:00")),
            limit: PAGE_SIZE,
            offset: (self.page.max(1) - 1) * PAGE_SIZE,
        }
    }

    fn link(&self, page: usize) -> String {
        serde_urlencoded::to_string([
            ("user", self.user.as_str()),
            ("operation", self.operation.as_str()),
            ("since", self.since.as_str()),
            ("until", self.until.as_str()),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct Audit {
    nav: Nav,
    tenant: String,
    filter: AuditFilter,
    operations: Vec<&'static str>,
    rows: Vec<AuditEntry>,
    names: HashMap<String, String>,
    total: String,
    pager: Pager,
}

impl Audit {
    /// The user name or group name of an audit row's resource (its id when the store no
    /// longer knows it).
    fn who<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).map_or(id, String::as_str)
    }
}

/// The names of the users and groups the store knows, by id: an auditor reads names.
async fn names_of(t: &ConsoleTenant) -> HashMap<String, String> {
    t.tenant.names_by_id().await
}

/// `GET /admin/tenants/{id}/audit`.
pub(super) async fn audit(tp: TenantPage, filter: web::Query<AuditFilter>) -> HttpResponse {
    let (t, nav) = (tp.tenant(), tp.nav.clone());
    let filter = filter.into_inner();
    let (rows, total) = match t.tenant.audit_entries(&filter.query(t)).await {
        Ok(x) => x,
        Err(e) => return store_failed(nav, &e),
    };
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page_no = filter.page.clamp(1, pages);
    page(
        StatusCode::OK,
        &Audit {
            tenant: tp.id().to_string(),
            operations: OPERATIONS.to_vec(),
            rows,
            names: names_of(t).await,
            total: thousands(total as u64),
            pager: Pager::new(page_no, pages, |p| filter.link(p)),
            filter,
            nav,
        },
    )
}

/// `GET /admin/tenants/{id}/audit.csv`: every row the filters select.
pub(super) async fn audit_csv(tp: TenantPage, filter: web::Query<AuditFilter>) -> HttpResponse {
    let (t, nav) = (tp.tenant(), tp.nav.clone());
    let q = AuditQuery {
        limit: 0,
        offset: 0,
        ..filter.query(t)
    };
    match t.tenant.audit_entries(&q).await {
        Ok((rows, _)) => csv("audit.csv", audit_csv_file(&rows)),
        Err(e) => store_failed(nav, &e),
    }
}
