//! An in-memory Tableau Server / Tableau Cloud REST emulator, strict about the dialect
//! (`tsRequest`/`tsResponse`, Tableau's error codes, paging rules, one session per PAT), with
//! fault injection. Used by the tests, the benchmarks and the demo; `tableau-scim emulator` runs
//! it alone. Control endpoints live outside `/api` under `/_emulator`.

mod api;
pub mod cli;
mod control;
mod faults;
mod request;
pub mod state;
mod xml_out;

use std::sync::{Arc, Mutex};

use actix_web::dev::ServerHandle;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use secrecy::SecretString;

use crate::tableau::jwt::ConnectedApp;
pub use state::{Capacity, Fault, Faults, Flavor, Seed, SiteState};

use crate::tableau::site_role::SiteRole;

/// How to run an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Site content URL.
    pub site: String,
    /// Personal Access Token name.
    pub pat_name: String,
    /// Personal Access Token secret.
    pub pat_secret: SecretString,
    /// A connected app accepted for JWT sign-in, if any.
    pub connected_app: Option<ConnectedApp>,
    /// Cloud or Server rules.
    pub flavor: Flavor,
    /// The REST API version `serverinfo` reports, and the highest accepted in URLs.
    pub api_version: String,
    /// The PAT owner's user name (an administrator who owns content).
    pub admin_name: String,
    /// The PAT owner's site role: a site administrator unless told otherwise; on Tableau
    /// Server it may be `ServerAdministrator`, who alone may use `mapAssetsTo`.
    pub admin_role: SiteRole,
    /// License seats.
    pub capacity: Capacity,
    /// Code answered for a duplicate user; `None`: the flavor's
    /// ([`Flavor::user_exists_code`]).
    pub user_exists_code: Option<&'static str>,
    /// Answer a sign-in that arrives under another host name with a 301 to this one, as a
    /// Tableau Cloud pod does.
    pub sign_in_host: Option<String>,
    /// The connected-app scopes this Tableau knows and grants; `None` grants whatever a token
    /// asks for.
    pub known_scopes: Option<Vec<String>>,
    /// Play a Tableau whose filters do not know `cieq` at any version (400065).
    pub no_cieq: bool,
    /// The site's authentication configurations (List Authentication Configurations, 3.24).
    pub auth_configurations: Vec<crate::tableau::auth_config::AuthConfiguration>,
    /// Play a Tableau Server whose identity store is this Active Directory.
    pub directory: Option<state::Directory>,
    /// Initial faults.
    pub faults: Faults,
    /// Initial users and groups.
    pub seed: Option<Seed>,
}

impl EmulatorConfig {
    /// The site administrator the PAT belongs to unless told otherwise.
    pub const DEFAULT_ADMIN: &'static str = "admin@example.com";

    /// Defaults: Tableau Server rules, its API version, unlimited seats.
    pub fn new(site: &str, pat_name: &str, pat_secret: &str) -> Self {
        EmulatorConfig {
            site: site.to_string(),
            pat_name: pat_name.to_string(),
            pat_secret: SecretString::from(pat_secret.to_string()),
            connected_app: None,
            flavor: Flavor::Server,
            api_version: Flavor::Server.default_api_version().into(),
            admin_name: Self::DEFAULT_ADMIN.into(),
            admin_role: SiteRole::SiteAdministratorCreator,
            capacity: Capacity::default(),
            user_exists_code: None,
            sign_in_host: None,
            known_scopes: None,
            no_cieq: false,
            auth_configurations: Vec::new(),
            directory: None,
            faults: Faults::default(),
            seed: None,
        }
    }

    /// Behave as Tableau Cloud or Tableau Server, speaking that flavor's API version.
    pub fn set_flavor(&mut self, flavor: Flavor) {
        self.flavor = flavor;
        self.api_version = flavor.default_api_version().into();
    }
}

/// What handlers share.
pub(crate) struct Shared {
    pub state: Mutex<SiteState>,
    pub pat_name: String,
    pub pat_secret: SecretString,
    pub connected_app: Option<ConnectedApp>,
    pub api_version: crate::tableau::model::ApiVersion,
    pub sign_in_host: Option<String>,
    pub known_scopes: Option<Vec<String>>,
    pub no_cieq: bool,
}

/// A running emulator.
pub struct RunningEmulator {
    /// The bound address.
    pub addr: std::net::SocketAddr,
    /// The site LUID.
    pub site_id: String,
    /// Stops the server.
    pub handle: ServerHandle,
    /// Completes when the server stops.
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
    shared: Arc<Shared>,
}

impl RunningEmulator {
    /// The base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Run `f` on the site state (for tests: inspect the end state, set flags).
    pub fn with_state<T>(&self, f: impl FnOnce(&mut SiteState) -> T) -> Option<T> {
        self.shared.state.lock().ok().map(|mut s| f(&mut s))
    }
}

/// Start an emulator on `listen` (port 0 picks a free port).
pub fn start(
    listen: &str,
    cfg: EmulatorConfig,
    workers: usize,
) -> std::io::Result<RunningEmulator> {
    let api_version =
        crate::tableau::model::ApiVersion::parse(&cfg.api_version).ok_or_else(|| {
            std::io::Error::other(format!(
                "API version '{}' is not like 3.24",
                cfg.api_version
            ))
        })?;
    if cfg.flavor == Flavor::Cloud && cfg.admin_role == SiteRole::ServerAdministrator {
        return Err(std::io::Error::other(
            "Tableau Cloud has no server administrators",
        ));
    }
    let mut state = SiteState::new(&cfg.site, cfg.flavor, &cfg.admin_name, cfg.admin_role);
    state.capacity = cfg.capacity;
    if let Some(code) = cfg.user_exists_code {
        state.user_exists_code = code;
    }
    state.faults = cfg.faults.clone();
    state.auth_configurations = cfg.auth_configurations.clone();
    if let Some(directory) = &cfg.directory {
        if cfg.flavor == Flavor::Cloud {
            return Err(std::io::Error::other(
                "Tableau Cloud has no Active Directory identity store",
            ));
        }
        state
            .use_directory(directory.clone())
            .map_err(|e| std::io::Error::other(format!("directory: {} {}", e.code, e.detail)))?;
    }
    if let Some(seed) = &cfg.seed {
        state
            .apply_seed(seed)
            .map_err(|e| std::io::Error::other(format!("seed: {} {}", e.code, e.detail)))?;
    }
    let site_id = state.site_id.clone();
    let shared = Arc::new(Shared {
        state: Mutex::new(state),
        pat_name: cfg.pat_name.clone(),
        pat_secret: cfg.pat_secret.clone(),
        connected_app: cfg.connected_app.clone(),
        api_version,
        sign_in_host: cfg.sign_in_host.clone(),
        known_scopes: cfg.known_scopes.clone(),
        no_cieq: cfg.no_cieq,
    });
    let data = web::Data::from(shared.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
            .service(web::scope("/_emulator").configure(control::configure))
            .service(
                web::scope("/api/{ver}")
                    .wrap(from_fn(faults::inject))
                    .configure(api::configure),
            )
            .default_service(web::to(api::not_found))
    })
    .workers(workers.max(1))
    // Whoever runs the emulator stops it (the demo after the bridge has signed out).
    .disable_signals()
    .bind(listen)?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("the emulator bound no address"))?;
    let server = server.run();
    let handle = server.handle();
    let task = tokio::spawn(server);
    Ok(RunningEmulator {
        addr,
        site_id,
        handle,
        task,
        shared,
    })
}
