//! The SQL of group rows and of the members the IdP asserted for each group.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};

use super::super::{GroupRow, StoreError};
use super::{execute, in_savepoint};

fn group_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<GroupRow> {
    Ok(GroupRow {
        id: r.get(0)?,
        display_name: r.get(1)?,
        external_id: r.get(2)?,
        created: r.get(3)?,
        last_modified: r.get(4)?,
    })
}

pub(super) fn read_group(
    c: &Connection,
    tenant: &str,
    id: &str,
) -> Result<Option<GroupRow>, StoreError> {
    Ok(c
        .prepare_cached(
            "SELECT id, display_name, external_id, created, last_modified FROM groups WHERE tenant = ?1 AND id = ?2",
        )?
        .query_row(params![tenant, id], group_from_row)
        .optional()?)
}

pub(super) fn read_groups(c: &Connection, tenant: &str) -> Result<Vec<GroupRow>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT id, display_name, external_id, created, last_modified FROM groups WHERE tenant = ?1",
    )?;
    let rows = st
        .query_map(params![tenant], group_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(super) fn write_group(c: &Connection, tenant: &str, row: &GroupRow) -> Result<(), StoreError> {
    execute(
        c,
        "INSERT INTO groups (tenant, id, display_name, external_id, created, last_modified) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (tenant, id) DO UPDATE SET display_name = ?3, external_id = ?4, created = ?5, last_modified = ?6",
        params![tenant, row.id, row.display_name, row.external_id, row.created, row.last_modified],
    )
}

pub(super) fn remove_group(c: &Connection, tenant: &str, id: &str) -> Result<(), StoreError> {
    in_savepoint(c, |c| {
        execute(
            c,
            "DELETE FROM groups WHERE tenant = ?1 AND id = ?2",
            params![tenant, id],
        )?;
        execute(
            c,
            "DELETE FROM group_members WHERE tenant = ?1 AND group_id = ?2",
            params![tenant, id],
        )?;
        execute(
            c,
            "DELETE FROM members_known WHERE tenant = ?1 AND group_id = ?2",
            params![tenant, id],
        )
    })
}

pub(super) fn read_members(
    c: &Connection,
    tenant: &str,
    group_id: &str,
) -> Result<Option<Vec<String>>, StoreError> {
    let known: Option<i64> = c
        .prepare_cached("SELECT 1 FROM members_known WHERE tenant = ?1 AND group_id = ?2")?
        .query_row(params![tenant, group_id], |r| r.get(0))
        .optional()?;
    if known.is_none() {
        return Ok(None);
    }
    let mut st =
        c.prepare_cached("SELECT user_id FROM group_members WHERE tenant = ?1 AND group_id = ?2")?;
    let ids = st
        .query_map(params![tenant, group_id], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(Some(ids))
}

pub(super) fn read_all_members(
    c: &Connection,
    tenant: &str,
) -> Result<HashMap<String, Vec<String>>, StoreError> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let mut known = c.prepare_cached("SELECT group_id FROM members_known WHERE tenant = ?1")?;
    for id in known.query_map(params![tenant], |r| r.get::<_, String>(0))? {
        out.insert(id?, Vec::new());
    }
    let mut st =
        c.prepare_cached("SELECT group_id, user_id FROM group_members WHERE tenant = ?1")?;
    for pair in st.query_map(params![tenant], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })? {
        let (g, u) = pair?;
        if let Some(members) = out.get_mut(&g) {
            members.push(u);
        }
    }
    Ok(out)
}

pub(super) fn read_groups_of(
    c: &Connection,
    tenant: &str,
    user_id: &str,
) -> Result<Vec<String>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT m.group_id FROM group_members m JOIN members_known k ON k.tenant = m.tenant AND k.group_id = m.group_id
         WHERE m.tenant = ?1 AND m.user_id = ?2",
    )?;
    let ids = st
        .query_map(params![tenant, user_id], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

pub(super) fn change_members(
    c: &Connection,
    tenant: &str,
    group_id: &str,
    added: &[String],
    removed: &[String],
) -> Result<(), StoreError> {
    in_savepoint(c, |c| {
        for u in removed {
            execute(
                c,
                "DELETE FROM group_members WHERE tenant = ?1 AND group_id = ?2 AND user_id = ?3",
                params![tenant, group_id, u],
            )?;
        }
        for u in added {
            execute(
                c,
                "INSERT OR IGNORE INTO group_members (tenant, group_id, user_id) VALUES (?1, ?2, ?3)",
                params![tenant, group_id, u],
            )?;
        }
        execute(
            c,
            "INSERT OR IGNORE INTO members_known (tenant, group_id) VALUES (?1, ?2)",
            params![tenant, group_id],
        )
    })
}
