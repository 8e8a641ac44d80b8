//! The `tableau-scim` command.

use clap::{Parser, Subcommand};
use tableau_scim::config::{self, LogFormat};
use tableau_scim::http::TokenDigest;
use tableau_scim::serve;
use tableau_scim::stack::{Stack, StackOptions};

/// jemalloc instead of glibc's allocator: a SCIM request allocates and frees many small JSON
/// and XML pieces; with glibc, malloc and free were a sixth of the CPU profile of a write, and
/// jemalloc also kept the resident memory of 100,000 cached users lower than mimalloc did
/// (BENCHMARKS.md sections 1 and 5).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
use tableau_scim::tableau::emulator::state::{SeedGroup, SeedUser};
use tableau_scim::tableau::emulator::{
    self, Capacity, EmulatorConfig, Faults, Flavor, LicenseFull, Seed,
};

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
        config: std::path::PathBuf,
    },
    /// Check a configuration: sign in to each tenant's Tableau, read its version and license
    /// capacity, check the signed-in user can manage users; exit non-zero on a problem.
    CheckConfig {
        /// The TOML configuration file.
        #[arg(long, env = "TABLEAU_SCIM_CONFIG")]
        config: std::path::PathBuf,
    },
    /// Run the bridge on an emulated Tableau site (Tableau Server rules by default, a few seeded
    /// users and groups). Prints the SCIM base URL, the bearer token and the emulator's URL,
    /// whose /_emulator/stats counts the Tableau calls each SCIM request caused.
    Demo {
        /// Address the SCIM server listens on.
        #[arg(long, env = "TABLEAU_SCIM_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Bearer token to accept (generated when not given).
        #[arg(long, env = "TABLEAU_SCIM_DEMO_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Tableau Cloud or Tableau Server rules.
        #[arg(long, value_enum, default_value = "server")]
        flavor: Flavor,
        /// Directory for the store (a temporary directory when not given).
        #[arg(long)]
        data: Option<std::path::PathBuf>,
    },
    /// Run the Tableau REST emulator alone (for tests, benchmarks and trying the bridge).
    Emulator(Box<EmulatorArgs>),
    /// Print the SHA-256 form of a bearer token (read from standard input), for configuration
    /// files that should not hold the token itself.
    HashToken,
}

#[derive(clap::Args)]
struct EmulatorArgs {
    /// Address to listen on.
    #[arg(
        long,
        env = "TABLEAU_EMULATOR_LISTEN",
        default_value = "127.0.0.1:8090"
    )]
    listen: String,
    /// Site content URL.
    #[arg(long, env = "TABLEAU_EMULATOR_SITE", default_value = "demo")]
    site: String,
    /// Personal Access Token name accepted at sign-in.
    #[arg(
        long,
        env = "TABLEAU_EMULATOR_PAT_NAME",
        default_value = "tableau-scim"
    )]
    pat_name: String,
    /// Personal Access Token secret accepted at sign-in.
    #[arg(long, env = "TABLEAU_EMULATOR_PAT_SECRET", hide_env_values = true)]
    pat_secret: String,
    /// Tableau Cloud or Tableau Server rules.
    #[arg(
        long,
        env = "TABLEAU_EMULATOR_FLAVOR",
        value_enum,
        default_value = "server"
    )]
    flavor: Flavor,
    /// REST API version reported by serverinfo (and the highest accepted).
    #[arg(long, env = "TABLEAU_EMULATOR_API_VERSION", default_value = "3.24")]
    api_version: String,
    /// User name of the site administrator the PAT belongs to.
    #[arg(
        long,
        env = "TABLEAU_EMULATOR_ADMIN",
        default_value = "admin@example.com"
    )]
    admin: String,
    /// JSON seed file: {"users":[{"name","siteRole",...}],"groups":[{"name","members":[...]}]}.
    #[arg(long, env = "TABLEAU_EMULATOR_SEED")]
    seed: Option<std::path::PathBuf>,
    /// Creator seats (unlimited when absent).
    #[arg(long, env = "TABLEAU_EMULATOR_CREATOR_CAPACITY")]
    creator_capacity: Option<u64>,
    /// Explorer seats (unlimited when absent).
    #[arg(long, env = "TABLEAU_EMULATOR_EXPLORER_CAPACITY")]
    explorer_capacity: Option<u64>,
    /// Viewer seats (unlimited when absent).
    #[arg(long, env = "TABLEAU_EMULATOR_VIEWER_CAPACITY")]
    viewer_capacity: Option<u64>,
    /// On a full tier: give Unlicensed (as Tableau Cloud does) or fail the call.
    #[arg(
        long,
        env = "TABLEAU_EMULATOR_LICENSE_FULL",
        value_enum,
        default_value = "downgrade"
    )]
    license_full: LicenseFull,
    /// Answer a duplicate user with 409017 instead of 409000.
    #[arg(long, env = "TABLEAU_EMULATOR_USER_EXISTS_409017")]
    user_exists_409017: bool,
    /// Milliseconds added to every API call.
    #[arg(long, env = "TABLEAU_EMULATOR_LATENCY_MS", default_value_t = 0)]
    latency_ms: u64,
    /// Share of API calls answered 429 (0.0 to 1.0).
    #[arg(long, env = "TABLEAU_EMULATOR_RATE_429", default_value_t = 0.0)]
    rate_429: f64,
    /// Retry-After seconds sent with a 429.
    #[arg(long, env = "TABLEAU_EMULATOR_RETRY_AFTER", default_value_t = 1)]
    retry_after_secs: u64,
    /// Share of API calls answered 500 or 503.
    #[arg(long, env = "TABLEAU_EMULATOR_RATE_5XX", default_value_t = 0.0)]
    rate_5xx: f64,
    /// Share of API calls whose connection is cut after the change is made.
    #[arg(long, env = "TABLEAU_EMULATOR_RATE_DROP", default_value_t = 0.0)]
    rate_drop: f64,
    /// Share of API calls that stall for --stall-ms.
    #[arg(long, env = "TABLEAU_EMULATOR_RATE_STALL", default_value_t = 0.0)]
    rate_stall: f64,
    /// Length of a stall in milliseconds.
    #[arg(long, env = "TABLEAU_EMULATOR_STALL_MS", default_value_t = 2000)]
    stall_ms: u64,
    /// A session token expires after this many calls.
    #[arg(long, env = "TABLEAU_EMULATOR_EXPIRE_SESSION_AFTER")]
    expire_session_after: Option<u64>,
}

