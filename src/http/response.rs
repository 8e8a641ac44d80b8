//! SCIM responses: `application/scim+json`, `Location` on creation, `ETag` from `meta.version`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::Value;

/// The SCIM media type (RFC 7644 section 3.1).
pub const SCIM_JSON: &str = "application/scim+json";

/// A JSON body with the SCIM media type.
pub fn json(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON)))
        .body(body.to_string())
}

/// A JSON body already written as text, with the SCIM media type.
pub fn json_text(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON)))
        .body(body)
}

/// A resource read (200) from its rendered text, with its version as the `ETag` (none if it
/// has none, as [`resource`]).
pub fn read(version: &str, body: &str) -> HttpResponse {
    let mut b = HttpResponse::build(StatusCode::OK);
    b.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON)));
    if let Ok(h) = HeaderValue::from_str(version) {
        if !version.is_empty() {
            b.insert_header((header::ETAG, h));
        }
    }
    b.body(actix_web::web::Bytes::copy_from_slice(body.as_bytes()))
}

/// A rendered resource: `ETag` from `meta.version`, and `Location` (= `meta.location`) on 201.
pub fn resource(status: StatusCode, body: &Value) -> HttpResponse {
    let mut b = HttpResponse::build(status);
    b.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON)));
    if let Some(v) = body["meta"]["version"].as_str() {
        if let Ok(h) = HeaderValue::from_str(v) {
            b.insert_header((header::ETAG, h));
        }
    }
    if status == StatusCode::CREATED {
        if let Some(loc) = body["meta"]["location"].as_str() {
            if let Ok(h) = HeaderValue::from_str(loc) {
                b.insert_header((header::LOCATION, h));
            }
        }
    }
    b.body(body.to_string())
}
