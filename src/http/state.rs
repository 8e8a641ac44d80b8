//! What every handler reads: the settings, the tenants with their tokens and stores, the
//! tenant a request authenticated as ([`Current`]), and the origin URLs are built from.

use std::sync::Arc;

use actix_web::{web, HttpRequest};

use crate::backend::{ResourceStore, TenantHealth};
use crate::scim::ScimError;

use super::guard;
use super::tokens::TokenSet;

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest request body accepted, in bytes (413 above).
    pub max_body_bytes: usize,
    /// Largest page a list returns; announced as `filter.maxResults`.
    pub max_page_size: usize,
    /// The public origin of the server (`https://scim.example.com`), e.g. behind a reverse
    /// proxy; `serve` requires it. When unset, the address a connection reached is used.
    pub public_url: Option<String>,
    /// Take the client's address from `X-Forwarded-For` (only behind a proxy you trust: clients
    /// can send the header too).
    pub trust_forwarded_headers: bool,
    /// How long a client may take to send its request headers (slowloris protection).
    pub client_request_timeout: std::time::Duration,
    /// Requests one tenant may have in flight; past it, 429 with `Retry-After`.
    pub max_in_flight_per_tenant: usize,
    /// Failed-authentication limits.
    pub guard: guard::GuardSettings,
    /// Bearer tokens that may read `/metrics` (and every tenant's readiness) on the main
    /// listener. With none, and no metrics listener, `/metrics` is not served.
    pub metrics_tokens: TokenSet,
    /// `/metrics` has a listener of its own, so the main one does not serve it at all.
    pub metrics_elsewhere: bool,
    /// Clients reach the server over HTTPS (TLS here, or a `public_url` of `https://` behind a
    /// TLS-terminating proxy): every answer carries HSTS and the console's cookies are `Secure`.
    pub https: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            max_body_bytes: 1024 * 1024,
            max_page_size: 200,
            public_url: None,
            trust_forwarded_headers: false,
            client_request_timeout: std::time::Duration::from_secs(10),
            max_in_flight_per_tenant: 64,
            guard: guard::GuardSettings::default(),
            metrics_tokens: TokenSet::default(),
            metrics_elsewhere: false,
            https: false,
        }
    }
}

/// One tenant as the HTTP layer sees it.
pub struct TenantEntry {
    /// Tenant id (also the `/tenants/{id}/scim/v2` path segment).
    pub id: String,
    /// Its bearer tokens (replaced by a configuration reload).
    pub tokens: super::Reloadable<TokenSet>,
    /// Its resources.
    pub store: Arc<dyn ResourceStore>,
    /// Its health and figures.
    pub health: Option<Arc<dyn TenantHealth>>,
    /// Its requests in flight (bounded: [`HttpSettings::max_in_flight_per_tenant`]).
    pub in_flight: Arc<tokio::sync::Semaphore>,
    /// Its OAuth client, when it issues access tokens ([`super::oauth`]; replaced by a
    /// configuration reload).
    pub oauth: super::Reloadable<Option<super::oauth::OAuthClient>>,
}

impl TenantEntry {
    /// A tenant admitting `max_in_flight` requests at once.
    pub fn new(
        id: &str,
        tokens: TokenSet,
        store: Arc<dyn ResourceStore>,
        health: Option<Arc<dyn TenantHealth>>,
        max_in_flight: usize,
    ) -> TenantEntry {
        TenantEntry {
            id: id.to_string(),
            tokens: super::Reloadable::new(tokens),
            store,
            health,
            in_flight: Arc::new(tokio::sync::Semaphore::new(max_in_flight.max(1))),
            oauth: super::Reloadable::new(None),
        }
    }

    /// The same tenant issuing access tokens to `client`.
    pub fn with_oauth(mut self, client: Option<super::oauth::OAuthClient>) -> TenantEntry {
        self.oauth = super::Reloadable::new(client);
        self
    }
}

/// Routes served beside SCIM by a layer above this one (the admin console), registered on
/// the same server.
pub type ExtraRoutes = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

/// What every handler shares.
pub struct AppState {
    /// Tenants (replaced by a configuration reload that adds or removes one).
    pub tenants: Arc<crate::reloadable::Reloadable<Vec<Arc<TenantEntry>>>>,
    /// The tokens that read `/metrics` and every tenant's readiness: `settings.metrics_tokens`
    /// at start, replaced by a configuration reload.
    pub metrics_tokens: Arc<crate::reloadable::Reloadable<TokenSet>>,
    /// Settings.
    pub settings: HttpSettings,
    /// Failed authentication, limited and summarised.
    pub guard: Arc<guard::AuthGuard>,
    /// Routes beside SCIM, if any.
    pub extra_routes: Option<ExtraRoutes>,
}

impl AppState {
    /// The tenants, served with `settings`.
    pub fn new(tenants: Vec<Arc<TenantEntry>>, settings: HttpSettings) -> AppState {
        AppState {
            tenants: Arc::new(crate::reloadable::Reloadable::new(tenants)),
            metrics_tokens: Arc::new(crate::reloadable::Reloadable::new(
                settings.metrics_tokens.clone(),
            )),
            guard: Arc::new(guard::AuthGuard::new(settings.guard)),
            settings,
            extra_routes: None,
        }
    }

    /// One tenant, `default`.
    pub fn single(
        store: Arc<dyn ResourceStore>,
        tokens: TokenSet,
        settings: HttpSettings,
    ) -> AppState {
        let tenant = TenantEntry::new(
            "default",
            tokens,
            store,
            None,
            settings.max_in_flight_per_tenant,
        );
        AppState::new(vec![Arc::new(tenant)], settings)
    }
}

/// The tenant of the current request, set by the authentication middleware.
#[derive(Clone)]
pub struct Current(pub Arc<TenantEntry>);

impl actix_web::FromRequest for Current {
    type Error = ScimError;
    type Future = std::future::Ready<Result<Current, ScimError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        use actix_web::HttpMessage;
        std::future::ready(
            req.extensions()
                .get::<Current>()
                .cloned()
                .ok_or_else(|| ScimError::Unauthorized("authentication required".into())),
        )
    }
}

/// The base URL of the SCIM endpoints (`.../scim/v2`, or `.../tenants/{id}/scim/v2`), used for
/// `Location` and `meta.location`: under `public_url` (which `serve` requires), else the address
/// the connection reached (the demo, the tests); never the client's `Host` or forwarded headers,
/// which anyone can write.
pub fn base_url(req: &HttpRequest, state: &AppState) -> String {
    let path = req.path();
    let prefix = path
        .find("/scim/v2")
        .map_or("/scim/v2", |i| &path[..i + "/scim/v2".len()]);
    if let Some(url) = &state.settings.public_url {
        return format!("{}{prefix}", url.trim_end_matches('/'));
    }
    let scheme = if req.app_config().secure() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{}{prefix}", req.app_config().local_addr())
}
