//! SCIM responses: `application/scim+json`, `Location` on creation, `ETag` from `meta.version`.

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde_json::Value;

/// The SCIM media type (RFC 7644 section 3.1).
pub const SCIM_JSON: &str = "application/scim+json";

/// A response with the SCIM media type, headers and body still to come.
fn scim_json(status: StatusCode) -> HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    b.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON)));
    b
}

/// `name: value` when there is a value and it can be a header (a version or location that
/// cannot is left out rather than failing the response).
fn insert_if_valid(b: &mut HttpResponseBuilder, name: HeaderName, value: Option<&str>) {
    if let Some(h) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
        b.insert_header((name, h));
    }
}

/// A JSON body with the SCIM media type.
pub fn json(status: StatusCode, body: &Value) -> HttpResponse {
    json_text(status, body.to_string())
}

/// A JSON body already written as text, with the SCIM media type.
pub fn json_text(status: StatusCode, body: String) -> HttpResponse {
    scim_json(status).body(body)
}

/// A resource read (200) from its rendered text, with its version as the `ETag` (none if it
/// has none, as [`resource`]).
pub fn read(version: &str, body: &str) -> HttpResponse {
    let mut b = scim_json(StatusCode::OK);
    insert_if_valid(
        &mut b,
        header::ETAG,
        Some(version).filter(|v| !v.is_empty()),
    );
    b.body(actix_web::web::Bytes::copy_from_slice(body.as_bytes()))
}

/// A rendered resource: `ETag` from `meta.version`, and `Location` (= `meta.location`) on 201.
pub fn resource(status: StatusCode, body: &Value) -> HttpResponse {
    let mut b = scim_json(status);
    insert_if_valid(&mut b, header::ETAG, body["meta"]["version"].as_str());
    if status == StatusCode::CREATED {
        insert_if_valid(&mut b, header::LOCATION, body["meta"]["location"].as_str());
    }
    b.body(body.to_string())
}
