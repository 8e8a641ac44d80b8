//! A store that records each call as a span (`store <call>`), for tracing: a decorator put
//! around the configured store only when `[server.tracing]` is on, so a server without tracing
//! pays nothing. Spans carry the call's name and the database system, never its arguments (user
//! names, e-mail addresses and tokens' digests pass through here).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tracing::Instrument;

use super::{
    AuditEntry, AuditQuery, AuditRow, DriftRecord, GroupRow, HoldRow, HoldState, MoveRow, Shared,
    Store, StoreError, UserRow,
};

/// `inner`, its calls traced.
pub struct TracedStore {
    inner: Arc<dyn Store>,
    /// `sqlite` or `postgresql` (OpenTelemetry's `db.system.name`).
    system: &'static str,
}

impl TracedStore {
    /// Trace the calls to `inner`, a store on `system` (`sqlite`, `postgresql`).
    pub fn wrap(inner: Arc<dyn Store>, system: &'static str) -> Arc<dyn Store> {
        Arc::new(TracedStore { inner, system })
    }
}

/// A debug-level span: the log's filter (`info` by default) leaves it out, the tracing layer
/// takes it (see `crate::telemetry`).
fn span(call: &'static str, system: &'static str) -> tracing::Span {
    tracing::debug_span!(
        "store",
        otel.name = %format_args!("store {call}"),
        otel.kind = "client",
        db.system.name = system,
        db.operation.name = call,
    )
}

#[async_trait]
impl Store for TracedStore {
    async fn user(&self, tenant: &str, id: &str) -> Result<Option<UserRow>, StoreError> {
        self.inner
            .user(tenant, id)
            .instrument(span("user", self.system))
            .await
    }

    async fn users(&self, tenant: &str) -> Result<Vec<UserRow>, StoreError> {
        self.inner
            .users(tenant)
            .instrument(span("users", self.system))
            .await
    }

    async fn user_rows(&self, tenant: &str, ids: &[String]) -> Result<Vec<UserRow>, StoreError> {
        self.inner
            .user_rows(tenant, ids)
            .instrument(span("user_rows", self.system))
            .await
    }

    async fn deleted_user_ids(&self, tenant: &str) -> Result<Vec<String>, StoreError> {
        self.inner
            .deleted_user_ids(tenant)
            .instrument(span("deleted_user_ids", self.system))
            .await
    }

    async fn user_ids_by_external_id(
        &self,
        tenant: &str,
        external_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        self.inner
            .user_ids_by_external_id(tenant, external_id)
            .instrument(span("user_ids_by_external_id", self.system))
            .await
    }

    async fn user_ids_by_user_name(
        &self,
        tenant: &str,
        user_name: &str,
    ) -> Result<Vec<String>, StoreError> {
        self.inner
            .user_ids_by_user_name(tenant, user_name)
            .instrument(span("user_ids_by_user_name", self.system))
            .await
    }

    async fn put_user(&self, tenant: &str, row: UserRow) -> Result<(), StoreError> {
        self.inner
            .put_user(tenant, row)
            .instrument(span("put_user", self.system))
            .await
    }

    async fn delete_user(&self, tenant: &str, id: &str) -> Result<(), StoreError> {
        self.inner
            .delete_user(tenant, id)
            .instrument(span("delete_user", self.system))
            .await
    }

    async fn group(&self, tenant: &str, id: &str) -> Result<Option<GroupRow>, StoreError> {
        self.inner
            .group(tenant, id)
            .instrument(span("group", self.system))
            .await
    }

    async fn groups(&self, tenant: &str) -> Result<Vec<GroupRow>, StoreError> {
        self.inner
            .groups(tenant)
            .instrument(span("groups", self.system))
            .await
    }

    async fn put_group(&self, tenant: &str, row: GroupRow) -> Result<(), StoreError> {
        self.inner
            .put_group(tenant, row)
            .instrument(span("put_group", self.system))
            .await
    }

    async fn delete_group(&self, tenant: &str, id: &str) -> Result<(), StoreError> {
        self.inner
            .delete_group(tenant, id)
            .instrument(span("delete_group", self.system))
            .await
    }

    async fn asserted_members(
        &self,
        tenant: &str,
        group_id: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        self.inner
            .asserted_members(tenant, group_id)
            .instrument(span("asserted_members", self.system))
            .await
    }

    async fn all_asserted_members(
        &self,
        tenant: &str,
    ) -> Result<HashMap<String, Vec<String>>, StoreError> {
        self.inner
            .all_asserted_members(tenant)
            .instrument(span("all_asserted_members", self.system))
            .await
    }

