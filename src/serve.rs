//! `tableau-scim serve`: build every tenant from the configuration and serve them. The demo,
//! the tests and the benchmarks start through [`start`] too ([`crate::stack`]), so they run the
//! wiring production runs.

use std::future::Future;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use crate::backend::TenantHealth;
use crate::bridge::site::background::{
    spawn_audit_retention, spawn_feed_retention, spawn_move_resumption, spawn_name_listing,
    spawn_reconciliation, spawn_safety_figures,
};
use crate::bridge::tenant::Tenant;
use crate::bridge::{Bridge, BridgeHealth};
use crate::config::{self, Config, TenantConfig};
use crate::console::{Console, ConsoleTenant};
use crate::http::{self, AppState, Reloadable, RunningServer, TenantEntry, TokenSet};
use crate::logging::{self, LogFormat};
use crate::reload::RunningTenant;
use crate::store::{PgStore, SqliteStore, Store};
use crate::tableau::{ClientConfig, TableauClient};
use actix_web::web;

/// The store file inside `data_dir`.
pub const STORE_FILE: &str = "tableau-scim.db";

/// Tenant `t`'s OAuth client, its tokens signed with a key derived from the replicas' shared
/// key when there is one (so every replica accepts them), else a key of this process.
pub(crate) fn oauth_client(t: &TenantConfig, config: &Config) -> Option<http::oauth::OAuthClient> {
    use secrecy::ExposeSecret;
    let shared = config.server.session_key.as_ref();
    t.oauth.as_ref().map(|o| {
        http::oauth::OAuthClient::new(o, &t.id, shared.map(|k| k.expose_secret().as_bytes()))
    })
}

/// A running server and its tenants.
pub struct Serving {
    /// The SCIM server.
    pub server: RunningServer,
    /// The metrics listener, when `server.metrics_listen` is set.
    pub metrics: Option<RunningServer>,
    /// What a configuration reload replaces (`SIGHUP`: [`crate::reload`]).
    pub reloader: Arc<crate::reload::Reloader>,
    /// The admin console.
    pub console: Arc<Console>,
}

/// The Tableau client of one tenant, as the configuration says.
pub fn client_for(t: &TenantConfig, config: &Config) -> Result<TableauClient, String> {
    let mut cfg = ClientConfig::new(&t.tableau_url, &t.site, t.credentials.clone());
    cfg.api_version = t.api_version.clone();
    cfg.retry = t.retry.clone();
    cfg.request_timeout = config.server.tableau_timeout;
    cfg.max_in_flight = config.server.tableau_concurrency;
    cfg.label = t.id.clone();
    cfg.deployment = t.policy.deployment;
    cfg.session_key = config.server.session_key.clone();
    TableauClient::new(cfg).map_err(|e| format!("tenant {}: {e}", t.id))
}

/// The store the configuration names: PostgreSQL at `store_url`, else SQLite in `data_dir`.
pub async fn open_configured_store(config: &Config) -> Result<Arc<dyn Store>, String> {
    match &config.server.store_url {
        Some(url) => {
            let store = PgStore::connect(url, config.server.store_password.as_ref())
                .await
                .map_err(|e| format!("server.store_url: {e}"))?;
            Ok(traced(config, Arc::new(store), "postgresql"))
        }
        None => open_store(config),
    }
}

/// The SQLite store `data_dir` holds (created on first start).
pub fn open_store(config: &Config) -> Result<Arc<dyn Store>, String> {
    let dir = &config.server.data_dir;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(STORE_FILE);
    let store = SqliteStore::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(traced(config, Arc::new(store), "sqlite"))
}

/// The store, its calls traced when `[server.tracing]` is on (and untouched otherwise).
fn traced(config: &Config, store: Arc<dyn Store>, system: &'static str) -> Arc<dyn Store> {
    if config.server.tracing.is_some() {
        crate::store::traced::TracedStore::wrap(store, system)
    } else {
        store
    }
}

/// The tenant `id` names, or the only one.
pub(crate) fn pick<'a>(config: &'a Config, id: Option<&str>) -> Result<&'a TenantConfig, String> {
    let ids = || {
        config
            .tenants
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match id {
        Some(id) => {
            config.tenants.iter().find(|t| t.id == id).ok_or_else(|| {
                format!("no tenant '{id}' in the configuration (tenants: {})", ids())
            })
        }
        None if config.tenants.len() == 1 => Ok(&config.tenants[0]),
        None => Err(format!(
            "name the tenant with --tenant (tenants: {})",
            ids()
        )),
    }
}

