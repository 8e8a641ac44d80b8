//! The `tableau-scim` command: the command line and what each command runs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tableau_scim::demo::{self, DemoArgs};
use tableau_scim::emulator::cli::{self as emulator, EmulatorArgs};
use tableau_scim::holds::{self, HoldsArgs};
use tableau_scim::http::TokenDigest;
use tableau_scim::logging::{self, LogFormat};
use tableau_scim::migrate_store::{self, MigrateStoreArgs};
use tableau_scim::preview::{self, PreviewArgs};
use tableau_scim::reconcile::{self, ReconcileArgs};
use tableau_scim::report::{self, ReportArgs};
use tableau_scim::{check, serve};

/// jemalloc instead of glibc's allocator: a SCIM request allocates and frees many small JSON
/// and XML pieces; with glibc, malloc and free were a sixth of the CPU profile of a write, and
/// jemalloc also kept the resident memory of 100,000 cached users lower than mimalloc did
/// (BENCHMARKS.md sections 1 and 5).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "tableau-scim",
    version,
    about = "SCIM 2.0 server that provisions users and groups into Tableau"
)]
struct Cli {
    /// Log format: human-readable text, or one JSON object per line.
    #[arg(
        long,
        global = true,
        env = "TABLEAU_SCIM_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve SCIM for the tenants of a configuration file (see docs/configuration.md).
    Serve {
        /// The TOML configuration file.
        #[arg(long, env = "TABLEAU_SCIM_CONFIG")]
        config: PathBuf,
    },
    /// Check a configuration: sign in to each tenant's Tableau, read its version and license
    /// capacity, check the signed-in user can manage users; exit non-zero on a problem.
    CheckConfig {
        /// The TOML configuration file.
        #[arg(long, env = "TABLEAU_SCIM_CONFIG")]
        config: PathBuf,
    },
    /// Run the bridge on an emulated Tableau site (Tableau Server rules by default, a few seeded
    /// users and groups). Prints the SCIM base URL, the bearer token and the emulator's URL,
    /// whose /_emulator/stats counts the Tableau calls each SCIM request caused.
    Demo(DemoArgs),
    /// Run the Tableau REST emulator alone (for tests, benchmarks and trying the bridge).
    Emulator(Box<EmulatorArgs>),
    /// Compare a tenant's Tableau site with what the IdP last asserted (role drift, access
    /// leaks, license, membership drift, missing and unmanaged users and groups); with --apply,
    /// repair it. Exit status 0: no drift, 1: drift, 2: error or incomplete run.
    Reconcile(ReconcileArgs),
    /// The admin console's data on standard output: `access` (every user, role now and asked
    /// for, managed, active, last sign-in, groups) or `audit` (the trail), as CSV or JSON.
    Report(ReportArgs),
    /// The breaker of mass changes: `list` the held changes (exit status 1 while the breaker
    /// is open), `release` them (applied in order) or `block` them, `--by` who decides.
    Holds(HoldsArgs),
    /// What a file of SCIM requests (an IdP's transcript) would do in Tableau, call by call,
    /// with its impact (seats, administrators, content owners), changing nothing: played on
    /// a copy of the site. Exit status 0: all would succeed; 1: some refused or held; 2: error.
    Preview(PreviewArgs),
    /// Copy the SQLite store of the configuration's data_dir into PostgreSQL (stop serve
    /// first; then set [server] store_url).
    MigrateStore(MigrateStoreArgs),
    /// Print the SHA-256 form of a bearer token (read from standard input), for configuration
    /// files that should not hold the token itself.
    HashToken,
}

/// `hash-token`: the token on standard input, its digest on standard output.
fn hash_token() -> ExitCode {
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err() || line.trim().is_empty() {
        eprintln!("tableau-scim hash-token: give the token on standard input");
        return ExitCode::FAILURE;
    }
    println!(
        "{}",
        TokenDigest::of(line.trim_end_matches(['\r', '\n'])).to_hex()
    );
    ExitCode::SUCCESS
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        // `serve` sets up logging itself: the configuration file may choose the format.
        Command::Serve { config } => serve::run(&config, cli.log_format).await,
        Command::CheckConfig { config } => {
            logging::init(cli.log_format);
            check::run(&config).await
        }
        Command::Demo(args) => {
            logging::init(cli.log_format);
            demo::run(args).await
        }
        Command::Emulator(args) => {
            logging::init(cli.log_format);
            emulator::run(*args).await
        }
        Command::Reconcile(args) => {
            logging::init(cli.log_format);
            reconcile::run(args).await
        }
        Command::Report(args) => {
            logging::init(cli.log_format);
            report::run(args).await
        }
        Command::Holds(args) => {
            logging::init(cli.log_format);
            holds::run(args).await
        }
        Command::Preview(args) => {
            logging::init(cli.log_format);
            preview::run(args).await
        }
        Command::MigrateStore(args) => {
            logging::init(cli.log_format);
            migrate_store::run(args).await
        }
        Command::HashToken => hash_token(),
    };
    logging::flush();
    code
}
