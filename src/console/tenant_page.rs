//! The extractor every tenant page takes: a handler that takes a [`TenantPage`] runs only for a
//! signed-in admin on a tenant its session may see. Anyone else gets the login redirect, or the
//! 404 page, the same for a tenant that does not exist and one the session may not see, so a
//! tenant's admin cannot tell which other tenant ids exist.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};

use super::auth::signed_in;
use super::respond::{message, nav_of, Nav};
use super::session::Session;
use super::state::{Console, ConsoleTenant, Step};

/// A signed-in admin on one tenant's page.
pub(super) struct TenantPage {
    /// The console.
    pub(super) console: web::Data<Console>,
    /// The admin's session.
    pub(super) session: Session,
    /// The page's navigation (the tenant and the page marked).
    pub(super) nav: Nav,
    /// The tenant (as the list had it when the request came: a reload that removes it lets
    /// the page finish).
    tenant: ConsoleTenant,
}

impl TenantPage {
    /// The tenant of the page.
    pub(super) fn tenant(&self) -> &ConsoleTenant {
        &self.tenant
    }

    /// The tenant's id.
    pub(super) fn id(&self) -> &str {
        self.tenant().tenant.id()
    }
}

/// Which console page a tenant path shows, for the navigation: what follows `/tenants/{id}/`,
/// up to a `.` or a `/` (`access.csv` is the access page, `drift/run` the drift page).
pub(super) fn page_of(path: &str) -> &'static str {
    let rest = path
        .split_once("/tenants/")
        .and_then(|(_, r)| r.split_once('/'))
        .map_or("", |(_, page)| page);
    match rest.split(['.', '/']).next().unwrap_or_default() {
        "access" => "access",
        "audit" => "audit",
        "drift" => "drift",
        "holds" => "holds",
        "whatif" => "whatif",
        _ => "",
    }
}

fn extract(req: &HttpRequest) -> Step<TenantPage> {
    let Some(console) = req.app_data::<web::Data<Console>>().cloned() else {
        return Err(Box::new(HttpResponse::InternalServerError().finish()));
    };
    let id = req.match_info().get("id").unwrap_or_default();
    let (_, session) = signed_in(req, &console)?;
    let Some(tenant) = console
        .tenants
        .get()
        .iter()
        .find(|t| t.tenant.id() == id)
        .filter(|_| session.scope.allows(id))
        .cloned()
    else {
        return Err(Box::new(message(
            StatusCode::NOT_FOUND,
            nav_of(&console, &session, None, ""),
            "No such tenant",
            "None of the tenants your admin token opens has this id.",
        )));
    };
    let nav = nav_of(&console, &session, Some(id), page_of(req.path()));
    Ok(TenantPage {
        console,
        session,
        nav,
        tenant,
    })
}

impl FromRequest for TenantPage {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(extract(req).map_err(|answer| {
            InternalError::from_response("not a page this session may see", *answer).into()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_path_names_its_page() {
        for (path, page) in [
            ("/admin/tenants/acme/access", "access"),
            ("/admin/tenants/acme/access.csv", "access"),
            ("/admin/tenants/acme/audit.csv", "audit"),
            ("/admin/tenants/acme/drift/run", "drift"),
            ("/admin/tenants/acme/drift", "drift"),
            ("/admin/tenants/acme/whatif", "whatif"),
            ("/admin/tenants/acme", ""),
            ("/admin/tenants/acme/other", ""),
            ("/admin", ""),
        ] {
            assert_eq!(page_of(path), page, "{path}");
        }
    }
}