fn emulator_config(a: EmulatorArgs) -> Result<(String, EmulatorConfig), String> {
    let seed = match &a.seed {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("seed file {}: {e}", path.display()))?;
            Some(
                serde_json::from_str::<Seed>(&text)
                    .map_err(|e| format!("seed file {}: {e}", path.display()))?,
            )
        }
        None => None,
    };
    for (name, rate) in [
        ("--rate-429", a.rate_429),
        ("--rate-5xx", a.rate_5xx),
        ("--rate-drop", a.rate_drop),
        ("--rate-stall", a.rate_stall),
    ] {
        if !(0.0..=1.0).contains(&rate) {
            return Err(format!(
                "{name} is {rate}; give a share between 0.0 and 1.0"
            ));
        }
    }
    let mut cfg = EmulatorConfig::new(&a.site, &a.pat_name, &a.pat_secret);
    cfg.flavor = a.flavor;
    cfg.api_version = a.api_version;
    cfg.admin_name = a.admin;
    cfg.seed = seed;
    cfg.capacity = Capacity {
        creator: a.creator_capacity,
        explorer: a.explorer_capacity,
        viewer: a.viewer_capacity,
    };
    cfg.license_full = a.license_full;
    cfg.user_exists_code = if a.user_exists_409017 {
        "409017"
    } else {
        "409000"
    };
    cfg.faults = Faults {
        latency_ms: a.latency_ms,
        rate_429: a.rate_429,
        retry_after_secs: a.retry_after_secs,
        rate_5xx: a.rate_5xx,
        expire_session_after: a.expire_session_after,
        rate_drop: a.rate_drop,
        rate_stall: a.rate_stall,
        stall_ms: a.stall_ms,
        script: Default::default(),
    };
    Ok((a.listen, cfg))
}

async fn run_emulator(args: EmulatorArgs) -> std::process::ExitCode {
    let (listen, cfg) = match emulator_config(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tableau-scim emulator: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let (flavor, site, pat_name, version) = (
        cfg.flavor,
        cfg.site.clone(),
        cfg.pat_name.clone(),
        cfg.api_version.clone(),
    );
    let emu = match emulator::start(&listen, cfg, 2) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("tableau-scim emulator: cannot start on {listen}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("Tableau emulator ({flavor:?} rules, REST API {version})");
    println!("  Server URL:    {}", emu.url());
    println!("  Site:          contentUrl '{site}', id {}", emu.site_id);
    println!("  PAT name:      {pat_name} (secret as given)");
    println!("  Call counters: {}/_emulator/stats   faults: {}/_emulator/faults   state: {}/_emulator/dump", emu.url(), emu.url(), emu.url());
    let handle = emu.handle.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            handle.stop(true).await;
        }
    });
    match emu.task.await {
        Ok(Ok(())) => std::process::ExitCode::SUCCESS,
        _ => std::process::ExitCode::FAILURE,
    }
}

fn demo_seed(flavor: Flavor) -> Seed {
    let user = |name: &str, role: &str, full: &str| SeedUser {
        name: name.into(),
        site_role: role.into(),
        full_name: Some(full.into()),
        email: Some(name.into()),
        owns_content: false,
    };
    let _ = flavor;
    Seed {
        users: vec![
            user("ana@example.com", "Creator", "Ana Lima"),
            user("ben@example.com", "Explorer", "Ben Okafor"),
            user("cleo@example.com", "Viewer", "Cleo Park"),
        ],
        groups: vec![SeedGroup {
            name: "Sales".into(),
            members: vec!["ana@example.com".into(), "ben@example.com".into()],
            minimum_site_role: None,
        }],
    }
}

