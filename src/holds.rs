//! `tableau-scim holds list|release|block`: the breaker of mass changes from the command line
//! (the console's holds, for an operator without a browser or for a runbook). Release and
//! block are audited with `--by`, the operator's identity.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::serve::open_tenant;

/// What to do with the holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Action {
    /// Every hold (held, released, blocked, cancelled), oldest first, and whether the breaker
    /// is open.
    List,
    /// Apply every held change, in order; the window restarts.
    Release,
    /// Discard every held change; the IdP's retries of them are answered 409.
    Block,
}

/// The command's options.
#[derive(Debug, clap::Args)]
pub struct HoldsArgs {
    /// `list`, `release` or `block`.
    #[arg(value_enum)]
    pub action: Action,
    /// The TOML configuration file (`serve`'s).
    #[arg(long, env = "TABLEAU_SCIM_CONFIG")]
    pub config: PathBuf,
    /// The tenant (may be left out when the configuration has one).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Who decides (recorded in the audit trail with each release or block).
    #[arg(long)]
    pub by: Option<String>,
}

/// Run it: 0; 1 when `list` finds the breaker open; 2 with the reason on standard error.
pub async fn run(args: HoldsArgs) -> ExitCode {
    match holds(&args).await {
        Ok((out, open)) => {
            print!("{out}");
            if open && args.action == Action::List {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("tableau-scim holds: {e}");
            ExitCode::from(2)
        }
    }
}

async fn holds(args: &HoldsArgs) -> Result<(String, bool), String> {
    let tenant = open_tenant(&args.config, args.tenant.as_deref()).await?;
    let by = || {
        args.by.clone().ok_or_else(|| {
            "release and block need --by (who decides, for the audit trail)".to_string()
        })
    };
    let mut out = String::new();
    match args.action {
        Action::List => {
            for h in tenant.holds().await.map_err(|e| e.to_string())? {
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{}{}\n",
                    h.seq,
                    h.state.as_str(),
                    h.at,
                    h.request_id,
                    h.summary,
                    h.decided_by.as_deref().unwrap_or("-"),
                    h.outcome.map(|o| format!("\t{o}")).unwrap_or_default()
                ));
            }
        }
        Action::Release => {
            for d in tenant
                .release_holds(&by()?)
                .await
                .map_err(|e| e.to_string())?
            {
                out.push_str(&format!(
                    "{}\treleased\t{}\t{}\n",
                    d.seq, d.summary, d.outcome
                ));
            }
        }
        Action::Block => {
            for d in tenant
                .block_holds(&by()?)
                .await
                .map_err(|e| e.to_string())?
            {
                out.push_str(&format!("{}\tblocked\t{}\n", d.seq, d.summary));
            }
        }
    }
    let open = tenant.breaker_open().await.map_err(|e| e.to_string())?;
    out.push_str(if open {
        "the breaker is open: changes are held\n"
    } else {
        "the breaker is closed\n"
    });
    Ok((out, open))
}
