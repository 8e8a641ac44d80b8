//! The Tableau REST client. Every call goes through one funnel ([`funnel`]) that holds the
//! session, re-signs in once on a 401 (single-flight), honours 429 `Retry-After`, retries
//! idempotent calls on 5xx, connection errors and timeouts with jittered backoff, and never
//! blindly repeats a non-idempotent call whose outcome is unknown. What to do after each attempt
//! is decided by [`super::retry::classify`].
//!
//! `session` signs in and out, `users` and `groups` are the calls, each a line or two over the
//! funnel.

pub mod budget;
mod call_span;
mod content;
mod funnel;
mod groups;
mod rate_limits;
mod redirect;
mod sealed_session;
mod session;
mod site;
mod snapshot;
pub mod throttle;
mod users;

use std::time::{Duration, Instant};

pub use sealed_session::SessionSeal;
use secrecy::SecretString;
use tokio::sync::{Mutex, OnceCell, RwLock};

use super::deployment::Deployment;
use super::error::TableauError;
use super::jwt::ConnectedApp;
use super::model::{ApiVersion, Page, Pagination};
use super::retry::RetryPolicy;
use super::site_role::SiteRole;
use super::stats::{CallStats, StatsSnapshot};
use super::xml::Element;
pub use session::{Session, SessionShare};

/// How the client signs in.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A Personal Access Token. Tableau allows one session per PAT: a second sign-in ends the
    /// first (tableau-rest.md section 1.4).
    Pat {
        /// Token name.
        name: String,
        /// Token secret.
        secret: SecretString,
    },
    /// A Connected App (direct trust): a fresh JWT per sign-in.
    ConnectedApp(ConnectedApp),
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Server or Cloud pod URL, e.g. `https://prod-useast-b.online.tableau.com`.
    pub server_url: String,
    /// Site content URL (`""` is the Default site on Tableau Server).
    pub site: String,
    /// REST API version; discovered with `serverinfo` when `None`.
    pub api_version: Option<String>,
    /// Credentials.
    pub credentials: Credentials,
    /// Retry budget.
    pub retry: RetryPolicy,
    /// Timeout of one HTTP exchange.
    pub request_timeout: Duration,
    /// Page size for listings (Tableau allows at most 1000).
    pub page_size: u32,
    /// Most requests in flight at once; fewer while Tableau throttles ([`throttle`]).
    pub max_in_flight: usize,
    /// The `tenant` label of this client's metrics.
    pub label: String,
    /// Tableau Cloud or Tableau Server (which attributes a request may carry).
    pub deployment: Deployment,
    /// A key of the replicas' own mixed into the seal of the shared session
    /// ([`SessionSeal::for_credentials`]).
    pub session_key: Option<SecretString>,
}

impl ClientConfig {
    /// Timeout of one HTTP exchange unless configured.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// Requests in flight at once unless configured.
    pub const DEFAULT_MAX_IN_FLIGHT: usize = 8;
    /// Tableau's largest page (`pageSize` above 1000 is 403014).
    pub const MAX_PAGE_SIZE: u32 = 1000;

    /// Settings with defaults for everything but the target and credentials.
    pub fn new(server_url: &str, site: &str, credentials: Credentials) -> Self {
        ClientConfig {
            server_url: server_url.trim_end_matches('/').to_string(),
            site: site.to_string(),
            api_version: None,
            credentials,
            retry: RetryPolicy::default(),
            request_timeout: Self::DEFAULT_TIMEOUT,
            page_size: Self::MAX_PAGE_SIZE,
            max_in_flight: Self::DEFAULT_MAX_IN_FLIGHT,
            label: site.to_string(),
            deployment: Deployment::Server,
            session_key: None,
        }
    }
}

/// How a user name is matched in a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameMatch {
    /// `name:eq:` (exact).
    Exact,
    /// `name:cieq:` (case-insensitive), as the Migration SDK uses after a conflict.
    CaseInsensitive,
}

/// The Tableau REST client for one site.
pub struct TableauClient {
    http: reqwest::Client,
    cfg: ClientConfig,
    version: OnceCell<ApiVersion>,
    session: RwLock<Option<std::sync::Arc<Session>>>,
    sign_in_lock: Mutex<()>,
    /// The session shared with other replicas (PAT only), once set.
    share: std::sync::OnceLock<std::sync::Arc<dyn SessionShare>>,
    stats: std::sync::Arc<CallStats>,
    /// Shared with the budget's sync task, when replicas share one ([`budget::sync`]).
    throttle: std::sync::Arc<throttle::Throttle>,
    /// Tableau answered `cieq` with 400065: names are compared with `eq` from then on.
    no_cieq: std::sync::atomic::AtomicBool,
    /// Ids of people an identity move gave a new LUID ([`crate::tableau::aliases`]).
    aliases: std::sync::Arc<crate::tableau::aliases::IdAliases>,
}

impl std::fmt::Debug for TableauClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableauClient")
            .field("server_url", &self.cfg.server_url)
            .field("site", &self.cfg.site)
            .finish_non_exhaustive()
    }
}

