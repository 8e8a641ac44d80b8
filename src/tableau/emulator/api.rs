//! The emulated `/api/{ver}` endpoints.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use super::request::{
    body_element, body_root, filter, page, paging, param, query_pairs, role_attr, sort_desc,
};
use super::state::{api_error, ApiError, SessionInfo, SiteState};
use super::xml_out::{
    added_user_xml, group_xml, pagination_xml, ts_response, updated_user_xml, user_xml,
};
use super::Shared;
use crate::tableau::model::{ApiVersion, Group, User};
use crate::tableau::site_role::LicenseTier;
use crate::tableau::xml::{self, element, Element};

type Reply = Result<HttpResponse, ApiError>;

/// A Tableau error envelope.
pub(crate) fn error_response(e: &ApiError) -> HttpResponse {
    let body = ts_response(&format!(
        "<error code=\"{}\"><summary>{}</summary><detail>{}</detail></error>",
        e.code,
        xml::esc(e.summary),
        xml::esc(&e.detail)
    ));
    HttpResponse::build(StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type("application/xml;charset=utf-8")
        .body(body)
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.summary, self.detail)
    }
}

impl actix_web::ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        error_response(self)
    }
}

fn ok(status: StatusCode, inner: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/xml;charset=utf-8")
        .body(ts_response(inner))
}

/// 404 for anything outside the emulated API.
pub(crate) async fn not_found(req: HttpRequest) -> HttpResponse {
    error_response(&api_error(
        404,
        "404000",
        "Resource Not Found",
        format!("No resource at {}", req.path()),
    ))
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    error_response(&api_error(
        405,
        "405000",
        "Method Not Allowed",
        format!("{} is not allowed on {}", req.method(), req.path()),
    ))
}

fn lock(shared: &Shared) -> Result<std::sync::MutexGuard<'_, SiteState>, ApiError> {
    shared.state.lock().map_err(|_| {
        api_error(
            500,
            "500000",
            "Internal Server Error",
            "emulator state poisoned",
        )
    })
}

/// The version in the URL, which must be one the emulated server supports.
fn version(req: &HttpRequest, shared: &Shared) -> Result<ApiVersion, ApiError> {
    let raw = req.match_info().get("ver").unwrap_or_default();
    match ApiVersion::parse(raw) {
        Some(v) if v.0 >= 2 && v <= shared.api_version => Ok(v),
        _ => Err(api_error(
            404,
            "404003",
            "Resource Not Found",
            format!(
                "API version '{raw}' is not supported; this server supports up to {}",
                shared.api_version
            ),
        )),
    }
}

/// The site, for a request whose session is valid (see [`authenticate`]).
fn signed_in<'a>(
    req: &HttpRequest,
    shared: &'a Shared,
) -> Result<std::sync::MutexGuard<'a, SiteState>, ApiError> {
    let mut state = lock(shared)?;
    authenticate(req, shared, &mut state)?;
    Ok(state)
}

/// Check the session token, the site in the path, and the session-expiry fault.
fn authenticate(req: &HttpRequest, shared: &Shared, state: &mut SiteState) -> Result<(), ApiError> {
    version(req, shared)?;
    let token = req
        .headers()
        .get("X-Tableau-Auth")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let expire_after = state.faults.expire_session_after;
    let invalid = || {
        api_error(
            401,
            "401002",
            "Unauthorized Access",
            "Invalid authentication credentials were provided.",
        )
    };
    let Some(session) = state.sessions.get_mut(&token) else {
        return Err(invalid());
    };
    session.calls += 1;
    if expire_after.is_some_and(|n| session.calls > n) {
        state.sessions.remove(&token);
        return Err(invalid());
    }
    if let Some(site) = req.match_info().get("site_id") {
        if site != state.site_id {
            return Err(api_error(
                403,
                "403069",
                "Forbidden",
                format!("The session is for site {}, not {site}", state.site_id),
            ));
        }
    }
    Ok(())
}

// ---- server info and auth ----

async fn server_info(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    version(&req, &shared)?;
    Ok(ok(
        StatusCode::OK,
        &format!(
            "<serverInfo><productVersion build=\"20242.24.0101.0000\">2024.2.0</productVersion><restApiVersion>{}</restApiVersion></serverInfo>",
            shared.api_version
        ),
    ))
}

