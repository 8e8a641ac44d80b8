//! The SQL of identity moves under way and the aliases moves leave.

use rusqlite::{params, Connection};

use super::super::moves::MoveRow;
use super::super::StoreError;
use super::execute;

pub(super) fn read_moves(c: &Connection, tenant: &str) -> Result<Vec<MoveRow>, StoreError> {
    let mut st = c.prepare_cached("SELECT body FROM user_moves WHERE tenant = ?1 ORDER BY id")?;
    let bodies = st
        .query_map(params![tenant], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    bodies
        .iter()
        .map(|b| serde_json::from_str(b).map_err(StoreError::from))
        .collect()
}

pub(super) fn write_move(c: &Connection, tenant: &str, row: &MoveRow) -> Result<(), StoreError> {
    let body = serde_json::to_string(row)?;
    execute(
        c,
        "INSERT INTO user_moves (tenant, id, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (tenant, id) DO UPDATE SET body = ?3",
        params![tenant, row.id, body],
    )
}

pub(super) fn finish_move(
    c: &Connection,
    tenant: &str,
    id: &str,
    alias: Option<&str>,
) -> Result<(), StoreError> {
    execute(
        c,
        "DELETE FROM user_moves WHERE tenant = ?1 AND id = ?2",
        params![tenant, id],
    )?;
    if let Some(to) = alias {
        execute(
            c,
            "INSERT INTO user_aliases (tenant, id, tableau_id) VALUES (?1, ?2, ?3)
             ON CONFLICT (tenant, id) DO UPDATE SET tableau_id = ?3",
            params![tenant, id, to],
        )?;
    }
    Ok(())
}

pub(super) fn read_aliases(
    c: &Connection,
    tenant: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut st = c.prepare_cached("SELECT id, tableau_id FROM user_aliases WHERE tenant = ?1")?;
    let rows = st
        .query_map(params![tenant], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
