//! The Tableau REST client. Every call goes through one funnel ([`TableauClient::send`]) that
//! holds the session, re-signs in once on a 401 (single-flight), honours 429 `Retry-After`,
//! retries idempotent calls on 5xx, connection errors and timeouts with jittered backoff, and
//! never blindly repeats a non-idempotent call whose outcome is unknown.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, OnceCell, RwLock};

use super::error::{parse_retry_after, TableauError};
use super::jwt::{self, ConnectedApp};
use super::model::{
    ApiVersion, Group, NewUser, Page, Pagination, ServerInfo, SiteInfo, User, UserUpdate,
};
use super::retry::RetryPolicy;
use super::site_role::SiteRole;
use super::stats::{CallStats, StatsSnapshot};
use super::xml::{self, element, ts_request, Element};

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
    /// Most requests in flight at once (Tableau Cloud answers 429 past its limits).
    pub max_in_flight: usize,
    /// The `tenant` label of this client's metrics.
    pub label: String,
}

impl ClientConfig {
    /// Settings with defaults for everything but the target and credentials.
    pub fn new(server_url: &str, site: &str, credentials: Credentials) -> Self {
        ClientConfig {
            server_url: server_url.trim_end_matches('/').to_string(),
            site: site.to_string(),
            api_version: None,
            credentials,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
            page_size: 1000,
            max_in_flight: 8,
            label: site.to_string(),
        }
    }
}

/// An established session.
#[derive(Debug)]
pub struct Session {
    token: SecretString,
    /// Site LUID.
    pub site_id: String,
    /// The signed-in user's LUID.
    pub user_id: String,
}

/// How a user name is matched in a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameMatch {
    /// `name:eq:` (exact).
    Exact,
    /// `name:cieq:` (case-insensitive), as the Migration SDK uses after a conflict.
    CaseInsensitive,
}

/// One request, described for the funnel.
struct Call {
    method: Method,
    /// Metrics label, e.g. `"users"`, `"groups/{id}/users"`.
    endpoint: &'static str,
    /// Path after `/api/{ver}/sites/{site-id}` (or after `/api/{ver}/` when not site-scoped).
    path: String,
    site_scoped: bool,
    query: Vec<(&'static str, String)>,
    body: Option<String>,
    /// Whether repeating it after an unknown outcome is harmless.
    idempotent: bool,
}

impl Call {
    fn new(method: Method, endpoint: &'static str, path: String) -> Call {
        let idempotent = method != Method::POST;
        Call {
            method,
            endpoint,
            path,
            site_scoped: true,
            query: Vec::new(),
            body: None,
            idempotent,
        }
    }

    fn query(mut self, k: &'static str, v: impl Into<String>) -> Call {
        self.query.push((k, v.into()));
        self
    }

    fn body(mut self, b: String) -> Call {
        self.body = Some(b);
        self
    }

    fn idempotent(mut self, yes: bool) -> Call {
        self.idempotent = yes;
        self
    }
}

/// The Tableau REST client for one site.
pub struct TableauClient {
    http: reqwest::Client,
    cfg: ClientConfig,
    version: OnceCell<ApiVersion>,
    session: RwLock<Option<Arc<Session>>>,
    sign_in_lock: Mutex<()>,
    stats: Arc<CallStats>,
    in_flight: tokio::sync::Semaphore,
}

impl std::fmt::Debug for TableauClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableauClient")
            .field("server_url", &self.cfg.server_url)
            .field("site", &self.cfg.site)
            .finish_non_exhaustive()
    }
}

fn transport(e: &reqwest::Error) -> String {
    // reqwest's Display names the URL, never headers: no token leaks here.
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(&format!(": {inner}"));
        src = inner.source();
    }
    s
}

