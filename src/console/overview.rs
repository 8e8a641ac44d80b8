//! The console's first page: every tenant the session may see, with its Tableau, health,
//! last SCIM request, license seats, users per site role and drift.

use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::auth::signed_in;
use super::respond::{nav_of, page, Nav};
use super::state::{Console, ConsoleTenant};
use super::views::{role_chart, thousands};
use crate::tableau::model::SiteInfo;
use crate::tableau::SiteRole;

struct Seat {
    tier: &'static str,
    used: String,
    capacity: String,
    /// The share used, when the tier has a capacity.
    percent: Option<u64>,
}

struct Card {
    id: String,
    deployment: String,
    version: String,
    healthy: bool,
    health: String,
    last_request: String,
    users: String,
    seats: Vec<Seat>,
    seats_note: String,
    chart: String,
    drift: Vec<(String, usize)>,
    drift_at: String,
    drift_complete: bool,
    moves: Vec<MoveLine>,
}

/// An identity move under way, as the overview lists it.
struct MoveLine {
    from: String,
    to: String,
    step: &'static str,
    progress: String,
    error: String,
}

fn move_lines(moves: Vec<crate::store::MoveRow>) -> Vec<MoveLine> {
    moves
        .into_iter()
        .map(|m| MoveLine {
            progress: if m.items > 0 {
                format!("{} of {} items handed over", m.moved, m.items)
            } else {
                String::new()
            },
            step: m.step.as_str(),
            from: m.from_name,
            to: m.to_name,
            error: m.error.unwrap_or_default(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/overview.html")]
struct Overview {
    nav: Nav,
    cards: Vec<Card>,
    /// The session may reload the configuration (an admin of every tenant, on `serve`).
    can_reload: bool,
}

fn seats(site: &SiteInfo) -> Vec<Seat> {
    [
        ("Creator", site.num_creators, site.tier_creator_capacity),
        ("Explorer", site.num_explorers, site.tier_explorer_capacity),
        ("Viewer", site.num_viewers, site.tier_viewer_capacity),
    ]
    .into_iter()
    .map(|(tier, used, cap)| Seat {
        tier,
        used: used.map_or("unknown".into(), thousands),
        capacity: cap.map_or("no limit".into(), thousands),
        percent: cap
            .zip(used)
            .map(|(c, u)| (u.saturating_mul(100) / c.max(1)).min(100)),
    })
    .collect()
}

impl Console {
    async fn version_of(&self, t: &ConsoleTenant) -> String {
        let load = async {
            Ok::<_, std::convert::Infallible>(match t.tenant.server_info().await {
                Ok(i) => format!("{} (REST API {})", i.product_version, i.rest_api_version),
                Err(_) => "version unknown".into(),
            })
        };
        match self.versions.get_or_load(t.tenant.id(), load).await {
            Ok((v, _)) => v,
            Err(never) => match never {},
        }
    }

    /// Seats from Query Site; a refusal is kept as long as an answer, so a failing Tableau is
    /// not asked on every view.
    async fn seats_of(&self, t: &ConsoleTenant) -> Result<SiteInfo, String> {
        let load = async {
            Ok::<_, std::convert::Infallible>(t.tenant.site_info().await.map_err(|e| e.to_string()))
        };
        match self.seats.get_or_load(t.tenant.id(), load).await {
            Ok((s, _)) => s,
            Err(never) => match never {},
        }
    }

    async fn card(&self, t: &ConsoleTenant) -> Card {
        let tenant = &t.tenant;
        let health = t.health.ready().await;
        let last = tenant.last_request_ms();
        let last_request = chrono::DateTime::from_timestamp_millis(last)
            .filter(|_| last > 0)
            .map_or("none yet".into(), |d| {
                d.format("%Y-%m-%d %H:%M:%S UTC").to_string()
            });
        let users = tenant.listed_users(Instant::now());
        let chart = users.as_ref().map_or(String::new(), |users| {
            let mut counts: Vec<(String, u64)> = Vec::new();
            for r in SiteRole::ASSIGNABLE.iter() {
                let n = users.iter().filter(|u| u.role() == Some(*r)).count() as u64;
                counts.push((r.as_str().to_string(), n));
            }
            let other = users
                .iter()
                .filter(|u| u.role().is_none_or(|r| !r.is_assignable()))
                .count() as u64;
            if other > 0 {
                counts.push(("other".into(), other));
            }
            role_chart(&counts)
        });
        let (seats, seats_note) = match self.seats_of(t).await {
            Ok(s) => (seats(&s), String::new()),
            Err(e) => (Vec::new(), e),
        };
        let drift = tenant.drift_summary();
        Card {
            id: tenant.id().to_string(),
            deployment: format!("{:?}", tenant.deployment())
                .replace("Cloud", "Tableau Cloud")
                .replace("Server", "Tableau Server"),
            version: self.version_of(t).await,
            healthy: health.is_ok(),
            health: health.map_or_else(|e| format!("not ready: {e}"), |()| "ready".into()),
            last_request,
            users: users.map_or("being listed".into(), |u| thousands(u.len() as u64)),
            seats,
            seats_note,
            chart,
            drift: drift.as_ref().map_or(Vec::new(), |d| {
                d.counts.iter().map(|(k, v)| (k.clone(), *v)).collect()
            }),
            drift_at: drift.as_ref().map_or(String::new(), |d| d.at.clone()),
            drift_complete: drift.is_none_or(|d| d.complete),
            moves: move_lines(tenant.moves_under_way().await),
        }
    }
}

/// `GET /admin`: the tenants the session may see.
pub(super) async fn overview(req: HttpRequest, console: web::Data<Console>) -> HttpResponse {
    let (_, session) = match signed_in(&req, &console) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let mut cards = Vec::new();
    for t in console
        .tenants
        .get()
        .iter()
        .filter(|t| session.scope.allows(t.tenant.id()))
    {
        cards.push(console.card(t).await);
    }
    page(
        StatusCode::OK,
        &Overview {
            nav: nav_of(&console, &session, None, ""),
            cards,
            can_reload: session.operate == super::session::Scope::All
                && console.reload.get().is_some(),
        },
    )
}
