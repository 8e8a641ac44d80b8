//! Seeing what the server does: a request id on every log line and response, Prometheus
//! metrics, and the health endpoints (outside `/scim/v2`, without authentication).

use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpResponse};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use tracing::Instrument;

use super::AppState;

/// The process-wide Prometheus recorder (installed on first use).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            // Histogram samples pile up in the recorder until they are folded into buckets:
            // a scrape does that, and so must this thread, or a server nobody scrapes grows
            // without bound (`build_recorder` starts no upkeep of its own).
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    upkeep.run_upkeep();
                })
                .ok()?;
            Some(handle)
        })
        .as_ref()
}

/// A request id unique within this process and, by its random prefix, across restarts. A
/// random UUID per request cost a `getrandom` system call each time; these ids need to be
/// unique, not unguessable.
fn new_request_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let prefix = PREFIX.get_or_init(|| uuid::Uuid::new_v4().simple().to_string()[..12].to_string());
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}-{n:08x}")
}

/// The resource a path addresses, for metric labels (`Users`, `Groups`, `Schemas`, ...).
fn resource_of(path: &str) -> &'static str {
    let after = path.split("/scim/v2").nth(1).unwrap_or("");
    let first = after
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    match first {
        "Users" => "Users",
        "Groups" => "Groups",
        "Schemas" => "Schemas",
        "ResourceTypes" => "ResourceTypes",
        "ServiceProviderConfig" => "ServiceProviderConfig",
        ".search" => "search",
        _ => "other",
    }
}

/// One span per request (request id, method, path; the tenant is filled in once known), an
/// `X-Request-Id` response header, the request counters and latency histogram, and one log
/// line. The query string is never logged: it carries e-mail addresses.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
        .unwrap_or_else(new_request_id);
    let method = req.method().to_string();
    let path = req.path().to_string();
    let span = tracing::info_span!("request", request_id = %request_id, http.method = %method, http.path = %path, tenant.id = tracing::field::Empty, scim.op = tracing::field::Empty);
    let res = next.call(req).instrument(span.clone()).await;
    let secs = started.elapsed().as_secs_f64();
    let (status, tenant) = match &res {
        Ok(r) => {
            use actix_web::HttpMessage;
            let tenant = r
                .request()
                .extensions()
                .get::<super::Current>()
                .map(|c| c.0.id.clone());
            (r.status().as_u16(), tenant)
        }
        Err(e) => (e.as_response_error().status_code().as_u16(), None),
    };
    let tenant = tenant.unwrap_or_else(|| "-".into());
    if path.contains("/scim/v2") {
        let resource = resource_of(&path);
        let labels = [
            ("tenant", tenant.clone()),
            ("resource", resource.to_string()),
            ("method", method.clone()),
        ];
        metrics::counter!("scim_requests_total", "tenant" => tenant.clone(), "resource" => resource, "method" => method.clone(), "status" => status.to_string()).increment(1);
        metrics::histogram!("scim_request_duration_seconds", &labels).record(secs);
    }
    span.in_scope(|| {
        tracing::info!(http.status = status, duration_ms = secs * 1000.0, tenant.id = %tenant, "request");
    });
    res.map(|mut r| {
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            r.headers_mut()
                .insert(HeaderName::from_static("x-request-id"), v);
        }
        r
    })
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /readyz`: every tenant's Tableau session is usable; 503 naming those that are not.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let mut failing = serde_json::Map::new();
    for t in &state.tenants {
        if let Some(h) = &t.health {
            if let Err(why) = h.ready().await {
                failing.insert(t.id.clone(), why.into());
            }
        }
    }
    if failing.is_empty() {
        HttpResponse::Ok().json(json!({"status": "ready", "tenants": state.tenants.len()}))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({"status": "not ready", "failing": failing}))
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics_endpoint(state: web::Data<AppState>) -> HttpResponse {
    for t in &state.tenants {
        if let Some(h) = &t.health {
            h.export_metrics();
        }
    }
    match prometheus() {
        Some(handle) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body(handle.render()),
        None => HttpResponse::ServiceUnavailable().body("metrics recorder unavailable\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_request_ids_are_unique_and_pass_our_own_header_check() {
        let ids: std::collections::HashSet<String> =
            (0..10_000).map(|_| new_request_id()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(10) {
            assert!(id.len() <= 64);
            assert!(
                id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                "{id}"
            );
        }
    }
}
