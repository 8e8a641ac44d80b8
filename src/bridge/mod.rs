//! The bridge: `/Users` and `/Groups` served from Tableau, with a durable store for what Tableau
//! cannot hold. The only place where SCIM and Tableau meet.
//!
//! Rooms by concern: [`users`] and [`groups`] (each its decisions and the I/O that carries them
//! out), [`cache`] (what saves a Tableau call: caches, the name index), [`replicas`] (several
//! processes on one store), [`reconcile`] (drift), [`site`] (access, readiness, background
//! work), [`mapping`] (SCIM and Tableau side by side). Beside them the tenant ([`tenant`]),
//! its policies ([`policy`]), the audit event, the operation and the errors. Each room's
//! `mod.rs` lists the `Tenant` methods its files add.
//!
//! Decisions are pure functions, and the files that hold them import no I/O (no tenant, cache,
//! replica, store writer or Tableau client; [`PURE`] names them, and a test holds it):
//! `mapping/`, `users/plan.rs`, `users/names.rs`, `users/custody_plan.rs`, `users/move_plan.rs`, `groups/plan.rs`,
//! `groups/asserted.rs`, `reconcile/findings.rs`, `reconcile/license.rs`,
//! `reconcile/custody.rs`, `reconcile/sign_in_grants.rs`, `reconcile/summary.rs`,
//! `replicas/listing_diff.rs`, `audit.rs`, `policy.rs`, `operation.rs`, `safety/plan.rs`.

pub mod audit;
pub mod cache;
pub mod error;
#[cfg(test)]
mod fixtures;
pub mod groups;
pub mod mapping;
pub mod offload;
pub mod operation;
pub mod policy;
pub mod reconcile;
pub mod replicas;
pub mod safety;
pub mod site;
pub mod tenant;
pub mod users;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::backend::{IfMatch, ListPage, ResourceStore};
use crate::scim::change::Change;
use crate::scim::list::ListQuery;
use crate::scim::projection::Projection;
use crate::scim::schema::ResourceKind;
use crate::scim::stored::{Shared, Stored};
use crate::scim::{ScimError, ScimResult};
use crate::tableau::stats::counted;
use operation::Operation;
pub use site::health::BridgeHealth;
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
    operation: Operation,
    tenant: &Tenant,
    f: impl std::future::Future<Output = error::BridgeResult<T>>,
) -> ScimResult<T> {
    let name = operation.as_str();
    if let Err(e) = tenant.moves_loaded().await {
        return Err(e.into());
    }
    tenant.last_request_ms.store(
        crate::clock::now().timestamp_millis(),
        std::sync::atomic::Ordering::Relaxed,
    );
    // Another replica's writes first, so that this request reads what they wrote (for an
    // operation that locks before it reads, its lock does it).
    if !operation.locks_before_reading() {
        if let Err(e) = tenant.replicas.catch_up().await {
            return Err(error::BridgeError::from(e).into());
        }
    }
    let (out, calls) = counted(f).await;
    if let Err(e) = tenant.replicas.publish().await {
        // The change is made in Tableau and in the store; the other replicas read the store's
        // failure too until it is back, and this replica's next request publishes it.
        tracing::warn!(tenant.id = %tenant.id, error = %e, "changes not yet published to the other replicas");
    }
    // The request's one log line (http::observe) carries the operation and its calls.
    crate::backend::trace::record(name, calls);
    tracing::debug!(tenant.id = %tenant.id, scim.op = name, tableau.calls = calls, ok = out.is_ok(), "scim operation");
    out.map_err(|e| {
        error::log_fault(&tenant.id, &e);
        ScimError::from(e)
    })
}

#[async_trait]
impl ResourceStore for Bridge {
    async fn create(&self, kind: ResourceKind, resource: Value) -> ScimResult<Value> {
        let t = &self.tenant;
        match kind {
            ResourceKind::User => op(Operation::CreateUser, t, t.create_user(resource)).await,
            ResourceKind::Group => op(Operation::CreateGroup, t, t.create_group(resource)).await,
        }
    }

