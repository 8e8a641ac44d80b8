//! Tableau's rate limit as the bound: `cargo bench --bench rate_limited` runs an initial sync
//! (lookup, then create, per user; 8 IdP workers) of `RATE_USERS` (2,000) users on Tableau
//! Cloud's rules against an emulator that accepts `RATE_LIMIT` (20) calls per second, once with
//! `Retry-After` on its 429s and once without. Reported: the sustained Tableau call rate against
//! the limit (target >= 90%), the share of calls answered 429 (target < 1%), and lost or
//! duplicated users (must be 0). Then a lone 429 (a neighbour's, on a site far above the
//! tenant's load): 5 role changes a second for 30 s, one call answered 429 at the tenth second,
//! with and without `Retry-After`; reported: how long requests were slowed (target < 2 s).
//! Last, creates alone (no lookup: Tableau Server's rules, the replicas' harness) of the same
//! number of users through three replicas on PostgreSQL against one limit for the site
//! (`Retry-After` sent): the same targets, counted at the emulator's limiter.

// A bench, like a test, stops loudly on a broken assumption (clippy.toml lets tests do so).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // each bench uses a part of what the tests share
#[path = "../tests/it/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::replicas::Replicas;
use common::{id, Idp, Site};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tableau_scim::emulator::{EmulatorConfig, Fault, Faults, Flavor};
use tableau_scim::tableau::retry::RetryPolicy;

const TOKEN: &str = "rate-limited-token-0123456";
const WORKERS: usize = 8;

fn env(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// POST `body` to `/Users` until it is created: the user. A 503 (the bridge gave up on Tableau
/// for now) is sent again after half a second, as Okta does.
async fn create_until_done(idp: &Idp, body: Value) -> Value {
    loop {
        let (s, u) = idp.call(Method::POST, "/Users", Some(body.clone())).await;
        match s {
            StatusCode::CREATED => return u,
            StatusCode::SERVICE_UNAVAILABLE => tokio::time::sleep(Duration::from_millis(500)).await,
            other => panic!("create {}: {other} {u}", body["userName"]),
        }
    }
}

async fn run(users: usize, limit: f64, retry_after: bool) -> bool {
    let mut emu = EmulatorConfig::new("rate", "pat", "secret");
    emu.set_flavor(Flavor::Cloud);
    let site = Site::start(emu, TOKEN, |o| {
        o.set_flavor(Flavor::Cloud);
        o.tenant.retry = RetryPolicy {
            max_attempts: 20,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
            max_total: Duration::from_secs(120),
        };
    });
    // The limit applies from now on (the first listing is done).
    site.stack.emulator.with_state(|s| {
        s.faults = Faults {
            rate_limit_per_sec: Some(limit),
            rate_limit_burst: Some(limit),
            rate_limit_no_retry_after: !retry_after,
            ..Faults::default()
        }
    });
    site.stack.tenant().reset_tableau_stats();
    let site = Arc::new(site);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let site = site.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in (w..users).step_by(WORKERS) {
                let name = format!("rl{i:05}@example.com");
                let (s, l) = site
                    .idp
                    .call(
                        Method::GET,
                        &format!(
                            "/Users?filter=userName%20eq%20%22{}%22",
                            name.replace('@', "%40")
                        ),
                        None,
                    )
                    .await;
                assert_eq!((s, l["totalResults"].clone()), (StatusCode::OK, json!(0)));
                let body = json!({"userName": name, "emails": [{"value": name, "primary": true}]});
                ids.push(id(&create_until_done(&site.idp, body).await));
            }
            ids
        }));
    }
    let mut created = 0;
    for t in tasks {
        created += t.await.map(|v| v.len()).unwrap_or(0);
    }
    let secs = started.elapsed().as_secs_f64();
    let stats = site.stack.tenant().tableau_stats();
    let calls = stats.total_calls();
    let throttled: u64 = stats
        .endpoints
        .values()
        .map(|e| e.by_status.get(&429).copied().unwrap_or(0))
        .sum();
    let accepted = calls - throttled;
    let names = site
        .stack
        .emulator
        .with_state(|s| s.user_names())
        .unwrap_or_default();
    let ours: Vec<&String> = names.iter().filter(|n| n.starts_with("rl")).collect();
    let distinct: std::collections::BTreeSet<&&String> = ours.iter().collect();
    let (window, rate, _) = site.stack.tenant().tableau_limits();
    let rate_share = accepted as f64 / secs / limit;
    let throttled_share = throttled as f64 / calls.max(1) as f64;
    println!(
        "limit {limit}/s, Retry-After {}: {created} users in {secs:.1} s; {accepted} calls accepted ({:.1}/s, {:.1}% of the limit), {throttled} answered 429 ({:.2}% of {calls}); lost {}, duplicated {}; limits now: {window} in flight, {:.1}/s",
        if retry_after { "sent" } else { "absent" },
        accepted as f64 / secs,
        rate_share * 100.0,
        throttled_share * 100.0,
        users - distinct.len().min(users),
        ours.len() - distinct.len(),
        rate.unwrap_or(0.0),
    );
    rate_share >= 0.9 && throttled_share < 0.01 && distinct.len() == users && ours.len() == users
}

