//! Where resources live. The HTTP layer calls a [`ResourceStore`]; the Tableau-backed bridge
//! implements it for real use, and [`memory::MemoryStore`] implements it for protocol tests and
//! the protocol-only server.
//!
//! Resources cross this seam in canonical form (see [`crate::scim::resource`]): input already
//! normalised and validated by the HTTP layer, output without `schemas` or `meta.location`,
//! which the HTTP layer adds when rendering.

pub mod memory;
pub mod trace;

use async_trait::async_trait;
use serde_json::Value;

use crate::scim::change::Change;
use crate::scim::list::ListQuery;
use crate::scim::projection::Projection;
use crate::scim::schema::ResourceKind;
use crate::scim::stored::Shared;
use crate::scim::ScimResult;

pub use crate::scim::list::ListPage;

/// The time now as `meta.created` and `lastModified` write it (RFC 3339, milliseconds, UTC).
pub fn timestamp() -> String {
    crate::clock::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A version precondition from `If-Match` (RFC 7644 section 3.14).
pub type IfMatch<'a> = Option<&'a str>;

/// The operations behind `/Users` and `/Groups`.
#[async_trait]
pub trait ResourceStore: Send + Sync + 'static {
    /// Create a resource; returns it with `id` and `meta` set. 409 `uniqueness` on a taken
    /// `userName`/`displayName`.
    async fn create(&self, kind: ResourceKind, resource: Value) -> ScimResult<Value>;

    /// One resource by id; 404 when absent. The projection lets a backend skip what will not be
    /// returned (`excludedAttributes=members`) and fetch what is asked for (`attributes=groups`).
    async fn get(
        &self,
        kind: ResourceKind,
        id: &str,
        projection: &Projection,
    ) -> ScimResult<Shared>;

    /// A page of resources matching `query.filter` (already validated for `kind`).
    async fn list(&self, kind: ResourceKind, query: &ListQuery) -> ScimResult<ListPage>;

    /// Replace (PUT) or patch (PATCH) a resource; returns it as it is now.
    async fn update(
        &self,
        kind: ResourceKind,
        id: &str,
        change: Change<'_>,
        if_match: IfMatch<'_>,
    ) -> ScimResult<Value>;

    /// Delete a resource.
    async fn delete(&self, kind: ResourceKind, id: &str, if_match: IfMatch<'_>) -> ScimResult<()>;
}

/// A tenant backend's health and figures, for `/readyz` and `/metrics`. Declared here, below
/// both the HTTP layer that asks and the bridge that answers.
#[async_trait]
pub trait TenantHealth: Send + Sync {
    /// Whether it can serve now; `Err` says why not.
    async fn ready(&self) -> Result<(), String>;
    /// Publish its gauges (cache hits, license downgrades) before a scrape.
    fn export_metrics(&self) {}
}
