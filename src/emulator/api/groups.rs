//! Query Groups, Create, Update and Delete Group, the members of a group and the groups of a
//! user.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::users::users_page;
use super::{ok, signed_in, version, Reply, Scope};
use crate::emulator::request::{
    body_element, body_root, filter, knows_cieq, page, paging, query_pairs, role_attr, sort_desc,
};
use crate::emulator::state::{api_error, ApiError};
use crate::emulator::xml_out::{group_xml, member_xml, pagination_xml};
use crate::emulator::Shared;
use crate::tableau::model::{ApiVersion, Group};
use crate::tableau::xml::Element;

fn groups_page(
    groups: Vec<Group>,
    pairs: &[(String, String)],
    cieq: bool,
) -> Result<String, ApiError> {
    let (number, size) = paging(pairs)?;
    let mut groups = filter(groups, pairs, cieq, |g: &Group, name| match name {
        "name" => Some(g.name.clone()),
        "domainName" => g.domain.clone(),
        _ => None,
    })?;
    if sort_desc(pairs) {
        groups.reverse();
    }
    let (items, pagination) = page(groups, number, size)?;
    let list: String = items.iter().map(group_xml).collect();
    Ok(format!(
        "{}<groups>{list}</groups>",
        pagination_xml(&pagination)
    ))
}

/// Get Groups for a User. The scope it needs is assumed to be the users read scope.
pub(super) async fn user_groups(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
) -> Reply {
    let cieq = knows_cieq(version(&req, &shared)?, shared.no_cieq);
    let s = signed_in(&req, &shared, Scope::USERS_READ)?;
    let groups = s.state.groups_of(&path.2)?;
    Ok(ok(
        StatusCode::OK,
        &groups_page(groups, &query_pairs(&req), cieq)?,
    ))
}

pub(super) async fn list_groups(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let cieq = knows_cieq(version(&req, &shared)?, shared.no_cieq);
    let s = signed_in(&req, &shared, Scope::GROUPS_READ)?;
    let groups = s.state.groups_sorted();
    Ok(ok(
        StatusCode::OK,
        &groups_page(groups, &query_pairs(&req), cieq)?,
    ))
}

pub(super) async fn create_group(
    req: HttpRequest,
    shared: web::Data<Shared>,
    body: web::Bytes,
) -> Reply {
    let mut s = signed_in(&req, &shared, Scope::GROUPS_CREATE)?;
    let g = &body_element(&body, "group")?;
    if g.child("import").is_some() {
        return Err(api_error(
            400,
            "400000",
            "Bad Request",
            "Active Directory groups are not emulated; create a local group",
        ));
    }
    let created = s.state.create_group(
        g.attr("name").unwrap_or_default(),
        role_attr(g, "minimumSiteRole")?,
    )?;
    Ok(ok(StatusCode::CREATED, &group_xml(&created)))
}

pub(super) async fn update_group(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> Reply {
    let mut s = signed_in(&req, &shared, Scope::GROUPS_UPDATE)?;
    let g = &body_element(&body, "group")?;
    let updated = s.state.update_group(
        &path.2,
        g.attr("name").map(str::to_string),
        role_attr(g, "minimumSiteRole")?,
    )?;
    Ok(ok(StatusCode::OK, &group_xml(&updated)))
}

pub(super) async fn delete_group(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
) -> Reply {
    let mut s = signed_in(&req, &shared, Scope::GROUPS_DELETE)?;
    s.state.delete_group(&path.2)?;
    Ok(HttpResponse::NoContent().finish())
}

pub(super) async fn group_users(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
) -> Reply {
    let cieq = knows_cieq(version(&req, &shared)?, shared.no_cieq);
    let s = signed_in(&req, &shared, Scope::GROUPS_READ)?;
    let members = s.state.members(&path.2)?;
    Ok(ok(
        StatusCode::OK,
        &users_page(members, &query_pairs(&req), cieq)?,
    ))
}

fn user_ids(root: &Element) -> (Vec<String>, bool) {
    if let Some(list) = root.child("users") {
        let ids = list
            .children_named("user")
            .filter_map(|u| u.attr("id").map(str::to_string))
            .collect();
        return (ids, true);
    }
    let ids = root
        .child("user")
        .and_then(|u| u.attr("id"))
        .map(str::to_string)
        .into_iter()
        .collect();
    (ids, false)
}

/// Bulk membership bodies (`<users>`) need API 3.21 (REST reference, Add Users to Group).
fn require_bulk(req: &HttpRequest, shared: &Shared) -> Result<(), ApiError> {
    if version(req, shared)? < ApiVersion::BULK_GROUP_MEMBERS {
        return Err(api_error(
            400,
            "400000",
            "Bad Request",
            "Adding or removing several users at once needs API 3.21 or later",
        ));
    }
    Ok(())
}

pub(super) async fn add_group_users(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> Reply {
    let mut s = signed_in(&req, &shared, Scope::GROUPS_UPDATE)?;
    let root = body_root(&body)?;
    let (ids, bulk) = user_ids(&root);
    if ids.is_empty() {
        return Err(api_error(
            400,
            "400000",
            "Bad Request",
            "No user id in the request",
        ));
    }
    if bulk {
        require_bulk(&req, &shared)?;
    }
    let added = s.state.add_members(&path.2, &ids, bulk)?;
    let inner = if bulk {
        // TSC `group_add_users.xml` (its `test_add_users`): the added users, not paginated.
        format!(
            "<users>{}</users>",
            added.iter().map(member_xml).collect::<String>()
        )
    } else {
        added.first().map(member_xml).unwrap_or_default()
    };
    Ok(ok(StatusCode::OK, &inner))
}

pub(super) async fn remove_group_user(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String, String)>,
) -> Reply {
    let mut s = signed_in(&req, &shared, Scope::GROUPS_UPDATE)?;
    s.state
        .remove_members(&path.2, std::slice::from_ref(&path.3), false)?;
    Ok(HttpResponse::NoContent().finish())
}

pub(super) async fn remove_group_users(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> Reply {
    let mut s = signed_in(&req, &shared, Scope::GROUPS_UPDATE)?;
    require_bulk(&req, &shared)?;
    let root = body_root(&body)?;
    let (ids, _) = user_ids(&root);
    s.state.remove_members(&path.2, &ids, true)?;
    Ok(HttpResponse::NoContent().finish())
}
