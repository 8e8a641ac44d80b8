//! Playing a transcript on a copy of a tenant's site: the steps of a preview, in order.

use std::path::Path;
use std::sync::Arc;

use secrecy::SecretString;
use serde::Serialize;

use super::impact::{impact, Impact, Person, SiteView};
use super::transcript::ScimRequest;
use crate::config::{self, Config, ServerConfig, TenantConfig};
use crate::emulator::state::LoggedCall;
use crate::emulator::{self, EmulatorConfig, Flavor, RunningEmulator};
use crate::http::TokenDigest;
use crate::serve::{self, STORE_FILE};
use crate::store::{SqliteStore, Store};
use crate::tableau::model::ALL_USERS;
use crate::tableau::snapshot::SiteSnapshot;
use crate::tableau::{Credentials, Deployment};

/// What the bridge answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// 2xx: applied.
    Done,
    /// 503 with `Retry-After`: held by the breaker of mass changes (or awaiting approval).
    Held,
    /// Any other error: refused, nothing changed.
    Refused,
}

/// One request played, and the Tableau calls it caused in the order they were answered.
#[derive(Debug, Clone, Serialize)]
pub struct Played {
    /// The SCIM method.
    pub method: String,
    /// The SCIM path.
    pub path: String,
    /// The status the bridge answered.
    pub status: u16,
    /// What the status means for the change.
    pub outcome: Outcome,
    /// The SCIM error's `detail`, for an error.
    pub detail: Option<String>,
    /// The Tableau calls made while it was played (reads and changes).
    pub calls: Vec<LoggedCall>,
}

/// A whole preview.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// The tenant previewed.
    pub tenant: String,
    /// Each request, in order.
    pub played: Vec<Played>,
    /// What the changes would do to the site.
    pub impact: Impact,
    /// Calls past the log's bound ([`crate::emulator::state::MAX_LOGGED`]), not listed.
    pub calls_not_listed: u64,
}

impl Preview {
    /// Every call that changes the site, in order (what a real run must make too).
    pub fn changes(&self) -> Vec<&LoggedCall> {
        self.played
            .iter()
            .flat_map(|p| p.calls.iter())
            .filter(|c| c.is_change())
            .collect()
    }
}

/// Preview `requests` on the site of the tenant `tenant` of the configuration at `path`
/// (with its breaker when `breaker`). Tableau is read, never written; the store is copied.
pub async fn preview(
    path: &Path,
    tenant: Option<&str>,
    requests: &[ScimRequest],
    breaker: bool,
) -> Result<Preview, String> {
    let config = config::load(path, &config::ProcessEnv).map_err(|e| e.to_string())?;
    let t = serve::pick(&config, tenant)?.clone();
    let store = serve::open_configured_store(&config).await?;
    let real = serve::tenant_for(&t, &config, store.clone())?;
    let snapshot = real.site_snapshot().await;
    real.sign_out().await;
    let snapshot = snapshot.map_err(|e| format!("reading the site of tenant {}: {e}", t.id))?;

    let dir = tempfile::tempdir().map_err(|e| format!("a temporary directory: {e}"))?;
    let copy: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join(STORE_FILE)).map_err(|e| e.to_string())?);
    crate::migrate_store::copy_tenant(store.as_ref(), copy.as_ref(), &t.id).await?;

    let secret = crate::demo::generated_token();
    let site = start_copy(&t, &snapshot, &secret)?;
    let token = crate::demo::generated_token();
    let served = Config {
        server: ServerConfig {
            listen: "127.0.0.1:0".into(),
            data_dir: dir.path().to_path_buf(),
            ..ServerConfig::default()
        },
        tenants: vec![tenant_on_copy(&t, &site, &secret, &token, breaker)],
    };
    let serving = serve::start_with_store(&served, copy)?;
    let before = view(&site);
    site.with_state(|s| s.start_call_log());
    let base = format!("http://{}/scim/v2", serving.server.addr);
    let played = play(&base, &token, requests, &site).await;
    let after = view(&site);
    let dropped = site.with_state(|s| s.take_call_log().dropped).unwrap_or(0);
    serving.server.handle.stop(true).await;
    for tenant in &serving.tenants {
        tenant.sign_out().await;
    }
    site.handle.stop(true).await;
    Ok(Preview {
        tenant: t.id,
        played: played?,
        impact: impact(&before, &after),
        calls_not_listed: dropped,
    })
}