/// The tenant `id` names (or the only one) of the configuration file at `path`, on the store
/// the file names: what the commands that read a configuration work on.
pub(crate) async fn open_tenant(
    path: &std::path::Path,
    id: Option<&str>,
) -> Result<std::sync::Arc<crate::bridge::Tenant>, String> {
    let config = config::load(path, &config::ProcessEnv).map_err(|e| e.to_string())?;
    let t = pick(&config, id)?;
    let store = open_configured_store(&config).await?;
    tenant_for(t, &config, store)
}

/// One tenant as the configuration says, on `store`.
pub fn tenant_for(
    t: &TenantConfig,
    config: &Config,
    store: Arc<dyn Store>,
) -> Result<Arc<Tenant>, String> {
    if let Some(problem) = config::sign_in_problem(
        t.policy.deployment,
        t.policy.auth_setting.as_deref(),
        t.policy.idp_configuration_id.as_deref(),
    ) {
        return Err(format!("tenant {}: {problem}", t.id));
    }
    Ok(Arc::new(Tenant::new(
        &t.id,
        Arc::new(client_for(t, config)?),
        store,
        t.roles.clone(),
        t.policy.clone(),
        t.ttls,
    )))
}

/// Open the SQLite store, build every tenant and start serving (the tests' and the demo's
/// start; `serve` itself opens the configured store, [`open_configured_store`]).
pub fn start(config: &Config) -> Result<Serving, String> {
    start_with_store(config, open_store(config)?)
}

/// One tenant built as the configuration says, on `store`, its audit rows also going to
/// `exporter`; its background work not started yet ([`start_tenant_work`]).
pub(crate) fn build_tenant(
    t: &TenantConfig,
    config: &Config,
    store: Arc<dyn Store>,
    exporter: Option<&Arc<crate::audit_export::Exporter>>,
) -> Result<RunningTenant, String> {
    let tenant = tenant_for(t, config, store)?;
    if let Some(e) = exporter {
        tenant.export_audit_to(e.clone());
    }
    let health: Arc<dyn TenantHealth> = Arc::new(BridgeHealth::new(tenant.clone()));
    let entry = Arc::new(
        TenantEntry::new(
            &t.id,
            TokenSet::new(t.tokens.clone()),
            Arc::new(Bridge::new(tenant.clone())),
            Some(health.clone()),
            config.server.http.max_in_flight_per_tenant,
        )
        .with_oauth(oauth_client(t, config)),
    );
    let console = ConsoleTenant {
        tenant: tenant.clone(),
        admin_tokens: Arc::new(Reloadable::new(TokenSet::new(t.admin_tokens.clone()))),
        health,
    };
    Ok(RunningTenant {
        tenant,
        entry,
        console,
    })
}

/// What a tenant does on its own, started: moves a crash left, the breaker's figures, the
/// name listing, reconciliation. Each holds the tenant weakly and ends when it is dropped.
pub(crate) fn start_tenant_work(tenant: &Arc<Tenant>, t: &TenantConfig) {
    spawn_move_resumption(tenant);
    spawn_safety_figures(tenant);
    spawn_name_listing(tenant, t.ttls.names);
    spawn_reconciliation(tenant, t.reconcile);
}

/// Build every tenant on `store` and start serving.
pub fn start_with_store(config: &Config, store: Arc<dyn Store>) -> Result<Serving, String> {
    let exporter = if config.server.audit_sinks.is_empty() {
        None
    } else {
        Some(crate::audit_export::Exporter::start(
            &config.server.audit_sinks,
        )?)
    };
    let mut running = Vec::new();
    for t in &config.tenants {
        let r = build_tenant(t, config, store.clone(), exporter.as_ref())?;
        start_tenant_work(&r.tenant, t);
        running.push(r);
    }
    let mut settings = config.server.http.clone();
    settings.metrics_elsewhere = config.server.metrics_listen.is_some();
    let server_admin_tokens = Arc::new(Reloadable::new(TokenSet::new(
        config.server.admin_tokens.clone(),
    )));
    let mut console = Console::new(
        running.iter().map(|r| r.console.clone()).collect(),
        server_admin_tokens.clone(),
        config.server.http.https,
    );
    if let Some(oidc) = &config.server.console_oidc {
        console = console.with_sign_in(crate::console::oidc::RelyingParty::new(oidc.clone())?);
    }
    let console = Arc::new(console);
    let mut app = AppState::new(running.iter().map(|r| r.entry.clone()).collect(), settings);
    app.extra_routes = Some(console.clone().routes());
    let reloader = Arc::new(crate::reload::Reloader::new(
        config.clone(),
        running,
        crate::reload::Handles {
            http_tenants: app.tenants.clone(),
            console_tenants: console.tenant_list(),
            server_admin_tokens,
            metrics_tokens: app.metrics_tokens.clone(),
            console_grants: console.sign_in_grants(),
            store: store.clone(),
            exporter,
        },
    ));
    let state = web::Data::new(app);
    spawn_audit_retention(&store, config.server.audit_retention);
    spawn_feed_retention(&store);
    let tls = match &config.server.tls {
        Some((cert, key)) => Some(http::tls_config(cert, key)?),
        None => None,
    };
    let metrics = match &config.server.metrics_listen {
        Some(listen) => Some(
            http::start_metrics(listen, state.clone())
                .map_err(|e| format!("cannot listen on {listen} (server.metrics_listen): {e}"))?,
        ),
        None => None,
    };
    let server = http::start_with(&config.server.listen, state, config.server.workers, tls)
        .map_err(|e| format!("cannot listen on {}: {e}", config.server.listen))?;
    Ok(Serving {
        server,
        metrics,
        reloader,
        console,
    })
}

