//! `GET /admin/tenants/{id}/whatif[?group=ID]`: what unassigning a group would do to each of
//! its members, before anyone does it in the IdP (`bridge::site::what_if`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::respond::{message, page, Nav};
use super::tenant_page::TenantPage;
use crate::bridge::site::what_if::WhatIf;

/// The query: the group chosen, if any.
#[derive(Debug, Default, Deserialize)]
pub(super) struct WhatIfQuery {
    group: Option<String>,
}

#[derive(Template)]
#[template(path = "console/whatif.html")]
struct WhatIfPage {
    nav: Nav,
    tenant: String,
    groups: Vec<(String, String)>,
    chosen: String,
    answer: Option<WhatIf>,
}

/// `GET /admin/tenants/{id}/whatif`.
pub(super) async fn what_if(tp: TenantPage, query: web::Query<WhatIfQuery>) -> HttpResponse {
    let t = &tp.tenant().tenant;
    let nav = tp.nav.clone();
    let groups = match t.group_choices().await {
        Ok(g) => g,
        Err(e) => {
            return message(
                StatusCode::BAD_GATEWAY,
                nav,
                "Tableau did not answer",
                &e.to_string(),
            )
        }
    };
    let chosen = query.into_inner().group.unwrap_or_default();
    let answer = if chosen.is_empty() {
        None
    } else if !groups.iter().any(|(id, _)| *id == chosen) {
        return message(
            StatusCode::NOT_FOUND,
            nav,
            "No such group",
            "The site has no group with that id; choose one from the list.",
        );
    } else {
        match t.group_what_if(&chosen).await {
            Ok(a) => Some(a),
            Err(e) => {
                return message(
                    StatusCode::BAD_GATEWAY,
                    nav,
                    "The group could not be read",
                    &e.to_string(),
                )
            }
        }
    };
    page(
        StatusCode::OK,
        &WhatIfPage {
            nav,
            tenant: tp.id().to_string(),
            groups,
            chosen,
            answer,
        },
    )
}
