//! Which handler answers which method and path: the SCIM endpoints under `/scim/v2` and
//! `/tenants/{tenant}/scim/v2`, with SCIM errors for unknown paths, methods and features.

use actix_web::middleware::from_fn;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::scim::schema::ResourceKind;
use crate::scim::ScimError;

use super::{auth, discovery, limits, resources};

pub(super) async fn not_found(req: HttpRequest) -> Result<HttpResponse, ScimError> {
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

/// Register the SCIM routes under `/scim/v2` and `/tenants/{tenant}/scim/v2`, and the OAuth
/// token endpoints beside them.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(super::oauth::configure)
        .service(
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
