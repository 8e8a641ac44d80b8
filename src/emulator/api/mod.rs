//! The emulated `/api/{ver}` endpoints: what every call shares (the version in the URL, the
//! session, its site and scopes, Tableau's error envelope) and the routes. `session` holds
//! server info, sign-in and Query Site; `users` and `groups` their calls, `content` the
//! listings of content and its owner changes.

mod content;
mod groups;
mod session;
mod users;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::state::{api_error, ApiError, SiteState};
use super::xml_out::ts_response;
use super::Shared;
use crate::tableau::model::ApiVersion;
use crate::tableau::xml;

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

/// 405000 "Invalid request method" (every method's REST reference error table).
async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    error_response(&api_error(
        405,
        "405000",
        "Invalid request method",
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

/// The connected-app scope a call needs: `tableau:<resource>:<action>`, with `*` as a
/// wildcard action (help.tableau.com, "Access Scopes for Connected Apps": individual and
/// wildcard scopes; Query Site is among the GET methods the content read scope
/// `tableau:content:read` enables). Which action each membership call needs is assumed
/// (the page's per-method table was not at hand): reading members is `read`, changing them
/// `update`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scope(pub &'static str);

impl Scope {
    const CONTENT_READ: Scope = Scope("tableau:content:read");
    const USERS_READ: Scope = Scope("tableau:users:read");
    const USERS_CREATE: Scope = Scope("tableau:users:create");
    const USERS_UPDATE: Scope = Scope("tableau:users:update");
    const USERS_DELETE: Scope = Scope("tableau:users:delete");
    const GROUPS_READ: Scope = Scope("tableau:groups:read");
    const GROUPS_CREATE: Scope = Scope("tableau:groups:create");
    const GROUPS_UPDATE: Scope = Scope("tableau:groups:update");
    const GROUPS_DELETE: Scope = Scope("tableau:groups:delete");

    /// Whether `granted` (a token's `scp`) allows this scope.
    pub(super) fn granted_by(self, granted: &[String]) -> bool {
        granted.iter().any(|g| {
            g == self.0
                || g.strip_suffix('*')
                    .is_some_and(|prefix| prefix.ends_with(':') && self.0.starts_with(prefix))
        })
    }
}

/// A request whose session checked out: the site, locked, and who is calling.
struct SignedIn<'a> {
    state: std::sync::MutexGuard<'a, SiteState>,
    /// The session's user.
    caller: String,
}

/// The site, for a request whose session is valid and allowed `scope` (see [`authenticate`]).
fn signed_in<'a>(
    req: &HttpRequest,
    shared: &'a Shared,
    scope: Scope,
) -> Result<SignedIn<'a>, ApiError> {
    let mut state = lock(shared)?;
    let caller = authenticate(req, shared, &mut state, scope)?;
    Ok(SignedIn { state, caller })
}

/// Check the session token, the session-expiry fault, the site in the path and the scope;
/// return the session's user. Codes from the REST reference error tables (Switch Site lists
/// both 401s; every site method lists 404000 "Site not found"): no token is 401000, a token
/// that is not a live session is 401002, a connected-app session without the call's scope is
/// 401002 as well (Tableau's connected-app troubleshooting, quoted in dagster issue #32967;
/// tableauserverclient issues #1320 and #1581).
fn authenticate(
    req: &HttpRequest,
    shared: &Shared,
    state: &mut SiteState,
    scope: Scope,
) -> Result<String, ApiError> {
    version(req, shared)?;
    let Some(token) = req
        .headers()
        .get("X-Tableau-Auth")
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty())
    else {
        return Err(api_error(
            401,
            "401000",
            "Unauthorized Access",
            "No authentication credentials were provided.",
        ));
    };
    let expire_after = state.faults.expire_session_after;
    let invalid = |why: &str| {
        api_error(
            401,
            "401002",
            "Unauthorized Access",
            format!("Invalid authentication credentials were provided{why}."),
        )
    };
    let Some(session) = state.sessions.get_mut(token) else {
        return Err(invalid(""));
    };
    session.calls += 1;
    if expire_after.is_some_and(|n| session.calls > n) {
        state.sessions.remove(token);
        return Err(invalid(""));
    }
    if let Some(scopes) = &session.scopes {
        if !scope.granted_by(scopes) {
            return Err(invalid(&format!(
                ": the connected app's token does not grant {}",
                scope.0
            )));
        }
    }
    let caller = session.user_id.clone();
    if let Some(site) = req.match_info().get("site_id") {
        if site != state.site_id {
            return Err(api_error(
                404,
                "404000",
                "Site not found",
                format!("The site ID '{site}' doesn't correspond to an existing site."),
            ));
        }
    }
    Ok(caller)
}

