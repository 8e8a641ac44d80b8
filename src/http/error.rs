//! The one place a [`ScimError`] becomes an HTTP response.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use super::response::SCIM_JSON;
use crate::scim::ScimError;

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        let (status, _) = self.status_and_type();
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if let ScimError::Internal(detail) = self {
            tracing::error!(error.detail = %detail, "internal error");
        }
        let mut resp = HttpResponse::build(self.status_code());
        resp.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON)));
        if matches!(self, ScimError::Unauthorized(_)) {
            // RFC 6750 section 3: a 401 names the scheme the client must use.
            resp.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tableau-scim\""),
            ));
        }
        if let ScimError::MethodNotAllowed(_, allow) = self {
            resp.insert_header((header::ALLOW, HeaderValue::from_static(allow)));
        }
        if let ScimError::TooManyRequests(_, secs) | ScimError::Held(_, secs) = self {
            resp.insert_header((header::RETRY_AFTER, HeaderValue::from(*secs)));
        }
        resp.body(self.to_json().to_string())
    }
}
