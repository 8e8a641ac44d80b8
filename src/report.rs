//! `tableau-scim report access|audit`: the admin console's data on standard output, as CSV (the
//! console's `access.csv` and `audit.csv`) or JSON, for scripts and audits without a browser.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::export::{access_csv, audit_csv};
use crate::serve::open_tenant;
use crate::store::AuditQuery;

/// What to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Subject {
    /// Every user of the site: site role now, the role the IdP asked for, managed, active,
    /// last sign-in, groups.
    Access,
    /// The audit trail, newest first.
    Audit,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// CSV with a header line.
    Csv,
    /// One JSON array.
    Json,
}

/// The command's options.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// `access` or `audit`.
    #[arg(value_enum)]
    pub subject: Subject,
    /// The TOML configuration file (`serve`'s).
    #[arg(long, env = "TABLEAU_SCIM_CONFIG")]
    pub config: PathBuf,
    /// The tenant (may be left out when the configuration has one).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Audit only: events at or after this time (RFC 3339, or a day: 2026-11-01).
    #[arg(long)]
    pub since: Option<String>,
}

/// `--since` as the store compares times: a day is its midnight UTC.
fn since_of(text: &str) -> Result<String, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| format!("{d}T00:00:00.000Z"))
        .map_err(|_| format!("--since '{text}' is neither RFC 3339 (2026-11-01T08:00:00Z) nor a day (2026-11-01)"))
}

/// Run it: 0, or 2 with the reason on standard error.
pub async fn run(args: ReportArgs) -> ExitCode {
    match report(&args).await {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tableau-scim report: {e}");
            ExitCode::from(2)
        }
    }
}

async fn report(args: &ReportArgs) -> Result<String, String> {
    let since = args.since.as_deref().map(since_of).transpose()?;
    if since.is_some() && args.subject == Subject::Access {
        return Err(
            "--since applies to the audit trail; the access report is the site as it is now".into(),
        );
    }
    let tenant = open_tenant(&args.config, args.tenant.as_deref()).await?;
    let out = match args.subject {
        Subject::Access => {
            let entries = tenant.access().await.map_err(|e| e.to_string());
            tenant.sign_out().await;
            let entries = entries?;
            match args.format {
                Format::Csv => access_csv(&entries.iter().collect::<Vec<_>>()),
                Format::Json => {
                    serde_json::to_string_pretty(&entries).map_err(|e| e.to_string())? + "\n"
                }
            }
        }
        Subject::Audit => {
            let query = AuditQuery {
                since,
                ..AuditQuery::default()
            };
            let (rows, _) = tenant
                .audit_entries(&query)
                .await
                .map_err(|e| e.to_string())?;
            match args.format {
                Format::Csv => audit_csv(&rows),
                Format::Json => {
                    let list: Vec<serde_json::Value> = rows
                        .iter()
                        .map(|e| crate::audit_export::format::row_json(&[("time", &e.at)], &e.row))
                        .collect();
                    serde_json::to_string_pretty(&list).map_err(|e| e.to_string())? + "\n"
                }
            }
        }
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_a_time_or_a_day() {
        assert_eq!(
            since_of("2026-11-01"),
            Ok("2026-11-01T00:00:00.000Z".to_string())
        );
        assert_eq!(
            since_of("2026-11-01T10:00:00+02:00"),
            Ok("2026-11-01T08:00:00.000Z".to_string())
        );
        assert!(since_of("last week").is_err_and(|e| e.contains("neither")));
    }
}
