//! Replicas as production runs them: one emulated Tableau, a private PostgreSQL cluster, and
//! several `tableau-scim serve` processes on one database, each with its own port, behind a
//! round-robin IdP client ([`Idp::round_robin`]). A replica can be killed with SIGKILL. The
//! replicas reach the cluster over TLS only (`sslmode=verify-full`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::{Client, Method};
use tableau_scim::emulator::{self, EmulatorConfig, RunningEmulator};

use super::flows::Provisioned;
use super::postgres::PgCluster;
use super::Idp;

/// The SCIM token the replicas accept.
pub const TOKEN: &str = "replicas-scim-token-0001";

/// The PAT secret of the emulated site (`acme`, PAT `scim`).
pub const PAT_SECRET: &str = "replicas-pat-secret";

/// The emulated site's configuration the replicas expect.
pub fn site() -> EmulatorConfig {
    EmulatorConfig::new("acme", "scim", PAT_SECRET)
}

/// Replicas on one database.
pub struct Replicas {
    /// The emulated Tableau.
    pub emulator: RunningEmulator,
    /// The IdP, sending each request to the next replica.
    pub idp: Idp,
    /// Each replica's SCIM base URL.
    pub bases: Vec<String>,
    /// Each replica's metrics URL, when its `[server]` section has `{metrics_port}`.
    pub metrics: Vec<String>,
    /// The replicas' database.
    pub store_url: String,
    procs: Vec<Option<Child>>,
    configs: Vec<PathBuf>,
    _cluster: PgCluster,
    _dir: tempfile::TempDir,
}

impl Replicas {
    /// Start `emulator`, a cluster, and `n` replicas whose tenant section ends with `tenant_toml`
    /// (role mappings, retry budget, ...); wait until every one is ready.
    pub async fn start(emulator: EmulatorConfig, n: usize, tenant_toml: &str) -> Replicas {
        Replicas::start_with(emulator, n, "", tenant_toml).await
    }

    /// The same, with `server_toml` added to each replica's `[server]` section.
    pub async fn start_with(
        emulator: EmulatorConfig,
        n: usize,
        server_toml: &str,
        tenant_toml: &str,
    ) -> Replicas {
        // Over TLS, as a managed database is reached: every replica test checks the certificate.
        let cluster = PgCluster::start_tls();
        let url = cluster.database("replicas");
        let emulator = emulator::start("127.0.0.1:0", emulator, 2).expect("the emulator starts");
        let dir = super::tempdir();
        let mut configs = Vec::new();
        let mut bases = Vec::new();
        let mut metrics = Vec::new();
        for i in 0..n {
            let port = super::free_port();
            let metrics_port = super::free_port();
            let server_toml = server_toml.replace("{metrics_port}", &metrics_port.to_string());
            metrics.push(format!("http://127.0.0.1:{metrics_port}/metrics"));
            let text = format!(
                "[server]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\ndata_dir = \"{}\"\nstore_url = \"{url}\"\n{server_toml}\n[[tenants]]\nid = \"acme\"\ntableau_url = \"{}\"\nsite = \"acme\"\ndeployment = \"server\"\npat_name = \"scim\"\n{tenant_toml}\n",
                dir.path().join(format!("data{i}")).display(),
                emulator.url(),
            );
            let path = dir.path().join(format!("replica{i}.toml"));
            std::fs::write(&path, text).expect("the configuration is written");
            configs.push(path);
            bases.push(format!("http://127.0.0.1:{port}/scim/v2"));
        }
        // An IdP waits for slow answers (a stalled Tableau call is retried inside).
        let http = Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_default();
        let mut r = Replicas {
            idp: Idp::round_robin(&bases, TOKEN, http),
            emulator,
            bases,
            metrics,
            store_url: url,
            procs: Vec::new(),
            configs,
            _cluster: cluster,
            _dir: dir,
        };
        for i in 0..n {
            let child = r.spawn(i);
            r.procs.push(Some(child));
        }
        for i in 0..n {
            r.wait_ready(i).await;
        }
        r
    }

    fn spawn(&self, i: usize) -> Child {
        self.spawn_with(i, &[])
    }

    fn spawn_with(&self, i: usize, env: &[(&str, &str)]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_tableau-scim"))
            .args(["serve", "--config"])
            .arg(&self.configs[i])
            .envs(env.iter().copied())
            .env("TABLEAU_SCIM_TENANT_ACME_PAT_SECRET", PAT_SECRET)
            .env("TABLEAU_SCIM_TENANT_ACME_TOKENS", TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tableau-scim serve starts")
    }

    /// Wait (up to 20 s) until replica `i` says it is ready.
    pub async fn wait_ready(&self, i: usize) {
        let ready = self.bases[i].replace("/scim/v2", "/readyz");
        let probe = Idp::new(&self.bases[i], TOKEN);
        for _ in 0..400 {
            let r = probe.try_raw(Method::GET, &ready, None, None, None).await;
            if r.is_ok_and(|r| r.status.is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("replica {i} did not become ready");
    }

    /// Run `tableau-scim` with `args` and `--config` of replica `i`, with the replicas'
    /// secrets: the exit status and standard output.
    pub fn command(&self, i: usize, args: &[&str]) -> (i32, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_tableau-scim"))
            .args(args)
            .arg("--config")
            .arg(&self.configs[i])
            .env("TABLEAU_SCIM_TENANT_ACME_PAT_SECRET", PAT_SECRET)
            .env("TABLEAU_SCIM_TENANT_ACME_TOKENS", TOKEN)
            .env("RUST_LOG", "warn")
            .output()
            .expect("tableau-scim runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// An IdP client of replica `i` alone.
    pub fn idp_of(&self, i: usize) -> Idp {
        Idp::new(&self.bases[i], TOKEN)
    }

    /// `kill -9` replica `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.procs[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stop replica `i` as an orchestrator does (SIGTERM), and wait for it to exit.
    pub fn terminate(&mut self, i: usize) {
        if let Some(mut c) = self.procs[i].take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }

    /// Start replica `i` again on the same configuration.
    pub async fn restart(&mut self, i: usize) {
        self.restart_with(i, &[]).await;
    }

    /// Start replica `i` again with `env` added to its environment.
    pub async fn restart_with(&mut self, i: usize, env: &[(&str, &str)]) {
        let child = self.spawn_with(i, env);
        self.procs[i] = Some(child);
        self.wait_ready(i).await;
    }
}

impl Drop for Replicas {
    fn drop(&mut self) {
        for i in 0..self.procs.len() {
            self.kill(i);
        }
    }
}

impl Provisioned for Replicas {
    fn idp(&self) -> &Idp {
        &self.idp
    }
    fn emulator(&self) -> &RunningEmulator {
        &self.emulator
    }
}
