//! `/_emulator`: call counters, faults, state dump, per-user flags, content a user owns, a
//! user's sign-in. Outside `/api` and unauthenticated: the emulator is a test tool that
//! listens on loopback.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::state::{Faults, SignInMethod};
use super::Shared;
use crate::tableau::content::ContentKind;

async fn stats(shared: web::Data<Shared>) -> HttpResponse {
    match shared.state.lock() {
        Ok(s) => {
            let total: u64 = s.stats.values().sum();
            HttpResponse::Ok().json(json!({"total": total, "calls": s.stats}))
        }
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn reset_stats(shared: web::Data<Shared>) -> HttpResponse {
    match shared.state.lock() {
        Ok(mut s) => {
            s.stats.clear();
            HttpResponse::NoContent().finish()
        }
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn get_faults(shared: web::Data<Shared>) -> HttpResponse {
    match shared.state.lock() {
        Ok(s) => HttpResponse::Ok().json(&s.faults),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn set_faults(shared: web::Data<Shared>, body: web::Json<Faults>) -> HttpResponse {
    match shared.state.lock() {
        Ok(mut s) => {
            s.faults = body.into_inner();
            HttpResponse::NoContent().finish()
        }
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn dump(shared: web::Data<Shared>) -> HttpResponse {
    let Ok(s) = shared.state.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    let users: Vec<_> = s
        .users_sorted()
        .into_iter()
        .map(|u| {
            let entry = s.users.get(u.id.as_str());
            json!({"id": u.id, "name": u.name, "siteRole": u.site_role, "fullName": u.full_name,
                   "email": u.email, "authSetting": u.auth_setting,
                   "idpConfigurationId": u.idp_configuration_id, "lastLogin": u.last_login,
                   "authentication": if entry.is_some_and(|e| e.sign_in == SignInMethod::Unspecified) { "Unspecified" } else { "set" },
                   "ownsContent": entry.is_some_and(|e| e.owns_content)})
        })
        .collect();
    let groups: Vec<_> = s
        .groups_sorted()
        .into_iter()
        .map(|g| {
            let members: Vec<String> = s.members(&g.id).unwrap_or_default().into_iter().map(|u| u.name.to_string()).collect();
            json!({"id": g.id, "name": g.name, "minimumSiteRole": g.minimum_site_role, "members": members})
        })
        .collect();
    let name_of = |id: &str| s.users.get(id).map(|u| u.user.name.to_string());
    let content: Vec<_> = ContentKind::ALL
        .into_iter()
        .flat_map(|k| s.items_of(k))
        .map(|i| {
            let project = i.project_id.as_deref().and_then(|p| s.content.get(p)).map(|p| p.name.clone());
            json!({"kind": i.kind.element(), "id": i.id, "name": i.name, "owner": name_of(&i.owner_id), "project": project})
        })
        .collect();
    HttpResponse::Ok()
        .json(json!({"siteId": s.site_id, "users": users, "groups": groups, "content": content}))
}

/// What `POST /_emulator/users/{name}/content` seeds: one item the user owns.
#[derive(serde::Deserialize)]
struct SeedItem {
    /// `project`, `workbook`, `datasource` or `flow`.
    kind: String,
    name: String,
    /// The containing project's name (made if missing; the default project if absent).
    project: Option<String>,
}

/// `POST /_emulator/users/{name}/content`: the user owns a new item
/// ([`super::state::SiteState::seed_item`]); 404 for no such user, 400 for an unknown kind.
async fn seed_content(
    shared: web::Data<Shared>,
    name: web::Path<String>,
    body: web::Json<SeedItem>,
) -> HttpResponse {
    let Some(kind) = ContentKind::parse(&body.kind) else {
        return HttpResponse::BadRequest().body(format!("unknown kind '{}'", body.kind));
    };
    let Ok(mut s) = shared.state.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    match s.seed_item(&name, kind, &body.name, body.project.as_deref()) {
        Some(item) => HttpResponse::Created().json(json!({"kind": item.kind.element(), "id": item.id, "name": item.name, "projectId": item.project_id})),
        None => HttpResponse::NotFound().finish(),
    }
}

/// Set one of the flags the emulator keeps beside a user's attributes.
fn set_flag(
    shared: &Shared,
    name: &str,
    set: impl FnOnce(&mut super::state::EmuUser),
) -> HttpResponse {
    let Ok(mut s) = shared.state.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    match s.user_flags(name) {
        Some(u) => {
            set(u);
            HttpResponse::NoContent().finish()
        }
        None => HttpResponse::NotFound().finish(),
    }
}

async fn owns_content(
    shared: web::Data<Shared>,
    name: web::Path<String>,
    flag: web::Json<bool>,
) -> HttpResponse {
    set_flag(&shared, &name, |u| u.owns_content = *flag)
}

async fn other_sites(
    shared: web::Data<Shared>,
    name: web::Path<String>,
    flag: web::Json<bool>,
) -> HttpResponse {
    set_flag(&shared, &name, |u| u.other_sites = *flag)
}

/// `POST /_emulator/users/{name}/sign-in`: the user signs in to the site, as a person would
/// in a browser ([`super::state::SiteState::sign_in_user`]: `lastLogin`, grant role on sign-in;
/// refused for a user whose sign-in method is unspecified).
async fn sign_in(shared: web::Data<Shared>, name: web::Path<String>) -> HttpResponse {
    let Ok(mut s) = shared.state.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    let at = crate::clock::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    match s.sign_in_user(&name, &at) {
        Ok(u) => HttpResponse::Ok()
            .json(json!({"name": u.name, "siteRole": u.site_role, "lastLogin": u.last_login})),
        Err(e) => HttpResponse::build(
            actix_web::http::StatusCode::from_u16(e.status)
                .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
        )
        .json(json!({"code": e.code, "summary": e.summary, "detail": e.detail})),
    }
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/stats")
            .route(web::get().to(stats))
            .route(web::delete().to(reset_stats)),
    )
    .service(
        web::resource("/faults")
            .route(web::get().to(get_faults))
            .route(web::put().to(set_faults)),
    )
    .service(web::resource("/dump").route(web::get().to(dump)))
    .service(web::resource("/users/{name}/owns-content").route(web::put().to(owns_content)))
    .service(web::resource("/users/{name}/content").route(web::post().to(seed_content)))
    .service(web::resource("/users/{name}/other-sites").route(web::put().to(other_sites)))
    .service(web::resource("/users/{name}/sign-in").route(web::post().to(sign_in)));
}
