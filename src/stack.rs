//! A whole tableau-scim stack in one process: the Tableau emulator, the client signed in to it,
//! the store, one tenant, and the SCIM server over the bridge. `tableau-scim demo` runs it; the
//! integration tests and benchmarks build it with their own options.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::bridge::cache::CacheTtls;
use crate::bridge::roles::RoleMapping;
use crate::bridge::store::SqliteStore;
use crate::bridge::tenant::{Policy, Tenant};
use crate::bridge::Bridge;
use crate::http::{self, AppState, HttpSettings, RunningServer, TokenDigest, TokenSet};
use crate::tableau::emulator::{self, EmulatorConfig, Flavor, RunningEmulator};
use crate::tableau::retry::RetryPolicy;
use crate::tableau::{ClientConfig, Credentials, SiteRole, TableauClient};

/// How to build a stack.
pub struct StackOptions {
    /// SCIM listen address.
    pub listen: String,
    /// Bearer token the SCIM server accepts.
    pub token: String,
    /// The emulated site.
    pub emulator: EmulatorConfig,
    /// Where the store file lives.
    pub data_dir: PathBuf,
    /// Role mapping.
    pub roles: RoleMapping,
    /// Policies (renames follow the emulator's flavor unless set otherwise afterwards).
    pub policy: Policy,
    /// Client retry budget.
    pub retry: RetryPolicy,
    /// REST API version the client uses (`None`: discover).
    pub api_version: Option<String>,
    /// Cache lifetimes.
    pub ttls: CacheTtls,
    /// HTTP workers for each server.
    pub workers: usize,
}

impl StackOptions {
    /// Defaults around an emulated site and a data directory.
    pub fn new(emulator: EmulatorConfig, data_dir: PathBuf, token: &str) -> StackOptions {
        let can_rename = emulator.flavor == Flavor::Server;
        StackOptions {
            listen: "127.0.0.1:0".into(),
            token: token.to_string(),
            emulator,
            data_dir,
            roles: RoleMapping::new([], [], SiteRole::Viewer),
            policy: Policy {
                can_rename,
                ..Policy::default()
            },
            retry: RetryPolicy::default(),
            api_version: None,
            ttls: CacheTtls::default(),
            workers: 2,
        }
    }
}

/// A running stack.
pub struct Stack {
    /// The SCIM server.
    pub scim: RunningServer,
    /// The emulated Tableau.
    pub emulator: RunningEmulator,
    /// The bridge (for counters and caches).
    pub bridge: Bridge,
}

impl Stack {
    /// The SCIM base URL.
    pub fn scim_url(&self) -> String {
        format!("http://{}/scim/v2", self.scim.addr)
    }

    /// Start everything.
    pub fn start(o: StackOptions) -> Result<Stack, String> {
        let site = o.emulator.site.clone();
        let pat_name = o.emulator.pat_name.clone();
        let pat_secret: SecretString = o.emulator.pat_secret.clone();
        let emulator = emulator::start("127.0.0.1:0", o.emulator, o.workers)
            .map_err(|e| format!("emulator: {e}"))?;
        let mut cfg = ClientConfig::new(
            &emulator.url(),
            &site,
            Credentials::Pat {
                name: pat_name,
                secret: pat_secret,
            },
        );
        cfg.retry = o.retry;
        cfg.api_version = o.api_version;
        cfg.request_timeout = Duration::from_secs(10);
        let client = TableauClient::new(cfg).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&o.data_dir)
            .map_err(|e| format!("{}: {e}", o.data_dir.display()))?;
        let store =
            SqliteStore::open(&o.data_dir.join("tableau-scim.db")).map_err(|e| e.to_string())?;
        let tenant = Arc::new(Tenant::new(
            "default",
            Arc::new(client),
            Arc::new(store),
            o.roles,
            o.policy,
            o.ttls,
        ));
        let bridge = Bridge::new(tenant);
        let state = AppState::single(
            Arc::new(bridge.clone()),
            TokenSet::new(vec![TokenDigest::of(&o.token)]),
            HttpSettings::default(),
        );
        let scim = http::start(&o.listen, state, o.workers)
            .map_err(|e| format!("cannot listen on {}: {e}", o.listen))?;
        Ok(Stack {
            scim,
            emulator,
            bridge,
        })
    }
}
