//! Query Users, Query User, Add User, Update User, Remove User.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{ok, signed_in, version, Reply, Scope};
use crate::emulator::request::{
    body_element, filter, knows_cieq, malformed, only_attributes, page, paging, param, query_pairs,
    role_attr, sort_desc, MALFORMED,
};
use crate::emulator::state::{api_error, ApiError, Flavor, UserEdit};
use crate::emulator::xml_out::{added_user_xml, pagination_xml, updated_user_xml, user_xml};
use crate::emulator::Shared;
use crate::tableau::model::{ApiVersion, User};

fn user_field(u: &User, name: &str) -> Option<String> {
    match name {
        "name" => Some(u.name.to_string()),
        "siteRole" => Some(u.site_role.to_string()),
        "domainName" => u.domain.as_ref().map(|d| d.to_string()),
        _ => None,
    }
}

/// One page of users, filtered and sorted as asked.
pub(super) fn users_page(
    users: Vec<User>,
    pairs: &[(String, String)],
    cieq: bool,
) -> Result<String, ApiError> {
    let (number, size) = paging(pairs)?;
    let mut users = filter(users, pairs, cieq, user_field)?;
    if sort_desc(pairs) {
        users.reverse();
    }
    let (items, pagination) = page(users, number, size)?;
    let list: String = items.iter().map(user_xml).collect();
    Ok(format!(
        "{}<users>{list}</users>",
        pagination_xml(&pagination)
    ))
}

pub(super) async fn list_users(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let cieq = knows_cieq(version(&req, &shared)?, shared.no_cieq);
    let s = signed_in(&req, &shared, Scope::USERS_READ)?;
    let users: Vec<User> = s.state.users_sorted().into_iter().cloned().collect();
    Ok(ok(
        StatusCode::OK,
        &users_page(users, &query_pairs(&req), cieq)?,
    ))
}

/// The attributes Add User takes at `ver` on `flavor` (REST reference, Add User to Site):
/// `idpConfigurationId` from 3.24, `email` on Tableau Cloud from 3.26.
fn add_user_attributes(ver: ApiVersion, flavor: Flavor) -> Vec<&'static str> {
    let mut allowed = vec!["name", "siteRole", "authSetting"];
    if ver >= ApiVersion::IDP_CONFIGURATION_ID {
        allowed.push("idpConfigurationId");
    }
    if flavor == Flavor::Cloud && ver >= ApiVersion::EMAIL_ON_ADD_USER {
        allowed.push("email");
    }
    allowed
}

/// The attributes Update User takes at `ver`: the documented body (tableauserverclient's
/// `UserRequest.update_req`, the migration SDK's `UpdateUserRequest`), which has no `name`:
/// Tableau cannot rename a user through REST (Salesforce knowledge article 001473865).
fn update_user_attributes(ver: ApiVersion) -> Vec<&'static str> {
    let mut allowed = vec!["fullName", "email", "password", "siteRole", "authSetting"];
    if ver >= ApiVersion::IDP_CONFIGURATION_ID {
        allowed.push("idpConfigurationId");
    }
    allowed
}

pub(super) async fn add_user(
    req: HttpRequest,
    shared: web::Data<Shared>,
    body: web::Bytes,
) -> Reply {
    let ver = version(&req, &shared)?;
    let mut s = signed_in(&req, &shared, Scope::USERS_CREATE)?;
    let u = &body_element(&body, "user")?;
    s.state
        .note_attributes("Add User", u.attrs.iter().map(|(k, _)| k.as_str()));
    only_attributes(u, &add_user_attributes(ver, s.state.flavor))?;
    let role = role_attr(u, "siteRole")?
        .ok_or_else(|| api_error(400, "400000", "Bad Request", "siteRole is required"))?;
    // Tableau Cloud: "auth_setting ... This is a required attribute and is only for Tableau
    // Cloud" (tableauserverclient `docs/api-ref.md`, since its commit 62d5c22b: "auth_setting
    // is now required for Tableau Cloud"); a Cloud Add User without it answered 400003
    // "Payload is either malformed or incomplete" (TSC issue #990, whose user name was not an
    // email either, so which of the two Tableau refused is not shown).
    if s.state.flavor == Flavor::Cloud
        && u.attr("authSetting").is_none()
        && u.attr("idpConfigurationId").is_none()
    {
        return Err(malformed(MALFORMED));
    }
    let user = s.state.add_user(
        u.attr("name").unwrap_or_default(),
        role,
        u.attr("authSetting").map(str::to_string),
        u.attr("idpConfigurationId").map(str::to_string),
        u.attr("email").map(str::to_string),
    )?;
    Ok(ok(StatusCode::CREATED, &added_user_xml(&user)))
}

pub(super) async fn get_user(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
) -> Reply {
    let s = signed_in(&req, &shared, Scope::USERS_READ)?;
    let u = s.state.user(&path.2)?;
    Ok(ok(StatusCode::OK, &user_xml(&u.user)))
}

pub(super) async fn update_user(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> Reply {
    let ver = version(&req, &shared)?;
    let mut s = signed_in(&req, &shared, Scope::USERS_UPDATE)?;
    let u = &body_element(&body, "user")?;
    s.state
        .note_attributes("Update User", u.attrs.iter().map(|(k, _)| k.as_str()));
    only_attributes(u, &update_user_attributes(ver))?;
    let text = |k: &str| u.attr(k).map(str::to_string);
    let edit = UserEdit {
        full_name: text("fullName"),
        email: text("email"),
        site_role: role_attr(u, "siteRole")?,
        auth_setting: text("authSetting"),
        idp_configuration_id: text("idpConfigurationId"),
        password: u.attr("password").is_some(),
    };
    let caller = s.caller.clone();
    let updated = s.state.update_user(&path.2, &caller, edit)?;
    Ok(ok(StatusCode::OK, &updated_user_xml(&updated)))
}

pub(super) async fn remove_user(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
) -> Reply {
    let mut s = signed_in(&req, &shared, Scope::USERS_DELETE)?;
    let pairs = query_pairs(&req);
    let caller_role = s.state.role_of_id(&s.caller);
    s.state
        .remove_user(&path.2, param(&pairs, "mapAssetsTo"), caller_role)?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_user_takes_email_only_on_cloud_from_3_26_and_update_never_takes_a_name() {
        assert!(!add_user_attributes(ApiVersion(3, 27), Flavor::Server).contains(&"email"));
        assert!(!add_user_attributes(ApiVersion(3, 25), Flavor::Cloud).contains(&"email"));
        assert!(add_user_attributes(ApiVersion(3, 26), Flavor::Cloud).contains(&"email"));
        assert!(
            !add_user_attributes(ApiVersion(3, 23), Flavor::Cloud).contains(&"idpConfigurationId")
        );
        assert!(
            add_user_attributes(ApiVersion(3, 24), Flavor::Cloud).contains(&"idpConfigurationId")
        );
        assert!(!update_user_attributes(ApiVersion(3, 27)).contains(&"name"));
    }
}
