//! The SQL of the audit trail and of the last reconciliation.

use rusqlite::{params, Connection, OptionalExtension};

use super::super::{AuditEntry, AuditQuery, AuditRow, DriftRecord, StoreError};
use super::execute;

pub(super) fn append(
    c: &Connection,
    tenant: &str,
    at: &str,
    row: &AuditRow,
) -> Result<(), StoreError> {
    execute(
        c,
        "INSERT INTO audit (at, tenant, operation, resource, tableau_calls, role_before, role_after, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            at,
            tenant,
            row.operation,
            row.resource,
            i64::try_from(row.tableau_calls).unwrap_or(i64::MAX),
            row.role_before,
            row.role_after,
            row.outcome
        ],
    )
}

pub(super) fn trail(c: &Connection, tenant: &str) -> Result<Vec<AuditRow>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT operation, resource, tableau_calls, role_before, role_after, outcome FROM audit WHERE tenant = ?1 ORDER BY seq",
    )?;
    let rows = st
        .query_map(params![tenant], |r| {
            Ok(AuditRow {
                operation: r.get(0)?,
                resource: r.get(1)?,
                tableau_calls: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                role_before: r.get(3)?,
                role_after: r.get(4)?,
                outcome: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(super) fn write_drift(c: &Connection, tenant: &str, d: &DriftRecord) -> Result<(), StoreError> {
    execute(
        c,
        "INSERT INTO drift (tenant, at, complete, report) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (tenant) DO UPDATE SET at = ?2, complete = ?3, report = ?4",
        params![tenant, d.at, d.complete, d.report.to_string()],
    )
}

pub(super) fn read_drift(c: &Connection, tenant: &str) -> Result<Option<DriftRecord>, StoreError> {
    let row: Option<(String, bool, String)> = c
        .prepare_cached("SELECT at, complete, report FROM drift WHERE tenant = ?1")?
        .query_row(params![tenant], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    match row {
        Some((at, complete, report)) => Ok(Some(DriftRecord {
            at,
            complete,
            report: serde_json::from_str(&report)?,
        })),
        None => Ok(None),
    }
}

/// The WHERE clause of `q` and its parameters (tenant first).
fn conditions(tenant: &str, q: &AuditQuery) -> (String, Vec<String>) {
    let mut sql = String::from("tenant = ?1");
    let mut params = vec![tenant.to_string()];
    for (column, op, value) in [
        ("resource", "=", &q.resource),
        ("operation", "=", &q.operation),
        ("at", ">=", &q.since),
        ("at", "<", &q.until),
    ] {
        if let Some(v) = value {
            params.push(v.clone());
            sql.push_str(&format!(" AND {column} {op} ?{}", params.len()));
        }
    }
    (sql, params)
}

pub(super) fn entries(
    c: &Connection,
    tenant: &str,
    q: &AuditQuery,
) -> Result<(Vec<AuditEntry>, usize), StoreError> {
    let (cond, values) = conditions(tenant, q);
    let total: i64 = c
        .prepare_cached(&format!("SELECT count(*) FROM audit WHERE {cond}"))?
        .query_row(rusqlite::params_from_iter(values.iter()), |r| r.get(0))?;
    let limit = if q.limit == 0 {
        -1
    } else {
        i64::try_from(q.limit).unwrap_or(i64::MAX)
    };
    let offset = i64::try_from(q.offset).unwrap_or(i64::MAX);
    let mut st = c.prepare_cached(&format!(
        "SELECT at, operation, resource, tableau_calls, role_before, role_after, outcome FROM audit
         WHERE {cond} ORDER BY seq DESC LIMIT {limit} OFFSET {offset}"
    ))?;
    let rows = st
        .query_map(rusqlite::params_from_iter(values.iter()), |r| {
            Ok(AuditEntry {
                at: r.get(0)?,
                row: AuditRow {
                    operation: r.get(1)?,
                    resource: r.get(2)?,
                    tableau_calls: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                    role_before: r.get(4)?,
                    role_after: r.get(5)?,
                    outcome: r.get(6)?,
                },
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((rows, usize::try_from(total).unwrap_or(0)))
}

/// How many rows one pruning deletes at most: the writer commits others' writes between.
const PRUNE_BATCH: i64 = 10_000;

pub(super) fn prune(c: &Connection, before: &str) -> Result<usize, StoreError> {
    let n = c
        .prepare_cached(
            "DELETE FROM audit WHERE seq IN (SELECT seq FROM audit WHERE at < ?1 ORDER BY seq LIMIT ?2)",
        )?
        .execute(params![before, PRUNE_BATCH])?;
    Ok(n)
}