    async fn asserted_groups_of(
        &self,
        tenant: &str,
        user_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        self.inner
            .asserted_groups_of(tenant, user_id)
            .instrument(span("asserted_groups_of", self.system))
            .await
    }

    async fn change_asserted_members(
        &self,
        tenant: &str,
        group_id: &str,
        added: Vec<String>,
        removed: Vec<String>,
    ) -> Result<(), StoreError> {
        self.inner
            .change_asserted_members(tenant, group_id, added, removed)
            .instrument(span("change_asserted_members", self.system))
            .await
    }

    async fn put_drift(&self, tenant: &str, record: DriftRecord) -> Result<(), StoreError> {
        self.inner
            .put_drift(tenant, record)
            .instrument(span("put_drift", self.system))
            .await
    }

    async fn drift(&self, tenant: &str) -> Result<Option<DriftRecord>, StoreError> {
        self.inner
            .drift(tenant)
            .instrument(span("drift", self.system))
            .await
    }

    async fn moves(&self, tenant: &str) -> Result<Vec<MoveRow>, StoreError> {
        self.inner
            .moves(tenant)
            .instrument(span("moves", self.system))
            .await
    }

    async fn put_move(&self, tenant: &str, row: MoveRow) -> Result<(), StoreError> {
        self.inner
            .put_move(tenant, row)
            .instrument(span("put_move", self.system))
            .await
    }

    async fn finish_move(
        &self,
        tenant: &str,
        id: &str,
        alias: Option<&str>,
    ) -> Result<(), StoreError> {
        self.inner
            .finish_move(tenant, id, alias)
            .instrument(span("finish_move", self.system))
            .await
    }

    async fn aliases(&self, tenant: &str) -> Result<Vec<(String, String)>, StoreError> {
        self.inner
            .aliases(tenant)
            .instrument(span("aliases", self.system))
            .await
    }

    async fn safety_state(&self, tenant: &str, since_ms: i64) -> Result<(u64, u64), StoreError> {
        self.inner
            .safety_state(tenant, since_ms)
            .instrument(span("safety_state", self.system))
            .await
    }

    async fn add_safety_events(&self, tenant: &str, at_ms: i64, n: u64) -> Result<(), StoreError> {
        self.inner
            .add_safety_events(tenant, at_ms, n)
            .instrument(span("add_safety_events", self.system))
            .await
    }

    fn queue_safety_events(&self, tenant: &str, at_ms: i64, n: u64) -> bool {
        self.inner.queue_safety_events(tenant, at_ms, n)
    }

    async fn settle(&self) -> Result<(), StoreError> {
        self.inner
            .settle()
            .instrument(span("settle", self.system))
            .await
    }

    async fn clear_safety_events(&self, tenant: &str, before_ms: i64) -> Result<(), StoreError> {
        self.inner
            .clear_safety_events(tenant, before_ms)
            .instrument(span("clear_safety_events", self.system))
            .await
    }

    async fn put_hold(&self, tenant: &str, row: HoldRow) -> Result<(), StoreError> {
        self.inner
            .put_hold(tenant, row)
            .instrument(span("put_hold", self.system))
            .await
    }

    async fn holds(
        &self,
        tenant: &str,
        resource: Option<&str>,
    ) -> Result<Vec<HoldRow>, StoreError> {
        self.inner
            .holds(tenant, resource)
            .instrument(span("holds", self.system))
            .await
    }

    async fn decide_hold(
        &self,
        tenant: &str,
        seq: i64,
        state: HoldState,
        by: Option<&str>,
        outcome: Option<&str>,
    ) -> Result<(), StoreError> {
        self.inner
            .decide_hold(tenant, seq, state, by, outcome)
            .instrument(span("decide_hold", self.system))
            .await
    }

    fn audit(&self, tenant: &str, at: &str, row: AuditRow) -> Result<(), StoreError> {
        self.inner.audit(tenant, at, row)
    }

    async fn audit_trail(&self, tenant: &str) -> Result<Vec<AuditRow>, StoreError> {
        self.inner
            .audit_trail(tenant)
            .instrument(span("audit_trail", self.system))
            .await
    }

    async fn audit_entries(
        &self,
        tenant: &str,
        query: &AuditQuery,
    ) -> Result<(Vec<AuditEntry>, usize), StoreError> {
        self.inner
            .audit_entries(tenant, query)
            .instrument(span("audit_entries", self.system))
            .await
    }

    async fn prune_audit(&self, before: &str) -> Result<usize, StoreError> {
        self.inner
            .prune_audit(before)
            .instrument(span("prune_audit", self.system))
            .await
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.inner
            .ready()
            .instrument(span("ready", self.system))
            .await
    }

    fn shared(&self) -> Option<std::sync::Arc<dyn Shared>> {
        self.inner.shared()
    }
}
