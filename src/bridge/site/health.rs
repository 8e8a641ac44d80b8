//! Readiness and gauges of one tenant, for `/readyz` and `/metrics`.

use std::sync::Arc;

use async_trait::async_trait;

use crate::bridge::tenant::Tenant;
use crate::tableau::auth_config::sign_in_verdict;
use crate::tableau::Deployment;

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

/// How long the sign-in check's answer is reused (a tenth of it when it found a problem): a
/// site's authentication configurations change when an administrator edits them, not by the
/// second, and the listing is a call.
const SIGN_IN_CHECK_FOR: std::time::Duration = std::time::Duration::from_secs(600);

/// Readiness and gauges of one tenant.
pub struct BridgeHealth {
    tenant: Arc<Tenant>,
    /// Held across a probe: concurrent checks wait for it and reuse its answer.
    last: tokio::sync::Mutex<Option<Probe>>,
    /// The last check of how new users sign in (Tableau Cloud).
    sign_in: tokio::sync::Mutex<Option<Probe>>,
}

impl BridgeHealth {
    /// Health of `tenant`.
    pub fn new(tenant: Arc<Tenant>) -> BridgeHealth {
        BridgeHealth {
            tenant,
            last: tokio::sync::Mutex::new(None),
            sign_in: tokio::sync::Mutex::new(None),
        }
    }

    /// On Tableau Cloud, whether the users this tenant adds get a sign-in method of the site
    /// ([`sign_in_verdict`] over List Authentication Configurations, from REST 3.24): a tenant
    /// whose `auth_setting` is ambiguous is not ready, since every user it adds would be
    /// "Unspecified" (tableauserverclient issue #1598). Checked at most every ten minutes.
    async fn sign_in_ready(&self) -> Result<(), String> {
        let policy = &self.tenant.policy();
        if policy.deployment != Deployment::Cloud {
            return Ok(());
        }
        let mut last = self.sign_in.lock().await;
        let now = std::time::Instant::now();
        if let Some((at, answer)) = last.as_ref() {
            // A problem is looked at again sooner: an administrator may be fixing it.
            let lasts = if answer.is_ok() {
                SIGN_IN_CHECK_FOR
            } else {
                SIGN_IN_CHECK_FOR / 10
            };
            if now.duration_since(*at) < lasts {
                return answer.clone();
            }
        }
        let answer = match self.tenant.client.auth_configurations().await {
            Ok(None) => Ok(()),
            Ok(Some(configs)) => sign_in_verdict(
                policy.auth_setting.as_deref(),
                policy.idp_configuration_id.as_deref(),
                &configs,
            )
            .map(drop),
            // A Tableau that does not let this account list them (a connected app's scope, a
            // version without the call) cannot say: serving goes on, and check-config says so.
            Err(
                e @ crate::tableau::TableauError::Api {
                    status: 401 | 403 | 404,
                    ..
                },
            ) => {
                tracing::warn!(tenant.id = %self.tenant.id, error = %e,
                    "the site's authentication configurations cannot be listed; how new users sign in is not checked");
                Ok(())
            }
            Err(e) => Err(format!("the site's authentication configurations: {e}")),
        };
        *last = Some((now, answer.clone()));
        answer
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
                    Ok(Ok(_)) => {
                        match tokio::time::timeout(PROBE_TIMEOUT, self.sign_in_ready()).await {
                            Ok(answer) => answer,
                            Err(_) => Err("Tableau gave no answer in time".to_string()),
                        }
                    }
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
        let held = t
            .counters
            .holds_now
            .load(std::sync::atomic::Ordering::Relaxed);
        let open = t
            .counters
            .breaker_open
            .load(std::sync::atomic::Ordering::Relaxed);
        metrics::gauge!("tableau_scim_breaker_open", "tenant" => t.id.clone())
            .set(if open && held > 0 { 1.0 } else { 0.0 });
        let oldest = t
            .counters
            .oldest_hold_at
            .load(std::sync::atomic::Ordering::Relaxed);
        let age = if oldest == 0 {
            0
        } else {
            u64::try_from(crate::clock::now().timestamp())
                .unwrap_or(0)
                .saturating_sub(oldest)
        };
        metrics::gauge!("tableau_scim_oldest_hold_age_seconds", "tenant" => t.id.clone())
            .set(age as f64);
        for (name, counter) in [
            ("tableau_scim_holds", &t.counters.holds_now),
            ("tableau_scim_holds_not_kept", &t.counters.holds_not_kept),
            ("tableau_scim_moves_running", &t.counters.moves_running),
            ("tableau_scim_moves_done", &t.counters.moves_done),
            ("tableau_scim_move_faults", &t.counters.move_faults),
        ] {
            metrics::gauge!(name, "tenant" => t.id.clone())
                .set(counter.load(std::sync::atomic::Ordering::Relaxed) as f64);
        }
        let (window, rate, _) = t.client.limits();
        metrics::gauge!("tableau_concurrency_limit", "tenant" => t.id.clone()).set(window as f64);
        metrics::gauge!("tableau_rate_limit", "tenant" => t.id.clone()).set(rate.unwrap_or(0.0));
        metrics::gauge!("tableau_budget_replicas", "tenant" => t.id.clone())
            .set(t.client.budget_replicas() as f64);
        // The last reconciliation: findings per kind (a closed set: `DriftKind::ALL`), and whether it saw
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
