//! Signing in and out of the console, and the session every page needs. An admin token (or a
//! sign-in through the identity provider, `sign_in`) is exchanged once for a session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS, expiring
//! with the session); the login form itself carries a token of its own (a cookie and a field
//! that must match), so another site cannot sign a browser in. Failed sign-ins count against
//! the client's address like failed SCIM authentication (429 past the limit).

use std::time::Instant;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::respond::{message, nav_of, page, see_other, Nav};
use super::session::{random_token, same_token, Holder, Scope, Session};
use super::state::{Console, Step};
use crate::http::auth::client_of;
use crate::http::guard::{Rejection, Verdict};
use crate::http::AppState;

/// The session cookie.
pub(super) const SESSION_COOKIE: &str = "tableau_scim_session";
/// The login form's own cookie.
const LOGIN_COOKIE: &str = "tableau_scim_login";

#[derive(Template)]
#[template(path = "console/login.html")]
struct Login {
    nav: Nav,
    login_csrf: String,
    error: String,
    /// The identity provider's name, when sign-in through it is offered.
    provider: String,
}

/// The value of cookie `name`, if the request carries it.
pub(super) fn cookie<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Add a `Set-Cookie` to `resp` (HttpOnly, SameSite=Strict, Secure over HTTPS); a `max_age` of
/// 0 clears the cookie.
pub(super) fn set_cookie(
    resp: &mut HttpResponse,
    console: &Console,
    cookie: (&str, &str),
    max_age: u64,
    path: &str,
) {
    set_cookie_same_site(resp, console, cookie, (max_age, path), "Strict");
}

/// [`set_cookie`] with another SameSite: `Lax` for the cookie that must come back on the
/// identity provider's redirect to the callback (a cross-site navigation, which a Strict
/// cookie does not follow).
pub(super) fn set_cookie_same_site(
    resp: &mut HttpResponse,
    console: &Console,
    (name, value): (&str, &str),
    (max_age, path): (u64, &str),
    same_site: &str,
) {
    let cookie = format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite={same_site}{}",
        if console.secure { "; Secure" } else { "" }
    );
    if let Ok(v) = header::HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The sign-in page, with `error` above it when there is one.
pub(super) fn login_page(console: &Console, status: StatusCode, error: &str) -> HttpResponse {
    let csrf = random_token();
    let mut resp = page(
        status,
        &Login {
            nav: Nav::default(),
            login_csrf: csrf.clone(),
            error: error.to_string(),
            provider: console
                .oidc
                .as_ref()
                .map(|o| o.party.config().name.clone())
                .unwrap_or_default(),
        },
    );
    set_cookie(
        &mut resp,
        console,
        (LOGIN_COOKIE, &csrf),
        3600,
        "/admin/login",
    );
    resp
}

