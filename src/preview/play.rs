//! Playing a transcript on a copy of a tenant's site: the steps of a preview, in order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use secrecy::SecretString;
use serde::Serialize;
use serde_json::Value;

use super::impact::{impact, Impact, Person, SiteView};
use super::intended::{self, CurrentGroup, CurrentUser};
use super::transcript::{ScimRequest, Source};
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
    /// The body sent (so a preview of a CSV shows the requests it was turned into).
    pub body: Option<Value>,
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

/// Preview `source` on the site of the tenant `tenant` of the configuration at `path`
/// (with its breaker when `breaker`). Tableau is read, never written; the store is copied.
pub async fn preview(
    path: &Path,
    tenant: Option<&str>,
    source: &Source,
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
    let managed: BTreeSet<String> = copy
        .users(&t.id)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|u| !u.deleted)
        .map(|u| u.id)
        .collect();

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
    let mut player = Player {
        http: reqwest::Client::new(),
        base: format!("http://{}/scim/v2", serving.server.addr),
        token,
        site: &site,
        played: Vec::new(),
    };
    let outcome = match source {
        Source::Requests(requests) => player.play_all(requests).await,
        Source::Intended(rows) => player.reach(rows, &managed).await,
    };
    let played = outcome.map(|()| player.played);
    let after = view(&site);
    let dropped = site.with_state(|s| s.take_call_log().dropped).unwrap_or(0);
    serving.server.handle.stop(true).await;
    for tenant in &serving.tenants() {
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

/// Sends requests to the preview's server and keeps each answer with the calls it caused.
struct Player<'a> {
    http: reqwest::Client,
    base: String,
    token: String,
    site: &'a RunningEmulator,
    played: Vec<Played>,
}

/// Users and groups are listed this many to a page when a CSV is reached.
const PAGE: usize = 500;

impl Player<'_> {
    async fn play_all(&mut self, requests: &[ScimRequest]) -> Result<(), String> {
        for r in requests {
            self.send(r).await?;
        }
        Ok(())
    }

    /// Reach the intended state of `rows`: list the site's users (`managed`: the ids the
    /// store provisioned), send the user requests,
    /// list the groups, send the group requests (they need the new users' ids).
    async fn reach(
        &mut self,
        rows: &[intended::Row],
        managed: &BTreeSet<String>,
    ) -> Result<(), String> {
        let mut users = BTreeMap::new();
        for u in self.list("/Users").await? {
            if let (Some(name), Some(id)) = (u["userName"].as_str(), u["id"].as_str()) {
                let active = u["active"].as_bool().unwrap_or(true);
                users.insert(
                    name.to_lowercase(),
                    CurrentUser {
                        id: id.into(),
                        active,
                        managed: managed.contains(id),
                    },
                );
            }
        }
        let mut ids: BTreeMap<String, String> = users
            .iter()
            .map(|(n, u)| (n.clone(), u.id.clone()))
            .collect();
        for r in intended::user_requests(rows, &users) {
            let answer = self.send(&r).await?;
            if r.method == "POST" {
                if let (Some(name), Some(id)) = (answer["userName"].as_str(), answer["id"].as_str())
                {
                    ids.insert(name.to_lowercase(), id.to_string());
                }
            }
        }
        let mut groups = BTreeMap::new();
        for g in self.list("/Groups").await? {
            if let (Some(name), Some(id)) = (g["displayName"].as_str(), g["id"].as_str()) {
                let members = g["members"]
                    .as_array()
                    .map(|m| {
                        m.iter()
                            .filter_map(|m| m["value"].as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                groups.insert(
                    name.to_string(),
                    CurrentGroup {
                        id: id.into(),
                        members,
                    },
                );
            }
        }
        for r in intended::group_requests(rows, &ids, &groups) {
            self.send(&r).await?;
        }
        Ok(())
    }

    /// Every resource of `endpoint`, page by page (each page a request played).
    async fn list(&mut self, endpoint: &str) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        loop {
            let r = ScimRequest {
                method: "GET".into(),
                path: format!("{endpoint}?startIndex={}&count={PAGE}", out.len() + 1),
                body: None,
            };
            let page = self.send(&r).await?;
            let total = page["totalResults"].as_u64().unwrap_or(0);
            let got = page["Resources"].as_array().cloned().unwrap_or_default();
            let empty = got.is_empty();
            out.extend(got);
            if empty || out.len() as u64 >= total {
                return Ok(out);
            }
        }
    }

    /// Send one request; keep its answer and the calls it caused; return its body.
    async fn send(&mut self, r: &ScimRequest) -> Result<Value, String> {
        let method = reqwest::Method::from_bytes(r.method.as_bytes())
            .map_err(|e| format!("{} {}: {e}", r.method, r.path))?;
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base, r.path))
            .bearer_auth(&self.token);
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
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let detail = (status >= 400)
            .then(|| {
                answer
                    .get("detail")
                    .and_then(|d| d.as_str())
                    .map(String::from)
            })
            .flatten();
        let outcome = match status {
            s if s < 400 => Outcome::Done,
            _ if held => Outcome::Held,
            _ => Outcome::Refused,
        };
        let calls = self
            .site
            .with_state(|s| s.take_call_log().calls)
            .unwrap_or_default();
        self.played.push(Played {
            method: r.method.clone(),
            path: r.path.clone(),
            body: r.body.clone(),
            status,
            outcome,
            detail,
            calls,
        });
        Ok(answer)
    }
}