/// 5 role changes a second (one Tableau call each) for 30 s, one answered 429 at the tenth
/// second: how long the requests were slowed (from the first to the last answered more than
/// 100 ms late), and the worst delay.
async fn lone(retry_after: bool) -> bool {
    let site = Arc::new(Site::start(
        EmulatorConfig::new("lone", "pat", "secret"),
        TOKEN,
        |o| {
            o.tenant.retry = RetryPolicy {
                max_attempts: 20,
                base_delay: Duration::from_millis(50),
                max_delay: Duration::from_secs(2),
                max_total: Duration::from_secs(120),
            };
        },
    ));
    let mut ids = Vec::new();
    for i in 0..5 {
        let (s, u) = site
            .idp
            .call(
                Method::POST,
                "/Users",
                Some(json!({"userName": format!("lone{i}")})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        ids.push(id(&u));
    }
    let calls_before_429 = 50;
    site.stack.emulator.with_state(|s| {
        let mut script: std::collections::VecDeque<Fault> =
            std::iter::repeat_n(Fault::Ok, calls_before_429).collect();
        script.push_back(Fault::TooMany);
        s.faults = Faults {
            script,
            retry_after_secs: if retry_after { 1 } else { 0 },
            ..Faults::default()
        };
        s.faults.rate_limit_no_retry_after = !retry_after;
    });
    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..150usize {
        let due = started + Duration::from_millis(200 * n as u64);
        tokio::time::sleep_until(due.into()).await;
        let (site, uid) = (site.clone(), ids[n % ids.len()].clone());
        let role = if (n / ids.len()) % 2 == 0 {
            "Explorer"
        } else {
            "Viewer"
        };
        tasks.push(tokio::spawn(async move {
            let (s, b) = site
                .idp
                .call(
                    Method::PATCH,
                    &format!("/Users/{uid}"),
                    Some(json!({"Operations": [{"op": "replace", "path": "roles", "value": [{"value": role}]}]})),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{b}");
            (due, Instant::now())
        }));
    }
    let mut slowed: Vec<(Instant, Duration)> = Vec::new();
    let mut worst = Duration::ZERO;
    for t in tasks {
        let (due, done) = t.await.expect("answered");
        let late = done.saturating_duration_since(due);
        worst = worst.max(late);
        if late > Duration::from_millis(100) {
            slowed.push((due, late));
        }
    }
    let span = match (slowed.first(), slowed.last()) {
        (Some((a, _)), Some((b, late))) => b.saturating_duration_since(*a) + *late,
        _ => Duration::ZERO,
    };
    let throttled = site
        .stack
        .tenant()
        .tableau_stats()
        .endpoints
        .values()
        .map(|e| e.by_status.get(&429).copied().unwrap_or(0))
        .sum::<u64>();
    let (window, rate, _) = site.stack.tenant().tableau_limits();
    println!(
        "a lone 429 at 5 requests/s, Retry-After {}: {throttled} answered 429; {} requests slowed over {:.2} s, the worst by {:.2} s; limits now: {window} in flight, rate {}",
        if retry_after { "sent" } else { "absent" },
        slowed.len(),
        span.as_secs_f64(),
        worst.as_secs_f64(),
        rate.map_or("none".to_string(), |r| format!("{r:.1}/s")),
    );
    span < Duration::from_secs(2) && throttled == 1
}

#[tokio::main]
async fn main() {
    let users = env("RATE_USERS", 2000.0) as usize;
    let limit = env("RATE_LIMIT", 20.0);
    // RATE_SCENARIO=replicas runs the last alone (with its own build's reference).
    if std::env::var("RATE_SCENARIO").is_ok_and(|s| s == "replicas") {
        let shared = replicas(users, limit).await;
        std::process::exit(if shared { 0 } else { 1 });
    }
    let with = run(users, limit, true).await;
    let without = run(users, limit, false).await;
    let lone_with = lone(true).await;
    let lone_without = lone(false).await;
    let shared = replicas(users, limit).await;
    if !(with && without && lone_with && lone_without && shared) {
        std::process::exit(1);
    }
}

/// Creates of `users` users (no lookup) through three replicas on PostgreSQL (the IdP's 8
/// workers round robin) against one site limit of `limit` calls a second with `Retry-After`:
/// the replicas share one budget, so together they keep to the limit as one instance does.
/// Counted at the emulator's limiter: calls let through and refused.
async fn replicas(users: usize, limit: f64) -> bool {
    let r = Replicas::start(common::replicas::site(), 3, "").await;
    r.emulator.with_state(|s| {
        s.faults = Faults {
            rate_limit_per_sec: Some(limit),
            rate_limit_burst: Some(limit),
            ..Faults::default()
        }
    });
    let r = Arc::new(r);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let r = r.clone();
        tasks.push(tokio::spawn(async move {
            let mut created = 0;
            for i in (w..users).step_by(WORKERS) {
                let name = format!("rr{i:05}@example.com");
                create_until_done(&r.idp, json!({"userName": name, "active": true})).await;
                created += 1;
            }
            created
        }));
    }
    let mut created = 0;
    for t in tasks {
        created += t.await.unwrap_or(0);
    }
    let secs = started.elapsed().as_secs_f64();
    let (accepted, throttled) = r
        .emulator
        .with_state(|s| s.rate_limit_counts())
        .unwrap_or_default();
    let names = r
        .emulator
        .with_state(|s| s.user_names())
        .unwrap_or_default();
    let ours = names.iter().filter(|n| n.starts_with("rr")).count();
    let rate_share = accepted as f64 / secs / limit;
    let calls = accepted + throttled;
    let throttled_share = throttled as f64 / calls.max(1) as f64;
    println!(
        "limit {limit}/s, three replicas on PostgreSQL, Retry-After sent: {created} users in {secs:.1} s; {accepted} calls accepted ({:.1}/s, {:.1}% of the limit), {throttled} answered 429 ({:.2}% of {calls}); users in Tableau {ours}",
        accepted as f64 / secs,
        rate_share * 100.0,
        throttled_share * 100.0,
    );
    rate_share >= 0.9 && throttled_share < 0.01 && ours == users
}
