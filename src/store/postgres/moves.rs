//! Identity moves under way and the aliases they leave, on PostgreSQL (the SQLite store's
//! `moves.rs`, the same contract).

use super::super::moves::MoveRow;
use super::super::StoreError;
use super::PgStore;

impl PgStore {
    pub(super) async fn read_moves(&self, tenant: &str) -> Result<Vec<MoveRow>, StoreError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                &c.prepare_cached("SELECT body FROM user_moves WHERE tenant = $1 ORDER BY id")
                    .await?,
                &[&tenant],
            )
            .await?;
        rows.iter()
            .map(|r| serde_json::from_str(r.get::<_, &str>(0)).map_err(StoreError::from))
            .collect()
    }

    pub(super) async fn write_move(&self, tenant: &str, row: &MoveRow) -> Result<(), StoreError> {
        let body = serde_json::to_string(row)?;
        let c = self.pool.get().await?;
        c.execute(
            &c.prepare_cached(
                "INSERT INTO user_moves (tenant, id, body) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant, id) DO UPDATE SET body = $3",
            )
            .await?,
            &[&tenant, &row.id, &body],
        )
        .await?;
        Ok(())
    }

    pub(super) async fn end_move(
        &self,
        tenant: &str,
        id: &str,
        alias: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "DELETE FROM user_moves WHERE tenant = $1 AND id = $2",
            &[&tenant, &id],
        )
        .await?;
        if let Some(to) = alias {
            tx.execute(
                "INSERT INTO user_aliases (tenant, id, tableau_id) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant, id) DO UPDATE SET tableau_id = $3",
                &[&tenant, &id, &to],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn read_aliases(
        &self,
        tenant: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                &c.prepare_cached("SELECT id, tableau_id FROM user_aliases WHERE tenant = $1")
                    .await?,
                &[&tenant],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}
