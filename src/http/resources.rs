//! `/Users` and `/Groups`: parse, call the store once, render.

use actix_web::http::{header, StatusCode};
use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::body::ScimBody;
use super::response;
use super::state::{base_url, AppState, Current};
use crate::scim::change::Change;
use crate::scim::list::{list_response_json, search_kinds, slices_of_page, ListParams, ListQuery};
use crate::scim::patch::PatchRequest;
use crate::scim::projection::Projection;
use crate::scim::resource;
use crate::scim::schema::{ResourceKind, SchemaRegistry};
use crate::scim::stored::{Shared, Stored};
use crate::scim::urn;
use crate::scim::version;
use crate::scim::{ScimError, ScimResult};

/// The `{id}` of a resource path, by name: the path may also carry `{tenant}`.
#[derive(Debug, serde::Deserialize)]
pub struct IdPath {
    id: String,
}

impl std::ops::Deref for IdPath {
    type Target = str;
    fn deref(&self) -> &str {
        &self.id
    }
}

fn query_pairs(req: &HttpRequest) -> ScimResult<Vec<(String, String)>> {
    // Form decoding turns both Okta's `%20` and Entra's `+` into spaces (scim-idp.md 1.8).
    serde_urlencoded::from_str(req.query_string())
        .map_err(|e| ScimError::BadRequest(format!("the query string could not be decoded: {e}")))
}

fn projection(req: &HttpRequest) -> ScimResult<Projection> {
    let params = ListParams::from_query(&query_pairs(req)?)?;
    Projection::from_lists(params.attributes, params.excluded)
}

fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn render(
    req: &HttpRequest,
    state: &AppState,
    kind: ResourceKind,
    stored: Value,
    p: &Projection,
) -> Value {
    render_under(&base_url(req, state), kind, stored, p)
}

fn render_under(base: &str, kind: ResourceKind, stored: Value, p: &Projection) -> Value {
    let schema = SchemaRegistry::builtin().resource(kind);
    p.apply(&schema, resource::render(&schema, stored, base))
}

/// A read resource as response text. The default representation is the one the resource keeps
/// ([`Stored::default_json`]): made on its first read, reused until the backend hands out a
/// changed resource. Any other projection is applied now.
fn render_text(base: &str, kind: ResourceKind, stored: Shared, p: &Projection) -> Arc<str> {
    if p.is_default() {
        return stored.default_json(base, |v| render_under(base, kind, v.clone(), p).to_string());
    }
    render_under(base, kind, Stored::into_value(stored), p)
        .to_string()
        .into()
}

async fn run_list(
    req: &HttpRequest,
    state: &AppState,
    current: &Current,
    kind: ResourceKind,
    query: ListQuery,
) -> ScimResult<HttpResponse> {
    let schema = SchemaRegistry::builtin().resource(kind);
    if let Some(f) = &query.filter {
        f.validate(&schema)?;
    }
    let page = current.0.store.list(kind, &query).await?;
    let base = base_url(req, state);
    let items: Vec<Arc<str>> = page
        .resources
        .into_iter()
        .map(|r| render_text(&base, kind, r, &query.projection))
        .collect();
    Ok(response::json_text(
        StatusCode::OK,
        list_response_json(page.total, query.start_index, &items),
    ))
}

/// `GET /Users`, `GET /Groups`.
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: Current,
    kind: web::Data<ResourceKind>,
) -> ScimResult<HttpResponse> {
    let query =
        ListParams::from_query(&query_pairs(&req)?)?.resolve(state.settings.max_page_size)?;
    run_list(&req, &state, &current, **kind, query).await
}

/// `POST /Users/.search`, `POST /Groups/.search`.
pub async fn search(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: Current,
    kind: web::Data<ResourceKind>,
    body: ScimBody,
) -> ScimResult<HttpResponse> {
    let max = state.settings.max_page_size;
    let query = body
        .read(move |b| ListParams::from_search_body(b)?.resolve(max))
        .await?;
    run_list(&req, &state, &current, **kind, query).await
}

/// `POST /.search`: every resource type, Users first (RFC 7644 section 3.4.3). A filter that
/// names attributes of only one type searches that type.
pub async fn root_search(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: Current,
    body: ScimBody,
) -> ScimResult<HttpResponse> {
    let max = state.settings.max_page_size;
    let query = body
        .read(move |b| ListParams::from_search_body(b)?.resolve(max))
        .await?;
    let kinds = search_kinds(&query, SchemaRegistry::builtin())?;
    // Count each type's matches, then fetch only the slices of the requested page.
    let mut totals = Vec::new();
    for kind in &kinds {
        let probe = ListQuery {
            count: 0,
            start_index: 1,
            ..query.clone()
        };
        totals.push(current.0.store.list(*kind, &probe).await?.total);
    }
    let total: usize = totals.iter().sum();
    let base = base_url(&req, &state);
    let mut items = Vec::new();
    for (kind, slice) in kinds
        .iter()
        .zip(slices_of_page(query.page_range(total), &totals))
    {
        let Some((start_index, count)) = slice else {
            continue;
        };
        let slice = ListQuery {
            start_index,
            count,
            ..query.clone()
        };
        let page = current.0.store.list(*kind, &slice).await?;
        items.extend(
            page.resources
                .into_iter()
                .map(|r| render_text(&base, *kind, r, &query.projection)),
        );
    }
    Ok(response::json_text(
        StatusCode::OK,
        list_response_json(total, query.start_index, &items),
    ))
}

