//! What the breaker of mass changes costs: a write-heavy run of destructive changes (demotions
//! and deactivations, each counted in the window: a hold lookup, the window's state and one
//! event written, under the window lock) beside the same run with the breaker off, in one
//! process, rounds interleaved. The emulator answers at once, so what is measured is the
//! bridge's own cost. `cargo bench --bench safety`.

// A bench, like a test, stops loudly on a broken assumption (clippy.toml lets tests do so).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // each bench uses a part of what the tests share
#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::Instant;

use common::{id, Idp, Site};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tableau_scim::bridge::mapping::roles::RoleMapping;
use tableau_scim::emulator::EmulatorConfig;
use tableau_scim::tableau::SiteRole;

const TOKEN: &str = "bench-safety-token-123456";
const USERS: usize = 400;
const IN_FLIGHT: usize = 8;
/// Rounds of each measure, which of the two stacks goes first alternating (the noise of one
/// short round on 2 cores is a few percent either way).
const ROUNDS: usize = 7;

fn site(enabled: bool) -> Site {
    Site::start(EmulatorConfig::new("bench", "pat", "secret"), TOKEN, |o| {
        o.tenant.policy.safety.enabled = enabled;
        o.tenant.roles = RoleMapping::new(
            [
                ("creator".to_string(), SiteRole::Creator),
                ("viewer".to_string(), SiteRole::Viewer),
            ],
            [],
            SiteRole::Viewer,
        );
    })
}

async fn users(site: &Site) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..USERS {
        let (s, u) = site
            .idp
            .call(
                Method::POST,
                "/Users",
                Some(json!({"userName": format!("u{i:04}@example.com"), "roles": [{"value": "creator"}]})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        ids.push(id(&u));
    }
    ids
}

/// One PATCH per user, `IN_FLIGHT` at once; the requests per second.
async fn patch_all(idp: &Idp, ids: &[String], body: &Value) -> f64 {
    let started = Instant::now();
    for chunk in ids.chunks(IN_FLIGHT) {
        let mut tasks = Vec::new();
        for uid in chunk {
            let (idp, path, body) = (idp.clone(), format!("/Users/{uid}"), body.clone());
            tasks.push(tokio::spawn(async move {
                idp.call(Method::PATCH, &path, Some(body)).await
            }));
        }
        for t in tasks {
            let (s, b) = t.await.expect("answered");
            assert_eq!(s, StatusCode::OK, "{b}");
        }
    }
    ids.len() as f64 / started.elapsed().as_secs_f64()
}

fn role(to: &str) -> Value {
    json!({"Operations": [{"op": "replace", "path": "roles", "value": [{"value": to}]}]})
}

/// Nine title updates per user, then a demotion and a promotion back: the requests per second
/// of the whole.
async fn mixed(site: &Site, ids: &[String], round: usize) -> f64 {
    let started = Instant::now();
    let mut n = 0;
    for k in 0..9 {
        let title = json!({"Operations": [{"op": "replace", "path": "title", "value": format!("t{round}.{k}")}]});
        patch_all(&site.idp, ids, &title).await;
        n += ids.len();
    }
    patch_all(&site.idp, ids, &role("viewer")).await;
    patch_all(&site.idp, ids, &role("creator")).await;
    n += 2 * ids.len();
    n as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let on = site(true);
    let off = site(false);
    let (on_ids, off_ids) = (users(&on).await, users(&off).await);
    // Demotions are destructive (counted); promotions are not: both directions each round.
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        if round % 2 == 0 {
            with.push(patch_all(&on.idp, &on_ids, &role("viewer")).await);
            without.push(patch_all(&off.idp, &off_ids, &role("viewer")).await);
        } else {
            without.push(patch_all(&off.idp, &off_ids, &role("viewer")).await);
            with.push(patch_all(&on.idp, &on_ids, &role("viewer")).await);
        }
        patch_all(&on.idp, &on_ids, &role("creator")).await;
        patch_all(&off.idp, &off_ids, &role("creator")).await;
    }
    // A write-heavy mix: nine harmless updates (a title) to one demotion.
    let (mut mix_with, mut mix_without) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (a, b) = if round % 2 == 0 {
            let a = mixed(&on, &on_ids, round).await;
            (a, mixed(&off, &off_ids, round).await)
        } else {
            let b = mixed(&off, &off_ids, round).await;
            (mixed(&on, &on_ids, round).await, b)
        };
        mix_with.push(a);
        mix_without.push(b);
    }
    let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "medians, req/s: demotions {:.0} on, {:.0} off; mix {:.0} on, {:.0} off",
        median(&with),
        median(&without),
        median(&mix_with),
        median(&mix_without)
    );
    println!("| {USERS} users, {IN_FLIGHT} in flight, best of {ROUNDS} | breaker off, req/s | breaker on, req/s | cost |");
    println!("|---|---|---|---|");
    for (what, w, wo) in [
        (
            "demotions only (each counted in the window)",
            best(&with),
            best(&without),
        ),
        (
            "write-heavy mix: 9 updates to 1 demotion",
            best(&mix_with),
            best(&mix_without),
        ),
    ] {
        println!(
            "| {what} | {wo:.0} | {w:.0} | {:.1}% |",
            (1.0 - w / wo) * 100.0
        );
    }
}