impl TableauClient {
    /// A client for `cfg`. Nothing is sent until the first call.
    pub fn new(cfg: ClientConfig) -> Result<TableauClient, TableauError> {
        if cfg.page_size == 0 || cfg.page_size > 1000 {
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
            .timeout(cfg.request_timeout)
            .connect_timeout(cfg.request_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("tableau-scim/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TableauError::Config(format!("HTTP client: {e}")))?;
        Ok(TableauClient {
            http,
            stats: Arc::new(CallStats::new(&cfg.label)),
            in_flight: tokio::sync::Semaphore::new(cfg.max_in_flight.max(1)),
            cfg,
            version: OnceCell::new(),
            session: RwLock::new(None),
            sign_in_lock: Mutex::new(()),
        })
    }

    /// Call counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Zero the call counters.
    pub fn reset_stats(&self) {
        self.stats.reset()
    }

    /// The REST API version in use, discovering it once if not configured.
    pub async fn api_version(&self) -> Result<ApiVersion, TableauError> {
        self.version
            .get_or_try_init(|| async {
                match &self.cfg.api_version {
                    Some(v) => ApiVersion::parse(v)
                        .ok_or_else(|| TableauError::Config(format!("bad API version '{v}'"))),
                    None => {
                        let info = self.server_info().await?;
                        ApiVersion::parse(&info.rest_api_version).ok_or_else(|| {
                            TableauError::Protocol(format!(
                                "server reports API version '{}'",
                                info.rest_api_version
                            ))
                        })
                    }
                }
            })
            .await
            .copied()
    }

    /// `GET /api/{ver}/serverinfo`, which needs no sign-in. Uses the configured version, or
    /// the oldest we speak (every 3.x server answers it).
    pub async fn server_info(&self) -> Result<ServerInfo, TableauError> {
        let ver = self
            .cfg
            .api_version
            .clone()
            .unwrap_or_else(|| ApiVersion::MINIMUM.to_string());
        let url = format!("{}/api/{ver}/serverinfo", self.cfg.server_url);
        let (status, text) = self
            .unauthenticated("GET serverinfo", || self.http.get(&url))
            .await?;
        if !status.is_success() {
            return Err(xml::parse_error(status.as_u16(), &text));
        }
        let root = xml::parse(&text)?;
        ServerInfo::from_element(
            root.find("serverInfo")
                .ok_or_else(|| TableauError::Protocol("no <serverInfo>".into()))?,
        )
    }

    async fn sign_in_now(&self) -> Result<Session, TableauError> {
        let ver = self.api_version().await?;
        let site = element("site", &[("contentUrl", Some(&self.cfg.site))], None);
        let credentials = match &self.cfg.credentials {
            Credentials::Pat { name, secret } => element(
                "credentials",
                &[
                    ("personalAccessTokenName", Some(name)),
                    ("personalAccessTokenSecret", Some(secret.expose_secret())),
                ],
                Some(&site),
            ),
            Credentials::ConnectedApp(app) => {
                let now = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                    .unwrap_or(0);
                let token = jwt::mint(app, now).ok_or_else(|| {
                    TableauError::Config("cannot sign the connected-app JWT".into())
                })?;
                element(
                    "credentials",
                    &[("jwt", Some(&token)), ("isUat", Some("false"))],
                    Some(&site),
                )
            }
        };
        let url = format!("{}/api/{ver}/auth/signin", self.cfg.server_url);
        let body = ts_request(&credentials);
        self.stats.sign_in();
        let (status, text) = self
            .unauthenticated("POST auth/signin", || {
                self.http
                    .post(&url)
                    .header("Content-Type", "text/xml")
                    .body(body.clone())
            })
            .await?;
        if status.is_success() {
            return parse_session(&text);
        }
        Err(TableauError::SignIn(
            xml::parse_error(status.as_u16(), &text).to_string(),
        ))
    }

    /// Send a request that needs no session (server info, sign-in; both safe to repeat),
    /// retrying 429, 5xx and transport failures within the budget. Returns the final status
    /// and body; a status that is not retried is the caller's to read.
    async fn unauthenticated(
        &self,
        key: &str,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(StatusCode, String), TableauError> {
        let started_all = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started = Instant::now();
            let (why, wait) = match request().send().await {
                Ok(r) => {
                    let status = r.status();
                    let wait = retry_after(&r);
                    let text = r.text().await.unwrap_or_default();
                    self.stats.record(key, status.as_u16(), elapsed_ms(started));
                    if status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
                        return Ok((status, text));
                    }
                    (xml::parse_error(status.as_u16(), &text).to_string(), wait)
                }
                Err(e) => {
                    self.stats.record(key, 0, elapsed_ms(started));
                    (transport(&e), None)
                }
            };
            let wait = wait.unwrap_or_else(|| self.cfg.retry.backoff(attempt));
            if attempt >= self.cfg.retry.max_attempts
                || started_all.elapsed() + wait > self.cfg.retry.max_total
            {
                return Err(TableauError::Unavailable {
                    attempts: attempt,
                    last: why,
                });
            }
            self.stats.retry();
            tokio::time::sleep(wait).await;
        }
    }

    /// The current session, signing in if there is none.
    pub async fn session(&self) -> Result<Arc<Session>, TableauError> {
        if let Some(s) = self.session.read().await.clone() {
            return Ok(s);
        }
        self.renew(None).await
    }

    /// Sign in again unless another task already replaced `stale`: concurrent 401s make one
    /// sign-in, and every waiter reuses its token (Tableau ends the earlier session when a PAT
    /// signs in again, so parallel sign-ins would knock each other out).
    async fn renew(&self, stale: Option<&Arc<Session>>) -> Result<Arc<Session>, TableauError> {
        let _one_at_a_time = self.sign_in_lock.lock().await;
        if let Some(current) = self.session.read().await.clone() {
            let replaced = stale.is_none_or(|s| !Arc::ptr_eq(s, &current));
            if replaced {
                return Ok(current);
            }
        }
        let fresh = Arc::new(self.sign_in_now().await?);
        *self.session.write().await = Some(fresh.clone());
        tracing::info!(tableau.site = %self.cfg.site, "signed in to Tableau");
        Ok(fresh)
    }

    /// Sign in now (replacing any session).
    pub async fn sign_in(&self) -> Result<(), TableauError> {
        let current = self.session.read().await.clone();
        self.renew(current.as_ref()).await.map(|_| ())
    }

    /// Sign out, if signed in. Errors are logged, not returned: this runs at shutdown.
    pub async fn sign_out(&self) {
        let Some(s) = self.session.write().await.take() else {
            return;
        };
        let Ok(ver) = self.api_version().await else {
            return;
        };
        let url = format!("{}/api/{ver}/auth/signout", self.cfg.server_url);
        let started = Instant::now();
        let resp = self
            .http
            .post(&url)
            .header("X-Tableau-Auth", s.token.expose_secret())
            .send()
            .await;
        let status = resp.as_ref().map_or(0, |r| r.status().as_u16());
        self.stats
            .record("POST auth/signout", status, elapsed_ms(started));
        if let Err(e) = resp {
            tracing::warn!(error = %transport(&e), "Tableau sign-out failed");
        }
    }

    /// Send `call` and return the response body.
    async fn send(&self, call: &Call) -> Result<String, TableauError> {
        let ver = self.api_version().await?;
        let key = format!("{} {}", call.method, call.endpoint);
        let started_all = Instant::now();
        let mut attempt: u32 = 0;
        let mut renewed = false;
        loop {
            attempt += 1;
            let session = self.session().await?;
            let url = if call.site_scoped {
                format!(
                    "{}/api/{ver}/sites/{}{}",
                    self.cfg.server_url, session.site_id, call.path
                )
            } else {
                format!("{}/api/{ver}/{}", self.cfg.server_url, call.path)
            };
            let mut req = self
                .http
                .request(call.method.clone(), &url)
                .header("X-Tableau-Auth", session.token.expose_secret());
            if !call.query.is_empty() {
                req = req.query(&call.query);
            }
            if let Some(b) = &call.body {
                req = req.header("Content-Type", "text/xml").body(b.clone());
            }
            let started = Instant::now();
            // A bounded number of requests in flight per tenant; waiting here is not a retry.
            let permit = self.in_flight.acquire().await;
            let outcome = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let wait = retry_after(&resp);
                    match resp.text().await {
                        Ok(text) => Ok((status, wait, text)),
                        Err(e) => Err((e, true)),
                    }
                }
                Err(e) => {
                    let reached = !e.is_connect();
                    Err((e, reached))
                }
            };
            drop(permit);
            let ms = elapsed_ms(started);
            let (why, wait) = match outcome {
                Ok((status, wait, text)) => {
                    self.stats.record(&key, status.as_u16(), ms);
                    tracing::debug!(
                        tableau.endpoint = %key,
                        http.status = status.as_u16(),
                        duration_ms = ms,
                        attempt,
                        "tableau call"
                    );
                    if status.is_success() {
                        return Ok(text);
                    }
                    if status == StatusCode::UNAUTHORIZED && !renewed {
                        // Expired or replaced session: sign in once (single-flight) and replay;
                        // a replay is not a retry (tableau-rest.md section 1.3).
                        renewed = true;
                        attempt -= 1;
                        self.renew(Some(&session)).await?;
                        continue;
                    }
                    let err = xml::parse_error(status.as_u16(), &text);
                    // 429 and 503 mean "not processed": safe to repeat even a POST. Other 5xx
                    // may come after the change was made.
                    let safe = status == StatusCode::TOO_MANY_REQUESTS
                        || status == StatusCode::SERVICE_UNAVAILABLE;
                    if status.is_server_error() || safe {
                        if !safe && !call.idempotent {
                            return Err(TableauError::Uncertain(err.to_string()));
                        }
                        (err.to_string(), wait)
                    } else {
                        return Err(err);
                    }
                }
                Err((e, reached)) => {
                    self.stats.record(&key, 0, ms);
                    tracing::debug!(tableau.endpoint = %key, error = %transport(&e), attempt, "tableau call failed");
                    if reached && !call.idempotent {
                        return Err(TableauError::Uncertain(transport(&e)));
                    }
                    (transport(&e), None)
                }
            };
            // Tableau's Retry-After is honoured as given; only our own backoff is capped by
            // max_delay (inside backoff). Either way the call's total budget bounds the wait.
            let wait = wait.unwrap_or_else(|| self.cfg.retry.backoff(attempt));
            if attempt >= self.cfg.retry.max_attempts
                || started_all.elapsed() + wait > self.cfg.retry.max_total
            {
                return Err(if why.contains("429") {
                    TableauError::Throttled
                } else {
                    TableauError::Unavailable {
                        attempts: attempt,
                        last: why,
                    }
                });
            }
            self.stats.retry();
            tokio::time::sleep(wait).await;
        }
    }

