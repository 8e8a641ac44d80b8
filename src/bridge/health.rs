//! Readiness and gauges of one tenant, for `/readyz` and `/metrics`.

use std::sync::Arc;

use async_trait::async_trait;

use super::tenant::Tenant;

/// How long a ready answer is reused, so probes do not each cost a Tableau call.
const READY_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a not-ready answer is reused: `/readyz` answers anyone, and must not let anyone
/// send Tableau a probe per request.
const NOT_READY_FOR: std::time::Duration = std::time::Duration::from_secs(5);

/// The last probe: when, and what it found.
type Probe = (std::time::Instant, Result<(), String>);

/// The answer of `last`, if it is recent enough to give again at `now`.
fn reusable(last: Option<&Probe>, now: std::time::Instant) -> Option<Result<(), String>> {
    let (at, answer) = last?;
    let lasts = if answer.is_ok() {
        READY_FOR
    } else {
        NOT_READY_FOR
    };
    (now.duration_since(*at) < lasts).then(|| answer.clone())
}

/// Longest a readiness probe waits for Tableau.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Readiness and gauges of one tenant.
pub struct BridgeHealth {
    tenant: Arc<Tenant>,
    /// Held across a probe: concurrent checks wait for it and reuse its answer.
    last: tokio::sync::Mutex<Option<Probe>>,
}

impl BridgeHealth {
    /// Health of `tenant`.
    pub fn new(tenant: Arc<Tenant>) -> BridgeHealth {
        BridgeHealth {
            tenant,
            last: tokio::sync::Mutex::new(None),
        }
    }
}

#[async_trait]
impl crate::backend::TenantHealth for BridgeHealth {
    /// Ready when a Tableau call with the session succeeds (Query Site: cheap, and it proves the
    /// credentials, the site and the session).
    async fn ready(&self) -> Result<(), String> {
        let mut last = self.last.lock().await;
        if let Some(answer) = reusable(last.as_ref(), std::time::Instant::now()) {
            return answer;
        }
        // A probe answers quickly: a store or a Tableau that does not answer in time is not
        // ready. The store first: without it no write can be recorded.
        let store = tokio::time::timeout(PROBE_TIMEOUT, self.tenant.store.ready()).await;
        let answer = match store {
            Ok(Ok(())) => {
                let probe =
                    tokio::time::timeout(PROBE_TIMEOUT, self.tenant.client.site_info()).await;
                match probe {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("Tableau gave no answer in time".to_string()),
                }
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("the store gave no answer in time".to_string()),
        };
        *last = Some((std::time::Instant::now(), answer.clone()));
        answer
    }

    fn export_metrics(&self) {
        let t = &self.tenant;
        let (hits, misses) = t.caches.hit_miss();
        let downgrades = t
            .counters
            .license_downgrades
            .load(std::sync::atomic::Ordering::Relaxed);
        metrics::gauge!("cache_hits", "tenant" => t.id.clone()).set(hits as f64);
        metrics::gauge!("cache_misses", "tenant" => t.id.clone()).set(misses as f64);
        metrics::gauge!("license_downgrades", "tenant" => t.id.clone()).set(downgrades as f64);
        let own_role = t
            .counters
            .own_role_refusals
            .load(std::sync::atomic::Ordering::Relaxed);
        metrics::gauge!("own_role_refusals", "tenant" => t.id.clone()).set(own_role as f64);
        let (window, rate, _) = t.client.limits();
        metrics::gauge!("tableau_concurrency_limit", "tenant" => t.id.clone()).set(window as f64);
        metrics::gauge!("tableau_rate_limit", "tenant" => t.id.clone()).set(rate.unwrap_or(0.0));
        // The last reconciliation: findings per kind (a closed set of six), and whether it saw
        // the whole site. Absent until one has run.
        if let Some(d) = t.drift_summary() {
            for (kind, n) in &d.counts {
                metrics::gauge!("tableau_scim_drift", "tenant" => t.id.clone(), "kind" => kind.clone())
                    .set(*n as f64);
            }
            metrics::gauge!("tableau_scim_drift_complete", "tenant" => t.id.clone())
                .set(if d.complete { 1.0 } else { 0.0 });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn answers_are_reused_ready_for_10_s_not_ready_for_5_s() {
        let t0 = Instant::now();
        let ok: Probe = (t0, Ok(()));
        let down: Probe = (t0, Err("down".into()));
        assert_eq!(
            reusable(Some(&ok), t0 + Duration::from_secs(9)),
            Some(Ok(()))
        );
        assert_eq!(reusable(Some(&ok), t0 + Duration::from_secs(11)), None);
        assert_eq!(
            reusable(Some(&down), t0 + Duration::from_secs(4)),
            Some(Err("down".into()))
        );
        assert_eq!(reusable(Some(&down), t0 + Duration::from_secs(6)), None);
        assert_eq!(reusable(None, t0), None);
    }
}