async fn sign_in(req: HttpRequest, shared: web::Data<Shared>, body: web::Bytes) -> Reply {
    version(&req, &shared)?;
    let root = body_root(&body)?;
    let refused = |why: &str| {
        api_error(
            401,
            "401001",
            "Signin Error",
            format!("Error signing in to Tableau Server: {why}"),
        )
    };
    let creds = root
        .child("credentials")
        .ok_or_else(|| refused("no credentials"))?;
    let site = creds
        .child("site")
        .and_then(|s| s.attr("contentUrl"))
        .unwrap_or_default();
    let mut state = lock(&shared)?;
    if !site.eq_ignore_ascii_case(&state.content_url) {
        return Err(refused(&format!("no site '{site}'")));
    }
    let (user_id, is_pat) = if let Some(name) = creds.attr("personalAccessTokenName") {
        let secret = creds.attr("personalAccessTokenSecret").unwrap_or_default();
        let name_ok = name == shared.pat_name;
        let secret_ok: bool = secret
            .as_bytes()
            .ct_eq(shared.pat_secret.expose_secret().as_bytes())
            .into();
        if !(name_ok && secret_ok) {
            return Err(refused("the personal access token is not valid"));
        }
        (state.admin_id.clone(), true)
    } else if let Some(jwt) = creds.attr("jwt") {
        let Some(app) = &shared.connected_app else {
            return Err(refused("no connected app is configured"));
        };
        let now = chrono::Utc::now().timestamp();
        let claims =
            crate::tableau::jwt::verify(jwt, app, now).map_err(|e| refused(&e.to_string()))?;
        let sub = claims["sub"].as_str().unwrap_or_default();
        let id = state
            .users
            .values()
            .find(|u| u.user.name == sub)
            .map(|u| u.user.id.to_string())
            .ok_or_else(|| refused(&format!("no user '{sub}' on the site")))?;
        (id, false)
    } else {
        return Err(refused(
            "only personal access tokens and connected-app JWTs are accepted",
        ));
    };
    let token: String = {
        use rand::Rng;
        let bytes: [u8; 24] = rand::rng().random();
        hex::encode(bytes)
    };
    if is_pat {
        // One session per PAT: signing in again ends the earlier session (tableau-rest.md 1.4).
        if let Some(old) = state.pat_token.take() {
            state.sessions.remove(&old);
        }
        state.pat_token = Some(token.clone());
    }
    state.sessions.insert(
        token.clone(),
        SessionInfo {
            calls: 0,
            user_id: user_id.clone(),
        },
    );
    let inner = format!(
        "<credentials token=\"{token}\" estimatedTimeToExpiration=\"239:59:59\"><site id=\"{}\" contentUrl=\"{}\"/><user id=\"{user_id}\"/></credentials>",
        state.site_id,
        xml::esc(&state.content_url)
    );
    Ok(ok(StatusCode::OK, &inner))
}

async fn sign_out(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    version(&req, &shared)?;
    let token = req
        .headers()
        .get("X-Tableau-Auth")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut state = lock(&shared)?;
    state.sessions.remove(token);
    if state.pat_token.as_deref() == Some(token) {
        state.pat_token = None;
    }
    Ok(HttpResponse::NoContent().finish())
}

// ---- site ----

async fn query_site(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let state = signed_in(&req, &shared)?;
    let cap = state.capacity;
    let n = |o: Option<u64>| o.map(|v| v.to_string());
    let (c, e, v) = (n(cap.creator), n(cap.explorer), n(cap.viewer));
    let usage = format!(
        "<usage numCreators=\"{}\" numExplorers=\"{}\" numViewers=\"{}\" numUsers=\"{}\"/>",
        state.usage(LicenseTier::Creator),
        state.usage(LicenseTier::Explorer),
        state.usage(LicenseTier::Viewer),
        state.users.len()
    );
    let site = element(
        "site",
        &[
            ("id", Some(&state.site_id)),
            ("name", Some(&state.content_url)),
            ("contentUrl", Some(&state.content_url)),
            ("adminMode", Some("ContentAndUsers")),
            ("state", Some("Active")),
            ("tierCreatorCapacity", c.as_deref()),
            ("tierExplorerCapacity", e.as_deref()),
            ("tierViewerCapacity", v.as_deref()),
        ],
        Some(&usage),
    );
    Ok(ok(StatusCode::OK, &site))
}

