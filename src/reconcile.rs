//! `tableau-scim reconcile`: compare one tenant's Tableau site with what the IdP last asserted
//! through us, report each difference by kind, and with `--apply` repair what can be repaired.
//! Exit status 0: no drift; 1: drift found (or left: unrepairable kinds); 2: an error, or a run
//! cut short. Safe beside a running `serve` on the same store (SQLite serialises the writers).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::bridge::reconcile::{Options, Progress, Silent};
use crate::serve::open_tenant;

/// How the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// For a person.
    Text,
    /// One JSON document (the same the store keeps).
    Json,
}

/// The command's options.
#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    /// The TOML configuration file (`serve`'s).
    #[arg(long, env = "TABLEAU_SCIM_CONFIG")]
    pub config: PathBuf,
    /// The tenant to reconcile (may be left out when the configuration has one).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Repair role drift, access leaks and membership drift (one Tableau call each). Without
    /// it, nothing in Tableau changes.
    #[arg(long)]
    pub apply: bool,
    /// With --apply, add missing users again (they get new ids).
    #[arg(long, requires = "apply")]
    pub recreate_missing: bool,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
}

/// The exit status of a run that could not start.
const ERROR: u8 = 2;

/// Run it.
pub async fn run(args: ReconcileArgs) -> ExitCode {
    let fail = |e: String| {
        eprintln!("tableau-scim reconcile: {e}");
        ExitCode::from(ERROR)
    };
    let tenant = match open_tenant(&args.config, args.tenant.as_deref()).await {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let opts = Options {
        apply: args.apply,
        recreate_missing: args.recreate_missing,
    };
    let report = if std::io::stderr().is_terminal() {
        let bar = Bar::new();
        let r = tenant.reconcile(opts, &bar).await;
        bar.0.finish_and_clear();
        r
    } else {
        tenant.reconcile(opts, &Silent).await
    };
    // Replicas serving this tenant hear of the repairs now, not when their caches expire.
    if let Err(e) = tenant.publish_changes().await {
        tracing::warn!(error = %e, "the repairs' cache changes were not published to serve");
    }
    tenant.sign_out().await;
    match args.format {
        ReportFormat::Text => print!("{}", report.to_text()),
        ReportFormat::Json => match serde_json::to_string_pretty(&report) {
            Ok(j) => println!("{j}"),
            Err(e) => return fail(e.to_string()),
        },
    }
    ExitCode::from(report.exit_code())
}

/// A progress bar on standard error (only on a terminal: a pipe or a log gets none).
struct Bar(ProgressBar);

impl Bar {
    fn new() -> Bar {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.enable_steady_tick(Duration::from_millis(120));
        Bar(bar)
    }
}

impl Progress for Bar {
    fn stage(&self, what: &'static str, steps: Option<u64>) {
        let style = match steps {
            Some(n) => {
                self.0.set_length(n);
                self.0.set_position(0);
                ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")
            }
            None => ProgressStyle::with_template("{spinner} {msg} ({elapsed})"),
        };
        if let Ok(style) = style {
            self.0.set_style(style.progress_chars("=> "));
        }
        self.0.set_message(what);
    }

    fn step(&self) {
        self.0.inc(1);
    }
}
