//! Provisioning at Tableau's latency: `cargo bench --bench provisioning` syncs users as Okta
//! does (a `userName eq` lookup, then the create) and then
//! changes their roles through the bridge while the emulator adds `BENCH_LATENCY_MS` (50) to
//! every call and the IdP side keeps `BENCH_CONCURRENCY` (8) requests in flight. The bound is
//! what the Tableau calls alone allow: concurrency / (calls per operation x latency), and under
//! a rate limit no more than rate / calls per operation.
//! `BENCH_USERS` (10000) sets the size; `BENCH_RATE` (calls/s, 0 = none) gives the emulator a
//! token bucket of that rate and burst, as Tableau Cloud's limit; `BENCH_ROLE_CHANGES` (the
//! users) how many role changes follow (0: the import alone); the site's Tableau calls in flight
//! follow `BENCH_CONCURRENCY`. The emulator's delay is a tokio timer, which fires on the next
//! millisecond tick after it and then wakes a worker: a call takes a little more than the
//! nominal latency, so the bench also times 40 calls straight to the emulator, one at a time,
//! and gives the bound at that delivered latency beside the nominal one. `BENCH_FLAVOR=cloud` makes the site Tableau Cloud's (a create is
//! one call there, two on Tableau Server). The process's peak resident memory (bridge and emulator) is
//! reported after each phase.

// A bench, like a test, stops loudly on a broken assumption (clippy.toml lets tests do so).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

#[allow(dead_code)] // each bench uses a part of what the tests share
#[path = "../tests/it/common/mod.rs"]
mod common;

use common::load::{proc_status_kib, run, send};
use common::Site;
use reqwest::Method;
use serde_json::json;
use tableau_scim::emulator::{EmulatorConfig, Faults, Flavor};

