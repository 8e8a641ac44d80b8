//! Reloading the configuration without a restart (`SIGHUP`, or the console's Reload): the file
//! is read again and, when it changes only what may change (`config::reload` decides), applied:
//! every tenant's SCIM tokens, OAuth client, admin tokens, role mapping and policies, the
//! server's admin and metrics tokens, and the set of tenants. A tenant added is built as start builds it
//! and must be ready (its store answers, it signs in to its Tableau and reads its site) before
//! anything changes; a tenant removed stops taking requests at once, finishes the ones it has,
//! and signs out. A request in flight finishes with what it started with. A file that does not
//! load, changes anything else, or adds a tenant that is not ready, is refused as a whole with
//! the reason, and the running configuration is kept.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::bridge::Tenant;
use crate::config::{self, Config};
use crate::console::ConsoleTenant;
use crate::http::{TenantEntry, TokenSet};
use crate::reloadable::Reloadable;
use crate::store::Store;

/// How long an added tenant has to be ready (its sign-in and first read of its site).
const READY_WITHIN: Duration = Duration::from_secs(30);

/// How long a removed tenant's requests in flight have to finish before it signs out anyway.
const DRAIN_WITHIN: Duration = Duration::from_secs(60);

/// One tenant as it runs: the parts each layer holds.
#[derive(Clone)]
pub struct RunningTenant {
    /// The bridge's tenant (its role mapping and policies).
    pub tenant: Arc<Tenant>,
    /// The tenant as the HTTP layer holds it (its tokens and OAuth client).
    pub entry: Arc<TenantEntry>,
    /// The tenant as the console holds it (its admin tokens).
    pub console: ConsoleTenant,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    /// Tenants now served.
    pub tenants: usize,
    /// Ids of the tenants added.
    pub added: Vec<String>,
    /// Ids of the tenants removed.
    pub removed: Vec<String>,
}

impl std::fmt::Display for Reloaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} tenant(s)", self.tenants)?;
        if !self.added.is_empty() {
            write!(f, ", added: {}", self.added.join(", "))?;
        }
        if !self.removed.is_empty() {
            write!(f, ", removed: {}", self.removed.join(", "))?;
        }
        Ok(())
    }
}

/// What a reload replaces in the running server.
pub struct Reloader {
    /// The configuration running; held across a reload, so reloads happen one at a time.
    config: tokio::sync::Mutex<Config>,
    running: Reloadable<Vec<RunningTenant>>,
    http_tenants: Arc<Reloadable<Vec<Arc<TenantEntry>>>>,
    console_tenants: Arc<Reloadable<Vec<ConsoleTenant>>>,
    server_admin_tokens: Arc<Reloadable<TokenSet>>,
    metrics_tokens: Arc<Reloadable<TokenSet>>,
    console_grants: Option<Arc<Reloadable<Vec<crate::console::oidc::RoleGrant>>>>,
    store: Arc<dyn Store>,
    exporter: Option<Arc<crate::audit_export::Exporter>>,
}

/// Where a reload finds what it replaces.
pub struct Handles {
    /// The tenants the HTTP layer serves.
    pub http_tenants: Arc<Reloadable<Vec<Arc<TenantEntry>>>>,
    /// The tenants the console shows.
    pub console_tenants: Arc<Reloadable<Vec<ConsoleTenant>>>,
    /// `[server] admin_token_hashes`.
    pub server_admin_tokens: Arc<Reloadable<TokenSet>>,
    /// `[server] metrics_token_hashes`.
    pub metrics_tokens: Arc<Reloadable<TokenSet>>,
    /// `[[server.console_oidc.roles]]`, when the console signs in through a provider.
    pub console_grants: Option<Arc<Reloadable<Vec<crate::console::oidc::RoleGrant>>>>,
    /// The store new tenants are built on.
    pub store: Arc<dyn Store>,
    /// The audit export new tenants write to.
    pub exporter: Option<Arc<crate::audit_export::Exporter>>,
}

