//! Bearer-token authentication (RFC 6750). Tokens are held as SHA-256 digests and compared in
//! constant time, so neither the token nor its length leaks through timing or memory dumps.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, Error};

use std::sync::Arc;

use super::guard::{self, Rejection, Verdict};
use super::oauth::access_token::Refusal;
use super::state::{AppState, Current, TenantEntry};
use crate::scim::{truncated, ScimError};

/// The bearer token in an `Authorization` header, if it has that form.
fn bearer(req: &ServiceRequest) -> Option<&str> {
    bearer_of(req.request())
}

/// The bearer token of a request, if it carries one.
pub fn bearer_of(req: &actix_web::HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The address failures of `req` count against (see [`guard::client_key`]).
pub fn client_of(req: &actix_web::HttpRequest, trust_forwarded: bool) -> Option<std::net::IpAddr> {
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    guard::client_key(req.peer_addr().map(|a| a.ip()), forwarded, trust_forwarded)
}

/// The tenant whose token `token` is. Every tenant's set is checked, whichever matches, so
/// timing does not tell tenants apart.
pub fn tenant_of(state: &AppState, token: &str) -> Option<Arc<TenantEntry>> {
    let mut found = None;
    for t in state.tenants.get().iter() {
        if t.tokens.get().accepts(token) {
            found = Some(t.clone());
        }
    }
    found
}

/// A failed authentication: counted against the client's address, answered 401, or 429 once
/// the address is past its limit (see [`guard`]).
fn refused(state: &AppState, req: &ServiceRequest, why: Rejection, message: String) -> Error {
    let key = client_of(req.request(), state.settings.trust_forwarded_headers);
    match state.guard.failed(key, why) {
        Verdict::Refuse => ScimError::Unauthorized(message).into(),
        Verdict::Block { retry_after_secs } => ScimError::TooManyRequests(
            format!("too many failed authentications from this address; retry in {retry_after_secs} s with a valid bearer token"),
            retry_after_secs,
        )
        .into(),
    }
}

/// Middleware: the request's tenant is the one whose token it carries; without an accepted
/// token, or on another tenant's `/tenants/{id}` path, it gets a SCIM 401 (429 from an address
/// that keeps failing). A tenant with as many requests in flight as it may have gets 429.
pub async fn require_bearer(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    use actix_web::HttpMessage;
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(ScimError::Internal("application state missing".into()).into());
    };
    let Some(token) = bearer(&req) else {
        return Err(refused(
            &state,
            &req,
            Rejection::Missing,
            "authentication required: send 'Authorization: Bearer <token>'".into(),
        ));
    };
    let tenant = match tenant_of(&state, token) {
        Some(t) => t,
        None => match super::oauth::tenant_of_access_token(&state, token) {
            Ok(t) => t,
            // A token this server signed, past its time: the IdP asks the token endpoint for
            // another. Not a failed authentication: only a client that had the secret holds one.
            Err(Refusal::Expired) => {
                return Err(ScimError::Unauthorized(
                    "the access token expired; request another from the token endpoint".into(),
                )
                .into())
            }
            Err(Refusal::Invalid) => {
                return Err(refused(
                    &state,
                    &req,
                    Rejection::Invalid,
                    "the bearer token is not valid for this server".into(),
                ))
            }
        },
    };
    if let Some(path_tenant) = req.match_info().get("tenant") {
        if path_tenant != tenant.id {
            let message = format!(
                "the bearer token is not valid for tenant '{}'",
                truncated(path_tenant, 64)
            );
            return Err(refused(&state, &req, Rejection::Invalid, message));
        }
    }
    let Ok(_in_flight) = tenant.in_flight.clone().try_acquire_owned() else {
        metrics::counter!("tenant_busy_total", "tenant" => tenant.id.clone()).increment(1);
        return Err(ScimError::TooManyRequests(
            format!(
                "tenant '{}' has {} requests in flight, as many as it may; retry in a second",
                tenant.id, state.settings.max_in_flight_per_tenant
            ),
            1,
        )
        .into());
    };
    tracing::Span::current().record("tenant.id", tenant.id.as_str());
    req.extensions_mut().insert(Current(tenant));
    next.call(req).await
}
