//! Configuration: a TOML file, secrets also from environment variables or files, a few common
//! settings overridable from the environment. Unknown keys and bad values are errors that name
//! the key and what is accepted; `load` fails fast on them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use crate::bridge::cache::CacheTtls;
use crate::bridge::roles::RoleMapping;
use crate::bridge::tenant::{Deprovision, OnLicenseExhausted, Policy, RejectedUser};
use crate::http::TokenDigest;
use crate::tableau::jwt::ConnectedApp;
use crate::tableau::retry::RetryPolicy;
use crate::tableau::{Credentials, SiteRole};

/// A configuration problem, in words that name the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Tableau Cloud or Tableau Server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Deployment {
    /// Tableau Cloud: user names are emails and cannot change; no `mapAssetsTo`.
    Cloud,
    /// Tableau Server.
    Server,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    tenants: Vec<TenantSection>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    listen: Option<String>,
    public_url: Option<String>,
    data_dir: Option<PathBuf>,
    log_format: Option<LogFormat>,
    max_body_bytes: Option<usize>,
    max_page_size: Option<usize>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    trust_forwarded_headers: Option<bool>,
    tableau_concurrency: Option<usize>,
    tableau_timeout_secs: Option<u64>,
    workers: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectedAppSection {
    client_id: String,
    secret_id: String,
    secret_value: Option<String>,
    secret_value_file: Option<PathBuf>,
    username: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RetrySection {
    max_attempts: Option<u32>,
    base_delay_ms: Option<u64>,
    max_delay_ms: Option<u64>,
    max_total_secs: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CacheSection {
    users_ttl_secs: Option<u64>,
    groups_ttl_secs: Option<u64>,
    members_ttl_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantSection {
    id: String,
    tableau_url: String,
    site: String,
    deployment: Deployment,
    api_version: Option<String>,
    pat_name: Option<String>,
    pat_secret: Option<String>,
    pat_secret_file: Option<PathBuf>,
    connected_app: Option<ConnectedAppSection>,
    #[serde(default)]
    token_hashes: Vec<String>,
    tokens_file: Option<PathBuf>,
    auth_setting: Option<String>,
    idp_configuration_id: Option<String>,
    default_role: Option<String>,
    #[serde(default)]
    roles: BTreeMap<String, String>,
    #[serde(default)]
    group_roles: BTreeMap<String, String>,
    deprovision: Option<Deprovision>,
    on_license_exhausted: Option<OnLicenseExhausted>,
    rejected_user: Option<RejectedUser>,
    map_assets_to: Option<String>,
    group_minimum_site_role: Option<String>,
    #[serde(default)]
    retry: RetrySection,
    #[serde(default)]
    cache: CacheSection,
}

/// Server-wide settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Listen address.
    pub listen: String,
    /// Public base URL of `/scim/v2`, when behind a proxy.
    pub public_url: Option<String>,
    /// Directory of the store.
    pub data_dir: PathBuf,
    /// Log format.
    pub log_format: LogFormat,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Largest page.
    pub max_page_size: usize,
    /// TLS certificate and key (PEM).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Honour `X-Forwarded-Proto`/`X-Forwarded-Host` (only behind a trusted proxy).
    pub trust_forwarded_headers: bool,
    /// Most Tableau calls in flight per tenant.
    pub tableau_concurrency: usize,
    /// Timeout of one Tableau call.
    pub tableau_timeout: Duration,
    /// HTTP worker threads.
    pub workers: usize,
}

/// One tenant's settings.
#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// Tenant id.
    pub id: String,
    /// Tableau URL.
    pub tableau_url: String,
    /// Site content URL.
    pub site: String,
    /// Cloud or Server.
    pub deployment: Deployment,
    /// REST API version, or discover.
    pub api_version: Option<String>,
    /// How to sign in.
    pub credentials: Credentials,
    /// Accepted bearer tokens.
    pub tokens: Vec<TokenDigest>,
    /// Role mapping.
    pub roles: RoleMapping,
    /// Policies.
    pub policy: Policy,
    /// Retry budget.
    pub retry: RetryPolicy,
    /// Cache lifetimes.
    pub ttls: CacheTtls,
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Server settings.
    pub server: ServerConfig,
    /// Tenants.
    pub tenants: Vec<TenantConfig>,
}

/// Where secrets and overrides come from (the process environment, or a map in tests).
pub trait Env {
    /// A variable's value.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// The environment prefix of a tenant: `TABLEAU_SCIM_TENANT_<ID>_`, the id upper-cased with
/// every other character as `_`.
pub fn tenant_env_prefix(id: &str) -> String {
    let id: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("TABLEAU_SCIM_TENANT_{id}_")
}

fn read_secret_file(path: &Path, key: &str) -> Result<String, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s.trim_end_matches(['\r', '\n']).to_string()),
        Err(e) => err(format!("{key}: cannot read {}: {e}", path.display())),
    }
}