    async fn send_xml(&self, call: &Call) -> Result<Element, TableauError> {
        let text = self.send(call).await?;
        xml::parse(&text)
    }

    // ---- users ----

    /// One page of users (`fields=_all_`), optionally filtered by name.
    pub async fn query_users(
        &self,
        page_number: u32,
        page_size: u32,
        name: Option<(&str, NameMatch)>,
    ) -> Result<Page<User>, TableauError> {
        let mut call = Call::new(Method::GET, "users", "/users".into())
            .query("pageSize", page_size.to_string())
            .query("pageNumber", page_number.to_string())
            .query("fields", "_all_")
            .query("sort", "name:asc");
        if let Some((n, how)) = name {
            call = call.query("filter", name_filter(n, how)?);
        }
        let root = self.send_xml(&call).await?;
        read_page(&root, "users", "user", User::from_element)
    }

    /// Every user of the site, in pages of the configured size (2,500 users: 3 calls).
    pub async fn all_users(&self) -> Result<Vec<User>, TableauError> {
        self.all_pages(|n, size| self.query_users(n, size, None))
            .await
    }

    async fn all_pages<T, F, Fut>(&self, fetch: F) -> Result<Vec<T>, TableauError>
    where
        F: Fn(u32, u32) -> Fut,
        Fut: std::future::Future<Output = Result<Page<T>, TableauError>>,
    {
        let size = self.cfg.page_size;
        let mut out = Vec::new();
        let mut n = 1;
        loop {
            let page = fetch(n, size).await?;
            let got = page.items.len();
            out.extend(page.items);
            // Stop on the total, never by paging past the end (Tableau answers 400006 there).
            if got == 0 || u64::from(n) * u64::from(size) >= page.pagination.total_available {
                return Ok(out);
            }
            n += 1;
        }
    }