impl Reloader {
    /// Over the server started from `config` with `running` tenants.
    pub fn new(config: Config, running: Vec<RunningTenant>, handles: Handles) -> Reloader {
        Reloader {
            config: tokio::sync::Mutex::new(config),
            running: Reloadable::new(running),
            http_tenants: handles.http_tenants,
            console_tenants: handles.console_tenants,
            server_admin_tokens: handles.server_admin_tokens,
            metrics_tokens: handles.metrics_tokens,
            console_grants: handles.console_grants,
            store: handles.store,
            exporter: handles.exporter,
        }
    }

    /// Every tenant served now, in the configuration's order.
    pub fn tenants(&self) -> Vec<Arc<Tenant>> {
        self.running
            .get()
            .iter()
            .map(|r| r.tenant.clone())
            .collect()
    }

    /// Apply `new`, a configuration as `config::load` made it, if it changes only what may
    /// change and every tenant it adds is ready; else why not, and nothing is changed.
    pub(crate) async fn apply(&self, new: Config) -> Result<Reloaded, Vec<String>> {
        let mut config = self.config.lock().await;
        // `new` passed `config::load`'s checks (each tenant's sign-in settings among them);
        // what is left to refuse is what a running server cannot take.
        let mut refused: Vec<String> = config::reload::restart_only_changes(&config, &new)
            .into_iter()
            .map(|key| format!("{key} needs a restart"))
            .collect();
        if !refused.is_empty() {
            return Err(refused);
        }
        let current = self.running.get();
        let find = |id: &str| current.iter().find(|r| r.tenant.id() == id);
        let mut added = Vec::new();
        for t in new.tenants.iter().filter(|t| find(&t.id).is_none()) {
            match crate::serve::build_tenant(t, &new, self.store.clone(), self.exporter.as_ref()) {
                Ok(r) => added.push((r, t)),
                Err(e) => refused.push(format!("tenants.{}: {e}", t.id)),
            }
        }
        if refused.is_empty() {
            for (r, t) in &added {
                match tokio::time::timeout(READY_WITHIN, r.console.health.ready()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(why)) => refused.push(format!("tenants.{}: not ready: {why}", t.id)),
                    Err(_) => refused.push(format!(
                        "tenants.{}: not ready within {} s",
                        t.id,
                        READY_WITHIN.as_secs()
                    )),
                }
            }
        }
        if !refused.is_empty() {
            for (r, _) in &added {
                r.tenant.sign_out().await;
            }
            return Err(refused);
        }

        // Nothing below can fail: the new configuration is applied whole.
        let mut next = Vec::new();
        for t in &new.tenants {
            if let Some(r) = find(&t.id) {
                r.tenant.set_policies(t.roles.clone(), t.policy.clone());
                r.entry.tokens.set(TokenSet::new(t.tokens.clone()));
                r.console
                    .admin_tokens
                    .set(TokenSet::new(t.admin_tokens.clone()));
                let old = config.tenants.iter().find(|o| o.id == t.id);
                if old.map(|o| &o.oauth) != Some(&t.oauth) {
                    let oauth = r.entry.oauth.get();
                    r.entry
                        .oauth
                        .set(oauth_after(oauth.as_ref().as_ref(), t, &new));
                }
                next.push(r.clone());
            } else if let Some((r, _)) = added.iter().find(|(_, a)| a.id == t.id) {
                next.push(r.clone());
            }
        }
        let removed: Vec<RunningTenant> = current
            .iter()
            .filter(|r| !new.tenants.iter().any(|t| t.id == r.tenant.id()))
            .cloned()
            .collect();
        self.http_tenants
            .set(next.iter().map(|r| r.entry.clone()).collect());
        self.console_tenants
            .set(next.iter().map(|r| r.console.clone()).collect());
        self.running.set(next);
        self.server_admin_tokens
            .set(TokenSet::new(new.server.admin_tokens.clone()));
        self.metrics_tokens
            .set(new.server.http.metrics_tokens.clone());
        // A section added or removed is refused before this (restart_only_changes).
        if let (Some(grants), Some(oidc)) = (&self.console_grants, &new.server.console_oidc) {
            grants.set(oidc.grants.clone());
        }
        for (r, t) in &added {
            crate::serve::start_tenant_work(&r.tenant, t);
        }
        let permits = new.server.http.max_in_flight_per_tenant;
        let outcome = Reloaded {
            tenants: new.tenants.len(),
            added: added.iter().map(|(_, t)| t.id.clone()).collect(),
            removed: removed.iter().map(|r| r.tenant.id().to_string()).collect(),
        };
        for r in removed {
            tokio::spawn(retire(r, permits));
        }
        *config = new;
        Ok(outcome)
    }
}

