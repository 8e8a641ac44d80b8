//! The HTTP layer (actix-web): routes, authentication, body and query parsing, rendering.
//! Handlers parse, call the [`ResourceStore`](crate::backend::ResourceStore) once, and render.

pub mod auth;
pub mod body;
pub mod discovery;
pub mod error;
pub mod guard;
pub mod limits;
pub mod observe;
pub mod request_metrics;
pub mod resources;
pub mod response;

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

use crate::backend::{ResourceStore, TenantHealth};
use crate::scim::schema::ResourceKind;
use crate::scim::ScimError;
pub use auth::{TokenDigest, TokenSet};

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
    /// Its bearer tokens.
    pub tokens: TokenSet,
    /// Its resources.
    pub store: Arc<dyn ResourceStore>,
    /// Its health and figures.
    pub health: Option<Arc<dyn TenantHealth>>,
    /// Its requests in flight (bounded: [`HttpSettings::max_in_flight_per_tenant`]).
    pub in_flight: Arc<tokio::sync::Semaphore>,
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
            tokens,
            store,
            health,
            in_flight: Arc::new(tokio::sync::Semaphore::new(max_in_flight.max(1))),
        }
    }
}

/// Routes served beside SCIM by a layer above this one (the admin console), registered on
/// the same server.
pub type ExtraRoutes = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

/// What every handler shares.
pub struct AppState {
    /// Tenants.
    pub tenants: Vec<Arc<TenantEntry>>,
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
            tenants,
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

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ScimError> {
    Err(ScimError::NotFound(format!(
        "no SCIM endpoint at {}",
        limits::quoted_path(req.path())
    )))
}

/// A 405 handler for an endpoint that takes `allow`.
fn method_not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move |req: HttpRequest| async move {
        Err::<HttpResponse, _>(ScimError::MethodNotAllowed(
            format!(
                "{} is not allowed on {}; it takes {allow}",
                limits::quoted_method(req.method()),
                limits::quoted_path(req.path())
            ),
            allow,
        ))
    })
}

async fn not_implemented(req: HttpRequest) -> Result<HttpResponse, ScimError> {
    Err(ScimError::NotImplemented(format!(
        "{} is not supported by this server (see /ServiceProviderConfig)",
        limits::quoted_path(req.path())
    )))
}

fn resource_routes(cfg: &mut web::ServiceConfig, kind: ResourceKind) {
    cfg.service(
        web::scope(&format!("/{}", kind.endpoint()))
            .app_data(web::Data::new(kind))
            .service(
                web::resource("/.search")
                    .route(web::post().to(resources::search))
                    .default_service(method_not_allowed("POST")),
            )
            .service(
                web::resource("")
                    .route(web::get().to(resources::list))
                    .route(web::post().to(resources::create))
                    .default_service(method_not_allowed("GET, POST")),
            )
            .service(
                web::resource("/{id}")
                    .route(web::get().to(resources::get))
                    .route(web::put().to(resources::replace))
                    .route(web::patch().to(resources::patch))
                    .route(web::delete().to(resources::delete))
                    .default_service(method_not_allowed("GET, PUT, PATCH, DELETE")),
            ),
    );
}

fn get_only<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(web::get().to(handler))
        .default_service(method_not_allowed("GET"))
}

fn scim_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(get_only(
        "/ServiceProviderConfig",
        discovery::service_provider_config,
    ))
    .service(get_only("/ResourceTypes", discovery::resource_types))
    .service(get_only("/ResourceTypes/{name}", discovery::resource_type))
    .service(get_only("/Schemas", discovery::schemas))
    .service(get_only("/Schemas/{urn}", discovery::schema))
    .service(
        web::resource("/.search")
            .route(web::post().to(resources::root_search))
            .default_service(method_not_allowed("POST")),
    )
    .service(web::resource("/Bulk").to(not_implemented))
    .service(web::resource("/Me").to(not_implemented))
    .configure(|c| resource_routes(c, ResourceKind::User))
    .configure(|c| resource_routes(c, ResourceKind::Group));
}

