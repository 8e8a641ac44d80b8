//! Discovery endpoints (RFC 7644 section 4): `/ServiceProviderConfig`, `/ResourceTypes`,
//! `/Schemas`. GET only; a `filter` gets 403 so a client cannot believe it applied.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::response;
use super::state::{base_url, AppState};
use crate::scim::list::list_response;
use crate::scim::schema::SchemaRegistry;
use crate::scim::ScimError;

/// `{name}` of `/ResourceTypes/{name}`, by name (the path may also carry `{tenant}`).
#[derive(Debug, serde::Deserialize)]
pub struct NamePath {
    name: String,
}

/// `{urn}` of `/Schemas/{urn}`, by name.
#[derive(Debug, serde::Deserialize)]
pub struct UrnPath {
    urn: String,
}

fn refuse_filter(req: &HttpRequest) -> Result<(), ScimError> {
    let has_filter = serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("filter"));
    if has_filter {
        return Err(ScimError::Forbidden(
            "discovery endpoints do not support filtering (RFC 7644 section 4)".into(),
        ));
    }
    Ok(())
}

fn with_meta(doc: &Value, resource_type: &str, location: String) -> Value {
    let mut doc = doc.clone();
    if let Some(o) = doc.as_object_mut() {
        o.insert(
            "meta".into(),
            json!({"resourceType": resource_type, "location": location}),
        );
    }
    doc
}

/// `GET /ServiceProviderConfig`.
pub async fn service_provider_config(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ScimError> {
    refuse_filter(&req)?;
    let base = base_url(&req, &state);
    let mut doc = with_meta(
        SchemaRegistry::builtin().service_provider_config(),
        "ServiceProviderConfig",
        format!("{base}/ServiceProviderConfig"),
    );
    doc["filter"]["maxResults"] = json!(state.settings.max_page_size);
    let issues_tokens = {
        use actix_web::HttpMessage;
        req.extensions()
            .get::<super::state::Current>()
            .is_some_and(|c| c.0.oauth.get().is_some())
    };
    if issues_tokens {
        if let Some(schemes) = doc["authenticationSchemes"].as_array_mut() {
            schemes.push(json!({
                "type": "oauth2",
                "name": "OAuth 2.0 client credentials",
                "description": "An access token from this tenant's token endpoint (.../oauth/token, grant_type=client_credentials), sent as a bearer token",
                "specUri": "https://www.rfc-editor.org/rfc/rfc6749#section-4.4",
                "primary": false
            }));
        }
    }
    Ok(response::json(StatusCode::OK, &doc))
}

fn resource_type_docs(base: &str) -> Vec<Value> {
    SchemaRegistry::builtin()
        .resource_types()
        .iter()
        .map(|rt| {
            let id = rt["id"].as_str().unwrap_or_default();
            with_meta(rt, "ResourceType", format!("{base}/ResourceTypes/{id}"))
        })
        .collect()
}

fn schema_docs(base: &str) -> Vec<Value> {
    SchemaRegistry::builtin()
        .served_schemas()
        .iter()
        .map(|s| {
            let id = s["id"].as_str().unwrap_or_default();
            with_meta(s, "Schema", format!("{base}/Schemas/{id}"))
        })
        .collect()
}

/// A ListResponse of every document: discovery lists ignore paging (RFC 7644 section 4).
fn all_of(docs: Vec<Value>) -> HttpResponse {
    response::json(StatusCode::OK, &list_response(docs.len(), 1, docs))
}

/// The document whose `id` is `id` (case-insensitive).
fn one_of(docs: Vec<Value>, id: &str, missing: ScimError) -> Result<HttpResponse, ScimError> {
    docs.into_iter()
        .find(|d| d["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
        .map(|d| response::json(StatusCode::OK, &d))
        .ok_or(missing)
}

/// `GET /ResourceTypes`.
pub async fn resource_types(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ScimError> {
    refuse_filter(&req)?;
    Ok(all_of(resource_type_docs(&base_url(&req, &state))))
}

/// `GET /ResourceTypes/{name}`.
pub async fn resource_type(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<NamePath>,
) -> Result<HttpResponse, ScimError> {
    refuse_filter(&req)?;
    let name = &name.name;
    let missing = ScimError::NotFound(format!(
        "no resource type '{name}'; there are 'User' and 'Group'"
    ));
    one_of(resource_type_docs(&base_url(&req, &state)), name, missing)
}

/// `GET /Schemas`.
pub async fn schemas(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ScimError> {
    refuse_filter(&req)?;
    Ok(all_of(schema_docs(&base_url(&req, &state))))
}

/// `GET /Schemas/{urn}`.
pub async fn schema(
    req: HttpRequest,
    state: web::Data<AppState>,
    urn: web::Path<UrnPath>,
) -> Result<HttpResponse, ScimError> {
    refuse_filter(&req)?;
    let urn = &urn.urn;
    let missing = ScimError::NotFound(format!("no schema '{urn}'"));
    one_of(schema_docs(&base_url(&req, &state)), urn, missing)
}
