//! The SQL of user rows.

use rusqlite::{params, Connection, OptionalExtension};

use super::super::{StoreError, UserRow};
use super::{execute, in_savepoint};

const COLUMNS: &str =
    "id, user_name, external_id, attributes, created, last_modified, restore_role, deleted, provisioned";

type RowResult = Result<UserRow, serde_json::Error>;

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RowResult> {
    let attributes: String = r.get(3)?;
    let id: String = r.get(0)?;
    let user_name: String = r.get(1)?;
    let external_id: Option<String> = r.get(2)?;
    let created: String = r.get(4)?;
    let last_modified: String = r.get(5)?;
    let restore_role: Option<String> = r.get(6)?;
    let deleted: bool = r.get(7)?;
    let provisioned: bool = r.get(8)?;
    Ok(serde_json::from_str(&attributes).map(|attributes| UserRow {
        id,
        user_name,
        external_id,
        attributes,
        created,
        last_modified,
        restore_role,
        deleted,
        provisioned,
    }))
}

pub(super) fn read_user(
    c: &Connection,
    tenant: &str,
    id: &str,
) -> Result<Option<UserRow>, StoreError> {
    let row = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM users WHERE tenant = ?1 AND id = ?2"
        ))?
        .query_row(params![tenant, id], user_from_row)
        .optional()?;
    match row {
        Some(r) => Ok(Some(r?)),
        None => Ok(None),
    }
}

pub(super) fn read_users(c: &Connection, tenant: &str) -> Result<Vec<UserRow>, StoreError> {
    let mut st = c.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE tenant = ?1"))?;
    let rows = st
        .query_map(params![tenant], user_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|r| r.map_err(StoreError::from))
        .collect()
}

pub(super) fn ids_by_external_id(
    c: &Connection,
    tenant: &str,
    ext: &str,
) -> Result<Vec<String>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT id FROM users WHERE tenant = ?1 AND external_id = ?2 AND deleted = 0",
    )?;
    let ids = st
        .query_map(params![tenant, ext], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

/// Ids per statement: SQLite's default limit of bound parameters is far above this.
const IDS_PER_QUERY: usize = 500;

pub(super) fn read_user_rows(
    c: &Connection,
    tenant: &str,
    ids: &[String],
) -> Result<Vec<UserRow>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let marks = vec!["?"; chunk.len()].join(",");
        let mut st = c.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM users WHERE tenant = ? AND id IN ({marks})"
        ))?;
        let values = std::iter::once(tenant).chain(chunk.iter().map(String::as_str));
        let rows = st
            .query_map(rusqlite::params_from_iter(values), user_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        for r in rows {
            out.push(r?);
        }
    }
    Ok(out)
}

pub(super) fn deleted_ids(c: &Connection, tenant: &str) -> Result<Vec<String>, StoreError> {
    let mut st = c.prepare_cached("SELECT id FROM users WHERE tenant = ?1 AND deleted = 1")?;
    let ids = st
        .query_map(params![tenant], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

pub(super) fn ids_by_user_name(
    c: &Connection,
    tenant: &str,
    name: &str,
) -> Result<Vec<String>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT id FROM users WHERE tenant = ?1 AND lower(user_name) = lower(?2) AND deleted = 0",
    )?;
    let ids = st
        .query_map(params![tenant, name], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

pub(super) fn write_user(c: &Connection, tenant: &str, row: &UserRow) -> Result<(), StoreError> {
    execute(
        c,
        "INSERT INTO users (tenant, id, user_name, external_id, attributes, created, last_modified, restore_role, deleted, provisioned)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (tenant, id) DO UPDATE SET user_name = ?3, external_id = ?4, attributes = ?5,
           created = ?6, last_modified = ?7, restore_role = ?8, deleted = ?9, provisioned = ?10",
        params![
            tenant,
            row.id,
            row.user_name,
            row.external_id,
            row.attributes.to_string(),
            row.created,
            row.last_modified,
            row.restore_role,
            row.deleted,
            row.provisioned,
        ],
    )
}

/// The user's row and its asserted memberships go together.
pub(super) fn remove_user(c: &Connection, tenant: &str, id: &str) -> Result<(), StoreError> {
    in_savepoint(c, |c| {
        execute(
            c,
            "DELETE FROM users WHERE tenant = ?1 AND id = ?2",
            params![tenant, id],
        )?;
        execute(
            c,
            "DELETE FROM group_members WHERE tenant = ?1 AND user_id = ?2",
            params![tenant, id],
        )
    })
}