/// A removed tenant: already out of every list, so no new request reaches it; wait (up to
/// [`DRAIN_WITHIN`]) for the requests it has, then sign out of its Tableau. Its background
/// work holds it weakly and stops once the last request lets it go.
async fn retire(r: RunningTenant, permits: usize) {
    let id = r.tenant.id().to_string();
    let all = u32::try_from(permits.max(1)).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(DRAIN_WITHIN, r.entry.in_flight.acquire_many(all)).await;
    if drained.is_err() {
        tracing::warn!(tenant.id = %id, "a removed tenant's requests did not finish within {} s; signing out anyway", DRAIN_WITHIN.as_secs());
    }
    r.tenant.sign_out().await;
    tracing::info!(tenant.id = %id, "tenant removed: its requests finished, signed out of Tableau");
}

/// A tenant's OAuth client after a reload changed its configuration. The same client id keeps
/// its signing key, so access tokens already issued stay valid until they expire (a secret's
/// rotation does not sign every IdP out); another client id, or a first client, gets the key
/// `serve` would give it.
fn oauth_after(
    current: Option<&crate::http::oauth::OAuthClient>,
    t: &config::TenantConfig,
    config: &Config,
) -> Option<crate::http::oauth::OAuthClient> {
    let wanted = t.oauth.as_ref()?;
    match current {
        Some(c) if c.client_id == wanted.client_id => Some(crate::http::oauth::OAuthClient {
            client_id: wanted.client_id.clone(),
            secrets: TokenSet::new(wanted.secrets.clone()),
            key: c.key.clone(),
            lifetime: wanted.lifetime,
        }),
        _ => crate::serve::oauth_client(t, config),
    }
}

/// Read the file at `path` again and apply it: what was done, or why nothing was.
pub async fn reload_from(path: &Path, reloader: &Reloader) -> Result<Reloaded, String> {
    let (new, warnings) = config::load_with_warnings(path, &config::ProcessEnv)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    reloader
        .apply(new)
        .await
        .map_err(|reasons| format!("{}: {}", path.display(), reasons.join("; ")))
}

/// [`reload_from`], and its outcome where monitoring sees it (a reload nobody reads the log of
/// must not fail unnoticed): `config_reloads_total{outcome}` and
/// `config_last_reload_successful` (1 or 0), as Prometheus itself reports its own reloads.
pub async fn reload_and_count(path: &Path, reloader: &Reloader) -> Result<Reloaded, String> {
    let outcome = reload_from(path, reloader).await;
    let label = if outcome.is_ok() {
        "applied"
    } else {
        "refused"
    };
    metrics::counter!("config_reloads_total", "outcome" => label).increment(1);
    metrics::gauge!("config_last_reload_successful").set(if outcome.is_ok() { 1.0 } else { 0.0 });
    outcome
}

/// A reload the console can run: the file read again and applied.
pub type ReloadFuture = Pin<Box<dyn Future<Output = Result<Reloaded, String>> + Send>>;

/// Reload on every `SIGHUP` until the process ends.
pub fn spawn_on_hangup(path: std::path::PathBuf, reloader: Arc<Reloader>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::warn!("SIGHUP cannot be caught: reload by restarting");
            return;
        };
        while hup.recv().await.is_some() {
            match reload_and_count(&path, &reloader).await {
                Ok(done) => tracing::info!("configuration reloaded: {done}"),
                Err(e) => tracing::error!(
                    "configuration reload refused, the running configuration is kept: {e}"
                ),
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (path, reloader);
}
