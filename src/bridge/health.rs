//! Readiness and gauges of one tenant, for `/readyz` and `/metrics`.

use std::sync::Arc;

use async_trait::async_trait;

use super::tenant::Tenant;

/// How long a readiness answer is reused, so probes do not each cost a Tableau call.
const READY_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// Longest a readiness probe waits for Tableau.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Readiness and gauges of one tenant.
pub struct BridgeHealth {
    tenant: Arc<Tenant>,
    last_ok: std::sync::Mutex<Option<std::time::Instant>>,
}

impl BridgeHealth {
    /// Health of `tenant`.
    pub fn new(tenant: Arc<Tenant>) -> BridgeHealth {
        BridgeHealth {
            tenant,
            last_ok: std::sync::Mutex::new(None),
        }
    }
}

#[async_trait]
impl crate::backend::TenantHealth for BridgeHealth {
    /// Ready when a Tableau call with the session succeeds (Query Site: cheap, and it proves the
    /// credentials, the site and the session).
    async fn ready(&self) -> Result<(), String> {
        let fresh = self
            .last_ok
            .lock()
            .ok()
            .and_then(|g| *g)
            .is_some_and(|t| t.elapsed() < READY_FOR);
        if fresh {
            return Ok(());
        }
        // A probe answers quickly: a Tableau that does not answer in time is not ready.
        let probe = tokio::time::timeout(PROBE_TIMEOUT, self.tenant.client.site_info()).await;
        match probe.unwrap_or_else(|_| {
            Err(crate::tableau::TableauError::Unavailable {
                attempts: 1,
                last: "no answer in time".into(),
            })
        }) {
            Ok(_) => {
                if let Ok(mut g) = self.last_ok.lock() {
                    *g = Some(std::time::Instant::now());
                }
                Ok(())
            }
            Err(e) => {
                if let Ok(mut g) = self.last_ok.lock() {
                    *g = None;
                }
                Err(e.to_string())
            }
        }
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
    }
}
