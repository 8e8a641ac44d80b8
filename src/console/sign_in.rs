//! Signing in through the identity provider (OpenID Connect, authorization code with PKCE):
//! `GET /admin/oidc/start` sends the browser to the provider, `GET /admin/oidc/callback`
//! takes it back, exchanges the code, and opens a session for a person whose groups open the
//! console (anyone else is refused, with no session); `GET /admin/signed-out` is where the
//! provider's logout returns.

use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::auth::{cookie, login_page, set_cookie, set_cookie_same_site, too_many, SESSION_COOKIE};
use super::oidc::pending::PENDING_FOR;
use super::oidc::SignInError;
use super::respond::{message, page, see_other, Nav};
use super::session::{random_token, Holder};
use super::state::Console;
use crate::http::auth::client_of;
use crate::http::guard::{Rejection, Verdict};
use crate::http::AppState;

/// The cookie binding a sign-in on its way to the browser that started it.
const BINDING_COOKIE: &str = "tableau_scim_oidc";
/// Its path: only the sign-in's own routes see it.
const BINDING_PATH: &str = "/admin/oidc";

/// Longest error text taken from the provider's redirect.
const MAX_ERROR_TEXT: usize = 200;

/// `GET /admin/oidc/start`.
pub(super) async fn start(req: HttpRequest, console: web::Data<Console>) -> HttpResponse {
    let Some(oidc) = &console.oidc else {
        return super::auth::anonymous(
            StatusCode::NOT_FOUND,
            "Not offered",
            "This console is not set up to sign in through an identity provider ([server.console_oidc]).",
        );
    };
    let auth = match oidc.party.authorize().await {
        Ok(a) => a,
        Err(e) => return refused(&console, &e),
    };
    // A second tab's sign-in keeps the first one's binding, so both can finish.
    let binding = cookie(&req, BINDING_COOKIE)
        .filter(|b| b.len() == 64 && b.bytes().all(|c| c.is_ascii_hexdigit()))
        .map_or_else(random_token, str::to_string);
    oidc.pending.put(
        auth.state,
        binding.clone(),
        auth.verifier,
        auth.nonce,
        Instant::now(),
    );
    let mut resp = see_other(&auth.url);
    set_cookie_same_site(
        &mut resp,
        &console,
        (BINDING_COOKIE, &binding),
        (PENDING_FOR.as_secs(), BINDING_PATH),
        "Lax",
    );
    resp
}

/// What the provider's redirect carries.
#[derive(Deserialize, Default)]
pub(super) struct Callback {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    error: Option<String>,
    error_description: Option<String>,
    /// RFC 9207: who issued the answer (a mix-up defence), when the provider says.
    iss: Option<String>,
}

/// The sign-in could not be completed: the sign-in page, with why.
fn refused(console: &Console, e: &SignInError) -> HttpResponse {
    let status = match e {
        SignInError::Provider(_) => StatusCode::SERVICE_UNAVAILABLE,
        SignInError::Refused(_) => StatusCode::FORBIDDEN,
        SignInError::Stale => StatusCode::BAD_REQUEST,
    };
    tracing::warn!(error = %e, "console sign-in through the identity provider did not complete");
    login_page(console, status, &format!("Not signed in: {e}"))
}

/// `GET /admin/oidc/callback`. A callback that fails (a forged or stale state, a code the
/// provider refuses, a token that does not verify) counts against the client's address like a
/// wrong admin token, and a blocked address gets 429 before any call to the provider: the
/// code exchanges anyone can cause are bounded by `auth_failure_limit` per address.
pub(super) async fn callback(
    req: HttpRequest,
    console: web::Data<Console>,
    state: web::Data<AppState>,
    query: web::Query<Callback>,
) -> HttpResponse {
    let client = client_of(&req, state.settings.trust_forwarded_headers);
    if let Some(secs) = state.guard.blocked(client) {
        return too_many(&console, secs);
    }
    let answer = complete(&req, &console, query.into_inner()).await;
    if let Err(SignInError::Stale | SignInError::Refused(_)) = &answer {
        if let Verdict::Block { retry_after_secs } = state.guard.failed(client, Rejection::Invalid)
        {
            return too_many(&console, retry_after_secs);
        }
    }
    match answer {
        Ok(resp) => resp,
        Err(e) => refused(&console, &e),
    }
}

