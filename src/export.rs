//! The access list and the audit trail as CSV: what the console downloads and `tableau-scim
//! report` prints. Pure; cells a spreadsheet would run as formulas are defused.

use std::fmt::Write as _;

use crate::bridge::site::access::AccessEntry;
use crate::store::AuditEntry;

/// Whether a spreadsheet would read `value` as a formula: after any leading spaces, a `=`,
/// `+`, `-`, `@`, TAB or CR (OWASP, "CSV Injection": the characters that start a formula, and
/// TAB and CR, which some spreadsheets skip before looking).
pub(crate) fn formula_like(value: &str) -> bool {
    value
        .trim_start_matches(' ')
        .starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// One CSV field: quoted when it must be, and a formula defused with a leading `'` (CSV
/// injection, [`formula_like`]).
pub(crate) fn field(out: &mut String, value: &str) {
    let defused = if formula_like(value) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        let _ = write!(out, "\"{}\"", defused.replace('"', "\"\""));
    } else {
        out.push_str(&defused);
    }
}

fn line(out: &mut String, fields: &[&str]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, f);
    }
    out.push_str("\r\n");
}

/// `access.csv`.
pub fn access_csv(rows: &[&AccessEntry]) -> String {
    let mut out = String::new();
    line(
        &mut out,
        &[
            "user_name",
            "full_name",
            "site_role",
            "idp_role",
            "role_source",
            "managed",
            "active",
            "last_login",
            "provisioned",
            "groups",
            "id",
        ],
    );
    for e in rows {
        let groups = e.groups.join("; ");
        line(
            &mut out,
            &[
                &e.user_name,
                &e.full_name,
                &e.site_role,
                &e.asserted_role,
                &e.role_source,
                if e.managed { "yes" } else { "no" },
                if e.active { "yes" } else { "no" },
                &e.last_login,
                &e.provisioned,
                &groups,
                &e.id,
            ],
        );
    }
    out
}

/// `audit.csv`.
pub fn audit_csv(rows: &[AuditEntry]) -> String {
    let mut out = String::new();
    line(
        &mut out,
        &[
            "time",
            "operation",
            "resource",
            "role_before",
            "role_after",
            "outcome",
            "tableau_calls",
        ],
    );
    for e in rows {
        let r = &e.row;
        line(
            &mut out,
            &[
                &e.at,
                &r.operation,
                &r.resource,
                r.role_before.as_deref().unwrap_or_default(),
                r.role_after.as_deref().unwrap_or_default(),
                &r.outcome,
                &r.tableau_calls.to_string(),
            ],
        );
    }
    out
}
