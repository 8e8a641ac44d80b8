//! The bridge: `/Users` and `/Groups` served from Tableau, with a durable store for what Tableau
//! cannot hold. The only place where SCIM and Tableau meet.

pub mod cache;
pub mod error;
mod groups;
pub mod roles;
pub mod store;
pub mod tenant;
pub mod ttl_cache;
mod users;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::backend::{IfMatch, ListPage, ResourceStore};
use crate::scim::list::ListQuery;
use crate::scim::patch::PatchRequest;
use crate::scim::projection::Projection;
use crate::scim::schema::ResourceKind;
use crate::scim::{ScimError, ScimResult};
use crate::tableau::stats::counted;
pub use tenant::Tenant;

/// The Tableau-backed [`ResourceStore`] of one tenant.
#[derive(Debug, Clone)]
pub struct Bridge {
    tenant: Arc<Tenant>,
}

impl Bridge {
    /// A bridge over `tenant`.
    pub fn new(tenant: Arc<Tenant>) -> Bridge {
        Bridge { tenant }
    }

    /// The tenant.
    pub fn tenant(&self) -> &Arc<Tenant> {
        &self.tenant
    }
}

/// Run one SCIM operation, count its Tableau calls, and turn its error into a SCIM error.
async fn op<T>(
    name: &'static str,
    tenant: &Tenant,
    f: impl std::future::Future<Output = error::BridgeResult<T>>,
) -> ScimResult<T> {
    tracing::Span::current().record("scim.op", name);
    let (out, calls) = counted(f).await;
    tracing::info!(tenant.id = %tenant.id, scim.op = name, tableau.calls = calls, ok = out.is_ok(), "scim operation");
    out.map_err(ScimError::from)
}

#[async_trait]
impl ResourceStore for Bridge {
    async fn create(&self, kind: ResourceKind, resource: Value) -> ScimResult<Value> {
        let t = &self.tenant;
        match kind {
            ResourceKind::User => op("create_user", t, t.create_user(resource)).await,
            ResourceKind::Group => op("create_group", t, t.create_group(resource)).await,
        }
    }

    async fn get(
        &self,
        kind: ResourceKind,
        id: &str,
        projection: &Projection,
    ) -> ScimResult<Value> {
        let t = &self.tenant;
        match kind {
            ResourceKind::User => op("get_user", t, t.get_user(id, projection)).await,
            ResourceKind::Group => {
                op(
                    "get_group",
                    t,
                    t.get_group(id, !projection.excludes("members")),
                )
                .await
            }
        }
    }

    async fn list(&self, kind: ResourceKind, query: &ListQuery) -> ScimResult<ListPage> {
        let t = &self.tenant;
        match kind {
            ResourceKind::User => op("list_users", t, t.list_users(query)).await,
            ResourceKind::Group => {
                // A filter on members needs them even if the response excludes them.
                let want = !query.projection.excludes("members")
                    || query
                        .filter
                        .as_ref()
                        .is_some_and(|f| f.to_string().to_lowercase().contains("members"));
                op("list_groups", t, t.list_groups(query, want)).await
            }
        }
    }

    async fn replace(
        &self,
        kind: ResourceKind,
        id: &str,
        resource: Value,
        if_match: IfMatch<'_>,
    ) -> ScimResult<Value> {
        let t = &self.tenant;
        match kind {
            ResourceKind::User => {
                op("replace_user", t, t.replace_user(id, resource, if_match)).await
            }
            ResourceKind::Group => {
                op("replace_group", t, t.replace_group(id, resource, if_match)).await
            }
        }
    }

    async fn patch(
        &self,
        kind: ResourceKind,
        id: &str,
        request: &PatchRequest,
        if_match: IfMatch<'_>,
    ) -> ScimResult<Value> {
        let t = &self.tenant;
        match kind {
            ResourceKind::User => op("patch_user", t, t.patch_user(id, request, if_match)).await,
            ResourceKind::Group => op("patch_group", t, t.patch_group(id, request, if_match)).await,
        }
    }

    async fn delete(&self, kind: ResourceKind, id: &str, if_match: IfMatch<'_>) -> ScimResult<()> {
        let t = &self.tenant;
        match kind {
            ResourceKind::User => op("delete_user", t, t.delete_user(id, if_match)).await,
            ResourceKind::Group => op("delete_group", t, t.delete_group(id, if_match)).await,
        }
    }
}

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
impl crate::http::TenantHealth for BridgeHealth {
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
    }
}
