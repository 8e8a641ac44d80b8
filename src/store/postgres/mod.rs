//! The PostgreSQL store, for several replicas on one database: the same data and contract as
//! the SQLite store ([`super::Store`]), over a connection pool (deadpool-postgres over
//! tokio-postgres). A write of several statements is one transaction; audit rows are queued to
//! one task that inserts what has queued up in one transaction (as the SQLite writer does).
//!
//! Here the [`Store`] methods; the pools and connecting in `connect`, the migrations in
//! `schema`, the audit queue in `audit_queue`, what replicas share in `shared`.

mod audit_queue;
mod budget;
mod connect;
mod holds;
mod moves;
mod schema;
mod shared;
pub mod tls;

use std::collections::HashMap;

use async_trait::async_trait;
use tokio_postgres::Row;

use super::holds::{HoldRow, HoldState};
use super::moves::MoveRow;
use super::{AuditEntry, AuditQuery, AuditRow, DriftRecord, GroupRow, Store, StoreError, UserRow};
pub use connect::PgStore;
pub use shared::PgShared;

fn user_of(r: &Row) -> Result<UserRow, StoreError> {
    let attributes: String = r.get(3);
    Ok(UserRow {
        id: r.get(0),
        user_name: r.get(1),
        external_id: r.get(2),
        attributes: serde_json::from_str(&attributes)?,
        created: r.get(4),
        last_modified: r.get(5),
        restore_role: r.get(6),
        deleted: r.get(7),
        provisioned: r.get(8),
    })
}

fn group_of(r: &Row) -> GroupRow {
    GroupRow {
        id: r.get(0),
        display_name: r.get(1),
        external_id: r.get(2),
        created: r.get(3),
        last_modified: r.get(4),
    }
}

const USER_COLUMNS: &str =
    "id, user_name, external_id, attributes, created, last_modified, restore_role, deleted, provisioned";
const GROUP_COLUMNS: &str = "id, display_name, external_id, created, last_modified";

#[async_trait]
impl Store for PgStore {
    async fn user(&self, tenant: &str, id: &str) -> Result<Option<UserRow>, StoreError> {
        let c = self.pool.get().await?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE tenant = $1 AND id = $2");
        c.query_opt(&c.prepare_cached(&sql).await?, &[&tenant, &id])
            .await?
            .map(|r| user_of(&r))
            .transpose()
    }

    async fn users(&self, tenant: &str) -> Result<Vec<UserRow>, StoreError> {
        let c = self.pool.get().await?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE tenant = $1");
        c.query(&c.prepare_cached(&sql).await?, &[&tenant])
            .await?
            .iter()
            .map(user_of)
            .collect()
    }

    async fn user_rows(&self, tenant: &str, ids: &[String]) -> Result<Vec<UserRow>, StoreError> {
        let c = self.pool.get().await?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE tenant = $1 AND id = ANY($2)");
        c.query(&c.prepare_cached(&sql).await?, &[&tenant, &ids])
            .await?
            .iter()
            .map(user_of)
            .collect()
    }