async fn run_demo(
    listen: String,
    token: Option<String>,
    flavor: Flavor,
    data: Option<std::path::PathBuf>,
) -> std::process::ExitCode {
    let token = token.unwrap_or_else(generated_token);
    let (data_dir, _temp) = match data {
        Some(d) => (d, None),
        None => match tempfile::tempdir() {
            Ok(t) => (t.path().to_path_buf(), Some(t)),
            Err(e) => {
                eprintln!("tableau-scim demo: no temporary directory: {e}");
                return std::process::ExitCode::FAILURE;
            }
        },
    };
    let mut emu = EmulatorConfig::new("demo", "tableau-scim", &generated_token());
    emu.flavor = flavor;
    emu.seed = Some(demo_seed(flavor));
    let mut opts = StackOptions::new(emu, data_dir.clone(), &token);
    opts.listen = listen;
    let stack = match Stack::start(opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tableau-scim demo: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("tableau-scim demo (bridge on an emulated Tableau {flavor:?} site)");
    println!("  SCIM base URL: {}", stack.scim_url());
    println!("  Bearer token:  {token}");
    println!(
        "  Tableau (emulated): {}   calls: {}/_emulator/stats   state: {}/_emulator/dump",
        stack.emulator.url(),
        stack.emulator.url(),
        stack.emulator.url()
    );
    println!("  Store: {}", data_dir.join("tableau-scim.db").display());
    println!("  Try: curl -H 'Authorization: Bearer {token}' '{}/Users?filter=userName%20eq%20%22ana@example.com%22'", stack.scim_url());
    let handle = stack.scim.handle.clone();
    let emu_handle = stack.emulator.handle.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            handle.stop(true).await;
            emu_handle.stop(true).await;
        }
    });
    let client = stack.bridge.tenant().client.clone();
    let result = stack.scim.task.await;
    client.sign_out().await;
    match result {
        Ok(Ok(())) => std::process::ExitCode::SUCCESS,
        _ => std::process::ExitCode::FAILURE,
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

async fn run_serve(path: &std::path::Path, format: LogFormat) -> std::process::ExitCode {
    let config = match config::load(path, &config::ProcessEnv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tableau-scim serve: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // The file's log format applies unless the command line or environment chose one.
    init_tracing(if format == LogFormat::Text {
        config.server.log_format
    } else {
        format
    });
    let serving = match serve::start(&config) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            eprintln!("tableau-scim serve: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let scheme = if config.server.tls.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!(listen = %serving.server.addr, tenants = config.tenants.len(), "tableau-scim serving {scheme}://{}/scim/v2", serving.server.addr);
    let handle = serving.server.handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        handle.stop(true).await;
    });
    let result = serving.server.task.await;
    for c in &serving.clients {
        c.sign_out().await;
    }
    tracing::info!("signed out of Tableau; stopped");
    match result {
        Ok(Ok(())) => std::process::ExitCode::SUCCESS,
        _ => std::process::ExitCode::FAILURE,
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn run_check(path: &std::path::Path) -> std::process::ExitCode {
    let config = match config::load(path, &config::ProcessEnv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tableau-scim check-config: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!(
        "configuration {}: {} tenant(s), listening on {}",
        path.display(),
        config.tenants.len(),
        config.server.listen
    );
    let reports = serve::check(&config).await;
    let mut all_ok = true;
    for r in &reports {
        println!("tenant {}: {}", r.id, if r.ok { "OK" } else { "PROBLEM" });
        for l in &r.lines {
            println!("  {l}");
        }
        all_ok &= r.ok;
    }
    if all_ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

fn generated_token() -> String {
    use rand::Rng;
    let bytes: [u8; 24] = rand::rng().random();
    hex::encode(bytes)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let log_format = cli.log_format;
    match cli.command {
        Command::Serve { config } => run_serve(&config, log_format).await,
        Command::CheckConfig { config } => {
            init_tracing(log_format);
            run_check(&config).await
        }
        Command::Demo {
            listen,
            token,
            flavor,
            data,
        } => {
            init_tracing(log_format);
            run_demo(listen, token, flavor, data).await
        }
        Command::Emulator(args) => {
            init_tracing(log_format);
            run_emulator(*args).await
        }
        Command::HashToken => {
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).is_err() || line.trim().is_empty() {
                eprintln!("tableau-scim hash-token: give the token on standard input");
                return std::process::ExitCode::FAILURE;
            }
            println!(
                "{}",
                TokenDigest::of(line.trim_end_matches(['\r', '\n'])).to_hex()
            );
            std::process::ExitCode::SUCCESS
        }
    }
}
