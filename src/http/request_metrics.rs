//! `scim_requests_total` and `scim_request_duration_seconds`, by tenant, resource, method (and
//! status for the counter). Each label set is registered once and its handles reused: building
//! a metric key per request (label strings, a vector, a hash of it all) cost more than the
//! rest of a cached read. Every label comes from a closed set (configured tenants, the
//! resource and method labels of [`super::limits`], the statuses we answer), so the map is
//! bounded.

use std::collections::HashMap;
use std::sync::RwLock;

use metrics::{Counter, Histogram};

type Route = (&'static str, &'static str);

#[derive(Default)]
struct TenantMetrics {
    durations: HashMap<Route, Histogram>,
    counts: HashMap<(&'static str, &'static str, u16), Counter>,
}

/// The handles, by tenant.
#[derive(Default)]
pub struct RequestMetrics {
    tenants: RwLock<HashMap<String, TenantMetrics>>,
}

impl RequestMetrics {
    /// Count one request and record how long it took.
    pub fn record(
        &self,
        tenant: &str,
        resource: &'static str,
        method: &'static str,
        status: u16,
        secs: f64,
    ) {
        if let Ok(map) = self.tenants.read() {
            if let Some(t) = map.get(tenant) {
                if let (Some(c), Some(h)) = (
                    t.counts.get(&(resource, method, status)),
                    t.durations.get(&(resource, method)),
                ) {
                    c.increment(1);
                    h.record(secs);
                    return;
                }
            }
        }
        let Ok(mut map) = self.tenants.write() else {
            return;
        };
        let owned = tenant.to_string();
        let t = map.entry(owned.clone()).or_default();
        let c = t.counts.entry((resource, method, status)).or_insert_with(|| {
            metrics::counter!("scim_requests_total", "tenant" => owned.clone(), "resource" => resource, "method" => method, "status" => status.to_string())
        });
        c.increment(1);
        let h = t.durations.entry((resource, method)).or_insert_with(|| {
            metrics::histogram!("scim_request_duration_seconds", "tenant" => owned, "resource" => resource, "method" => method)
        });
        h.record(secs);
    }
}