/// A secret from (in order) the environment, a file, or the config value itself.
fn secret(
    env: &dyn Env,
    env_name: &str,
    file: Option<&Path>,
    value: Option<&str>,
    key: &str,
) -> Result<Option<SecretString>, ConfigError> {
    if let Some(v) = env.var(env_name) {
        return Ok(Some(SecretString::from(v)));
    }
    if let Some(p) = file {
        return Ok(Some(SecretString::from(read_secret_file(p, key)?)));
    }
    Ok(value.map(|v| SecretString::from(v.to_string())))
}

fn site_role(value: &str, key: &str) -> Result<SiteRole, ConfigError> {
    let mapping = RoleMapping::new([], [], SiteRole::Viewer);
    match mapping.lookup(value) {
        Some(r) => Ok(r),
        None => err(format!(
            "{key}: '{value}' is not a site role tableau-scim can assign; accepted: {}",
            SiteRole::ASSIGNABLE.map(SiteRole::as_str).join(", ")
        )),
    }
}

/// Load and check a configuration file.
pub fn load(path: &Path, env: &dyn Env) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
    parse(&text, env).map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))
}

/// Parse and check configuration text.
pub fn parse(text: &str, env: &dyn Env) -> Result<Config, ConfigError> {
    let file: FileConfig =
        toml::from_str(text).map_err(|e| ConfigError(e.to_string().trim().to_string()))?;
    let s = file.server;
    let tls = match (s.tls_cert, s.tls_key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => return err("server.tls_cert and server.tls_key go together: give both or neither"),
    };
    let server = ServerConfig {
        listen: env
            .var("TABLEAU_SCIM_LISTEN")
            .or(s.listen)
            .unwrap_or_else(|| "0.0.0.0:8080".into()),
        public_url: env.var("TABLEAU_SCIM_PUBLIC_URL").or(s.public_url),
        data_dir: env
            .var("TABLEAU_SCIM_DATA_DIR")
            .map(PathBuf::from)
            .or(s.data_dir)
            .unwrap_or_else(|| PathBuf::from("./data")),
        log_format: match env.var("TABLEAU_SCIM_LOG_FORMAT").as_deref() {
            Some("json") => LogFormat::Json,
            Some("text") => LogFormat::Text,
            Some(other) => {
                return err(format!(
                    "TABLEAU_SCIM_LOG_FORMAT: '{other}' is not accepted; use text or json"
                ))
            }
            None => s.log_format.unwrap_or_default(),
        },
        max_body_bytes: s.max_body_bytes.unwrap_or(1024 * 1024),
        max_page_size: s.max_page_size.unwrap_or(200),
        tls,
        trust_forwarded_headers: s.trust_forwarded_headers.unwrap_or(false),
        tableau_concurrency: s.tableau_concurrency.unwrap_or(8),
        tableau_timeout: Duration::from_secs(s.tableau_timeout_secs.unwrap_or(30)),
        workers: s.workers.unwrap_or(2),
    };
    if server.max_page_size == 0 || server.max_page_size > 1000 {
        return err(format!(
            "server.max_page_size: {} is outside 1..=1000",
            server.max_page_size
        ));
    }
    if server.tableau_concurrency == 0 {
        return err("server.tableau_concurrency: must be at least 1");
    }
    if let Some(u) = &server.public_url {
        if !(u.starts_with("https://") || u.starts_with("http://")) {
            return err(format!(
                "server.public_url: '{u}' must start with https:// or http://"
            ));
        }
    }
    if file.tenants.is_empty() {
        return err("no [[tenants]]: configure at least one Tableau site");
    }
    let mut tenants = Vec::new();
    let mut seen_tokens: Vec<(TokenDigest, String)> = Vec::new();
    for (i, t) in file.tenants.into_iter().enumerate() {
        let key = format!("tenants[{i}] ({})", t.id);
        if t.id.is_empty()
            || !t
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return err(format!(
                "tenants[{i}].id: '{}' must be non-empty letters, digits, '-' or '_'",
                t.id
            ));
        }
        if tenants.iter().any(|x: &TenantConfig| x.id == t.id) {
            return err(format!("{key}: the id is used twice"));
        }
        if !(t.tableau_url.starts_with("https://") || t.tableau_url.starts_with("http://")) {
            return err(format!("{key}.tableau_url: '{}' must start with https:// (or http:// for a local emulator)", t.tableau_url));
        }
        if let Some(v) = &t.api_version {
            if crate::tableau::model::ApiVersion::parse(v)
                .is_none_or(|v| v < crate::tableau::model::ApiVersion::MINIMUM)
            {
                return err(format!("{key}.api_version: '{v}' is not a REST API version of at least 3.7 (such as 3.24)"));
            }
        }
        let prefix = tenant_env_prefix(&t.id);
        let pat_secret = secret(
            env,
            &format!("{prefix}PAT_SECRET"),
            t.pat_secret_file.as_deref(),
            t.pat_secret.as_deref(),
            &format!("{key}.pat_secret"),
        )?;
        let credentials = match (&t.pat_name, pat_secret, t.connected_app) {
            (Some(name), Some(secret), None) => Credentials::Pat { name: name.clone(), secret },
            (None, None, Some(ca)) => {
                let value = secret(env, &format!("{prefix}CONNECTED_APP_SECRET"), ca.secret_value_file.as_deref(), ca.secret_value.as_deref(), &format!("{key}.connected_app.secret_value"))?
                    .ok_or_else(|| ConfigError(format!("{key}.connected_app: give secret_value, secret_value_file or {prefix}CONNECTED_APP_SECRET")))?;
                Credentials::ConnectedApp(ConnectedApp { client_id: ca.client_id, secret_id: ca.secret_id, secret_value: value, username: ca.username })
            }
            (Some(_), None, None) => return err(format!("{key}: pat_name is set but no secret: give pat_secret, pat_secret_file or {prefix}PAT_SECRET")),
            (None, Some(_), None) => return err(format!("{key}: a PAT secret is given without pat_name")),
            (None, None, None) => return err(format!("{key}: no Tableau credentials: give pat_name with a secret, or [tenants.connected_app]")),
            _ => return err(format!("{key}: give a PAT or a connected app, not both")),
        };
        let mut tokens = Vec::new();
        for (j, h) in t.token_hashes.iter().enumerate() {
            tokens.push(TokenDigest::from_hex(h).ok_or_else(|| ConfigError(format!("{key}.token_hashes[{j}]: not 64 hex digits (make one with `tableau-scim hash-token`)")))?);
        }
        let mut plain: Vec<String> = Vec::new();
        if let Some(p) = &t.tokens_file {
            plain.extend(
                read_secret_file(p, &format!("{key}.tokens_file"))?
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string),
            );
        }
        if let Some(v) = env.var(&format!("{prefix}TOKENS")) {
            plain.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string),
            );
        }
        for p in plain {
            if p.len() < 16 {
                return err(format!(
                    "{key}: a bearer token is shorter than 16 characters; use a long random token"
                ));
            }
            tokens.push(TokenDigest::of(&p));
        }
        if tokens.is_empty() {
            return err(format!(
                "{key}: no SCIM bearer token: give token_hashes, tokens_file or {prefix}TOKENS"
            ));
        }
        for d in &tokens {
            if let Some((_, other)) = seen_tokens.iter().find(|(x, _)| x == d) {
                return err(format!("{key}: a bearer token is also a token of tenant {other}; each tenant needs its own"));
            }
            seen_tokens.push((d.clone(), t.id.clone()));
        }
        let mut table = Vec::new();
        for (idp, role) in &t.roles {
            table.push((idp.clone(), site_role(role, &format!("{key}.roles.{idp}"))?));
        }
        let mut groups = Vec::new();
        for (g, role) in &t.group_roles {
            groups.push((
                g.clone(),
                site_role(role, &format!("{key}.group_roles.{g}"))?,
            ));
        }
        let default = match &t.default_role {
            Some(r) => site_role(r, &format!("{key}.default_role"))?,
            None => SiteRole::Viewer,
        };
        let group_min = match &t.group_minimum_site_role {
            Some(r) => Some(site_role(r, &format!("{key}.group_minimum_site_role"))?),
            None => None,
        };
        if t.deployment == Deployment::Cloud && t.map_assets_to.is_some() {
            return err(format!(
                "{key}.map_assets_to: Tableau Cloud refuses mapAssetsTo; remove it"
            ));
        }
        if t.auth_setting.is_some() && t.idp_configuration_id.is_some() {
            return err(format!(
                "{key}: give auth_setting or idp_configuration_id, not both"
            ));
        }
        let d = RetryPolicy::default();
        let retry = RetryPolicy {
            max_attempts: t.retry.max_attempts.unwrap_or(d.max_attempts).max(1),
            base_delay: t
                .retry
                .base_delay_ms
                .map_or(d.base_delay, Duration::from_millis),
            max_delay: t
                .retry
                .max_delay_ms
                .map_or(d.max_delay, Duration::from_millis),
            max_total: t
                .retry
                .max_total_secs
                .map_or(d.max_total, Duration::from_secs),
        };
        let c = CacheTtls::default();
        let ttls = CacheTtls {
            users: t.cache.users_ttl_secs.map_or(c.users, Duration::from_secs),
            groups: t
                .cache
                .groups_ttl_secs
                .map_or(c.groups, Duration::from_secs),
            members: t
                .cache
                .members_ttl_secs
                .map_or(c.members, Duration::from_secs),
        };
        tenants.push(TenantConfig {
            id: t.id.clone(),
            tableau_url: t.tableau_url.trim_end_matches('/').to_string(),
            site: t.site,
            deployment: t.deployment,
            api_version: t.api_version,
            credentials,
            tokens,
            roles: RoleMapping::new(table, groups, default),
            policy: Policy {
                deprovision: t.deprovision.unwrap_or(Deprovision::Remove),
                on_license_exhausted: t
                    .on_license_exhausted
                    .unwrap_or(OnLicenseExhausted::Downgrade),
                rejected_user: t.rejected_user.unwrap_or(RejectedUser::Unlicensed),
                map_assets_to: t.map_assets_to,
                auth_setting: t.auth_setting,
                idp_configuration_id: t.idp_configuration_id,
                group_minimum_site_role: group_min,
                can_rename: t.deployment == Deployment::Server,
            },
            retry,
            ttls,
        });
    }
    Ok(Config { server, tenants })
}
