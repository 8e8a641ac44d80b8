//! Query Workbooks for User, Query Flows for User, the site's workbooks, data sources, flows
//! and projects, and the Update call of each kind, which the emulator models for its
//! `<owner>` (and a data source's `<project>`) only: anything else in the body is refused,
//! so a client that sends more than the owner is seen (assumed behaviour of the emulator,
//! not of Tableau, which would apply a name or a description too).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};

use super::{ok, signed_in, version, Reply, Scope};
use crate::emulator::request::{body_element, malformed, page, paging, param, query_pairs};
use crate::emulator::state::{ApiError, SiteState};
use crate::emulator::xml_out::{content_xml, pagination_xml};
use crate::emulator::Shared;
use crate::tableau::content::{ContentItem, ContentKind};

impl Scope {
    /// Flows are not among the content read scope's resources ("data sources, metrics,
    /// views, workbooks, projects, and site"): their own read scope, by the page's pattern
    /// (assumed).
    const FLOWS_READ: Scope = Scope("tableau:flows:read");

    /// Update *Kind*'s scope: `tableau:<resource>:update` (the page's example is
    /// `tableau:datasources:update`; the others follow its pattern, assumed).
    fn update_of(kind: ContentKind) -> Scope {
        match kind {
            ContentKind::Project => Scope("tableau:projects:update"),
            ContentKind::Workbook => Scope("tableau:workbooks:update"),
            ContentKind::Datasource => Scope("tableau:datasources:update"),
            ContentKind::Flow => Scope("tableau:flows:update"),
        }
    }
}

/// One page of items, in the list element of their kind.
fn items_page(
    state: &SiteState,
    kind: ContentKind,
    items: Vec<ContentItem>,
    pairs: &[(String, String)],
) -> Result<String, ApiError> {
    let (number, size) = paging(pairs)?;
    let (items, pagination) = page(items, number, size)?;
    let list: String = items.iter().map(|i| item_xml(state, i)).collect();
    Ok(format!(
        "{}<{plural}>{list}</{plural}>",
        pagination_xml(&pagination),
        plural = kind.plural()
    ))
}

/// An item with its project's name, as Tableau writes it.
fn item_xml(state: &SiteState, item: &ContentItem) -> String {
    content_xml(item, state.project_name(item))
}

/// A kind's routes exist from the version that introduced it (flows: 3.3); below, the
/// method is unknown to the server (404000, assumed as for any path it does not serve).
fn kind_at(kind: ContentKind, req: &HttpRequest, shared: &Shared) -> Result<(), ApiError> {
    if version(req, shared)? < kind.since() {
        return Err(crate::emulator::state::api_error(
            404,
            "404000",
            "Resource Not Found",
            format!("{} need API {}", kind.plural(), kind.since()),
        ));
    }
    Ok(())
}

/// Query Workbooks for User (`ownedBy`) and Query Flows for User (`isOwner`): with the flag
/// `true`, what the user owns; without it, what the user can read, which for the
/// administrator the emulator signs in as is every item (REST reference, as tabbycat
/// extracted it: "false to return all workbooks that the specified user has at least read
/// access to. The default is false."). An unknown user is 404002.
pub(super) async fn for_user(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String, String)>,
) -> Reply {
    let kind = match path.3.as_str() {
        "flows" => ContentKind::Flow,
        _ => ContentKind::Workbook,
    };
    kind_at(kind, &req, &shared)?;
    let scope = match kind {
        ContentKind::Flow => Scope::FLOWS_READ,
        _ => Scope::CONTENT_READ,
    };
    let s = signed_in(&req, &shared, scope)?;
    s.state.user(&path.2)?;
    let pairs = query_pairs(&req);
    let flag = match kind {
        ContentKind::Flow => "isOwner",
        _ => "ownedBy",
    };
    let items = if param(&pairs, flag) == Some("true") {
        s.state.owned_items(kind, &path.2)
    } else {
        s.state.items_of(kind)
    };
    Ok(ok(
        StatusCode::OK,
        &items_page(&s.state, kind, items, &pairs)?,
    ))
}

/// Query Workbooks for Site, Query Data Sources, Query Flows for a Site (from 3.3) and Query
/// Projects: the site's, paged (`GET /sites/{site-id}/<plural>`, the REST reference's
/// workbooks, data sources, flows and projects methods; tableauserverclient's endpoints page
/// through the same URLs).
pub(super) async fn for_site(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
) -> Reply {
    let kind = ContentKind::parse(&path.2).unwrap_or(ContentKind::Project);
    kind_at(kind, &req, &shared)?;
    let scope = match kind {
        ContentKind::Flow => Scope::FLOWS_READ,
        _ => Scope::CONTENT_READ,
    };
    let s = signed_in(&req, &shared, scope)?;
    let items = s.state.items_of(kind);
    Ok(ok(
        StatusCode::OK,
        &items_page(&s.state, kind, items, &query_pairs(&req))?,
    ))
}

/// Update Workbook, Data Source, Flow or Project, for its owner (see
/// [`crate::emulator::state::SiteState::change_owner`] for the rules).
pub(super) async fn update(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String, String)>,
    body: web::Bytes,
) -> Reply {
    let kind = ContentKind::parse(&path.2).unwrap_or(ContentKind::Project);
    kind_at(kind, &req, &shared)?;
    let ver = version(&req, &shared)?;
    let mut s = signed_in(&req, &shared, Scope::update_of(kind))?;
    let e = body_element(&body, kind.element())?;
    s.state.note_attributes(
        &format!("Update {kind}"),
        e.children.iter().map(|c| c.name.as_str()),
    );
    if let Some(other) = e
        .children
        .iter()
        .find(|c| c.name != "owner" && c.name != "project")
    {
        return Err(malformed(format!(
            "the emulator models owner changes only; <{}> is not modelled",
            other.name
        )));
    }
    let Some(owner) = e.child("owner").and_then(|o| o.attr("id")) else {
        return Err(malformed("an owner change needs <owner id>"));
    };
    let project = e.child("project").and_then(|p| p.attr("id"));
    let changed = s.state.change_owner(kind, &path.3, owner, project, ver)?;
    Ok(ok(StatusCode::OK, &item_xml(&s.state, &changed)))
}