impl Serving {
    /// Every tenant served now, in the configuration's order (a reload may add or remove one).
    pub fn tenants(&self) -> Vec<Arc<Tenant>> {
        self.reloader.tenants()
    }

    /// Serve until `shutdown` completes (or the server stops on its own); then finish the
    /// requests in flight and sign out of every tenant's Tableau.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        let mut task = self.server.task;
        let result = tokio::select! {
            r = &mut task => r,
            () = shutdown => {
                tracing::info!("shutting down: finishing in-flight requests");
                self.server.handle.stop(true).await;
                task.await
            }
        };
        if let Some(m) = &self.metrics {
            m.handle.stop(true).await;
        }
        let tenants = self.reloader.tenants();
        if let Some(t) = tenants.first() {
            // Leases are the store's, one set per process: another replica takes the work now.
            t.release_leases().await;
        }
        for t in &tenants {
            // A session shared with other replicas stays signed in (the client knows).
            t.sign_out().await;
        }
        tracing::info!("signed out of Tableau; stopped");
        result.map_err(std::io::Error::other)?
    }
}

/// SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
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

/// The `serve` command: load the configuration, start, serve until SIGTERM or Ctrl-C.
pub async fn run(path: &Path, format: LogFormat) -> ExitCode {
    let (config, warnings) = match config::load_with_warnings(path, &config::ProcessEnv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tableau-scim serve: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(problem) = config::serve_problem(&config.server) {
        eprintln!("tableau-scim serve: {}: {problem}", path.display());
        return ExitCode::FAILURE;
    }
    // The file's log format applies unless the command line or environment chose one.
    let format = if format == LogFormat::Text {
        config.server.log_format
    } else {
        format
    };
    let tracing_exporter = match logging::init_traced(format, config.server.tracing.as_ref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("tableau-scim serve: {e}");
            return ExitCode::FAILURE;
        }
    };
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let serving = match open_configured_store(&config)
        .await
        .and_then(|store| start_with_store(&config, store))
    {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            eprintln!("tableau-scim serve: {e}");
            return ExitCode::FAILURE;
        }
    };
    let scheme = if config.server.tls.is_some() {
        "https"
    } else {
        "http"
    };
    crate::reload::spawn_on_hangup(path.to_path_buf(), serving.reloader.clone());
    let (file, reloader) = (path.to_path_buf(), serving.reloader.clone());
    serving.console.offer_reload(Arc::new(move || {
        let (file, reloader) = (file.clone(), reloader.clone());
        Box::pin(async move { crate::reload::reload_and_count(&file, &reloader).await })
    }));
    let addr = serving.server.addr;
    tracing::info!(listen = %addr, tenants = config.tenants.len(), "tableau-scim serving {scheme}://{addr}/scim/v2");
    let code = match serving.run_until(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "the server failed");
            ExitCode::FAILURE
        }
    };
    if let Some(t) = tracing_exporter {
        t.shutdown().await;
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_tenant_is_named_or_the_only_one() {
        let text = |n: usize| {
            (0..n)
                .map(|i| {
                    format!("[[tenants]]\nid = \"t{i}\"\ntableau_url = \"https://t\"\nsite = \"s\"\ndeployment = \"server\"\npat_name = \"p\"\npat_secret = \"x\"\ntoken_hashes = [\"{i:0>64}\"]\n")
                })
                .collect::<String>()
        };
        let env = BTreeMap::new();
        let one = config::parse(&text(1), &env).expect("parses");
        assert_eq!(pick(&one, None).map(|t| t.id.as_str()), Ok("t0"));
        let two = config::parse(&text(2), &env).expect("parses");
        assert_eq!(pick(&two, Some("t1")).map(|t| t.id.as_str()), Ok("t1"));
        assert!(pick(&two, None).is_err_and(|e| e.contains("t0, t1")));
        assert!(pick(&two, Some("t9")).is_err_and(|e| e.contains("no tenant 't9'")));
    }
}
