//! Seeing what the server does: a request id on every log line and response, Prometheus
//! metrics, and the health endpoints (outside `/scim/v2`, without authentication).

use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpResponse};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use tracing::Instrument;

use std::sync::Arc;

use actix_web::HttpRequest;

use super::guard::Rejection;
use super::limits;
use super::request_metrics::RequestMetrics;
use super::state::{AppState, TenantEntry};
use crate::backend::trace::traced;

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

/// The resource a path addresses, for metric labels (`Users`, `Groups`, `Schemas`, ...;
/// `unknown` for anything else): a closed set, whatever the client sends.
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
        "" => "root",
        _ => "unknown",
    }
}

/// Whether a path is one of the unauthenticated operational endpoints (logged at debug level:
/// probes would otherwise fill the log).
fn operational(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// One span per request (request id, method, path; the tenant is filled in once known), an
/// `X-Request-Id` response header, the request counters and latency histogram, and one log
/// line. A URL or headers larger than we read are refused first. Every metric label comes
/// from a closed set. A request rejected before authentication is not logged by itself but
/// counted in the summary of [`super::guard`]. The query string is never logged: it carries
/// e-mail addresses.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(crate::scim::ScimError::Internal("application state missing".into()).into());
    };
    let client = super::auth::client_of(req.request(), state.settings.trust_forwarded_headers);
    let target_bytes = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if let Err(e) = limits::check_sizes(target_bytes, header_bytes) {
        state.guard.rejected(client, Rejection::Other);
        return Err(e.into());
    }
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
        .unwrap_or_else(new_request_id);
    let method = limits::method_label(req.method());
    let path = limits::quoted_path(req.path());
    // The span gives what is logged during the request its id; the request's own line is
    // written after it, once, with everything in it.
    let traced_request = super::request_span::decide(&req);
    let server = super::request_span::start(&req, method, &path, &request_id, traced_request);
    let span = tracing::info_span!(parent: &server, "request", request_id = %request_id);
    let (res, trace) = crate::telemetry::within(
        traced_request,
        traced(crate::backend::trace::with_request_id(
            request_id.clone(),
            next.call(req).instrument(span),
        ))
        .instrument(server.clone()),
    )
    .await;
    let secs = started.elapsed().as_secs_f64();
    let (status, tenant) = match &res {
        Ok(r) => {
            use actix_web::HttpMessage;
            let tenant = r
                .request()
                .extensions()
                .get::<super::state::Current>()
                .map(|c| c.0.id.clone());
            (r.status().as_u16(), tenant)
        }
        Err(e) => (e.as_response_error().status_code().as_u16(), None),
    };
    let rejected = tenant.is_none() && (400..500).contains(&status);
    if rejected && res.is_ok() && !matches!(status, 401 | 429) {
        // Authentication failures (by `require_bearer`, or for `/metrics`) are counted where
        // they happen; this is the rest: unknown paths, methods, limits.
        state.guard.rejected(client, Rejection::Other);
    }
    let tenant = tenant.unwrap_or_else(|| "-".into());
    super::request_span::finish(
        &server,
        status,
        &tenant,
        trace.op.unwrap_or("-"),
        trace.tableau_calls,
    );
    if path.contains("/scim/v2") {
        static METRICS: OnceLock<RequestMetrics> = OnceLock::new();
        METRICS.get_or_init(RequestMetrics::default).record(
            &tenant,
            resource_of(&path),
            method,
            status,
            secs,
        );
    }
    if !rejected {
        let ms = format_args!("{:.2}", secs * 1000.0);
        let op = trace.op.unwrap_or("-");
        if operational(&path) {
            tracing::debug!(request_id = %request_id, status, ms = %ms, method, path = %path, "request");
        } else {
            tracing::info!(request_id = %request_id, tenant = %tenant, op, status, ms = %ms, tableau_calls = trace.tableau_calls, method, path = %path, "request");
        }
    }
    let https = state.settings.https;
    res.map(|mut r| {
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            r.headers_mut()
                .insert(HeaderName::from_static("x-request-id"), v);
        }
        if https {
            r.headers_mut().insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static(HSTS),
            );
        }
        r
    })
}