/// A create's or a replace's body in canonical form, with its required attributes.
fn canonical_input(kind: ResourceKind) -> impl FnOnce(&Value) -> ScimResult<Value> + Send {
    move |body| {
        let schema = SchemaRegistry::builtin().resource(kind);
        let input = resource::from_input(&schema, body)?;
        resource::check_required(&schema, &input)?;
        Ok(input)
    }
}

/// `POST /Users`, `POST /Groups`.
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: Current,
    kind: web::Data<ResourceKind>,
    body: ScimBody,
) -> ScimResult<HttpResponse> {
    let p = projection(&req)?;
    let input = body.read(canonical_input(**kind)).await?;
    let created = current.0.store.create(**kind, input).await?;
    Ok(response::resource(
        StatusCode::CREATED,
        &render(&req, &state, **kind, created, &p),
    ))
}

/// `GET /Users/{id}`, `GET /Groups/{id}`; 304 on a matching `If-None-Match`.
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: Current,
    kind: web::Data<ResourceKind>,
    id: web::Path<IdPath>,
) -> ScimResult<HttpResponse> {
    let p = projection(&req)?;
    let stored = current.0.store.get(**kind, &id, &p).await?;
    let none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let etag = version::current_version(&stored).to_string();
    if version::not_modified(&stored, none_match) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    let body = render_text(&base_url(&req, &state), **kind, stored, &p);
    Ok(response::read(&etag, &body))
}

/// A PUT or PATCH through the store: the resource as it is afterwards.
async fn run_update(
    req: &HttpRequest,
    current: &Current,
    kind: ResourceKind,
    id: &str,
    change: Change<'_>,
) -> ScimResult<Value> {
    current
        .0
        .store
        .update(kind, id, change, if_match(req).as_deref())
        .await
}

/// `PUT /Users/{id}`, `PUT /Groups/{id}`.
pub async fn replace(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: Current,
    kind: web::Data<ResourceKind>,
    id: web::Path<IdPath>,
    body: ScimBody,
) -> ScimResult<HttpResponse> {
    let p = projection(&req)?;
    let input = body.read(canonical_input(**kind)).await?;
    let stored = run_update(&req, &current, **kind, &id, Change::Replace(input)).await?;
    Ok(response::resource(
        StatusCode::OK,
        &render(&req, &state, **kind, stored, &p),
    ))
}

/// `PATCH /Users/{id}`, `PATCH /Groups/{id}`.
pub async fn patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: Current,
    kind: web::Data<ResourceKind>,
    id: web::Path<IdPath>,
    body: ScimBody,
) -> ScimResult<HttpResponse> {
    let p = projection(&req)?;
    let request = body.read(PatchRequest::parse).await?;
    let quiet = answers_no_content(**kind, &request, &p);
    let stored = run_update(&req, &current, **kind, &id, Change::Patch(&request)).await?;
    if quiet {
        return Ok(HttpResponse::NoContent()
            .insert_header((header::ETAG, version::current_version(&stored).to_string()))
            .finish());
    }
    Ok(response::resource(
        StatusCode::OK,
        &render(&req, &state, **kind, stored, &p),
    ))
}

/// A PATCH of a group that changes only `members` and asks for no attributes is answered 204
/// No Content (RFC 7644 section 3.5.2; Microsoft's SCIM guide shows 204 for member changes):
/// IdPs push members in batches, and the whole group back after each would be megabytes per
/// request for a large group. Asking for attributes brings the 200 with the resource back.
fn answers_no_content(kind: ResourceKind, request: &PatchRequest, p: &Projection) -> bool {
    kind == ResourceKind::Group && p.is_default() && request.changes_only("members", urn::GROUP)
}

/// `DELETE /Users/{id}`, `DELETE /Groups/{id}`: 204.
pub async fn delete(
    req: HttpRequest,
    current: Current,
    kind: web::Data<ResourceKind>,
    id: web::Path<IdPath>,
) -> ScimResult<HttpResponse> {
    current
        .0
        .store
        .delete(**kind, &id, if_match(&req).as_deref())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
