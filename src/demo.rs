//! `tableau-scim demo`: the bridge on an emulated Tableau site with a few seeded users and a
//! group, served through the same start-up path as `serve` ([`crate::stack`]).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::emulator::state::{SeedGroup, SeedUser};
use crate::emulator::{EmulatorConfig, Flavor, Seed};
use crate::http::{TokenDigest, TokenSet};
use crate::serve::{shutdown_signal, STORE_FILE};
use crate::stack::{Stack, StackOptions};

/// The demo's options.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Address the SCIM server listens on.
    #[arg(long, env = "TABLEAU_SCIM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Bearer token to accept (generated when not given).
    #[arg(long, env = "TABLEAU_SCIM_DEMO_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Tableau Cloud or Tableau Server rules.
    #[arg(long, value_enum, default_value = "server")]
    pub flavor: Flavor,
    /// Directory for the store (a temporary directory when not given).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Admin token of the console at /admin (generated when not given).
    #[arg(long, env = "TABLEAU_SCIM_DEMO_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
}

/// Three users (one per license tier) and a group of two.
fn seed() -> Seed {
    let user = |name: &str, role: &str, full: &str| SeedUser {
        name: name.into(),
        site_role: role.into(),
        full_name: Some(full.into()),
        email: Some(name.into()),
        owns_content: false,
    };
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

/// A random token, hex.
pub fn generated_token() -> String {
    use rand::Rng;
    let bytes: [u8; 24] = rand::rng().random();
    hex::encode(bytes)
}

/// Run the demo until Ctrl-C or SIGTERM.
pub async fn run(args: DemoArgs) -> ExitCode {
    let token = args.token.unwrap_or_else(generated_token);
    let admin_token = args.admin_token.unwrap_or_else(generated_token);
    if admin_token == token {
        eprintln!("tableau-scim demo: the admin token must differ from the SCIM token");
        return ExitCode::FAILURE;
    }
    let (data_dir, _temp) = match args.data {
        Some(d) => (d, None),
        None => match tempfile::tempdir() {
            Ok(t) => (t.path().to_path_buf(), Some(t)),
            Err(e) => {
                eprintln!("tableau-scim demo: no temporary directory: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let mut emu = EmulatorConfig::new("demo", "tableau-scim", &generated_token());
    emu.flavor = args.flavor;
    emu.seed = Some(seed());
    let mut opts = StackOptions::new(emu, data_dir.clone(), &token);
    opts.server.listen = args.listen;
    // The demo's token reads its metrics too: a local tryout, not an internet-facing service.
    opts.server.http.metrics_tokens = TokenSet::new(vec![TokenDigest::of(&token)]);
    opts.server.admin_tokens = vec![TokenDigest::of(&admin_token)];
    let stack = match Stack::start(opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tableau-scim demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config_file = match stack.write_config(&data_dir) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("tableau-scim demo: cannot write its configuration file: {e}");
            return ExitCode::FAILURE;
        }
    };
    let scim = stack.scim_url();
    let tableau = stack.emulator.url();
    println!(
        "tableau-scim demo (bridge on an emulated Tableau {:?} site)",
        args.flavor
    );
    println!("  SCIM base URL: {scim}");
    println!("  Bearer token:  {token}");
    println!("  Tableau (emulated): {tableau}   calls: {tableau}/_emulator/stats   state: {tableau}/_emulator/dump");
    println!("  Store: {}", data_dir.join(STORE_FILE).display());
    println!(
        "  Configuration: {0}   try: tableau-scim reconcile --config {0}",
        config_file.display()
    );
    println!(
        "  Admin console: {}/admin   admin token: {admin_token}",
        scim.trim_end_matches("/scim/v2")
    );
    println!(
        "  Metrics: curl -H 'Authorization: Bearer {token}' {}/metrics",
        scim.trim_end_matches("/scim/v2")
    );
    println!("  Try: curl -H 'Authorization: Bearer {token}' '{scim}/Users?filter=userName%20eq%20%22ana@example.com%22'");
    match stack.run_until(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tableau-scim demo: {e}");
            ExitCode::FAILURE
        }
    }
}
