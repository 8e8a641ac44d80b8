//! Reloading the configuration without a restart (`SIGHUP`): the file is read again and, when
//! it changes only what may change (`config::reload` decides), every tenant's SCIM tokens,
//! OAuth client, admin tokens, role mapping and policies, and the server's admin tokens, are
//! replaced. A request in flight
//! finishes with the credentials it was authenticated by; the next one is checked against the
//! new ones; console sessions of an admin token that is gone end at their next request. A file
//! that does not load, or that changes anything else, is refused as a whole with the reason,
//! and the running configuration is kept.

use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::config::{self, Config};
use crate::http::{Reloadable, TenantEntry, TokenSet};

/// What a reload replaces in the running server.
pub struct Reloader {
    running: Mutex<Config>,
    tenants: Vec<ReloadableTenant>,
    server_admin_tokens: Arc<Reloadable<TokenSet>>,
}

/// One tenant's replaceable parts.
pub struct ReloadableTenant {
    /// The tenant (its role mapping and policies).
    pub tenant: Arc<crate::bridge::Tenant>,
    /// The tenant as the HTTP layer holds it (its tokens and OAuth client).
    pub entry: Arc<TenantEntry>,
    /// Its console admin tokens.
    pub admin_tokens: Arc<Reloadable<TokenSet>>,
}

impl Reloader {
    /// Over the server started from `running`.
    pub fn new(
        running: Config,
        tenants: Vec<ReloadableTenant>,
        server_admin_tokens: Arc<Reloadable<TokenSet>>,
    ) -> Reloader {
        Reloader {
            running: Mutex::new(running),
            tenants,
            server_admin_tokens,
        }
    }

    /// Apply `new` if it changes credentials only; else the keys that need a restart, and
    /// nothing is changed.
    pub fn apply(&self, new: Config) -> Result<(), Vec<String>> {
        let mut running = match self.running.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        };
        let mut refused = config::reload::restart_only_changes(&running, &new);
        for t in &new.tenants {
            if let Some(problem) = config::sign_in_problem(
                t.policy.deployment,
                t.policy.auth_setting.as_deref(),
                t.policy.idp_configuration_id.as_deref(),
            ) {
                refused.push(format!("tenants.{}: {problem}", t.id));
            }
        }
        if !refused.is_empty() {
            return Err(refused);
        }
        for (t, r) in new.tenants.iter().zip(&self.tenants) {
            r.tenant.set_policies(t.roles.clone(), t.policy.clone());
            r.entry.tokens.set(TokenSet::new(t.tokens.clone()));
            r.admin_tokens.set(TokenSet::new(t.admin_tokens.clone()));
            let old = running.tenants.iter().find(|o| o.id == t.id);
            if old.map(|o| &o.oauth) != Some(&t.oauth) {
                let current = r.entry.oauth.get();
                r.entry
                    .oauth
                    .set(oauth_after(current.as_ref().as_ref(), t, &new));
            }
        }
        self.server_admin_tokens
            .set(TokenSet::new(new.server.admin_tokens.clone()));
        *running = new;
        Ok(())
    }
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

/// Read the file at `path` again and apply it, logging the outcome (the operator who sent
/// `SIGHUP` reads it there): `Ok` with how many tenants were reloaded, or why not.
pub fn reload_from(path: &Path, reloader: &Reloader) -> Result<usize, String> {
    let (new, warnings) = config::load_with_warnings(path, &config::ProcessEnv)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    let tenants = new.tenants.len();
    reloader.apply(new).map_err(|keys| {
        format!(
            "{}: changes that need a restart: {}",
            path.display(),
            keys.join("; ")
        )
    })?;
    Ok(tenants)
}

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
            match reload_from(&path, &reloader) {
                Ok(n) => tracing::info!(
                    tenants = n,
                    "configuration reloaded: tokens, OAuth clients, admin tokens, role mappings and policies replaced"
                ),
                Err(e) => tracing::error!(
                    "configuration reload refused, the running configuration is kept: {e}"
                ),
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (path, reloader);
}
