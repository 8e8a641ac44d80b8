//! The admin console: server-rendered pages (askama templates, no script) served by `serve`
//! and `demo` beside SCIM, for the admin who audits who has Tableau access, with which role,
//! since when, and what changed. Signed in with an admin token (never a SCIM token), held in
//! a server-side session; every form carries the session's CSRF token.
//!
//! Here the console's routes; `state` its state, `respond` what every answer shares,
//! `tenant_page` the extractor every tenant page takes (signed in, and a tenant the session may
//! see), `auth` signs in and out and checks sessions, `overview`, `pages` and `trail` render the
//! pages, `views` decides what they show (pure), `session` holds the sessions.

mod auth;
mod holds;
pub mod oidc;
mod overview;
mod pages;
mod reload;
mod respond;
pub mod session;
mod sign_in;
mod state;
mod tenant_page;
mod trail;
pub mod views;
mod what_if;

use std::sync::Arc;

use actix_web::web;

use crate::http::ExtraRoutes;
pub use reload::ReloadFn;
pub use respond::Nav;
pub use state::{Console, ConsoleTenant, ACCESS_FOR, SESSIONS_PER_TOKEN, SESSION_TTL};

impl Console {
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
                    .route("/oidc/start", web::get().to(sign_in::start))
                    .route("/oidc/callback", web::get().to(sign_in::callback))
                    .route("/signed-out", web::get().to(sign_in::signed_out))
                    .route("/reload", web::post().to(reload::reload))
                    .route("/tenants/{id}/access", web::get().to(pages::access))
                    .route("/tenants/{id}/access.csv", web::get().to(pages::access_csv))
                    .route("/tenants/{id}/audit", web::get().to(trail::audit))
                    .route("/tenants/{id}/audit.csv", web::get().to(trail::audit_csv))
                    .route("/tenants/{id}/drift", web::get().to(pages::drift))
                    .route("/tenants/{id}/drift/run", web::post().to(pages::run_drift))
                    .route("/tenants/{id}/holds", web::get().to(holds::holds))
                    .route("/tenants/{id}/whatif", web::get().to(what_if::what_if))
                    .route(
                        "/tenants/{id}/holds/release",
                        web::post().to(holds::release),
                    )
                    .route("/tenants/{id}/holds/block", web::post().to(holds::block))
                    .default_service(web::to(pages::not_found)),
            );
        })
    }
}
