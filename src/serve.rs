//! `tableau-scim serve` and `check-config`: tenants built from the configuration.

use std::sync::Arc;

use crate::bridge::store::SqliteStore;
use crate::bridge::tenant::Tenant;
use crate::bridge::{Bridge, BridgeHealth};
use crate::config::{Config, Deployment, TenantConfig};
use crate::http::{self, AppState, HttpSettings, RunningServer, TenantEntry, TokenSet};
use crate::tableau::{ClientConfig, SiteRole, TableauClient};

/// A running server and the Tableau clients to sign out at shutdown.
pub struct Serving {
    /// The SCIM server.
    pub server: RunningServer,
    /// One client per tenant.
    pub clients: Vec<Arc<TableauClient>>,
}

fn client_for(t: &TenantConfig, config: &Config) -> Result<TableauClient, String> {
    let mut cfg = ClientConfig::new(&t.tableau_url, &t.site, t.credentials.clone());
    cfg.api_version = t.api_version.clone();
    cfg.retry = t.retry.clone();
    cfg.request_timeout = config.server.tableau_timeout;
    cfg.max_in_flight = config.server.tableau_concurrency;
    cfg.label = t.id.clone();
    TableauClient::new(cfg).map_err(|e| format!("tenant {}: {e}", t.id))
}

/// Build every tenant and start serving.
pub fn start(config: &Config) -> Result<Serving, String> {
    std::fs::create_dir_all(&config.server.data_dir)
        .map_err(|e| format!("{}: {e}", config.server.data_dir.display()))?;
    let store: Arc<dyn crate::bridge::store::Store> = Arc::new(
        SqliteStore::open(&config.server.data_dir.join("tableau-scim.db"))
            .map_err(|e| e.to_string())?,
    );
    let mut tenants = Vec::new();
    let mut clients = Vec::new();
    for t in &config.tenants {
        let client = Arc::new(client_for(t, config)?);
        clients.push(client.clone());
        let tenant = Arc::new(Tenant::new(
            &t.id,
            client,
            store.clone(),
            t.roles.clone(),
            t.policy.clone(),
            t.ttls,
        ));
        tenants.push(Arc::new(TenantEntry {
            id: t.id.clone(),
            tokens: TokenSet::new(t.tokens.clone()),
            store: Arc::new(Bridge::new(tenant.clone())),
            health: Some(Arc::new(BridgeHealth::new(tenant))),
        }));
    }
    let state = AppState {
        tenants,
        settings: HttpSettings {
            max_body_bytes: config.server.max_body_bytes,
            max_page_size: config.server.max_page_size,
            public_url: config.server.public_url.clone(),
            trust_forwarded_headers: config.server.trust_forwarded_headers,
            ..HttpSettings::default()
        },
    };
    let tls = match &config.server.tls {
        Some((cert, key)) => Some(http::tls_config(cert, key)?),
        None => None,
    };
    let server = http::start_with(&config.server.listen, state, config.server.workers, tls)
        .map_err(|e| format!("cannot listen on {}: {e}", config.server.listen))?;
    Ok(Serving { server, clients })
}

/// One tenant's check: what was found, and whether it can work.
pub struct TenantReport {
    /// Tenant id.
    pub id: String,
    /// Lines to print.
    pub lines: Vec<String>,
    /// Whether everything needed works.
    pub ok: bool,
}

/// Sign in to each tenant's Tableau, read its version and license capacity, and check the
/// signed-in user can manage users.
pub async fn check(config: &Config) -> Vec<TenantReport> {
    let mut reports = Vec::new();
    for t in &config.tenants {
        let mut lines = Vec::new();
        let mut ok = true;
        let client = match client_for(t, config) {
            Ok(c) => c,
            Err(e) => {
                reports.push(TenantReport {
                    id: t.id.clone(),
                    lines: vec![format!("FAIL {e}")],
                    ok: false,
                });
                continue;
            }
        };
        lines.push(format!(
            "Tableau {} ({:?}), site '{}'",
            t.tableau_url, t.deployment, t.site
        ));
        match client.server_info().await {
            Ok(info) => lines.push(format!(
                "ok   server {} with REST API {}",
                info.product_version, info.rest_api_version
            )),
            Err(e) => lines.push(format!(
                "warn serverinfo not readable ({e}); the configured api_version is used"
            )),
        }
        match client.session().await {
            Err(e) => {
                ok = false;
                lines.push(format!("FAIL sign-in: {e}"));
            }
            Ok(session) => {
                lines.push(format!("ok   signed in (site id {})", session.site_id));
                match client.get_user(&session.user_id).await {
                    Ok(Some(u)) => {
                        let admin = matches!(
                            u.role(),
                            Some(
                                SiteRole::SiteAdministratorCreator
                                    | SiteRole::SiteAdministratorExplorer
                                    | SiteRole::ServerAdministrator
                            )
                        );
                        if admin {
                            lines.push(format!(
                                "ok   signed in as {} ({}), who can manage users and groups",
                                u.name, u.site_role
                            ));
                        } else {
                            ok = false;
                            lines.push(format!("FAIL signed in as {} ({}): a site administrator is needed to manage users and groups", u.name, u.site_role));
                        }
                    }
                    Ok(None) => lines.push("warn the signed-in user could not be read".into()),
                    Err(e) => {
                        ok = false;
                        lines.push(format!("FAIL reading the signed-in user: {e}"));
                    }
                }
                match client.site_info().await {
                    Ok(site) => {
                        let cap =
                            |c: Option<u64>| c.map_or("unlimited".to_string(), |v| v.to_string());
                        lines.push(format!(
                            "ok   licenses: Creator {}/{}, Explorer {}/{}, Viewer {}/{} (used/capacity), {} users",
                            site.num_creators, cap(site.tier_creator_capacity), site.num_explorers, cap(site.tier_explorer_capacity),
                            site.num_viewers, cap(site.tier_viewer_capacity), site.num_users
                        ));
                    }
                    Err(e) => lines.push(format!("warn site capacity not readable: {e}")),
                }
                client.sign_out().await;
            }
        }
        if t.deployment == Deployment::Cloud && t.policy.map_assets_to.is_some() {
            ok = false;
            lines.push("FAIL map_assets_to is set but Tableau Cloud refuses it".into());
        }
        reports.push(TenantReport {
            id: t.id.clone(),
            lines,
            ok,
        });
    }
    reports
}
