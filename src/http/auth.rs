//! Bearer-token authentication (RFC 6750). Tokens are held as SHA-256 digests and compared in
//! constant time, so neither the token nor its length leaks through timing or memory dumps.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, Error};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{AppState, Current};
use crate::scim::ScimError;

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
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Middleware: the request's tenant is the one whose token it carries; without an accepted
/// token, or on another tenant's `/tenants/{id}` path, it gets a SCIM 401.
pub async fn require_bearer(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    use actix_web::HttpMessage;
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Err(ScimError::Internal("application state missing".into()).into());
    };
    let Some(token) = bearer(&req) else {
        return Err(ScimError::Unauthorized(
            "authentication required: send 'Authorization: Bearer <token>'".into(),
        )
        .into());
    };
    // Every tenant's set is checked, whichever matches, so timing does not tell tenants apart.
    let mut found = None;
    for t in &state.tenants {
        if t.tokens.accepts(token) {
            found = Some(t.clone());
        }
    }
    let Some(tenant) = found else {
        return Err(ScimError::Unauthorized(
            "the bearer token is not valid for this server".into(),
        )
        .into());
    };
    if let Some(path_tenant) = req.match_info().get("tenant") {
        if path_tenant != tenant.id {
            return Err(ScimError::Unauthorized(format!(
                "the bearer token is not valid for tenant '{path_tenant}'"
            ))
            .into());
        }
    }
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