/// An emulated Tableau that is a copy of the site, signed in to with a PAT of its own.
fn start_copy(
    t: &TenantConfig,
    snapshot: &SiteSnapshot,
    secret: &str,
) -> Result<RunningEmulator, String> {
    let mut cfg = EmulatorConfig::new(&t.site, "tableau-scim-preview", secret);
    cfg.set_flavor(match t.policy.deployment {
        Deployment::Cloud => Flavor::Cloud,
        Deployment::Server => Flavor::Server,
    });
    cfg.api_version = snapshot.api_version.clone();
    cfg.auth_configurations = snapshot.auth_configurations.clone();
    let site = emulator::start("127.0.0.1:0", cfg, 1).map_err(|e| format!("the copy: {e}"))?;
    site.with_state(|s| s.mirror(snapshot));
    Ok(site)
}

/// The tenant's own configuration (roles, policies, the breaker unless turned off), on the
/// copy, accepting one token of the preview's.
fn tenant_on_copy(
    t: &TenantConfig,
    site: &RunningEmulator,
    secret: &str,
    token: &str,
    breaker: bool,
) -> TenantConfig {
    let mut copy = TenantConfig {
        tableau_url: site.url(),
        credentials: Credentials::Pat {
            name: "tableau-scim-preview".into(),
            secret: SecretString::from(secret.to_string()),
        },
        tokens: vec![TokenDigest::of(token)],
        admin_tokens: Vec::new(),
        reconcile: Default::default(),
        ..t.clone()
    };
    copy.policy.safety.enabled &= breaker;
    copy
}

/// The site as the impact reads it.
fn view(site: &RunningEmulator) -> SiteView {
    site.with_state(|s| {
        let users = s
            .users_sorted()
            .into_iter()
            .map(|u| {
                (
                    u.name.to_string(),
                    Person {
                        role: u.site_role.to_string(),
                        owns: s.owns_anything(&u.id),
                    },
                )
            })
            .collect();
        let groups = s
            .group_names()
            .into_iter()
            .filter(|g| g != ALL_USERS)
            .map(|g| {
                let members = s.member_names(&g).unwrap_or_default();
                (g, members.into_iter().collect())
            })
            .collect();
        SiteView { users, groups }
    })
    .unwrap_or_default()
}

/// Send each request in order, keeping its answer and the calls it caused.
async fn play(
    base: &str,
    token: &str,
    requests: &[ScimRequest],
    site: &RunningEmulator,
) -> Result<Vec<Played>, String> {
    let http = reqwest::Client::new();
    let mut out = Vec::with_capacity(requests.len());
    for r in requests {
        let method = reqwest::Method::from_bytes(r.method.as_bytes())
            .map_err(|e| format!("{} {}: {e}", r.method, r.path))?;
        let mut req = http
            .request(method, format!("{base}{}", r.path))
            .bearer_auth(token);
        if let Some(body) = &r.body {
            req = req
                .header("Content-Type", "application/scim+json")
                .body(body.to_string());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("{} {}: {e}", r.method, r.path))?;
        let status = resp.status().as_u16();
        let held = status == 503 && resp.headers().contains_key("retry-after");
        let text = resp.text().await.unwrap_or_default();
        let detail = (status >= 400)
            .then(|| {
                serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(String::from))
            })
            .flatten();
        let outcome = match status {
            s if s < 400 => Outcome::Done,
            _ if held => Outcome::Held,
            _ => Outcome::Refused,
        };
        let calls = site
            .with_state(|s| s.take_call_log().calls)
            .unwrap_or_default();
        out.push(Played {
            method: r.method.clone(),
            path: r.path.clone(),
            status,
            outcome,
            detail,
            calls,
        });
    }
    Ok(out)
}
