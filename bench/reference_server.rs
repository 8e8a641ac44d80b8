//! The reference for `bench/throughput.sh`: a bare actix-web program that checks the bearer
//! token and answers the mix's reads with a fixed SCIM body (a user, or a list of one user),
//! on the same number of workers as the demo. What is left between tableau-scim and this is
//! our own work per request: routing, authentication, filter parsing, the cache, rendering,
//! metrics and logging.
//!
//! `cargo run --release --example reference_server -- PORT TOKEN`

use actix_web::http::header;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

const USER: &str = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"3c9a7f0e-6a55-4bb5-9d0c-2a7a1f3e5b11","userName":"user00042@example.com","name":{"formatted":"User 42","givenName":"User","familyName":"42"},"displayName":"User 42","emails":[{"value":"user00042@example.com","primary":true,"type":"work"}],"active":true,"roles":[{"value":"Viewer","primary":true}],"meta":{"resourceType":"User","created":"2026-11-27T10:00:00Z","lastModified":"2026-11-27T10:00:00Z","version":"W/\"a1b2c3d4\"","location":"http://127.0.0.1/scim/v2/Users/3c9a7f0e-6a55-4bb5-9d0c-2a7a1f3e5b11"}}"#;

fn authorized(req: &HttpRequest, token: &str) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t == token)
}

fn scim(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/scim+json")
        .body(body)
}

async fn user(req: HttpRequest, token: web::Data<String>) -> HttpResponse {
    if !authorized(&req, &token) {
        return HttpResponse::Unauthorized().finish();
    }
    scim(USER.to_string())
}

async fn users(req: HttpRequest, token: web::Data<String>) -> HttpResponse {
    if !authorized(&req, &token) {
        return HttpResponse::Unauthorized().finish();
    }
    scim(format!(
        r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"startIndex":1,"itemsPerPage":1,"Resources":[{USER}]}}"#
    ))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(8099);
    let token = web::Data::new(args.next().unwrap_or_else(|| "bench-token".into()));
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    HttpServer::new(move || {
        App::new()
            .app_data(token.clone())
            .route("/scim/v2/Users", web::get().to(users))
            .route("/scim/v2/Users/{id}", web::get().to(user))
            .route("/scim/v2/ServiceProviderConfig", web::get().to(user))
    })
    .workers(workers)
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
