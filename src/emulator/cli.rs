//! `tableau-scim emulator`: the Tableau REST emulator on its own, configured from the command
//! line or the environment.

use std::process::ExitCode;

use super::{Capacity, EmulatorConfig, Faults, Flavor, Seed};
use crate::tableau::site_role::SiteRole;

/// The emulator's options; every one also from an environment variable.
#[derive(Debug, clap::Args)]
pub struct EmulatorArgs {
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
    /// REST API version reported by serverinfo (and the highest accepted); by default 3.27
    /// for Tableau Cloud, 3.24 for Tableau Server.
    #[arg(long, env = "TABLEAU_EMULATOR_API_VERSION")]
    api_version: Option<String>,
    /// User name of the site administrator the PAT belongs to.
    #[arg(
        long,
        env = "TABLEAU_EMULATOR_ADMIN",
        default_value = EmulatorConfig::DEFAULT_ADMIN
    )]
    admin: String,
    /// Make the PAT's owner a server administrator (Tableau Server only), who may use
    /// mapAssetsTo.
    #[arg(long, env = "TABLEAU_EMULATOR_SERVER_ADMIN")]
    server_admin: bool,
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
    /// The code of a duplicate user on Add User: 409000 (Tableau Server's, in the REST
    /// reference) or 409017 (Tableau Cloud's, as the migration SDK meets it); by default the
    /// flavor's.
    #[arg(long, env = "TABLEAU_EMULATOR_USER_EXISTS_CODE", value_parser = ["409000", "409017"])]
    user_exists_code: Option<String>,
    /// Play a Tableau Server whose identity store is Active Directory, read from this JSON
    /// file: {"domain","nickname","users":[{"account","upn","fullName","email"}],
    /// "groups":[{"name","members":[account...]}]}.
    #[arg(long, env = "TABLEAU_EMULATOR_ACTIVE_DIRECTORY")]
    active_directory: Option<std::path::PathBuf>,
    /// An authentication configuration of the site, `KIND:ID:NAME` (`SAML:0f0e...:Okta`);
    /// repeatable. Listed from REST 3.24; on Cloud an `authSetting` of a kind with several
    /// leaves the new user "Unspecified".
    #[arg(long = "auth-configuration", value_parser = parse_auth_configuration)]
    auth_configurations: Vec<crate::tableau::auth_config::AuthConfiguration>,
    /// Answer a sign-in arriving under another host name with a 301 to this one, as a
    /// Tableau Cloud pod does.
    #[arg(long, env = "TABLEAU_EMULATOR_SIGN_IN_HOST")]
    sign_in_host: Option<String>,
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
    /// A rate limit: at most this many calls per second (a token bucket), 429 beyond it.
    #[arg(long, env = "TABLEAU_EMULATOR_RATE_LIMIT")]
    rate_limit_per_sec: Option<f64>,
    /// Calls the rate limit lets through at once after a quiet spell (default: one second's).
    #[arg(long, env = "TABLEAU_EMULATOR_RATE_LIMIT_BURST")]
    rate_limit_burst: Option<f64>,
    /// The rate limit's 429 carries no Retry-After.
    #[arg(long, env = "TABLEAU_EMULATOR_RATE_LIMIT_NO_RETRY_AFTER")]
    rate_limit_no_retry_after: bool,
    /// The rate limit's 429 has an HTML body.
    #[arg(long, env = "TABLEAU_EMULATOR_RATE_LIMIT_HTML")]
    rate_limit_html: bool,
}

/// The emulator configuration the options describe, and where to listen.
pub fn emulator_config(a: EmulatorArgs) -> Result<(String, EmulatorConfig), String> {
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
    let directory = match &a.active_directory {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("directory file {}: {e}", path.display()))?;
            Some(
                serde_json::from_str::<super::state::Directory>(&text)
                    .map_err(|e| format!("directory file {}: {e}", path.display()))?,
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
    cfg.set_flavor(a.flavor);
    if let Some(v) = a.api_version {
        cfg.api_version = v;
    }
    cfg.admin_name = a.admin;
    if a.server_admin {
        cfg.admin_role = SiteRole::ServerAdministrator;
    }
    cfg.sign_in_host = a.sign_in_host;
    cfg.auth_configurations = a.auth_configurations;
    cfg.seed = seed;
    cfg.directory = directory;
    cfg.capacity = Capacity {
        creator: a.creator_capacity,
        explorer: a.explorer_capacity,
        viewer: a.viewer_capacity,
    };
    cfg.user_exists_code = match a.user_exists_code.as_deref() {
        Some("409000") => Some("409000"),
        Some("409017") => Some("409017"),
        _ => None,
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
        rate_limit_per_sec: a.rate_limit_per_sec,
        rate_limit_burst: a.rate_limit_burst,
        rate_limit_no_retry_after: a.rate_limit_no_retry_after,
        rate_limit_html: a.rate_limit_html,
    };
    Ok((a.listen, cfg))
}

/// Run the emulator alone until Ctrl-C.
pub async fn run(args: EmulatorArgs) -> ExitCode {
    let (listen, cfg) = match emulator_config(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tableau-scim emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (flavor, site, pat_name, version) = (
        cfg.flavor,
        cfg.site.clone(),
        cfg.pat_name.clone(),
        cfg.api_version.clone(),
    );
    let emu = match super::start(&listen, cfg, 2) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("tableau-scim emulator: cannot start on {listen}: {e}");
            return ExitCode::FAILURE;
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
        Ok(Ok(())) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}

/// `KIND:ID:NAME` as an enabled authentication configuration.
fn parse_auth_configuration(
    text: &str,
) -> Result<crate::tableau::auth_config::AuthConfiguration, String> {
    let mut parts = text.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(kind), Some(id), Some(name)) if !kind.is_empty() && !id.is_empty() => {
            Ok(crate::tableau::auth_config::AuthConfiguration {
                auth_setting: kind.into(),
                enabled: true,
                id: id.into(),
                name: name.into(),
                known_provider_alias: None,
            })
        }
        _ => Err(format!(
            "'{text}' is not KIND:ID:NAME, such as SAML:0f0e-...:Okta"
        )),
    }
}