/// HSTS on every answer over HTTPS: a year, the length browsers' preload lists ask for (no
/// `includeSubDomains`: the server cannot speak for its siblings).
const HSTS: &str = "max-age=31536000";

/// `GET /healthz`: the process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Who may see what of readiness and metrics on the main listener.
enum Viewer {
    /// Anyone: ready or not, nothing more.
    Anonymous,
    /// A tenant's IdP: its own tenant.
    Tenant(Arc<TenantEntry>),
    /// A metrics token: every tenant.
    Operator,
}

fn viewer(req: &HttpRequest, state: &AppState) -> Viewer {
    let Some(token) = super::auth::bearer_of(req) else {
        return Viewer::Anonymous;
    };
    if state.metrics_tokens.get().accepts(token) {
        return Viewer::Operator;
    }
    match super::auth::tenant_of(state, token) {
        Some(t) => Viewer::Tenant(t),
        None => Viewer::Anonymous,
    }
}

/// Every tenant's readiness failure, by tenant id.
async fn failing(tenants: &[Arc<TenantEntry>]) -> serde_json::Map<String, serde_json::Value> {
    let mut failing = serde_json::Map::new();
    for t in tenants {
        if let Some(h) = &t.health {
            if let Err(why) = h.ready().await {
                failing.insert(t.id.clone(), why.into());
            }
        }
    }
    failing
}

/// `GET /readyz` on the main listener: ready (200) or not (503) to anyone; which tenant is
/// failing and why only to that tenant's token, or to a metrics token for every tenant.
pub async fn readyz(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let all = failing(&state.tenants.get()).await;
    let ready = all.is_empty();
    let shown: serde_json::Map<String, serde_json::Value> = match viewer(&req, &state) {
        Viewer::Anonymous => serde_json::Map::new(),
        Viewer::Operator => all,
        Viewer::Tenant(t) => all.into_iter().filter(|(id, _)| *id == t.id).collect(),
    };
    readiness(ready, shown)
}

/// `GET /readyz` on the metrics listener: every tenant, named.
pub async fn readyz_private(state: web::Data<AppState>) -> HttpResponse {
    let all = failing(&state.tenants.get()).await;
    readiness(all.is_empty(), all)
}

fn readiness(ready: bool, failing: serde_json::Map<String, serde_json::Value>) -> HttpResponse {
    let mut body = json!({"status": if ready { "ready" } else { "not ready" }});
    if !failing.is_empty() {
        body["failing"] = failing.into();
    }
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// The Prometheus text of every metric, tenant gauges refreshed.
fn render_metrics(state: &AppState) -> HttpResponse {
    for t in state.tenants.get().iter() {
        if let Some(h) = &t.health {
            h.export_metrics();
        }
    }
    metrics::gauge!("auth_blocked_addresses").set(state.guard.blocked_now() as f64);
    match prometheus() {
        Some(handle) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body(handle.render()),
        None => HttpResponse::ServiceUnavailable().body("metrics recorder unavailable\n"),
    }
}

/// `GET /metrics` on the main listener: only with a metrics token, and not at all when metrics
/// have a listener of their own.
pub async fn metrics_endpoint(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, crate::scim::ScimError> {
    use crate::scim::ScimError;
    if state.settings.metrics_elsewhere || state.metrics_tokens.get().is_empty() {
        return Err(ScimError::NotFound(
            "/metrics is not served on this listener (see server.metrics_listen and server.metrics_token_hashes)".into(),
        ));
    }
    if let Viewer::Operator = viewer(&req, &state) {
        return Ok(render_metrics(&state));
    }
    let why = if super::auth::bearer_of(&req).is_some() {
        Rejection::Invalid
    } else {
        Rejection::Missing
    };
    let client = super::auth::client_of(&req, state.settings.trust_forwarded_headers);
    Err(match state.guard.failed(client, why) {
        super::guard::Verdict::Refuse => {
            ScimError::Unauthorized("/metrics needs a metrics bearer token".into())
        }
        super::guard::Verdict::Block { retry_after_secs } => ScimError::TooManyRequests(
            "too many failed authentications from this address".into(),
            retry_after_secs,
        ),
    })
}

/// `GET /metrics` on the metrics listener.
pub async fn metrics_private(state: web::Data<AppState>) -> HttpResponse {
    render_metrics(&state)
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
