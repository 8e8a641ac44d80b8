//! The `tableau-scim` command.

use std::sync::Arc;

use clap::{Parser, Subcommand};
use tableau_scim::backend::memory::MemoryStore;
use tableau_scim::http::{self, AppState, HttpSettings, TokenDigest, TokenSet};

#[derive(Parser)]
#[command(
    name = "tableau-scim",
    version,
    about = "SCIM 2.0 server that provisions users and groups into Tableau"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the SCIM server on an in-memory store, to try the protocol with curl or an IdP's
    /// test tool. Prints the base URL and the bearer token.
    Demo {
        /// Address to listen on.
        #[arg(long, env = "TABLEAU_SCIM_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Bearer token to accept (generated when not given).
        #[arg(long, env = "TABLEAU_SCIM_DEMO_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// Print the SHA-256 form of a bearer token (read from standard input), for configuration
    /// files that should not hold the token itself.
    HashToken,
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn generated_token() -> String {
    use rand::Rng;
    let bytes: [u8; 24] = rand::rng().random();
    hex::encode(bytes)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo { listen, token } => {
            init_tracing();
            let token = token.unwrap_or_else(generated_token);
            let state = AppState {
                store: Arc::new(MemoryStore::new()),
                tokens: TokenSet::new(vec![TokenDigest::of(&token)]),
                settings: HttpSettings::default(),
            };
            let server = match http::start(&listen, state, 2) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("tableau-scim: cannot listen on {listen}: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            };
            println!("tableau-scim demo (in-memory store)");
            println!("  SCIM base URL: http://{}/scim/v2", server.addr);
            println!("  Bearer token:  {token}");
            println!(
                "  Try: curl -H 'Authorization: Bearer {token}' http://{}/scim/v2/ServiceProviderConfig",
                server.addr
            );
            let handle = server.handle.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    handle.stop(true).await;
                }
            });
            match server.task.await {
                Ok(Ok(())) => std::process::ExitCode::SUCCESS,
                Ok(Err(e)) => {
                    eprintln!("tableau-scim: server error: {e}");
                    std::process::ExitCode::FAILURE
                }
                Err(e) => {
                    eprintln!("tableau-scim: server task failed: {e}");
                    std::process::ExitCode::FAILURE
                }
            }
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
