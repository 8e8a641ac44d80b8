//! The token endpoint's refusals, answered as RFC 6749 5.2 says: JSON with `error` and
//! `error_description`, `Cache-Control: no-store`, and for a client that authenticated with
//! HTTP Basic, 401 with `WWW-Authenticate`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

/// Why a token request is refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OAuthError {
    /// A malformed request (5.2 `invalid_request`).
    #[error("{0}")]
    InvalidRequest(String),
    /// Unknown client or wrong secret (5.2 `invalid_client`).
    #[error("{why}")]
    InvalidClient {
        /// Whether the client used HTTP Basic (then 401 and `WWW-Authenticate`).
        basic: bool,
        /// What to say.
        why: String,
    },
    /// Another grant than client credentials (5.2 `unsupported_grant_type`).
    #[error("{0}")]
    UnsupportedGrantType(String),
    /// The address failed too often (the SCIM endpoints' limit, [`crate::http::guard`]).
    #[error("too many failed authentications from this address; retry in {0} s")]
    TooManyRequests(u64),
    /// This tenant issues no access tokens, or no such tenant.
    #[error("{0}")]
    NotFound(String),
}

impl OAuthError {
    /// The `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient { .. } => "invalid_client",
            OAuthError::UnsupportedGrantType(_) => "unsupported_grant_type",
            // 5.2 has no code for a rate limit; the client's credentials are what is refused.
            OAuthError::TooManyRequests(_) => "invalid_client",
            OAuthError::NotFound(_) => "invalid_request",
        }
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            // 5.2: 401, which it MUST be for Basic and MAY be for credentials in the body.
            OAuthError::InvalidClient { .. } => StatusCode::UNAUTHORIZED,
            OAuthError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            OAuthError::NotFound(_) => StatusCode::NOT_FOUND,
            OAuthError::InvalidRequest(_) | OAuthError::UnsupportedGrantType(_) => {
                StatusCode::BAD_REQUEST
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status_code());
        r.insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        match self {
            OAuthError::InvalidClient { basic: true, .. } => {
                r.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"tableau-scim\""));
            }
            OAuthError::TooManyRequests(secs) => {
                r.insert_header((header::RETRY_AFTER, secs.to_string()));
            }
            _ => {}
        }
        r.json(serde_json::json!({
            "error": self.code(),
            "error_description": crate::scim::truncated(&self.to_string(), 512),
        }))
    }
}