// ---- users ----

fn user_field(u: &User, name: &str) -> Option<String> {
    match name {
        "name" => Some(u.name.to_string()),
        "siteRole" => Some(u.site_role.to_string()),
        "domainName" => u.domain.as_ref().map(|d| d.to_string()),
        _ => None,
    }
}

fn users_page(users: Vec<User>, pairs: &[(String, String)]) -> Result<String, ApiError> {
    let (number, size) = paging(pairs)?;
    let mut users = filter(users, pairs, user_field)?;
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

async fn list_users(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let state = signed_in(&req, &shared)?;
    let users: Vec<User> = state.users_sorted().into_iter().cloned().collect();
    Ok(ok(StatusCode::OK, &users_page(users, &query_pairs(&req))?))
}

async fn add_user(req: HttpRequest, shared: web::Data<Shared>, body: web::Bytes) -> Reply {
    let mut state = signed_in(&req, &shared)?;
    let u = &body_element(&body, "user")?;
    let role = role_attr(u, "siteRole")?
        .ok_or_else(|| api_error(400, "400000", "Bad Request", "siteRole is required"))?;
    let user = state.add_user(
        u.attr("name").unwrap_or_default(),
        role,
        u.attr("authSetting").map(str::to_string),
        u.attr("idpConfigurationId").map(str::to_string),
        u.attr("email").map(str::to_string),
    )?;
    Ok(ok(StatusCode::CREATED, &added_user_xml(&user)))
}

async fn get_user(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
) -> Reply {
    let state = signed_in(&req, &shared)?;
    let u = state.user(&path.2)?;
    Ok(ok(StatusCode::OK, &user_xml(&u.user)))
}

async fn update_user(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> Reply {
    let mut state = signed_in(&req, &shared)?;
    let u = &body_element(&body, "user")?;
    let s = |k: &str| u.attr(k).map(str::to_string);
    let updated = state.update_user(
        &path.2,
        s("name"),
        s("fullName"),
        s("email"),
        role_attr(u, "siteRole")?,
        s("authSetting"),
        s("idpConfigurationId"),
    )?;
    Ok(ok(StatusCode::OK, &updated_user_xml(&updated)))
}

async fn remove_user(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
) -> Reply {
    let mut state = signed_in(&req, &shared)?;
    let pairs = query_pairs(&req);
    state.remove_user(&path.2, param(&pairs, "mapAssetsTo"))?;
    Ok(HttpResponse::NoContent().finish())
}

fn groups_page(groups: Vec<Group>, pairs: &[(String, String)]) -> Result<String, ApiError> {
    let (number, size) = paging(pairs)?;
    let mut groups = filter(groups, pairs, |g: &Group, name| match name {
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

async fn user_groups(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
) -> Reply {
    let state = signed_in(&req, &shared)?;
    let groups = state.groups_of(&path.2)?;
    Ok(ok(
        StatusCode::OK,
        &groups_page(groups, &query_pairs(&req))?,
    ))
}

// ---- groups ----

async fn list_groups(req: HttpRequest, shared: web::Data<Shared>) -> Reply {
    let state = signed_in(&req, &shared)?;
    let groups = state.groups_sorted();
    Ok(ok(
        StatusCode::OK,
        &groups_page(groups, &query_pairs(&req))?,
    ))
}

async fn create_group(req: HttpRequest, shared: web::Data<Shared>, body: web::Bytes) -> Reply {
    let mut state = signed_in(&req, &shared)?;
    let g = &body_element(&body, "group")?;
    if g.child("import").is_some() {
        return Err(api_error(
            400,
            "400000",
            "Bad Request",
            "Active Directory groups are not emulated; create a local group",
        ));
    }
    let created = state.create_group(
        g.attr("name").unwrap_or_default(),
        role_attr(g, "minimumSiteRole")?,
    )?;
    Ok(ok(StatusCode::CREATED, &group_xml(&created)))
}

async fn update_group(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> Reply {
    let mut state = signed_in(&req, &shared)?;
    let g = &body_element(&body, "group")?;
    let updated = state.update_group(
        &path.2,
        g.attr("name").map(str::to_string),
        role_attr(g, "minimumSiteRole")?,
    )?;
    Ok(ok(StatusCode::OK, &group_xml(&updated)))
}

async fn delete_group(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
) -> Reply {
    let mut state = signed_in(&req, &shared)?;
    state.delete_group(&path.2)?;
    Ok(HttpResponse::NoContent().finish())
}

async fn group_users(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
) -> Reply {
    let state = signed_in(&req, &shared)?;
    let members = state.members(&path.2)?;
    Ok(ok(
        StatusCode::OK,
        &users_page(members, &query_pairs(&req))?,
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

async fn add_group_users(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> Reply {
    let mut state = signed_in(&req, &shared)?;
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
    let added = state.add_members(&path.2, &ids, bulk)?;
    let user_xml = |u: &User| {
        element(
            "user",
            &[
                ("id", Some(&u.id)),
                ("name", Some(&u.name)),
                ("siteRole", Some(&u.site_role)),
            ],
            None,
        )
    };
    let inner = if bulk {
        format!(
            "<users>{}</users>",
            added.iter().map(user_xml).collect::<String>()
        )
    } else {
        added.first().map(user_xml).unwrap_or_default()
    };
    Ok(ok(StatusCode::OK, &inner))
}

async fn remove_group_user(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String, String)>,
) -> Reply {
    let mut state = signed_in(&req, &shared)?;
    state.remove_members(&path.2, std::slice::from_ref(&path.3), false)?;
    Ok(HttpResponse::NoContent().finish())
}

async fn remove_group_users(
    req: HttpRequest,
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> Reply {
    let mut state = signed_in(&req, &shared)?;
    require_bulk(&req, &shared)?;
    let root = body_root(&body)?;
    let (ids, _) = user_ids(&root);
    state.remove_members(&path.2, &ids, true)?;
    Ok(HttpResponse::NoContent().finish())
}

fn methods(r: actix_web::Resource) -> actix_web::Resource {
    r.default_service(web::to(method_not_allowed))
}

/// Register the `/api/{ver}` routes.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(methods(
        web::resource("/serverinfo").route(web::get().to(server_info)),
    ))
    .service(methods(
        web::resource("/serverInfo").route(web::get().to(server_info)),
    ))
    .service(methods(
        web::resource("/auth/signin").route(web::post().to(sign_in)),
    ))
    .service(methods(
        web::resource("/auth/signout").route(web::post().to(sign_out)),
    ))
    .service(
        web::scope("/sites/{site_id}")
            .service(methods(web::resource("").route(web::get().to(query_site))))
            .service(methods(
                web::resource("/users")
                    .route(web::get().to(list_users))
                    .route(web::post().to(add_user)),
            ))
            .service(methods(
                web::resource("/users/{user_id}")
                    .route(web::get().to(get_user))
                    .route(web::put().to(update_user))
                    .route(web::delete().to(remove_user)),
            ))
            .service(methods(
                web::resource("/users/{user_id}/groups").route(web::get().to(user_groups)),
            ))
            .service(methods(
                web::resource("/groups")
                    .route(web::get().to(list_groups))
                    .route(web::post().to(create_group)),
            ))
            .service(methods(
                web::resource("/groups/{group_id}")
                    .route(web::put().to(update_group))
                    .route(web::delete().to(delete_group)),
            ))
            .service(methods(
                web::resource("/groups/{group_id}/users/remove")
                    .route(web::put().to(remove_group_users)),
            ))
            .service(methods(
                web::resource("/groups/{group_id}/users")
                    .route(web::get().to(group_users))
                    .route(web::post().to(add_group_users)),
            ))
            .service(methods(
                web::resource("/groups/{group_id}/users/{user_id}")
                    .route(web::delete().to(remove_group_user)),
            )),
    );
}