const TOKEN: &str = "bench-provisioning-token";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let n = env("BENCH_USERS", 10_000);
    let concurrency = env("BENCH_CONCURRENCY", 8);
    let latency = env("BENCH_LATENCY_MS", 50);
    let rate = env("BENCH_RATE", 0);
    let changes = env("BENCH_ROLE_CHANGES", n).min(n);
    let cloud = std::env::var("BENCH_FLAVOR").is_ok_and(|f| f == "cloud");
    let mut emu = EmulatorConfig::new("prov", "pat", "secret");
    if cloud {
        emu.set_flavor(Flavor::Cloud);
    }
    emu.faults = Faults {
        latency_ms: latency as u64,
        ..Faults::default()
    };
    let site = Site::start(emu, TOKEN, |o| {
        o.server.workers = 2;
        o.server.tableau_concurrency = concurrency;
        if cloud {
            o.set_flavor(Flavor::Cloud);
        }
    });
    send(&site.idp, Method::GET, "/Users?count=0", json!(null)).await;
    let delivered_ms = delivered_latency_ms(&site.stack.emulator.url()).await;
    if rate > 0 {
        // The limit applies from now on (the first listing is done).
        site.stack.emulator.with_state(|s| {
            s.faults.rate_limit_per_sec = Some(rate as f64);
            s.faults.rate_limit_burst = Some(rate as f64);
        });
    }
    site.reset_calls();
    let ids: Arc<std::sync::Mutex<Vec<String>>> =
        Arc::new(std::sync::Mutex::new(vec![String::new(); n]));
    let (h, out) = (site.idp.clone(), ids.clone());
    let create = run(n, concurrency, move |i| {
        let (h, out) = (h.clone(), out.clone());
        async move {
            // Okta's sync of a new user: the lookup (no Tableau call once the site's names
            // are listed), then the create: userName, name and email, so Add User then
            // Update User.
            let found = send(&h, Method::GET, &format!("/Users?filter=userName%20eq%20%22p{i:05}%40example.com%22&startIndex=1&count=100"), json!(null)).await;
            assert_eq!(found["totalResults"], 0);
            let u = send(&h, Method::POST, "/Users", json!({"userName": format!("p{i:05}@example.com"), "name": {"givenName": "P", "familyName": i.to_string()}, "emails": [{"value": format!("p{i:05}@example.com"), "primary": true}]})).await;
            if let Ok(mut v) = out.lock() {
                v[i] = u["id"].as_str().unwrap_or_default().to_string();
            }
        }
    })
    .await;
    let create_calls = site.tableau_calls();
    site.reset_calls();
    let ids: Arc<Vec<String>> = Arc::new(ids.lock().map(|v| v.clone()).unwrap_or_default());
    let h = site.idp.clone();
    let create_peak = peak_resident_mib();
    let change = run(changes, concurrency, move |i| {
        let (h, ids) = (h.clone(), ids.clone());
        async move {
            send(&h, Method::PATCH, &format!("/Users/{}", ids[i]), json!({"Operations":[{"op":"replace","path":"roles","value":[{"value":"Explorer"}]}]})).await;
        }
    })
    .await;
    let change_calls = site.tableau_calls();
    let change_peak = peak_resident_mib();
    let report = |name: &str, ops: usize, took: Duration, calls: u64, peak: f64| {
        if ops == 0 {
            return;
        }
        let per_op = calls as f64 / ops as f64;
        let achieved = ops as f64 / took.as_secs_f64();
        let bound = bound_per_sec(concurrency, latency as f64, rate, per_op);
        let delivered = bound_per_sec(concurrency, delivered_ms, rate, per_op);
        println!(
            "{name:<22} {ops:>7} {:>9.1} {per_op:>11.2} {achieved:>10.1} {bound:>10.1} {:>7.1}% {:>11.1}% {peak:>9.0}",
            took.as_secs_f64(),
            100.0 * achieved / bound,
            100.0 * achieved / delivered
        );
    };
    let limit = if rate > 0 {
        format!("a limit of {rate} calls/s (burst {rate})")
    } else {
        "no rate limit".to_string()
    };
    let flavor = if cloud {
        "Tableau Cloud"
    } else {
        "Tableau Server"
    };
    println!("{flavor}, latency {latency} ms per Tableau call, {concurrency} SCIM requests and Tableau calls in flight, {limit}; a call straight to the emulator took {delivered_ms:.2} ms (median of 40)");
    println!(
        "{:<22} {:>7} {:>9} {:>11} {:>10} {:>10} {:>8} {:>12} {:>9}",
        "operation",
        "users",
        "seconds",
        "calls/op",
        "users/s",
        "bound/s",
        "of bound",
        "of delivered",
        "peak MiB"
    );
    report("sync (lookup+create)", n, create, create_calls, create_peak);
    report("role change", changes, change, change_calls, change_peak);
}

/// What the Tableau calls alone allow, in operations a second: the calls in flight over the
/// latency, and under a rate limit no more than the rate.
fn bound_per_sec(concurrency: usize, latency_ms: f64, rate: usize, calls_per_op: f64) -> f64 {
    let by_latency = concurrency as f64 / (calls_per_op * latency_ms / 1000.0);
    if rate == 0 {
        by_latency
    } else {
        by_latency.min(rate as f64 / calls_per_op)
    }
}

/// The median time of a call straight to the emulator (its server info, one at a time, on one
/// kept connection): the latency its timer delivers, what the bridge's calls cannot beat.
async fn delivered_latency_ms(emulator: &str) -> f64 {
    let client = reqwest::Client::new();
    let url = format!("{emulator}/api/3.24/serverinfo");
    let mut took = Vec::new();
    for _ in 0..40 {
        let start = std::time::Instant::now();
        let answered = client
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        assert!(answered, "the emulator answers its server info");
        took.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    took.sort_by(f64::total_cmp);
    took[took.len() / 2]
}

/// This process's peak resident set (`VmHWM`), in MiB; 0 where /proc is not there.
fn peak_resident_mib() -> f64 {
    proc_status_kib("self", "VmHWM:") as f64 / 1024.0
}