fn methods(r: actix_web::Resource) -> actix_web::Resource {
    r.default_service(web::to(method_not_allowed))
}

/// Register the `/api/{ver}` routes.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(methods(
        web::resource("/serverinfo").route(web::get().to(session::server_info)),
    ))
    .service(methods(
        web::resource("/serverInfo").route(web::get().to(session::server_info)),
    ))
    .service(methods(
        web::resource("/auth/signin").route(web::post().to(session::sign_in)),
    ))
    .service(methods(
        web::resource("/auth/signout").route(web::post().to(session::sign_out)),
    ))
    .service(
        web::scope("/sites/{site_id}")
            .service(methods(
                web::resource("").route(web::get().to(session::query_site)),
            ))
            .service(methods(
                web::resource("/site-auth-configurations")
                    .route(web::get().to(session::auth_configurations)),
            ))
            .service(methods(
                web::resource("/users")
                    .route(web::get().to(users::list_users))
                    .route(web::post().to(users::add_user)),
            ))
            .service(methods(
                web::resource("/users/{user_id}")
                    .route(web::get().to(users::get_user))
                    .route(web::put().to(users::update_user))
                    .route(web::delete().to(users::remove_user)),
            ))
            .service(methods(
                web::resource("/users/{user_id}/groups").route(web::get().to(groups::user_groups)),
            ))
            .service(methods(
                web::resource("/users/{user_id}/{kind:(workbooks|flows)}")
                    .route(web::get().to(content::for_user)),
            ))
            .service(methods(
                web::resource("/{kind:(workbooks|datasources|flows|projects)}")
                    .route(web::get().to(content::for_site)),
            ))
            .service(methods(
                web::resource("/{kind:(workbooks|datasources|flows|projects)}/{item_id}")
                    .route(web::put().to(content::update)),
            ))
            .service(methods(
                web::resource("/groups")
                    .route(web::get().to(groups::list_groups))
                    .route(web::post().to(groups::create_group)),
            ))
            .service(methods(
                web::resource("/groups/{group_id}")
                    .route(web::put().to(groups::update_group))
                    .route(web::delete().to(groups::delete_group)),
            ))
            .service(methods(
                web::resource("/groups/{group_id}/users/remove")
                    .route(web::put().to(groups::remove_group_users)),
            ))
            .service(methods(
                web::resource("/groups/{group_id}/users")
                    .route(web::get().to(groups::group_users))
                    .route(web::post().to(groups::add_group_users)),
            ))
            .service(methods(
                web::resource("/groups/{group_id}/users/{user_id}")
                    .route(web::delete().to(groups::remove_group_user)),
            )),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_scopes_cover_their_resource_only() {
        let granted = vec!["tableau:users:*".to_string(), "tableau:content:read".into()];
        assert!(Scope::USERS_DELETE.granted_by(&granted));
        assert!(Scope::CONTENT_READ.granted_by(&granted));
        assert!(!Scope::GROUPS_READ.granted_by(&granted));
        assert!(!Scope::USERS_READ.granted_by(&["tableau:user*".to_string()]));
        assert!(!Scope::USERS_READ.granted_by(&[]));
    }
}