    /// The user named `name`, if any: one call.
    pub async fn find_user_by_name(
        &self,
        name: &str,
        how: NameMatch,
    ) -> Result<Option<User>, TableauError> {
        if !filter_safe(name) {
            // Tableau filter values may not contain ',' or '&' (tableau-rest.md section 2.2).
            let all = self.all_users().await?;
            return Ok(all.into_iter().find(|u| match how {
                NameMatch::Exact => u.name == name,
                NameMatch::CaseInsensitive => u.name.to_lowercase() == name.to_lowercase(),
            }));
        }
        let page = self.query_users(1, 2, Some((name, how))).await?;
        Ok(page.items.into_iter().next())
    }

    /// One user by LUID; `None` when Tableau says 404.
    pub async fn get_user(&self, id: &str) -> Result<Option<User>, TableauError> {
        let call = Call::new(Method::GET, "users/{id}", format!("/users/{}", seg(id)));
        match self.send_xml(&call).await {
            Ok(root) => root.find("user").map(User::from_element).transpose(),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Add User to Site. If the request's outcome is unknown (timeout, dropped connection),
    /// the user is looked up by name before anything is sent again.
    pub async fn add_user(&self, new: &NewUser) -> Result<User, TableauError> {
        refuse_unassignable(new.site_role)?;
        let ver = self.api_version().await?;
        let email = new
            .email
            .as_deref()
            .filter(|_| ver >= ApiVersion::EMAIL_ON_ADD_USER);
        let (auth, idp) = match (
            &new.idp_configuration_id,
            ver >= ApiVersion::IDP_CONFIGURATION_ID,
        ) {
            (Some(idp), true) => (None, Some(idp.as_str())),
            _ => (new.auth_setting.as_deref(), None),
        };
        let body = ts_request(&element(
            "user",
            &[
                ("name", Some(&new.name)),
                ("siteRole", Some(new.site_role.as_str())),
                ("authSetting", auth),
                ("idpConfigurationId", idp),
                ("email", email),
            ],
            None,
        ));
        let call = Call::new(Method::POST, "users", "/users".into()).body(body);
        self.create_resolving(
            &call,
            "Add User",
            |root| one(root, "user", User::from_element),
            || self.find_user_by_name(&new.name, NameMatch::Exact),
            TableauError::is_user_exists,
        )
        .await
    }

    /// Send a non-idempotent create. If its outcome is unknown (timeout, dropped connection),
    /// the object is looked up by name before anything is sent again; and if a later attempt
    /// meets "already exists", that is our earlier request having landed after the lookup missed
    /// it, so the lookup answers.
    async fn create_resolving<T, F, Fut>(
        &self,
        call: &Call,
        what: &str,
        read: impl Fn(&Element) -> Result<T, TableauError>,
        lookup: F,
        exists: fn(&TableauError) -> bool,
    ) -> Result<T, TableauError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, TableauError>>,
    {
        let mut uncertain = false;
        for _ in 0..self.cfg.retry.max_attempts {
            match self.send_xml(call).await {
                Ok(root) => return read(&root),
                Err(TableauError::Uncertain(why)) => {
                    tracing::warn!(reason = %why, "{what} outcome unknown; looking it up");
                    uncertain = true;
                    if let Some(found) = lookup().await? {
                        return Ok(found);
                    }
                }
                Err(e) if uncertain && exists(&e) => return lookup().await?.ok_or(e),
                Err(e) => return Err(e),
            }
        }
        Err(TableauError::Unavailable {
            attempts: self.cfg.retry.max_attempts,
            last: format!("{what} never completed"),
        })
    }

    /// Update User: only the given attributes are sent.
    pub async fn update_user(&self, id: &str, upd: &UserUpdate) -> Result<User, TableauError> {
        if let Some(r) = upd.site_role {
            refuse_unassignable(r)?;
        }
        let role = upd.site_role.map(SiteRole::as_str);
        let body = ts_request(&element(
            "user",
            &[
                ("name", upd.name.as_deref()),
                ("fullName", upd.full_name.as_deref()),
                ("email", upd.email.as_deref()),
                ("siteRole", role),
                ("authSetting", upd.auth_setting.as_deref()),
                ("idpConfigurationId", upd.idp_configuration_id.as_deref()),
            ],
            None,
        ));
        let call = Call::new(Method::PUT, "users/{id}", format!("/users/{}", seg(id))).body(body);
        let root = self.send_xml(&call).await?;
        let mut user = one(&root, "user", User::from_element_lenient)?;
        user.id = id.into();
        Ok(user)
    }

    /// Remove User from Site; `false` when Tableau had no such user (already removed).
    pub async fn remove_user(
        &self,
        id: &str,
        map_assets_to: Option<&str>,
    ) -> Result<bool, TableauError> {
        let mut call = Call::new(Method::DELETE, "users/{id}", format!("/users/{}", seg(id)));
        if let Some(owner) = map_assets_to {
            call = call.query("mapAssetsTo", owner);
        }
        match self.send(&call).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() && e.code() == Some("404002") => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The groups a user belongs to.
    pub async fn groups_of_user(&self, id: &str) -> Result<Vec<Group>, TableauError> {
        let path = format!("/users/{}/groups", seg(id));
        self.all_listed(
            "users/{id}/groups",
            path,
            "groups",
            "group",
            Group::from_element,
        )
        .await
    }

    /// Every item of a paged listing at `path` (`<list><item/>...</list>`).
    async fn all_listed<T>(
        &self,
        endpoint: &'static str,
        path: String,
        list: &'static str,
        item: &'static str,
        read: fn(&Element) -> Result<T, TableauError>,
    ) -> Result<Vec<T>, TableauError> {
        self.all_pages(|n, size| {
            let call = Call::new(Method::GET, endpoint, path.clone())
                .query("pageSize", size.to_string())
                .query("pageNumber", n.to_string());
            async move {
                let root = self.send_xml(&call).await?;
                read_page(&root, list, item, read)
            }
        })
        .await
    }

    // ---- groups ----

    /// One page of groups, optionally filtered by exact name.
    pub async fn query_groups(
        &self,
        page_number: u32,
        page_size: u32,
        name: Option<&str>,
    ) -> Result<Page<Group>, TableauError> {
        let mut call = Call::new(Method::GET, "groups", "/groups".into())
            .query("pageSize", page_size.to_string())
            .query("pageNumber", page_number.to_string())
            .query("fields", "_all_")
            .query("sort", "name:asc");
        if let Some(n) = name {
            call = call.query("filter", name_filter(n, NameMatch::Exact)?);
        }
        let root = self.send_xml(&call).await?;
        read_page(&root, "groups", "group", Group::from_element)
    }

    /// Every group of the site.
    pub async fn all_groups(&self) -> Result<Vec<Group>, TableauError> {
        self.all_pages(|n, size| self.query_groups(n, size, None))
            .await
    }

    /// The group named `name`, if any.
    pub async fn find_group_by_name(&self, name: &str) -> Result<Option<Group>, TableauError> {
        if !filter_safe(name) {
            return Ok(self
                .all_groups()
                .await?
                .into_iter()
                .find(|g| g.name == name));
        }
        Ok(self
            .query_groups(1, 2, Some(name))
            .await?
            .items
            .into_iter()
            .next())
    }

    /// Create a local group. An unknown outcome is resolved by looking the name up.
    pub async fn create_group(
        &self,
        name: &str,
        minimum_site_role: Option<SiteRole>,
    ) -> Result<Group, TableauError> {
        if let Some(r) = minimum_site_role {
            refuse_unassignable(r)?;
        }
        let body = ts_request(&element(
            "group",
            &[
                ("name", Some(name)),
                ("minimumSiteRole", minimum_site_role.map(SiteRole::as_str)),
            ],
            None,
        ));
        let call = Call::new(Method::POST, "groups", "/groups".into()).body(body);
        self.create_resolving(
            &call,
            "Create Group",
            |root| one(root, "group", Group::from_element),
            || self.find_group_by_name(name),
            TableauError::is_group_exists,
        )
        .await
    }

    /// Rename a local group or change its minimum site role.
    pub async fn update_group(
        &self,
        id: &str,
        name: &str,
        minimum_site_role: Option<SiteRole>,
    ) -> Result<Group, TableauError> {
        let body = ts_request(&element(
            "group",
            &[
                ("name", Some(name)),
                ("minimumSiteRole", minimum_site_role.map(SiteRole::as_str)),
            ],
            None,
        ));
        let call = Call::new(Method::PUT, "groups/{id}", format!("/groups/{}", seg(id))).body(body);
        let root = self.send_xml(&call).await?;
        one(&root, "group", Group::from_element)
    }

    /// Delete a group; `false` when it was already gone.
    pub async fn delete_group(&self, id: &str) -> Result<bool, TableauError> {
        let call = Call::new(
            Method::DELETE,
            "groups/{id}",
            format!("/groups/{}", seg(id)),
        );
        match self.send(&call).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every member of a group.
    pub async fn group_members(&self, id: &str) -> Result<Vec<User>, TableauError> {
        let path = format!("/groups/{}/users", seg(id));
        self.all_listed(
            "groups/{id}/users",
            path,
            "users",
            "user",
            User::from_element,
        )
        .await
    }

    /// Add users to a group: one bulk call from API 3.21, one call each before. A user who
    /// is already a member is not an error.
    pub async fn add_members(
        &self,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<(), TableauError> {
        if user_ids.is_empty() {
            return Ok(());
        }
        let path = format!("/groups/{}/users", seg(group_id));
        if user_ids.len() > 1 && self.api_version().await? >= ApiVersion::BULK_GROUP_MEMBERS {
            let users: String = user_ids
                .iter()
                .map(|id| element("user", &[("id", Some(id))], None))
                .collect();
            let call = Call::new(Method::POST, "groups/{id}/users", path.clone())
                .body(ts_request(&format!("<users>{users}</users>")))
                .idempotent(true);
            match self.send(&call).await {
                Ok(_) => return Ok(()),
                // Some were members already: fall back to one by one, where 409 is success.
                Err(TableauError::Api { status: 409, .. }) => {}
                Err(e) => return Err(e),
            }
        }
        for id in user_ids {
            // Adding twice gives 409 "already a member", so a repeat after an unknown outcome is
            // harmless: the call is idempotent in effect.
            let call = Call::new(Method::POST, "groups/{id}/users", path.clone())
                .body(ts_request(&element("user", &[("id", Some(id))], None)))
                .idempotent(true);
            match self.send(&call).await {
                Ok(_) => {}
                Err(TableauError::Api { status: 409, .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Remove users from a group: one bulk call from API 3.21, one call each before. A user
    /// who is not a member is not an error.
    pub async fn remove_members(
        &self,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<(), TableauError> {
        if user_ids.is_empty() {
            return Ok(());
        }
        if user_ids.len() > 1 && self.api_version().await? >= ApiVersion::BULK_GROUP_MEMBERS {
            let users: String = user_ids
                .iter()
                .map(|id| element("user", &[("id", Some(id))], None))
                .collect();
            let call = Call::new(
                Method::PUT,
                "groups/{id}/users/remove",
                format!("/groups/{}/users/remove", seg(group_id)),
            )
            .body(ts_request(&format!("<users>{users}</users>")));
            return match self.send(&call).await {
                Ok(_) => Ok(()),
                Err(e) if e.code() == Some("404002") => {
                    self.remove_members_one_by_one(group_id, user_ids).await
                }
                Err(e) => Err(e),
            };
        }
        self.remove_members_one_by_one(group_id, user_ids).await
    }

    async fn remove_members_one_by_one(
        &self,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<(), TableauError> {
        for id in user_ids {
            let call = Call::new(
                Method::DELETE,
                "groups/{id}/users/{id}",
                format!("/groups/{}/users/{}", seg(group_id), seg(id)),
            );
            match self.send(&call).await {
                Ok(_) => {}
                Err(e) if e.code() == Some("404002") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    // ---- site ----

    /// Query Site: license capacity per tier and usage.
    pub async fn site_info(&self) -> Result<SiteInfo, TableauError> {
        let call = Call::new(Method::GET, "sites/{id}", String::new()).query("fields", "_all_");
        let root = self.send_xml(&call).await?;
        one(&root, "site", SiteInfo::from_element)
    }
}

impl User {
    /// Read a `<user>` from an Update User response, which carries no `id` (TSC
    /// test/assets/user_update.xml); the caller knows it.
    fn from_element_lenient(e: &Element) -> Result<User, TableauError> {
        let mut with_id = e.clone();
        if with_id.attr("id").is_none() {
            with_id.attrs.push(("id".into(), "(not returned)".into()));
        }
        User::from_element(&with_id)
    }
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn retry_after(r: &reqwest::Response) -> Option<Duration> {
    let v = r
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    parse_retry_after(v, SystemTime::now())
}

fn parse_session(text: &str) -> Result<Session, TableauError> {
    let root = xml::parse(text)?;
    let creds = root
        .find("credentials")
        .ok_or_else(|| TableauError::Protocol("sign-in response without <credentials>".into()))?;
    let token = creds
        .attr("token")
        .ok_or_else(|| TableauError::Protocol("sign-in response without a token".into()))?;
    let site_id = creds
        .child("site")
        .and_then(|s| s.attr("id"))
        .ok_or_else(|| TableauError::Protocol("sign-in response without a site id".into()))?;
    Ok(Session {
        token: SecretString::from(token.to_string()),
        site_id: site_id.to_string(),
        user_id: creds
            .child("user")
            .and_then(|u| u.attr("id"))
            .unwrap_or_default()
            .to_string(),
    })
}

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

fn filter_safe(v: &str) -> bool {
    !v.contains(',') && !v.contains('&')
}

fn name_filter(name: &str, how: NameMatch) -> Result<String, TableauError> {
    if !filter_safe(name) {
        return Err(TableauError::Refused(format!(
            "'{name}' cannot be used in a Tableau filter (',' and '&' are not allowed)"
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
    fn reads_tscs_sign_in_sample() {
        // tableau-rest.md section 1.1, TSC test/assets/auth_sign_in.xml.
        let doc = r#"<tsResponse xmlns="http://tableau.com/api"><credentials token="eIX6mvFsqyansa4KqEI1UwOpS8ggRs2l"><site id="6b7179ba-b82b-4f0f-91ed-812074ac5da6" contentUrl="Samples"/><user id="1a96d216-e9b8-497b-a82a-0b899a965e01"/></credentials></tsResponse>"#;
        let s = parse_session(doc).map_err(|e| e.to_string());
        let s = s.as_ref().map(|s| {
            (
                s.site_id.as_str(),
                s.user_id.as_str(),
                s.token.expose_secret(),
            )
        });
        assert_eq!(
            s,
            Ok((
                "6b7179ba-b82b-4f0f-91ed-812074ac5da6",
                "1a96d216-e9b8-497b-a82a-0b899a965e01",
                "eIX6mvFsqyansa4KqEI1UwOpS8ggRs2l"
            ))
        );
        assert!(parse_session("<tsResponse/>").is_err());
    }

    #[test]
    fn request_bodies_have_tableaus_shapes() {
        let add = ts_request(&element(
            "user",
            &[
                ("name", Some("a&b@x.com")),
                ("siteRole", Some("Viewer")),
                ("authSetting", None),
            ],
            None,
        ));
        assert_eq!(
            add,
            r#"<tsRequest><user name="a&amp;b@x.com" siteRole="Viewer"/></tsRequest>"#
        );
        let users: String = ["u1", "u2"]
            .iter()
            .map(|id| element("user", &[("id", Some(id))], None))
            .collect();
        assert_eq!(
            ts_request(&format!("<users>{users}</users>")),
            r#"<tsRequest><users><user id="u1"/><user id="u2"/></users></tsRequest>"#
        );
    }

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
        assert_eq!(seg("6b7179ba-b82b"), "6b7179ba-b82b");
        assert_eq!(seg("../x?y"), "%2E%2E%2Fx%3Fy");
    }
}
