//! The breaker's window and holds on PostgreSQL (the SQLite store's `holds.rs`, the same
//! contract): every replica counts into one window and sees the same holds.

use super::super::holds::{HoldRow, HoldState};
use super::super::StoreError;
use super::PgStore;

impl PgStore {
    pub(super) async fn read_safety_state(
        &self,
        tenant: &str,
        since_ms: i64,
    ) -> Result<(u64, u64), StoreError> {
        let c = self.pool.get().await?;
        let r = c
            .query_one(
                &c.prepare_cached(
                    "SELECT (SELECT COALESCE(SUM(n), 0)::BIGINT FROM safety_minutes WHERE tenant = $1 AND minute >= $2),
                            (SELECT COUNT(*) FROM holds WHERE tenant = $1 AND state = 'held' AND operation <> 'grant_admin')",
                )
                .await?,
                &[&tenant, &since_ms.div_euclid(60_000)],
            )
            .await?;
        let (events, held): (i64, i64) = (r.get(0), r.get(1));
        Ok((
            u64::try_from(events).unwrap_or(0),
            u64::try_from(held).unwrap_or(0),
        ))
    }

    pub(super) async fn exec(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<(), StoreError> {
        let c = self.pool.get().await?;
        c.execute(&c.prepare_cached(sql).await?, params).await?;
        Ok(())
    }

    pub(super) async fn insert_hold(&self, tenant: &str, h: &HoldRow) -> Result<(), StoreError> {
        let change = h.change.to_string();
        self.exec(
            "INSERT INTO holds (tenant, kind, resource, name, operation, summary, change, fingerprint,
                role_before, role_after, request_id, at, state, decided_by, outcome)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            &[
                &tenant,
                &h.kind,
                &h.resource,
                &h.name,
                &h.operation,
                &h.summary,
                &change,
                &h.fingerprint,
                &h.role_before,
                &h.role_after,
                &h.request_id,
                &h.at,
                &h.state.as_str(),
                &h.decided_by,
                &h.outcome,
            ],
        )
        .await
    }

    pub(super) async fn read_holds(
        &self,
        tenant: &str,
        resource: Option<&str>,
    ) -> Result<Vec<HoldRow>, StoreError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                &c.prepare_cached(
                    "SELECT seq, kind, resource, name, operation, summary, change, fingerprint,
                        role_before, role_after, request_id, at, state, decided_by, outcome
                     FROM holds WHERE tenant = $1 AND ($2::TEXT IS NULL OR resource = $2)
                     ORDER BY seq",
                )
                .await?,
                &[&tenant, &resource],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let state: String = r.get(12);
                let change: String = r.get(6);
                Ok(HoldRow {
                    seq: r.get(0),
                    kind: r.get(1),
                    resource: r.get(2),
                    name: r.get(3),
                    operation: r.get(4),
                    summary: r.get(5),
                    change: serde_json::from_str(&change)?,
                    fingerprint: r.get(7),
                    role_before: r.get(8),
                    role_after: r.get(9),
                    request_id: r.get(10),
                    at: r.get(11),
                    state: HoldState::parse(&state).ok_or_else(|| {
                        StoreError::Postgres(format!("hold: unknown state '{state}'"))
                    })?,
                    decided_by: r.get(13),
                    outcome: r.get(14),
                })
            })
            .collect()
    }
}