    async fn get(
        &self,
        kind: ResourceKind,
        id: &str,
        projection: &Projection,
    ) -> ScimResult<Shared> {
        let t = &self.tenant;
        match kind {
            ResourceKind::User => op(Operation::GetUser, t, t.get_user(id, projection)).await,
            ResourceKind::Group => {
                let members = !projection.excludes("members");
                let group = op(Operation::GetGroup, t, t.get_group(id, members)).await?;
                Ok(Stored::new(group))
            }
        }
    }

    async fn list(&self, kind: ResourceKind, query: &ListQuery) -> ScimResult<ListPage> {
        let t = &self.tenant;
        match kind {
            ResourceKind::User => op(Operation::ListUsers, t, t.list_users(query)).await,
            ResourceKind::Group => {
                // A filter on members needs them even if the response excludes them.
                let want = !query.projection.excludes("members")
                    || query.filter.as_ref().is_some_and(|f| f.mentions("members"));
                op(Operation::ListGroups, t, t.list_groups(query, want)).await
            }
        }
    }

    async fn update(
        &self,
        kind: ResourceKind,
        id: &str,
        change: Change<'_>,
        if_match: IfMatch<'_>,
    ) -> ScimResult<Value> {
        let t = &self.tenant;
        let patch = change.is_patch();
        match kind {
            ResourceKind::User => {
                let operation = if patch {
                    Operation::PatchUser
                } else {
                    Operation::ReplaceUser
                };
                op(operation, t, t.update_user(id, change, operation, if_match)).await
            }
            ResourceKind::Group => {
                let operation = if patch {
                    Operation::PatchGroup
                } else {
                    Operation::ReplaceGroup
                };
                op(
                    operation,
                    t,
                    t.update_group(id, change, operation, if_match),
                )
                .await
            }
        }
    }

    async fn delete(&self, kind: ResourceKind, id: &str, if_match: IfMatch<'_>) -> ScimResult<()> {
        let t = &self.tenant;
        match kind {
            ResourceKind::User => op(Operation::DeleteUser, t, t.delete_user(id, if_match)).await,
            ResourceKind::Group => {
                op(Operation::DeleteGroup, t, t.delete_group(id, if_match)).await
            }
        }
    }
}

/// The files of the bridge that hold decisions and nothing else: what they may not import is
/// checked by `tests::pure_modules_import_no_io`.
pub const PURE: [&str; 21] = [
    "mapping/mod.rs",
    "mapping/resources.rs",
    "mapping/roles.rs",
    "mapping/grants.rs",
    "mapping/text_checks.rs",
    "users/plan.rs",
    "users/names.rs",
    "users/move_plan.rs",
    "users/custody_plan.rs",
    "groups/plan.rs",
    "groups/asserted.rs",
    "reconcile/findings.rs",
    "reconcile/license.rs",
    "reconcile/custody.rs",
    "reconcile/sign_in_grants.rs",
    "reconcile/summary.rs",
    "replicas/listing_diff.rs",
    "audit.rs",
    "policy.rs",
    "operation.rs",
    "safety/plan.rs",
];

#[cfg(test)]
mod tests {
    /// What a pure file may not name outside its tests: the tenant and everything that holds
    /// I/O (caches, replicas, the store's trait and its shared state, the Tableau client, the
    /// I/O files of the bridge's rooms, async runtimes and drivers).
    const IO: [&str; 19] = [
        "bridge::tenant",
        "bridge::cache",
        "bridge::replicas::Replicas",
        "bridge::site",
        "bridge::users::reads",
        "bridge::users::writes",
        "bridge::users::tableau",
        "bridge::users::sign_in_grants",
        "bridge::users::directory",
        "bridge::groups::requests",
        "bridge::groups::roles",
        "bridge::reconcile::repair",
        "store::Store",
        "store::shared",
        "TableauClient",
        "impl Tenant",
        "async fn",
        "tokio",
        "reqwest",
    ];

    #[test]
    fn pure_modules_import_no_io() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bridge");
        for file in super::PURE {
            let text =
                std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (n, line) in code.lines().enumerate() {
                let line = line.trim_start();
                if line.starts_with("//") {
                    continue;
                }
                for io in IO {
                    assert!(
                        !line.contains(io),
                        "{file}:{}: a pure module names `{io}`: {line}",
                        n + 1
                    );
                }
            }
        }
    }
}
