//! The console's tenant pages: who has access, and drift; and what every page needs (the
//! navigation, the session and tenant checks). Each handler checks the session and the
//! tenant, gathers (from the bridge's caches and the store), and renders; what is shown is
//! decided in `views`. The overview is `overview`, the audit trail `trail`.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde_json::Value;

use super::auth::{anonymous, check_csrf, check_operate, form_of, CsrfForm};
use super::respond::{csv, message, page, see_other, store_failed, Nav};
use super::state::{Console, ConsoleTenant};
use super::tenant_page::TenantPage;
use super::views::{thousands, AccessQuery, Pager};
use crate::bridge::reconcile::{Options, Silent};
use crate::bridge::site::access::AccessEntry;
use crate::export::access_csv as access_csv_file;
use crate::tableau::SiteRole;

/// `GET /admin/console.css`.
pub(super) async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "max-age=3600"))
        .body(include_str!("../../templates/console/console.css"))
}

/// Any other `/admin` path.
pub(super) async fn not_found() -> HttpResponse {
    anonymous(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no console page here.",
    )
}
#[derive(Template)]
#[template(path = "console/access.html")]
struct Access<'a> {
    nav: Nav,
    tenant: String,
    query: AccessQuery,
    roles: Vec<&'static str>,
    rows: Vec<&'a AccessEntry>,
    shown: String,
    total: String,
    pager: Pager,
}

/// The tenant's access list, built at most every [`super::ACCESS_FOR`].
async fn entries(console: &Console, t: &ConsoleTenant) -> Result<Arc<Vec<AccessEntry>>, String> {
    let load = async {
        t.tenant
            .access()
            .await
            .map(Arc::new)
            .map_err(|e| e.to_string())
    };
    console
        .access
        .get_or_load(t.tenant.id(), load)
        .await
        .map(|(list, _)| list)
}

/// `GET /admin/tenants/{id}/access`.
pub(super) async fn access(tp: TenantPage, query: web::Query<AccessQuery>) -> HttpResponse {
    let (console, t, nav) = (&tp.console, tp.tenant(), tp.nav.clone());
    let all = match entries(console, t).await {
        Ok(e) => e,
        Err(e) => return message(StatusCode::BAD_GATEWAY, nav, "Tableau did not answer", &e),
    };
    let q = query.into_inner();
    let selected = q.select(&all);
    let (rows, page_no, pages) = q.page_of(&selected);
    let roles: Vec<&'static str> = SiteRole::ASSIGNABLE.iter().map(|r| r.as_str()).collect();
    page(
        StatusCode::OK,
        &Access {
            tenant: tp.id().to_string(),
            roles,
            shown: thousands(selected.len() as u64),
            total: thousands(all.len() as u64),
            rows: rows.to_vec(),
            pager: Pager::new(page_no, pages, |p| q.link(p)),
            query: q,
            nav,
        },
    )
}

/// `GET /admin/tenants/{id}/access.csv`: exactly the rows the filters show, every page.
pub(super) async fn access_csv(tp: TenantPage, query: web::Query<AccessQuery>) -> HttpResponse {
    let (console, t, nav) = (&tp.console, tp.tenant(), tp.nav.clone());
    match entries(console, t).await {
        Ok(all) => csv("access.csv", access_csv_file(&query.select(&all))),
        Err(e) => message(StatusCode::BAD_GATEWAY, nav, "Tableau did not answer", &e),
    }
}

struct FindingRow {
    kind: String,
    user: String,
    group: String,
    tableau: String,
    asserted: String,
    outcome: String,
}

#[derive(Template)]
#[template(path = "console/drift.html")]
struct Drift {
    nav: Nav,
    tenant: String,
    at: String,
    complete: bool,
    errors: Vec<String>,
    counts: Vec<(String, u64)>,
    findings: Vec<FindingRow>,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// `GET /admin/tenants/{id}/drift`: the last reconciliation's findings.
pub(super) async fn drift(tp: TenantPage) -> HttpResponse {
    let (t, nav) = (tp.tenant(), tp.nav.clone());
    let record = match t.tenant.last_drift().await {
        Ok(r) => r,
        Err(e) => return store_failed(nav, &e),
    };
    let report = record.as_ref().map_or(Value::Null, |r| r.report.clone());
    let findings = report["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|f| FindingRow {
                    kind: text(&f["kind"]),
                    user: text(&f["user"]["name"]),
                    group: text(&f["group"]["name"]),
                    tableau: text(&f["tableau"]),
                    asserted: text(&f["asserted"]),
                    outcome: f["outcome"]
                        .as_str()
                        .or(f["note"].as_str())
                        .unwrap_or_default()
                        .to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    let counts = report["counts"]
        .as_object()
        .map(|c| {
            c.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    page(
        StatusCode::OK,
        &Drift {
            tenant: tp.id().to_string(),
            at: record.as_ref().map_or(String::new(), |r| r.at.clone()),
            complete: record.as_ref().is_none_or(|r| r.complete),
            errors: report["errors"]
                .as_array()
                .map(|e| e.iter().map(text).collect())
                .unwrap_or_default(),
            counts,
            findings,
            nav,
        },
    )
}

/// `POST /admin/tenants/{id}/drift/run`: a dry run now (one at a time per tenant), then the
/// drift page.
pub(super) async fn run_drift(tp: TenantPage, body: web::Bytes) -> HttpResponse {
    let form: CsrfForm = form_of(&body);
    let (console, session, t) = (&tp.console, &tp.session, tp.tenant());
    if let Err(r) = check_csrf(session, &form.csrf, console) {
        return *r;
    }
    if let Err(r) = check_operate(session, Some(t.tenant.id()), console) {
        return *r;
    }
    let id = t.tenant.id().to_string();
    let mine = console.running.lock().map(|mut r| {
        if r.contains(&id) {
            false
        } else {
            r.push(id.clone());
            true
        }
    });
    if mine.unwrap_or(false) {
        let report = t.tenant.reconcile(Options::default(), &Silent).await;
        tracing::info!(tenant.id = %id, counts = ?report.counts, "reconciliation (dry run) from the console");
        if let Ok(mut r) = console.running.lock() {
            r.retain(|x| x != &id);
        }
    }
    see_other(&format!("/admin/tenants/{id}/drift"))
}
