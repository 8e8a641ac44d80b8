//! The admin console: server-rendered pages (askama templates, no script) served by `serve`
//! and `demo` beside SCIM, for the admin who audits who has Tableau access, with which role,
//! since when, and what changed. Signed in with an admin token (never a SCIM token), held in
//! a server-side session; every form carries the session's CSRF token.
//!
//! Here the console's state and routes, and the responses every page shares; `auth` signs in
//! and out and checks sessions; `pages` renders the pages; `views` decides what they show
//! (pure); `session` holds the sessions.

mod auth;
mod overview;
mod pages;
pub mod session;
mod trail;
pub mod views;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::backend::TenantHealth;
use crate::bridge::cache::ttl::TtlCache;
use crate::bridge::Tenant;
use crate::http::{ExtraRoutes, TokenSet};
use session::Sessions;

/// How long a console session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

/// Most sessions one admin token holds at once (a few browsers, a few machines); the console
/// holds at most this many per configured admin token.
pub const SESSIONS_PER_TOKEN: usize = 16;

/// One tenant as the console sees it.
pub struct ConsoleTenant {
    /// The tenant.
    pub tenant: Arc<Tenant>,
    /// Its admin tokens (this tenant only).
    pub admin_tokens: TokenSet,
    /// Its health, as `/readyz` asks it.
    pub health: Arc<dyn TenantHealth>,
}

/// A step of a handler: its value, or the response to give instead (boxed: a response is
/// large, and most steps succeed).
type Step<T> = Result<T, Box<HttpResponse>>;

/// Figures read from Tableau per tenant id, served for a while (the bridge's cache: expiry
/// and one load at a time per key).
type Cached<T> = TtlCache<String, T>;

/// Tenants a console serves at most, for its caches' bounds.
const MAX_TENANTS: usize = 10_000;

/// The console.
pub struct Console {
    tenants: Vec<ConsoleTenant>,
    server_tokens: TokenSet,
    sessions: Sessions,
    /// Clients reach it over HTTPS (TLS here or behind a proxy): cookies are `Secure`.
    secure: bool,
    versions: Cached<String>,
    seats: Cached<Result<crate::tableau::model::SiteInfo, String>>,
    /// A "run now" per tenant at a time.
    running: Mutex<Vec<String>>,
    /// The access list last built per tenant: paging and filtering reuse it for a few seconds.
    access: Cached<Arc<Vec<crate::bridge::site::access::AccessEntry>>>,
}

/// How long a built access list serves further pages and filters (at 100,000 users building it
/// takes a few hundred milliseconds; BENCHMARKS.md section 10).
pub const ACCESS_FOR: Duration = Duration::from_secs(15);

impl Console {
    /// A console over `tenants`, opened by `server_tokens` (every tenant) and each tenant's
    /// own tokens; `secure`: clients reach it over HTTPS.
    pub fn new(tenants: Vec<ConsoleTenant>, server_tokens: TokenSet, secure: bool) -> Console {
        Console {
            tenants,
            server_tokens,
            sessions: Sessions::new(SESSION_TTL, SESSIONS_PER_TOKEN),
            secure,
            versions: TtlCache::new(overview::VERSION_FOR, MAX_TENANTS),
            seats: TtlCache::new(overview::SEATS_FOR, MAX_TENANTS),
            running: Mutex::new(Vec::new()),
            access: TtlCache::new(ACCESS_FOR, MAX_TENANTS),
        }
    }

    /// The console's routes, for the HTTP layer to serve beside SCIM.
    pub fn routes(self: Arc<Self>) -> ExtraRoutes {
        let data = web::Data::from(self);
        Arc::new(move |cfg: &mut web::ServiceConfig| {
            cfg.service(
                web::scope("/admin")
                    .app_data(data.clone())
                    .route("", web::get().to(overview::overview))
                    .route("/", web::get().to(overview::overview))
                    .route("/console.css", web::get().to(pages::stylesheet))
                    .route("/login", web::get().to(auth::login_form))
                    .route("/login", web::post().to(auth::login))
                    .route("/logout", web::post().to(auth::logout))
                    .route("/tenants/{id}/access", web::get().to(pages::access))
                    .route("/tenants/{id}/access.csv", web::get().to(pages::access_csv))
                    .route("/tenants/{id}/audit", web::get().to(trail::audit))
                    .route("/tenants/{id}/audit.csv", web::get().to(trail::audit_csv))
                    .route("/tenants/{id}/drift", web::get().to(pages::drift))
                    .route("/tenants/{id}/drift/run", web::post().to(pages::run_drift))
                    .default_service(web::to(pages::not_found)),
            );
        })
    }

    fn tenant(&self, id: &str) -> Option<&ConsoleTenant> {
        self.tenants.iter().find(|t| t.tenant.id() == id)
    }
}

/// The header and navigation every page shares.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    /// The tenants the session may see.
    pub tenants: Vec<String>,
    /// The tenant of the page, if any.
    pub current: Option<String>,
    /// `access`, `audit`, `drift` or empty.
    pub page: &'static str,
    /// The session's CSRF token (empty: not signed in).
    pub csrf: String,
}

/// Headers of every console response: no caching of pages that list people, no framing, no
/// script from anywhere, no referrer leaking tenant paths.
fn secured(mut b: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    b.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"));
    b
}

/// A rendered page.
fn page(status: StatusCode, t: &impl Template) -> HttpResponse {
    match t.render() {
        Ok(body) => secured(HttpResponse::build(status))
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "a console page failed to render");
            secured(HttpResponse::InternalServerError())
                .content_type("text/plain; charset=utf-8")
                .body("the page could not be rendered")
        }
    }
}

/// A message page (403, 404, a refusal).
#[derive(Template)]
#[template(path = "console/message.html")]
struct Message {
    nav: Nav,
    heading: String,
    text: String,
}

fn message(status: StatusCode, nav: Nav, heading: &str, text: &str) -> HttpResponse {
    page(
        status,
        &Message {
            nav,
            heading: heading.into(),
            text: text.into(),
        },
    )
}

/// The store failed a read a page needed.
fn store_failed(nav: Nav, e: &crate::store::StoreError) -> HttpResponse {
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        nav,
        "The store did not answer",
        &e.to_string(),
    )
}

/// 303 to `to`.
fn see_other(to: &str) -> HttpResponse {
    secured(HttpResponse::SeeOther())
        .insert_header((header::LOCATION, to.to_string()))
        .finish()
}

/// A CSV download.
fn csv(name: &str, body: String) -> HttpResponse {
    secured(HttpResponse::Ok())
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body)
}
