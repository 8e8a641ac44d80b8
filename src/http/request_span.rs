//! The span of one HTTP request for tracing (`http.server`; `crate::telemetry` exports it): its
//! name and attributes from closed sets (the method, the route's shape, never the path's ids or
//! the query), the request id, and once answered the status, tenant, operation and Tableau
//! calls. A `debug` span, so the log's default filter leaves it out of log lines and it costs
//! nothing without tracing.

use actix_web::dev::ServiceRequest;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Whether the request is traced (`crate::telemetry::decide_now`): a `traceparent`'s sampled
/// flag, else the configured ratio.
pub(super) fn decide(req: &ServiceRequest) -> bool {
    let parent = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(crate::telemetry::parent_sampled);
    crate::telemetry::decide_now(parent)
}

/// The span of a request to `path`, the child of the trace its `traceparent` header names;
/// none when the request is not `traced`.
pub(super) fn start(
    req: &ServiceRequest,
    method: &str,
    path: &str,
    request_id: &str,
    traced: bool,
) -> tracing::Span {
    if !traced {
        return tracing::Span::none();
    }
    let route = route_of(path);
    let span = tracing::debug_span!(
        "http.server",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method,
        http.route = route,
        http.response.status_code = Empty,
        request_id = %request_id,
        tenant = Empty,
        scim.operation = Empty,
        tableau.calls = Empty,
    );
    if !span.is_disabled() {
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        if let Some(parent) = header("traceparent") {
            let _ = span.set_parent(crate::telemetry::parent_of(parent, header("tracestate")));
        }
    }
    span
}

/// Record how the request ended.
pub(super) fn finish(
    span: &tracing::Span,
    status: u16,
    tenant: &str,
    op: &str,
    tableau_calls: u64,
) {
    if span.is_disabled() {
        return;
    }
    span.record("http.response.status_code", status);
    span.record("tenant", tenant);
    span.record("scim.operation", op);
    span.record("tableau.calls", tableau_calls);
    // A server span is in error for a 5xx only: a 4xx is the client's (OpenTelemetry's HTTP
    // conventions).
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
    }
}

/// The route's shape: a closed set, whatever the path holds.
fn route_of(path: &str) -> &'static str {
    if let Some((_, rest)) = path.split_once("/scim/v2") {
        return match rest.trim_start_matches('/').split('/').next().unwrap_or("") {
            "" => "/scim/v2",
            "Users" if rest.trim_matches('/').contains('/') => "/scim/v2/Users/{id}",
            "Users" => "/scim/v2/Users",
            "Groups" if rest.trim_matches('/').contains('/') => "/scim/v2/Groups/{id}",
            "Groups" => "/scim/v2/Groups",
            "Bulk" => "/scim/v2/Bulk",
            ".search" => "/scim/v2/.search",
            "Schemas" | "ResourceTypes" | "ServiceProviderConfig" => "/scim/v2/{discovery}",
            _ => "/scim/v2/{unknown}",
        };
    }
    match path {
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        p if p.ends_with("/oauth/token") => "/oauth/token",
        p if p.starts_with("/console") => "/console",
        _ => "{other}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_a_closed_set_without_ids() {
        for (path, route) in [
            ("/scim/v2/Users", "/scim/v2/Users"),
            (
                "/tenants/acme/scim/v2/Users/3f2a-alice",
                "/scim/v2/Users/{id}",
            ),
            ("/scim/v2/Groups/", "/scim/v2/Groups"),
            ("/scim/v2/Groups/g1", "/scim/v2/Groups/{id}"),
            ("/scim/v2/Schemas/urn:ietf:params", "/scim/v2/{discovery}"),
            ("/scim/v2/alice@example.com", "/scim/v2/{unknown}"),
            ("/tenants/acme/oauth/token", "/oauth/token"),
            ("/console/tenants/acme", "/console"),
            ("/alice@example.com", "{other}"),
        ] {
            assert_eq!(route_of(path), route, "{path}");
        }
    }
}
