//! The SQL of the breaker's window and holds.

use rusqlite::{params, Connection};

use super::super::holds::{HoldRow, HoldState};
use super::super::StoreError;
use super::execute;

pub(super) fn add_events(
    c: &Connection,
    tenant: &str,
    at_ms: i64,
    n: u64,
) -> Result<(), StoreError> {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    execute(
        c,
        "INSERT INTO safety_minutes (tenant, minute, n) VALUES (?1, ?2, ?3)
         ON CONFLICT (tenant, minute) DO UPDATE SET n = n + excluded.n",
        params![tenant, at_ms.div_euclid(60_000), n],
    )
}

pub(super) fn state(c: &Connection, tenant: &str, since_ms: i64) -> Result<(u64, u64), StoreError> {
    let (events, held): (i64, i64) = c
        .prepare_cached(
            "SELECT (SELECT COALESCE(SUM(n), 0) FROM safety_minutes WHERE tenant = ?1 AND minute >= ?2),
                    (SELECT COUNT(*) FROM holds WHERE tenant = ?1 AND state = 'held' AND operation <> 'grant_admin')",
        )?
        .query_row(params![tenant, since_ms.div_euclid(60_000)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    Ok((
        u64::try_from(events).unwrap_or(0),
        u64::try_from(held).unwrap_or(0),
    ))
}

pub(super) fn clear_events(c: &Connection, tenant: &str, before_ms: i64) -> Result<(), StoreError> {
    execute(
        c,
        "DELETE FROM safety_minutes WHERE tenant = ?1 AND minute <= ?2",
        params![tenant, before_ms.div_euclid(60_000)],
    )
}

pub(super) fn insert_hold(c: &Connection, tenant: &str, h: &HoldRow) -> Result<(), StoreError> {
    execute(
        c,
        "INSERT INTO holds (tenant, kind, resource, name, operation, summary, change, fingerprint,
            role_before, role_after, request_id, at, state, decided_by, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            tenant,
            h.kind,
            h.resource,
            h.name,
            h.operation,
            h.summary,
            h.change.to_string(),
            h.fingerprint,
            h.role_before,
            h.role_after,
            h.request_id,
            h.at,
            h.state.as_str(),
            h.decided_by,
            h.outcome
        ],
    )
}

pub(super) fn read_holds(
    c: &Connection,
    tenant: &str,
    resource: Option<&str>,
) -> Result<Vec<HoldRow>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT seq, kind, resource, name, operation, summary, change, fingerprint, role_before,
            role_after, request_id, at, state, decided_by, outcome
         FROM holds WHERE tenant = ?1 AND (?2 IS NULL OR resource = ?2) ORDER BY seq",
    )?;
    let rows = st
        .query_map(params![tenant, resource], |r| {
            Ok((
                HoldRow {
                    seq: r.get(0)?,
                    kind: r.get(1)?,
                    resource: r.get(2)?,
                    name: r.get(3)?,
                    operation: r.get(4)?,
                    summary: r.get(5)?,
                    change: serde_json::Value::Null,
                    fingerprint: r.get(7)?,
                    role_before: r.get(8)?,
                    role_after: r.get(9)?,
                    request_id: r.get(10)?,
                    at: r.get(11)?,
                    state: HoldState::Held,
                    decided_by: r.get(13)?,
                    outcome: r.get(14)?,
                },
                r.get::<_, String>(6)?,
                r.get::<_, String>(12)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(mut h, change, state)| {
            h.change = serde_json::from_str(&change)?;
            h.state = HoldState::parse(&state).ok_or_else(|| {
                StoreError::Task(format!("hold {}: unknown state '{state}'", h.seq))
            })?;
            Ok(h)
        })
        .collect()
}

pub(super) fn decide(
    c: &Connection,
    tenant: &str,
    seq: i64,
    state: HoldState,
    by: Option<&str>,
    outcome: Option<&str>,
) -> Result<(), StoreError> {
    execute(
        c,
        "UPDATE holds SET state = ?3, decided_by = COALESCE(?4, decided_by), outcome = ?5
         WHERE tenant = ?1 AND seq = ?2",
        params![tenant, seq, state.as_str(), by, outcome],
    )
}
