//! What every console answer shares: the navigation, the security headers, pages, message
//! pages, redirects and CSV downloads.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use askama::Template;

use super::session::Session;
use super::state::Console;

/// The header and navigation every page shares.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    /// The tenants the session may see.
    pub tenants: Vec<String>,
    /// The tenant of the page, if any.
    pub current: Option<String>,
    /// `access`, `audit`, `drift`, `holds`, `whatif` or empty.
    pub page: &'static str,
    /// The session's CSRF token (empty: not signed in).
    pub csrf: String,
    /// Who is signed in, as the header shows it.
    pub who: String,
    /// Whether the session may operate the page's tenant (with no tenant: every tenant).
    pub operate: bool,
}

/// Headers of every console response: no caching of pages that list people, no framing, no
/// script from anywhere, no referrer leaking tenant paths.
pub(super) fn secured(mut b: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
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
pub(super) fn page(status: StatusCode, t: &impl Template) -> HttpResponse {
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

pub(super) fn message(status: StatusCode, nav: Nav, heading: &str, text: &str) -> HttpResponse {
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
pub(super) fn store_failed(nav: Nav, e: &crate::store::StoreError) -> HttpResponse {
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        nav,
        "The store did not answer",
        &e.to_string(),
    )
}

/// 303 to `to`.
pub(super) fn see_other(to: &str) -> HttpResponse {
    secured(HttpResponse::SeeOther())
        .insert_header((header::LOCATION, to.to_string()))
        .finish()
}

/// A CSV download.
pub(super) fn csv(name: &str, body: String) -> HttpResponse {
    secured(HttpResponse::Ok())
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body)
}

/// The navigation of `session`.
pub(super) fn nav_of(
    console: &Console,
    session: &Session,
    current: Option<&str>,
    page: &'static str,
) -> Nav {
    Nav {
        tenants: console
            .tenants
            .get()
            .iter()
            .map(|t| t.tenant.id().to_string())
            .filter(|id| session.scope.allows(id))
            .collect(),
        current: current.map(str::to_string),
        page,
        csrf: session.csrf.clone(),
        who: session.display_name(),
        operate: match current {
            Some(id) => session.operate.allows(id),
            None => session.operate == super::session::Scope::All,
        },
    }
}