    async fn deleted_user_ids(&self, tenant: &str) -> Result<Vec<String>, StoreError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                &c.prepare_cached("SELECT id FROM users WHERE tenant = $1 AND deleted")
                    .await?,
                &[&tenant],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn user_ids_by_external_id(
        &self,
        tenant: &str,
        external_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                &c.prepare_cached(
                    "SELECT id FROM users WHERE tenant = $1 AND external_id = $2 AND NOT deleted",
                )
                .await?,
                &[&tenant, &external_id],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn user_ids_by_user_name(
        &self,
        tenant: &str,
        user_name: &str,
    ) -> Result<Vec<String>, StoreError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                &c.prepare_cached(
                    "SELECT id FROM users WHERE tenant = $1 AND lower(user_name) = lower($2) AND NOT deleted",
                )
                .await?,
                &[&tenant, &user_name],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn put_user(&self, tenant: &str, row: UserRow) -> Result<(), StoreError> {
        let c = self.pool.get().await?;
        c.execute(
            &c.prepare_cached("INSERT INTO users (tenant, id, user_name, external_id, attributes, created, last_modified, restore_role, deleted, provisioned)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (tenant, id) DO UPDATE SET user_name = $3, external_id = $4, attributes = $5,
               created = $6, last_modified = $7, restore_role = $8, deleted = $9, provisioned = $10").await?,
            &[
                &tenant,
                &row.id,
                &row.user_name,
                &row.external_id,
                &row.attributes.to_string(),
                &row.created,
                &row.last_modified,
                &row.restore_role,
                &row.deleted,
                &row.provisioned,
            ],
        )
        .await?;
        Ok(())
    }

    async fn delete_user(&self, tenant: &str, id: &str) -> Result<(), StoreError> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        tx.execute(
            &tx.prepare_cached("DELETE FROM users WHERE tenant = $1 AND id = $2")
                .await?,
            &[&tenant, &id],
        )
        .await?;
        tx.execute(
            &tx.prepare_cached("DELETE FROM group_members WHERE tenant = $1 AND user_id = $2")
                .await?,
            &[&tenant, &id],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn group(&self, tenant: &str, id: &str) -> Result<Option<GroupRow>, StoreError> {
        let c = self.pool.get().await?;
        let sql = format!("SELECT {GROUP_COLUMNS} FROM groups WHERE tenant = $1 AND id = $2");
        Ok(c.query_opt(&c.prepare_cached(&sql).await?, &[&tenant, &id])
            .await?
            .map(|r| group_of(&r)))
    }

    async fn groups(&self, tenant: &str) -> Result<Vec<GroupRow>, StoreError> {
        let c = self.pool.get().await?;
        let sql = format!("SELECT {GROUP_COLUMNS} FROM groups WHERE tenant = $1");
        Ok(c.query(&c.prepare_cached(&sql).await?, &[&tenant])
            .await?
            .iter()
            .map(group_of)
            .collect())
    }

    async fn put_group(&self, tenant: &str, row: GroupRow) -> Result<(), StoreError> {
        let c = self.pool.get().await?;
        c.execute(
            &c.prepare_cached("INSERT INTO groups (tenant, id, display_name, external_id, created, last_modified) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (tenant, id) DO UPDATE SET display_name = $3, external_id = $4, created = $5, last_modified = $6").await?,
            &[&tenant, &row.id, &row.display_name, &row.external_id, &row.created, &row.last_modified],
        )
        .await?;
        Ok(())
    }

    async fn delete_group(&self, tenant: &str, id: &str) -> Result<(), StoreError> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        for sql in [
            "DELETE FROM groups WHERE tenant = $1 AND id = $2",
            "DELETE FROM group_members WHERE tenant = $1 AND group_id = $2",
            "DELETE FROM members_known WHERE tenant = $1 AND group_id = $2",
        ] {
            tx.execute(&tx.prepare_cached(sql).await?, &[&tenant, &id])
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn asserted_members(
        &self,
        tenant: &str,
        group_id: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let c = self.pool.get().await?;
        let known = c
            .query_opt(
                &c.prepare_cached(
                    "SELECT 1 FROM members_known WHERE tenant = $1 AND group_id = $2",
                )
                .await?,
                &[&tenant, &group_id],
            )
            .await?;
        if known.is_none() {
            return Ok(None);
        }
        let rows = c
            .query(
                &c.prepare_cached(
                    "SELECT user_id FROM group_members WHERE tenant = $1 AND group_id = $2",
                )
                .await?,
                &[&tenant, &group_id],
            )
            .await?;
        Ok(Some(rows.iter().map(|r| r.get(0)).collect()))
    }

    async fn all_asserted_members(
        &self,
        tenant: &str,
    ) -> Result<HashMap<String, Vec<String>>, StoreError> {
        let c = self.pool.get().await?;
        let mut out: HashMap<String, Vec<String>> = c
            .query(
                &c.prepare_cached("SELECT group_id FROM members_known WHERE tenant = $1")
                    .await?,
                &[&tenant],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), Vec::new()))
            .collect();
        for r in c
            .query(
                &c.prepare_cached("SELECT group_id, user_id FROM group_members WHERE tenant = $1")
                    .await?,
                &[&tenant],
            )
            .await?
        {
            let g: String = r.get(0);
            if let Some(m) = out.get_mut(&g) {
                m.push(r.get(1));
            }
        }
        Ok(out)
    }

    async fn asserted_groups_of(
        &self,
        tenant: &str,
        user_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                &c.prepare_cached("SELECT m.group_id FROM group_members m JOIN members_known k ON k.tenant = m.tenant AND k.group_id = m.group_id
                 WHERE m.tenant = $1 AND m.user_id = $2").await?,
                &[&tenant, &user_id],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn change_asserted_members(
        &self,
        tenant: &str,
        group_id: &str,
        added: Vec<String>,
        removed: Vec<String>,
    ) -> Result<(), StoreError> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        // Whole lists in one statement each: a 10,000-member group costs two round trips.
        tx.execute(
            &tx.prepare_cached("DELETE FROM group_members WHERE tenant = $1 AND group_id = $2 AND user_id = ANY($3)").await?,
            &[&tenant, &group_id, &removed],
        )
        .await?;
        tx.execute(
            &tx.prepare_cached("INSERT INTO group_members (tenant, group_id, user_id) SELECT $1, $2, u FROM unnest($3::text[]) AS u
             ON CONFLICT DO NOTHING").await?,
            &[&tenant, &group_id, &added],
        )
        .await?;
        tx.execute(
            &tx.prepare_cached("INSERT INTO members_known (tenant, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING").await?,
            &[&tenant, &group_id],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn moves(&self, tenant: &str) -> Result<Vec<MoveRow>, StoreError> {
        self.read_moves(tenant).await
    }

    async fn put_move(&self, tenant: &str, row: MoveRow) -> Result<(), StoreError> {
        self.write_move(tenant, &row).await
    }

    async fn finish_move(
        &self,
        tenant: &str,
        id: &str,
        alias: Option<&str>,
    ) -> Result<(), StoreError> {
        self.end_move(tenant, id, alias).await
    }

    async fn aliases(&self, tenant: &str) -> Result<Vec<(String, String)>, StoreError> {
        self.read_aliases(tenant).await
    }

    async fn safety_state(&self, tenant: &str, since_ms: i64) -> Result<(u64, u64), StoreError> {
        self.read_safety_state(tenant, since_ms).await
    }

    async fn add_safety_events(&self, tenant: &str, at_ms: i64, n: u64) -> Result<(), StoreError> {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        self.exec(
            "INSERT INTO safety_minutes (tenant, minute, n) VALUES ($1, $2, $3)
             ON CONFLICT (tenant, minute) DO UPDATE SET n = safety_minutes.n + excluded.n",
            &[&tenant, &at_ms.div_euclid(60_000), &n],
        )
        .await
    }

    async fn clear_safety_events(&self, tenant: &str, before_ms: i64) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM safety_minutes WHERE tenant = $1 AND minute <= $2",
            &[&tenant, &before_ms.div_euclid(60_000)],
        )
        .await
    }

    async fn put_hold(&self, tenant: &str, row: HoldRow) -> Result<(), StoreError> {
        self.insert_hold(tenant, &row).await
    }

    async fn holds(
        &self,
        tenant: &str,
        resource: Option<&str>,
    ) -> Result<Vec<HoldRow>, StoreError> {
        self.read_holds(tenant, resource).await
    }

    async fn decide_hold(
        &self,
        tenant: &str,
        seq: i64,
        state: HoldState,
        by: Option<&str>,
        outcome: Option<&str>,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE holds SET state = $3, decided_by = COALESCE($4, decided_by), outcome = $5
             WHERE tenant = $1 AND seq = $2",
            &[&tenant, &seq, &state.as_str(), &by, &outcome],
        )
        .await
    }

    async fn put_drift(&self, tenant: &str, record: DriftRecord) -> Result<(), StoreError> {
        let c = self.pool.get().await?;
        c.execute(
            &c.prepare_cached(
                "INSERT INTO drift (tenant, at, complete, report) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant) DO UPDATE SET at = $2, complete = $3, report = $4",
            )
            .await?,
            &[
                &tenant,
                &record.at,
                &record.complete,
                &record.report.to_string(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn drift(&self, tenant: &str) -> Result<Option<DriftRecord>, StoreError> {
        let c = self.pool.get().await?;
        let Some(r) = c
            .query_opt(
                &c.prepare_cached("SELECT at, complete, report FROM drift WHERE tenant = $1")
                    .await?,
                &[&tenant],
            )
            .await?
        else {
            return Ok(None);
        };
        let report: String = r.get(2);
        Ok(Some(DriftRecord {
            at: r.get(0),
            complete: r.get(1),
            report: serde_json::from_str(&report)?,
        }))
    }

    fn audit(&self, tenant: &str, at: &str, row: AuditRow) -> Result<(), StoreError> {
        self.audit.push(tenant, at, row)
    }

    async fn audit_trail(&self, tenant: &str) -> Result<Vec<AuditRow>, StoreError> {
        let (entries, _) = self.audit_entries(tenant, &AuditQuery::default()).await?;
        Ok(entries.into_iter().rev().map(|e| e.row).collect())
    }

    async fn audit_entries(
        &self,
        tenant: &str,
        q: &AuditQuery,
    ) -> Result<(Vec<AuditEntry>, usize), StoreError> {
        self.audit.flush().await?;
        let c = self.pool.get().await?;
        // NULL parameters match everything: one statement for every combination of filters.
        let cond = "tenant = $1 AND ($2::text IS NULL OR resource = $2) AND ($3::text IS NULL OR operation = $3)
                    AND ($4::text IS NULL OR at >= $4) AND ($5::text IS NULL OR at < $5)";
        let total: i64 = c
            .query_one(
                &c.prepare_cached(&format!("SELECT count(*) FROM audit WHERE {cond}"))
                    .await?,
                &[&tenant, &q.resource, &q.operation, &q.since, &q.until],
            )
            .await?
            .get(0);
        let limit: Option<i64> = (q.limit > 0).then(|| i64::try_from(q.limit).unwrap_or(i64::MAX));
        let offset = i64::try_from(q.offset).unwrap_or(i64::MAX);
        let rows = c
            .query(
                &c.prepare_cached(&format!(
                    "SELECT at, operation, resource, tableau_calls, role_before, role_after, outcome FROM audit
                     WHERE {cond} ORDER BY seq DESC LIMIT $6 OFFSET $7"
                )).await?,
                &[&tenant, &q.resource, &q.operation, &q.since, &q.until, &limit, &offset],
            )
            .await?;
        let entries = rows
            .iter()
            .map(|r| AuditEntry {
                at: r.get(0),
                row: AuditRow {
                    operation: r.get(1),
                    resource: r.get(2),
                    tableau_calls: u64::try_from(r.get::<_, i64>(3)).unwrap_or(0),
                    role_before: r.get(4),
                    role_after: r.get(5),
                    outcome: r.get(6),
                },
            })
            .collect();
        Ok((entries, usize::try_from(total).unwrap_or(0)))
    }

    fn shared(&self) -> Option<std::sync::Arc<dyn super::Shared>> {
        Some(self.shared.clone())
    }

    async fn ready(&self) -> Result<(), StoreError> {
        let c = self.pool.get().await?;
        c.query_one(&c.prepare_cached("SELECT 1").await?, &[])
            .await?;
        Ok(())
    }

    async fn prune_audit(&self, before: &str) -> Result<usize, StoreError> {
        let c = self.pool.get().await?;
        let mut total = 0;
        loop {
            let n = c
                .execute(
                    &c.prepare_cached("DELETE FROM audit WHERE seq IN (SELECT seq FROM audit WHERE at < $1 ORDER BY seq LIMIT 10000)").await?,
                    &[&before],
                )
                .await?;
            total += usize::try_from(n).unwrap_or(0);
            if n == 0 {
                return Ok(total);
            }
        }
    }
}