/// Too many failed sign-ins from this address (a token or a callback): 429, with when to try
/// again.
pub(super) fn too_many(console: &Console, retry_after_secs: u64) -> HttpResponse {
    let mut r = login_page(
        console,
        StatusCode::TOO_MANY_REQUESTS,
        "Too many failed sign-ins from this address; wait and try again.",
    );
    if let Ok(v) = header::HeaderValue::from_str(&retry_after_secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// `GET /admin/login`.
pub(super) async fn login_form(console: web::Data<Console>) -> HttpResponse {
    login_page(&console, StatusCode::OK, "")
}

/// The login form's fields.
#[derive(Deserialize, Default)]
pub(super) struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
}

/// What `token` opens: every tenant, some, or nothing.
fn scope_of(console: &Console, token: &str) -> Option<Scope> {
    // Every set is asked, whichever accepts, so timing says nothing of which.
    let all = console.server_tokens.get().accepts(token);
    let some: Vec<String> = console
        .tenants
        .get()
        .iter()
        .filter(|t| t.admin_tokens.get().accepts(token))
        .map(|t| t.tenant.id().to_string())
        .collect();
    scope_from(all, some)
}

/// What `holder` may see and operate now: a session's rights are read again at every request,
/// so a configuration reload that removes or moves an admin token ends or narrows its
/// sessions at once. An admin token operates what it sees; a person what their groups grant.
fn rights_of_holder(console: &Console, holder: &Holder) -> Option<(Scope, Scope)> {
    match holder {
        Holder::Token(digest) => scope_of_digest(console, digest).map(|s| (s.clone(), s)),
        Holder::Person(p) => {
            let grants = console.oidc.as_ref()?.grants.get();
            super::oidc::roles::rights_of(&grants, &p.groups).map(|r| (r.view, r.operate))
        }
    }
}

/// What the admin token whose digest is `holder` opens now. (The digest comes from the
/// server's own session, not from the client, so comparing it is no oracle.)
fn scope_of_digest(console: &Console, holder: &str) -> Option<Scope> {
    let digest = crate::http::TokenDigest::from_hex(holder)?;
    let all = console.server_tokens.get().contains(&digest);
    let some: Vec<String> = console
        .tenants
        .get()
        .iter()
        .filter(|t| t.admin_tokens.get().contains(&digest))
        .map(|t| t.tenant.id().to_string())
        .collect();
    scope_from(all, some)
}

fn scope_from(all: bool, some: Vec<String>) -> Option<Scope> {
    if all {
        Some(Scope::All)
    } else if !some.is_empty() {
        Some(Scope::Tenants(some))
    } else {
        None
    }
}

/// `POST /admin/login`.
pub(super) async fn login(
    req: HttpRequest,
    console: web::Data<Console>,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    let form: LoginForm = form_of(&body);
    let expected = cookie(&req, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same_token(expected, &form.csrf) {
        return login_page(
            &console,
            StatusCode::BAD_REQUEST,
            "The sign-in form expired or came from elsewhere; sign in again.",
        );
    }
    let Some(scope) = scope_of(&console, form.token.trim()) else {
        let client = client_of(&req, state.settings.trust_forwarded_headers);
        return match state.guard.failed(client, Rejection::Invalid) {
            Verdict::Block { retry_after_secs } => too_many(&console, retry_after_secs),
            Verdict::Refuse => login_page(
                &console,
                StatusCode::UNAUTHORIZED,
                "That is not an admin token. SCIM bearer tokens do not open the console.",
            ),
        };
    };
    let holder = Holder::Token(crate::http::TokenDigest::of(form.token.trim()).to_hex());
    let ttl = console.sessions.ttl();
    let id = console
        .sessions
        .create(holder, (scope.clone(), scope), Instant::now(), ttl);
    let ttl = ttl.as_secs();
    let mut resp = see_other("/admin");
    set_cookie(&mut resp, &console, (SESSION_COOKIE, &id), ttl, "/admin");
    set_cookie(&mut resp, &console, (LOGIN_COOKIE, ""), 0, "/admin/login");
    resp
}

/// A form that changes something: its CSRF token.
#[derive(Deserialize, Default)]
pub(super) struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// A form body, or its defaults when it is not one (no body, another content type): the
/// checks that follow refuse it (a missing CSRF token is 403, not a parse error).
pub(super) fn form_of<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> T {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

/// `POST /admin/logout`: the session ends; a person's is ended at the identity provider too
/// when it offers RP-initiated logout (the browser goes there, and comes back to
/// `/admin/signed-out`).
pub(super) async fn logout(
    req: HttpRequest,
    console: web::Data<Console>,
    body: web::Bytes,
) -> HttpResponse {
    let form: CsrfForm = form_of(&body);
    let (id, session) = match signed_in(&req, &console) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if let Err(r) = check_csrf(&session, &form.csrf, &console) {
        return *r;
    }
    console.sessions.remove(&id);
    tracing::info!(by = %session.who(), "console sign-out");
    let at_provider = match (session.holder(), &console.oidc) {
        (Holder::Person(p), Some(o)) => o.party.logout_url(&p.id_token).await,
        _ => None,
    };
    let mut resp = match at_provider {
        Some(url) => super::sign_in::leaving_for(&url),
        None => see_other("/admin/login"),
    };
    set_cookie(&mut resp, &console, (SESSION_COOKIE, ""), 0, "/admin");
    resp
}

/// The request's live session and its id, or the way to the login page.
pub(super) fn signed_in(req: &HttpRequest, console: &Console) -> Step<(String, Session)> {
    cookie(req, SESSION_COOKIE)
        .and_then(|id| {
            let mut session = console.sessions.get(id, Instant::now())?;
            match rights_of_holder(console, session.holder()) {
                Some((scope, operate)) => (session.scope, session.operate) = (scope, operate),
                None => {
                    console.sessions.remove(id);
                    return None;
                }
            }
            Some((id.to_string(), session))
        })
        .ok_or_else(|| Box::new(see_other("/admin/login")))
}

/// A state-changing request without its session's CSRF token is refused (403).
pub(super) fn check_csrf(session: &Session, presented: &str, console: &Console) -> Step<()> {
    if same_token(&session.csrf, presented) {
        return Ok(());
    }
    Err(Box::new(message(
        StatusCode::FORBIDDEN,
        nav_of(console, session, None, ""),
        "Refused",
        "This form lacks its security token (CSRF). Reload the page and try again.",
    )))
}

/// A change only an operator makes (a reconciliation, a hold's decision; with no tenant, a
/// reload of every tenant's configuration) is refused to a session that only views (403).
pub(super) fn check_operate(
    session: &Session,
    tenant: Option<&str>,
    console: &Console,
) -> Step<()> {
    let allowed = match tenant {
        Some(id) => session.operate.allows(id),
        None => session.operate == Scope::All,
    };
    if allowed {
        return Ok(());
    }
    Err(Box::new(message(
        StatusCode::FORBIDDEN,
        nav_of(console, session, tenant, ""),
        "Refused",
        &match tenant {
            Some(id) => format!("Your role on {id} is view: running a reconciliation and deciding held changes need operate (server.console_oidc.roles)."),
            None => "Reloading the configuration needs operate on every tenant (a [server] admin_token_hashes token, or a group granted operate on \"*\").".to_string(),
        },
    )))
}

/// A response with no session at all, for unknown paths outside it.
pub(super) fn anonymous(status: StatusCode, heading: &str, text: &str) -> HttpResponse {
    message(status, Nav::default(), heading, text)
}
