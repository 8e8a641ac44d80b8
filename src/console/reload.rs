//! `POST /admin/reload`: the configuration read again from the console, as `SIGHUP` does
//! (`crate::reload`), for an admin of every tenant (a `[server] admin_token_hashes` token); the
//! outcome is the answer, and the log names who asked.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::auth::{check_csrf, check_operate, form_of, signed_in, CsrfForm};
use super::respond::{message, nav_of};
use super::state::Console;

/// What the console calls to reload: what was done, or why nothing was.
pub type ReloadFn = std::sync::Arc<dyn Fn() -> crate::reload::ReloadFuture + Send + Sync>;

/// `POST /admin/reload`.
pub(super) async fn reload(
    req: HttpRequest,
    console: web::Data<Console>,
    body: web::Bytes,
) -> HttpResponse {
    let (_, session) = match signed_in(&req, &console) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let form: CsrfForm = form_of(&body);
    if let Err(r) = check_csrf(&session, &form.csrf, &console) {
        return *r;
    }
    let nav = nav_of(&console, &session, None, "");
    if let Err(r) = check_operate(&session, None, &console) {
        return *r;
    }
    let Some(run) = console.reload.get() else {
        return message(
            StatusCode::CONFLICT,
            nav,
            "Not available",
            "This server was not started from a configuration file (tableau-scim serve --config).",
        );
    };
    let outcome = run().await;
    let who = session.who();
    match outcome {
        Ok(done) => {
            tracing::info!(by = %who, "configuration reloaded from the console: {done}");
            message(
                StatusCode::OK,
                nav,
                "Configuration reloaded",
                &format!("The file's tokens (SCIM, admin, metrics), OAuth clients, role mappings, policies and tenants are the running ones now: {done}. Requests in flight finished with what they started with."),
            )
        }
        Err(e) => {
            tracing::error!(by = %who, "configuration reload refused, the running configuration is kept: {e}");
            message(
                StatusCode::UNPROCESSABLE_ENTITY,
                nav,
                "Reload refused: nothing changed",
                &e,
            )
        }
    }
}
