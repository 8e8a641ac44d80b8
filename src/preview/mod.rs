//! `tableau-scim preview --config F --from FILE`: what a file of SCIM requests would do in
//! Tableau, call by call, with its impact, changing nothing. The tenant's site is read (users,
//! groups and their members, content owners: reads only) into an emulated copy with the
//! site's own ids; the store is copied into a temporary one; the requests are played, in
//! order, through the tenant's own configuration served on loopback, against the copy. So the
//! calls printed are the calls this bridge makes, decided by the code that would make them.

mod impact;
pub mod intended;
mod play;
mod render;
pub mod transcript;

use std::path::PathBuf;
use std::process::ExitCode;

pub use impact::{impact, Impact, Person, SiteView};
pub use play::{Outcome, Played, Preview};

/// How the preview is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PreviewFormat {
    /// For a person.
    Text,
    /// One JSON document.
    Json,
}

/// The command's options.
#[derive(Debug, clap::Args)]
pub struct PreviewArgs {
    /// The TOML configuration file (`serve`'s).
    #[arg(long, env = "TABLEAU_SCIM_CONFIG")]
    pub config: PathBuf,
    /// The tenant (may be left out when the configuration has one).
    #[arg(long)]
    pub tenant: Option<String>,
    /// The SCIM requests (JSON lines or a JSON array of `{"method", "path", "body"}`), or a
    /// CSV of the intended state (`userName`, `active`, `displayName`, `email`, `role`,
    /// `groups`: see docs/preview.md).
    #[arg(long)]
    pub from: PathBuf,
    /// Play without the breaker of mass changes: every change applied, however many. By
    /// default the tenant's `[tenants.safety]` applies (its window starting empty), so the
    /// preview shows where the breaker would hold changes.
    #[arg(long)]
    pub no_breaker: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: PreviewFormat,
}

/// The largest transcript file read (bytes).
pub const MAX_FILE: u64 = 256 * 1024 * 1024;

/// Run it: 0 when every request would succeed; 1 when some would be refused or held; 2 with
/// the reason on standard error when the preview could not run.
pub async fn run(args: PreviewArgs) -> ExitCode {
    let fail = |e: String| {
        eprintln!("tableau-scim preview: {e}");
        ExitCode::from(2)
    };
    let text = match read_bounded(&args.from) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let source = match transcript::source(&text) {
        Ok(r) => r,
        Err(e) => return fail(format!("{}: {e}", args.from.display())),
    };
    let preview = match play::preview(
        &args.config,
        args.tenant.as_deref(),
        &source,
        !args.no_breaker,
    )
    .await
    {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    match args.format {
        PreviewFormat::Text => print!("{}", render::text(&preview)),
        PreviewFormat::Json => match serde_json::to_string_pretty(&preview) {
            Ok(j) => println!("{j}"),
            Err(e) => return fail(e.to_string()),
        },
    }
    if preview.played.iter().all(|p| p.status < 400) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn read_bounded(path: &std::path::Path) -> Result<String, String> {
    let shown = path.display();
    let len = std::fs::metadata(path)
        .map_err(|e| format!("{shown}: {e}"))?
        .len();
    if len > MAX_FILE {
        return Err(format!("{shown}: larger than {MAX_FILE} bytes; split it"));
    }
    std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))
}
