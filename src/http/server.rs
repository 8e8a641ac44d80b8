//! Binding and running: the SCIM server (plain or TLS), the metrics listener, and the
//! rustls configuration from PEM files.

use std::net::SocketAddr;

use actix_web::dev::ServerHandle;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};

use super::state::AppState;
use super::{guard, observe, routes};

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
            .configure(routes::configure)
            .default_service(web::to(routes::not_found))
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
