//! The SCIM error vocabulary (RFC 7644 section 3.12).
//!
//! Every failure the server reports to an IdP is one of these variants. The HTTP layer renders
//! them in one place (`http::error`); lower layers convert their own errors into this enum.

use std::fmt;

/// The `scimType` values of RFC 7644 section 3.12 that this server emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    /// The filter syntax is invalid, or an attribute/operator combination is not supported.
    InvalidFilter,
    /// The filter would yield more results than the server is willing to compute.
    TooMany,
    /// A value that must be unique is already in use.
    Uniqueness,
    /// The change is incompatible with an attribute's mutability.
    Mutability,
    /// The request body could not be parsed or did not match the request schema.
    InvalidSyntax,
    /// A PATCH `path` is malformed.
    InvalidPath,
    /// A PATCH `path` matched nothing that could be operated on.
    NoTarget,
    /// A required value is missing, or a value has the wrong type or form.
    InvalidValue,
}

impl ScimType {
    /// The wire form, e.g. `invalidFilter`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
        }
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SCIM protocol error: what went wrong, in words an admin can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScimError {
    /// 400 `invalidFilter`.
    #[error("{0}")]
    InvalidFilter(String),
    /// 400 `tooMany`.
    #[error("{0}")]
    TooMany(String),
    /// 409 `uniqueness`.
    #[error("{0}")]
    Uniqueness(String),
    /// 400 `mutability`.
    #[error("{0}")]
    Mutability(String),
    /// 400 `invalidSyntax`.
    #[error("{0}")]
    InvalidSyntax(String),
    /// 400 `invalidPath`.
    #[error("{0}")]
    InvalidPath(String),
    /// 400 `noTarget`.
    #[error("{0}")]
    NoTarget(String),
    /// 400 `invalidValue`.
    #[error("{0}")]
    InvalidValue(String),
    /// 400 without a `scimType`: a malformed query parameter or header.
    #[error("{0}")]
    BadRequest(String),
    /// 401: missing or unknown bearer token.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the request is understood but not allowed (e.g. `filter` on a discovery endpoint).
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such resource or endpoint.
    #[error("{0}")]
    NotFound(String),
    /// 405: the endpoint exists but does not take this method; the second field lists the
    /// methods it does take (the `Allow` header).
    #[error("{0}")]
    MethodNotAllowed(String, &'static str),
    /// 409 without `scimType`: a conflict that is not about uniqueness.
    #[error("{0}")]
    Conflict(String),
    /// 412: `If-Match` named a version that is no longer current.
    #[error("{0}")]
    PreconditionFailed(String),
    /// 413: the request body is larger than the configured limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 414: the request URL is longer than this server reads.
    #[error("{0}")]
    UriTooLong(String),
    /// 415: the request body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 429: too many requests from this client (or for this tenant) now; retry after the
    /// given number of seconds (the `Retry-After` header).
    #[error("{0}")]
    TooManyRequests(String, u64),
    /// 431: the request headers are larger than this server reads.
    #[error("{0}")]
    HeadersTooLarge(String),
    /// 501: an optional SCIM feature we do not offer (Bulk, /Me).
    #[error("{0}")]
    NotImplemented(String),
    /// 502: the backing system (Tableau) refused or answered something unexpected.
    #[error("{0}")]
    BadGateway(String),
    /// 503: the backing system could not complete the request now; retry later.
    #[error("{0}")]
    Unavailable(String),
    /// 503 with `Retry-After` (seconds): the change is held by the breaker of mass changes
    /// until an administrator decides; the IdP's retry is answered the same until then.
    #[error("{0}")]
    Held(String, u64),
    /// 500: a fault of ours. The detail is logged, not sent.
    #[error("{0}")]
    Internal(String),
}

impl ScimError {
    /// HTTP status code and `scimType` of this error. No catch-all arm: a new variant must be
    /// classified here on purpose.
    pub fn status_and_type(&self) -> (u16, Option<ScimType>) {
        match self {
            ScimError::InvalidFilter(_) => (400, Some(ScimType::InvalidFilter)),
            ScimError::TooMany(_) => (400, Some(ScimType::TooMany)),
            ScimError::Uniqueness(_) => (409, Some(ScimType::Uniqueness)),
            ScimError::Mutability(_) => (400, Some(ScimType::Mutability)),
            ScimError::InvalidSyntax(_) => (400, Some(ScimType::InvalidSyntax)),
            ScimError::InvalidPath(_) => (400, Some(ScimType::InvalidPath)),
            ScimError::NoTarget(_) => (400, Some(ScimType::NoTarget)),
            ScimError::InvalidValue(_) => (400, Some(ScimType::InvalidValue)),
            ScimError::BadRequest(_) => (400, None),
            ScimError::Unauthorized(_) => (401, None),
            ScimError::Forbidden(_) => (403, None),
            ScimError::NotFound(_) => (404, None),
            ScimError::MethodNotAllowed(..) => (405, None),
            ScimError::Conflict(_) => (409, None),
            ScimError::PreconditionFailed(_) => (412, None),
            ScimError::PayloadTooLarge(_) => (413, None),
            ScimError::UriTooLong(_) => (414, None),
            ScimError::UnsupportedMediaType(_) => (415, None),
            ScimError::TooManyRequests(..) => (429, None),
            ScimError::HeadersTooLarge(_) => (431, None),
            ScimError::NotImplemented(_) => (501, None),
            ScimError::BadGateway(_) => (502, None),
            ScimError::Unavailable(_) | ScimError::Held(..) => (503, None),
            ScimError::Internal(_) => (500, None),
        }
    }

    /// Longest `detail` sent, in characters: details quote what the client sent (a path, a
    /// filter, a value), and an answer must not grow with the request.
    pub const MAX_DETAIL_CHARS: usize = 1024;

    /// The `detail` sent to the client, at most [`Self::MAX_DETAIL_CHARS`] characters. Internal
    /// faults are not described to the client.
    pub fn detail(&self) -> String {
        match self {
            ScimError::Internal(_) => {
                "The server hit an internal error; it has been logged. Retry later.".to_string()
            }
            other => truncated(&other.to_string(), Self::MAX_DETAIL_CHARS),
        }
    }

    /// The SCIM Error message body (RFC 7644 section 3.12); `status` is a string.
    pub fn to_json(&self) -> serde_json::Value {
        let (status, scim_type) = self.status_and_type();
        let mut body = serde_json::json!({
            "schemas": [crate::scim::urn::ERROR],
            "status": status.to_string(),
            "detail": self.detail(),
        });
        if let (Some(t), Some(obj)) = (scim_type, body.as_object_mut()) {
            obj.insert("scimType".into(), t.as_str().into());
        }
        body
    }
}

/// `text` cut to `max` characters, marked with an ellipsis when cut: for quoting what a client
/// sent in a message or a log line.
pub fn truncated(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

/// Result alias for the SCIM layer.
pub type ScimResult<T> = Result<T, ScimError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_string_status_and_scim_type() {
        let e = ScimError::InvalidFilter("bad".into());
        let j = e.to_json();
        assert_eq!(j["status"], "400");
        assert_eq!(j["scimType"], "invalidFilter");
        assert_eq!(j["detail"], "bad");
        assert_eq!(
            j["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
    }

    #[test]
    fn not_found_has_no_scim_type() {
        let j = ScimError::NotFound("no user".into()).to_json();
        assert_eq!(j["status"], "404");
        assert!(j.get("scimType").is_none());
    }

    #[test]
    fn internal_detail_is_not_leaked() {
        let j = ScimError::Internal("db path /secret".into()).to_json();
        assert!(!j["detail"].as_str().unwrap_or_default().contains("secret"));
        assert_eq!(j["status"], "500");
    }

    #[test]
    fn details_quoting_a_huge_request_are_cut() {
        let e = ScimError::NotFound(format!("no SCIM endpoint at /{}", "x".repeat(100_000)));
        let d = e.detail();
        assert_eq!(d.chars().count(), ScimError::MAX_DETAIL_CHARS + 1);
        assert!(d.ends_with('…'));
        assert_eq!(truncated("héllo", 2), "hé…");
        assert_eq!(truncated("héllo", 5), "héllo");
        assert_eq!(
            ScimError::TooManyRequests("slow".into(), 30).status_and_type(),
            (429, None)
        );
    }
}
