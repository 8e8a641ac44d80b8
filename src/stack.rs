//! A whole tableau-scim stack in one process: the Tableau emulator and a configuration of one
//! tenant pointed at it, started through [`crate::serve::start`], the function `serve` uses.
//! `tableau-scim demo` runs it; the integration tests and benchmarks build it with their own
//! options, so they run the wiring production runs.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::bridge::Tenant;
use crate::config::{Config, Deployment, ServerConfig, TenantConfig};
use crate::emulator::{self, EmulatorConfig, Flavor, RunningEmulator};
use crate::http::TokenDigest;
use crate::serve::{self, Serving};
use crate::tableau::auth_config::TABLEAU_ID_WITH_MFA;
use crate::tableau::Credentials;

/// How to build a stack: the emulated site, and the configuration to serve it with.
pub struct StackOptions {
    /// The emulated site.
    pub emulator: EmulatorConfig,
    /// `[server]`: listens on `127.0.0.1:0` by default.
    pub server: ServerConfig,
    /// The one tenant: the emulator's site, signing in with its PAT, accepting the given token.
    /// Its `tableau_url` is set to the emulator's once that has started.
    pub tenant: TenantConfig,
}

impl StackOptions {
    /// A configuration of one tenant (id and site as the emulator's site, Cloud or Server as
    /// its flavor) with the store in `data_dir`, accepting `token`.
    pub fn new(emulator: EmulatorConfig, data_dir: PathBuf, token: &str) -> StackOptions {
        let deployment = deployment_of(emulator.flavor);
        let credentials = Credentials::Pat {
            name: emulator.pat_name.clone(),
            secret: emulator.pat_secret.clone(),
        };
        let mut tenant = TenantConfig::new(
            &emulator.site,
            "http://127.0.0.1",
            &emulator.site,
            deployment,
            credentials,
            vec![TokenDigest::of(token)],
        );
        default_sign_in(&mut tenant);
        // The demo, the tests and the benchmarks make mass changes on purpose (conformance
        // suites delete what they create): the breaker counts them, and opens only where a
        // test sets a threshold of its own (tests/it/safety.rs).
        tenant.policy.safety.max_changes = 1_000_000;
        let server = ServerConfig {
            listen: "127.0.0.1:0".into(),
            data_dir,
            // The emulator answers at once; a stalled call is a fault being tested.
            tableau_timeout: Duration::from_secs(10),
            ..ServerConfig::default()
        };
        StackOptions {
            emulator,
            server,
            tenant,
        }
    }

    /// Emulate Tableau Cloud or Tableau Server (at its API version), and tell the tenant
    /// which one it serves.
    pub fn set_flavor(&mut self, flavor: Flavor) {
        self.emulator.set_flavor(flavor);
        self.tenant.policy.deployment = deployment_of(flavor);
        default_sign_in(&mut self.tenant);
    }
}

/// A Tableau Cloud tenant needs a sign-in method for the users it adds
/// ([`crate::config::sign_in_problem`]): the emulated site's own, Tableau with MFA, unless one
/// is set.
fn default_sign_in(t: &mut TenantConfig) {
    let p = &mut t.policy;
    if p.deployment == Deployment::Cloud
        && p.auth_setting.is_none()
        && p.idp_configuration_id.is_none()
    {
        p.auth_setting = Some(TABLEAU_ID_WITH_MFA.into());
    }
}

fn deployment_of(flavor: Flavor) -> Deployment {
    match flavor {
        Flavor::Cloud => Deployment::Cloud,
        Flavor::Server => Deployment::Server,
    }
}

/// A running stack.
pub struct Stack {
    /// The SCIM server and its tenant.
    pub serving: Serving,
    /// The emulated Tableau.
    pub emulator: RunningEmulator,
    /// The configuration served (its tenant pointed at the emulator).
    pub config: Config,
    tenant: Arc<Tenant>,
}

impl Stack {
    /// Start the emulator, then serve the configuration pointed at it.
    pub fn start(o: StackOptions) -> Result<Stack, String> {
        Stack::start_on(o, None)
    }

    /// The same on `store` instead of the SQLite file of `data_dir` (PostgreSQL, for the
    /// benchmarks and the replicas' tests).
    pub fn start_on(
        o: StackOptions,
        store: Option<Arc<dyn crate::store::Store>>,
    ) -> Result<Stack, String> {
        let emulator = emulator::start("127.0.0.1:0", o.emulator, o.server.workers)
            .map_err(|e| format!("emulator: {e}"))?;
        let tenant = TenantConfig {
            tableau_url: emulator.url(),
            ..o.tenant
        };
        let config = Config {
            server: o.server,
            tenants: vec![tenant],
        };
        let serving = match store {
            Some(store) => serve::start_with_store(&config, store)?,
            None => serve::start(&config)?,
        };
        let tenant = serving
            .tenants()
            .first()
            .cloned()
            .ok_or("the stack's configuration has no tenant")?;
        Ok(Stack {
            serving,
            emulator,
            config,
            tenant,
        })
    }

    /// Write the configuration served as a file in `dir` (secrets in files beside it), for the
    /// commands that read one (`reconcile`, `check-config`); returns its path.
    pub fn write_config(&self, dir: &std::path::Path) -> std::io::Result<PathBuf> {
        crate::config::write::write(&self.config, dir)
    }

    /// The SCIM base URL.
    pub fn scim_url(&self) -> String {
        format!("http://{}/scim/v2", self.serving.server.addr)
    }

    /// The tenant (for its client's counters and its caches).
    pub fn tenant(&self) -> &Arc<Tenant> {
        &self.tenant
    }

    /// Serve until `shutdown`; sign out of the emulated Tableau while it still answers; then
    /// stop it.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        let emulator = self.emulator.handle.clone();
        let served = self.serving.run_until(shutdown).await;
        emulator.stop(true).await;
        served
    }
}
