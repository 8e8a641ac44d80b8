//! The SQL of the audit trail and of the last reconciliation.

use rusqlite::{params, Connection, OptionalExtension};

use super::super::{AuditRow, DriftRecord, StoreError};
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