/// Register the SCIM routes under `/scim/v2` and `/tenants/{tenant}/scim/v2`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/scim/v2")
            .wrap(from_fn(auth::require_bearer))
            .configure(scim_routes)
            .default_service(web::to(not_found)),
    )
    .service(
        web::scope("/tenants/{tenant}/scim/v2")
            .wrap(from_fn(auth::require_bearer))
            .configure(scim_routes)
            .default_service(web::to(not_found)),
    );
}

/// A running server.
pub struct RunningServer {
    /// The address actually bound (port 0 resolved).
    pub addr: SocketAddr,
    /// Stops the server.
    pub handle: ServerHandle,
    /// Completes when the server stops.
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Bind `listen` and serve the SCIM API over `state` (plain HTTP).
pub fn start(listen: &str, state: AppState, workers: usize) -> std::io::Result<RunningServer> {
    start_with(listen, web::Data::new(state), workers, None)
}

/// Bind `listen` and serve the SCIM API over `state`, with TLS when `tls` is given.
pub fn start_with(
    listen: &str,
    state: web::Data<AppState>,
    workers: usize,
    tls: Option<rustls::ServerConfig>,
) -> std::io::Result<RunningServer> {
    // Installed before the first request, so that nothing recorded is lost.
    let _ = observe::prometheus();
    // Loaded before the first request: a defective build fails here, at start.
    let _ = crate::scim::schema::SchemaRegistry::builtin();
    guard::spawn_summaries(&state.guard);
    let header_timeout = state.settings.client_request_timeout;
    let data = state;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(from_fn(observe::observe))
            .route("/healthz", web::get().to(observe::healthz))
            .route("/readyz", web::get().to(observe::readyz))
            .route("/metrics", web::get().to(observe::metrics_endpoint))
            .configure(|c| {
                if let Some(extra) = &data.extra_routes {
                    extra(c);
                }
            })
            .configure(configure)
            .default_service(web::to(not_found))
    })
    .workers(workers.max(1))
    // Signals are the caller's (`serve::run_until`): actix's own handlers would stop the
    // server, and in the demo the emulator too, before the bridge has signed out.
    .disable_signals()
    // Slow clients (slowloris) get cut off: headers in time, a clean close within 5 s.
    .client_request_timeout(header_timeout)
    .client_disconnect_timeout(std::time::Duration::from_secs(5))
    .shutdown_timeout(30);
    let server = match tls {
        Some(cfg) => server.bind_rustls_0_23(listen, cfg)?,
        None => server.bind(listen)?,
    };
    running(server.addrs(), server.run())
}

/// Bind `listen` for the operator: `/metrics`, `/readyz` naming every tenant, and `/healthz`,
/// without authentication (the Prometheus convention: a port only the monitoring network
/// reaches).
pub fn start_metrics(listen: &str, state: web::Data<AppState>) -> std::io::Result<RunningServer> {
    let _ = observe::prometheus();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(observe::metrics_private))
            .route("/readyz", web::get().to(observe::readyz_private))
            .route("/healthz", web::get().to(observe::healthz))
            .default_service(web::to(HttpResponse::NotFound))
    })
    .workers(1)
    .disable_signals()
    .client_request_timeout(std::time::Duration::from_secs(10))
    .shutdown_timeout(5)
    .bind(listen)?;
    running(server.addrs(), server.run())
}

/// The running server of `addrs`.
fn running(
    addrs: Vec<SocketAddr>,
    server: actix_web::dev::Server,
) -> std::io::Result<RunningServer> {
    let addr = addrs
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("the server bound no address"))?;
    let handle = server.handle();
    let task = tokio::spawn(server);
    Ok(RunningServer { addr, handle, task })
}

/// A rustls server configuration from PEM files: the certificate chain and its private key.
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<rustls::ServerConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("{}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in the file", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key do not fit together: {e}"))
}