/// The callback's steps: the pending sign-in taken, the provider's answer checked, the code
/// exchanged, the person's groups mapped; a session, or why not.
async fn complete(
    req: &HttpRequest,
    console: &Console,
    q: Callback,
) -> Result<HttpResponse, SignInError> {
    let Some(oidc) = &console.oidc else {
        return Ok(see_other("/admin/login"));
    };
    let binding = cookie(req, BINDING_COOKIE).unwrap_or_default();
    let pending = oidc.pending.take(&q.state, binding, Instant::now());
    if let Some(error) = q.error {
        let text: String = format!(
            "the identity provider answered {error}{}",
            q.error_description
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        )
        .chars()
        .take(MAX_ERROR_TEXT)
        .collect();
        return Err(SignInError::Refused(text));
    }
    let pending = pending.ok_or(SignInError::Stale)?;
    let config = oidc.party.config();
    if q.iss.as_deref().is_some_and(|iss| iss != config.issuer) {
        return Err(SignInError::Refused(
            "the answer names another issuer".into(),
        ));
    }
    let person = oidc
        .party
        .finish(&q.code, &pending.verifier, &pending.nonce)
        .await?;
    let Some(rights) = super::oidc::roles::rights_of(&oidc.grants.get(), &person.groups) else {
        tracing::warn!(who = %person.name, subject = %person.subject, groups = person.groups.len(), "console sign-in refused: none of the person's groups is granted a role");
        return Ok(login_page(
            console,
            StatusCode::FORBIDDEN,
            &format!(
                "{} signed in at {}, but none of their groups opens this console. An administrator grants a group a role in server.console_oidc.roles.",
                person.name, config.name
            ),
        ));
    };
    let id = console.sessions.create(
        Holder::Person(person),
        (rights.view, rights.operate),
        Instant::now(),
        config.session_ttl,
    );
    if let Some(s) = console.sessions.get(&id, Instant::now()) {
        tracing::info!(by = %s.who(), "console sign-in through the identity provider");
    }
    // Not a redirect: this answer ends a navigation the provider started (cross-site), and the
    // browser would not send the new SameSite=Strict session cookie on a redirect from it.
    let mut resp = onward("Signed in", "You are signed in.", "/admin");
    set_cookie(
        &mut resp,
        console,
        (SESSION_COOKIE, &id),
        config.session_ttl.as_secs(),
        "/admin",
    );
    set_cookie_same_site(
        &mut resp,
        console,
        (BINDING_COOKIE, ""),
        (0, BINDING_PATH),
        "Lax",
    );
    Ok(resp)
}

#[derive(Template)]
#[template(path = "console/onward.html")]
struct Onward {
    nav: Nav,
    heading: &'static str,
    text: &'static str,
    url: String,
}

/// A page that sends the browser on to `url` at once, by a refresh rather than a redirect,
/// with a link as well.
fn onward(heading: &'static str, text: &'static str, url: &str) -> HttpResponse {
    page(
        StatusCode::OK,
        &Onward {
            nav: Nav::default(),
            heading,
            text,
            url: url.to_string(),
        },
    )
}

/// The page a sign-out answers with when the provider ends its session too. A redirect would
/// be blocked: the sign-out is a form, and the console's form-action policy allows only
/// itself.
pub(super) fn leaving_for(url: &str) -> HttpResponse {
    onward(
        "Signing out",
        "You are signed out of the console. Signing you out of the identity provider too:",
        url,
    )
}

/// `GET /admin/signed-out`.
pub(super) async fn signed_out() -> HttpResponse {
    message(
        StatusCode::OK,
        Nav::default(),
        "Signed out",
        "You are signed out of the console and of the identity provider.",
    )
}
