//! Bearer-token authentication (RFC 6750). Tokens are held as SHA-256 digests and compared in
//! constant time, so neither the token nor its length leaks through timing or memory dumps.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, Error};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use std::sync::Arc;

use super::guard::{self, Rejection, Verdict};
use super::state::{AppState, Current, TenantEntry};
use crate::scim::{truncated, ScimError};

/// The SHA-256 digest of a bearer token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// The digest of a plain token.
    pub fn of(token: &str) -> Self {
        TokenDigest(Sha256::digest(token.as_bytes()).into())
    }

    /// From 64 hex digits (the form `tableau-scim hash-token` prints).
    pub fn from_hex(hex_digest: &str) -> Option<Self> {
        let bytes = hex::decode(hex_digest.trim()).ok()?;
        Some(TokenDigest(bytes.try_into().ok()?))
    }

    /// As 64 hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenDigest(..)")
    }
}

/// The tokens a server accepts. Several, so a token can be rotated without downtime.
#[derive(Debug, Clone, Default)]
pub struct TokenSet {
    digests: Vec<TokenDigest>,
}

impl TokenSet {
    /// A set of accepted token digests.
    pub fn new(digests: Vec<TokenDigest>) -> Self {
        TokenSet { digests }
    }

    /// Whether no token is accepted at all.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether `digest` is one of the accepted digests (configuration checks; not for
    /// authentication, which compares in constant time with [`TokenSet::accepts`]).
    pub fn contains(&self, digest: &TokenDigest) -> bool {
        self.digests.contains(digest)
    }

    /// Whether `presented` is one of the accepted tokens. Every digest is compared, whatever
    /// matched, so the time taken does not say which token (or how much of it) matched.
    pub fn accepts(&self, presented: &str) -> bool {
        let candidate = TokenDigest::of(presented);
        let mut matched = subtle::Choice::from(0);
        for d in &self.digests {
            matched |= d.0.ct_eq(&candidate.0);
        }
        bool::from(matched)
    }
}

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
    for t in &state.tenants {
        if t.tokens.accepts(token) {
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
    let Some(tenant) = tenant_of(&state, token) else {
        return Err(refused(
            &state,
            &req,
            Rejection::Invalid,
            "the bearer token is not valid for this server".into(),
        ));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_configured_tokens_and_round_trips_hex() {
        let set = TokenSet::new(vec![TokenDigest::of("alpha"), TokenDigest::of("beta")]);
        assert!(set.accepts("alpha"));
        assert!(set.accepts("beta"));
        assert!(!set.accepts("gamma"));
        assert!(!set.accepts(""));
        let hex = TokenDigest::of("alpha").to_hex();
        assert_eq!(TokenDigest::from_hex(&hex), Some(TokenDigest::of("alpha")));
        assert_eq!(TokenDigest::from_hex("zz"), None);
        assert!(!format!("{:?}", TokenDigest::of("alpha")).contains(&hex));
    }
}