impl TableauClient {
    /// A client for `cfg`. Nothing is sent until the first call.
    pub fn new(cfg: ClientConfig) -> Result<TableauClient, TableauError> {
        if cfg.page_size == 0 || cfg.page_size > ClientConfig::MAX_PAGE_SIZE {
            return Err(TableauError::Config(format!(
                "page size {} is outside 1..=1000 (Tableau answers 403014 above 1000)",
                cfg.page_size
            )));
        }
        if let Some(v) = &cfg.api_version {
            if ApiVersion::parse(v).is_none() {
                return Err(TableauError::Config(format!(
                    "API version '{v}' is not like 3.21"
                )));
            }
        }
        let http = reqwest::Client::builder()
            // Redirects are followed by hand, re-posting what was sent (see `redirect`).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(cfg.request_timeout)
            .connect_timeout(cfg.request_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("tableau-scim/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TableauError::Config(format!("HTTP client: {e}")))?;
        Ok(TableauClient {
            http,
            stats: std::sync::Arc::new(CallStats::new(&cfg.label)),
            throttle: std::sync::Arc::new(throttle::Throttle::new(cfg.max_in_flight)),
            cfg,
            version: OnceCell::new(),
            session: RwLock::new(None),
            sign_in_lock: Mutex::new(()),
            share: std::sync::OnceLock::new(),
            no_cieq: std::sync::atomic::AtomicBool::new(false),
            aliases: std::sync::Arc::default(),
        })
    }

    /// The user ids this client translates at its edge (identity moves).
    pub fn aliases(&self) -> &std::sync::Arc<crate::tableau::aliases::IdAliases> {
        &self.aliases
    }

    /// Call counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Zero the call counters.
    pub fn reset_stats(&self) {
        self.stats.reset()
    }

    /// The adaptive limits now: calls allowed in flight, calls per second (once Tableau has
    /// throttled), and throttles seen.
    pub fn limits(&self) -> (usize, Option<f64>, u64) {
        self.throttle.now()
    }
}

/// A transport error with its causes. reqwest's Display names the URL, never headers (no token
/// leaks here); the URL's query is left out, since a lookup's holds a user's email
/// (`filter=name:eq:...`) and the message is logged.
fn transport(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(url) = e.url().filter(|u| u.query().is_some()) {
        let mut bare = url.clone();
        bare.set_query(None);
        s = s.replace(url.as_str(), bare.as_str());
    }
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(&format!(": {inner}"));
        src = inner.source();
    }
    s
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A listing page: `<pagination>` and the `<item>`s of `<list>`.
fn read_page<T>(
    root: &Element,
    list: &str,
    item: &str,
    read: fn(&Element) -> Result<T, TableauError>,
) -> Result<Page<T>, TableauError> {
    let pagination = root
        .find("pagination")
        .map(Pagination::from_element)
        .transpose()?
        .ok_or_else(|| TableauError::Protocol("a list response without <pagination>".into()))?;
    let items = match root.find(list) {
        Some(l) => l
            .children_named(item)
            .map(read)
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    Ok(Page { items, pagination })
}

/// The one `<item>` of a response.
fn one<T>(
    root: &Element,
    item: &str,
    read: fn(&Element) -> Result<T, TableauError>,
) -> Result<T, TableauError> {
    read(
        root.find(item)
            .ok_or_else(|| TableauError::Protocol(format!("response without <{item}>")))?,
    )
}

/// Roles tableau-scim never sets are refused before anything is sent.
fn refuse_unassignable(role: SiteRole) -> Result<(), TableauError> {
    if role.is_assignable() {
        Ok(())
    } else {
        Err(TableauError::Refused(format!(
            "the site role {role} is never set by tableau-scim; assignable roles are {}",
            SiteRole::ASSIGNABLE.map(SiteRole::as_str).join(", ")
        )))
    }
}

/// Tableau filter values may not contain ',' or '&' (tableau-rest.md section 2.2), and a `*`
/// in one is a wildcard (Tableau's MCP server: `filter=name:eq:mark*`), so a name holding it
/// cannot be asked for exactly.
fn filter_safe(v: &str) -> bool {
    !v.contains([',', '&', '*'])
}

/// Whether `found` is the name asked for: the same text, or under `CaseInsensitive` the same
/// text in any letter case (Tableau compares user and group names without case: a name that
/// differs only in case is "already exists").
fn same_name(found: &str, asked: &str, how: NameMatch) -> bool {
    match how {
        NameMatch::Exact => found == asked,
        NameMatch::CaseInsensitive => found.to_lowercase() == asked.to_lowercase(),
    }
}

fn name_filter(name: &str, how: NameMatch) -> Result<String, TableauError> {
    if !filter_safe(name) {
        return Err(TableauError::Refused(format!(
            "'{name}' cannot be used in a Tableau filter (',' and '&' are not allowed, '*' is a wildcard)"
        )));
    }
    let op = match how {
        NameMatch::Exact => "eq",
        NameMatch::CaseInsensitive => "cieq",
    };
    Ok(format!("name:{op}:{name}"))
}

/// A path segment: LUIDs are hex and dashes, anything else is refused by percent-encoding it.
fn seg(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_path_segments_are_safe() {
        assert_eq!(
            name_filter("a@b.c", NameMatch::Exact).ok(),
            Some("name:eq:a@b.c".to_string())
        );
        assert_eq!(
            name_filter("a@b.c", NameMatch::CaseInsensitive).ok(),
            Some("name:cieq:a@b.c".to_string())
        );
        assert!(name_filter("a,b", NameMatch::Exact).is_err());
        assert!(
            name_filter("a*c@example.com", NameMatch::Exact).is_err(),
            "a wildcard"
        );
        assert!(same_name(
            "Ann@Example.com",
            "ann@example.com",
            NameMatch::CaseInsensitive
        ));
        assert!(!same_name(
            "Ann@Example.com",
            "ann@example.com",
            NameMatch::Exact
        ));
        assert!(!same_name(
            "abc@example.com",
            "a*c@example.com",
            NameMatch::CaseInsensitive
        ));
        assert_eq!(seg("6b7179ba-b82b"), "6b7179ba-b82b");
        assert_eq!(seg("../x?y"), "%2E%2E%2Fx%3Fy");
    }
}
