//! Provisioning at Tableau's latency: `cargo bench --bench provisioning` syncs users as Okta
//! does (a `userName eq` lookup, then the create) and then
//! changes their roles through the bridge while the emulator adds `BENCH_LATENCY_MS` (50) to
//! every call and the IdP side keeps `BENCH_CONCURRENCY` (8) requests in flight. The bound is
//! what the Tableau calls alone allow: concurrency / (calls per operation x latency).
//! `BENCH_USERS` (10000) sets the size.

// A bench, like a test, stops loudly on a broken assumption (clippy.toml lets tests do so).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

#[allow(dead_code)] // each bench uses a part of what the tests share
#[path = "../tests/it/common/mod.rs"]
mod common;

use common::load::{run, send};
use common::Site;
use reqwest::Method;
use serde_json::json;
use tableau_scim::emulator::{EmulatorConfig, Faults};

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
    let mut emu = EmulatorConfig::new("prov", "pat", "secret");
    emu.faults = Faults {
        latency_ms: latency as u64,
        ..Faults::default()
    };
    let site = Site::start(emu, TOKEN, |o| o.server.workers = 2);
    send(&site.idp, Method::GET, "/Users?count=0", json!(null)).await;
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
    let change = run(n, concurrency, move |i| {
        let (h, ids) = (h.clone(), ids.clone());
        async move {
            send(&h, Method::PATCH, &format!("/Users/{}", ids[i]), json!({"Operations":[{"op":"replace","path":"roles","value":[{"value":"Explorer"}]}]})).await;
        }
    })
    .await;
    let change_calls = site.tableau_calls();
    let report = |name: &str, took: Duration, calls: u64| {
        let per_op = calls as f64 / n as f64;
        let achieved = n as f64 / took.as_secs_f64();
        let bound = concurrency as f64 / (per_op * latency as f64 / 1000.0);
        println!(
            "{name:<22} {n:>7} {:>9.1} {per_op:>11.2} {achieved:>10.1} {bound:>10.1} {:>7.1}%",
            took.as_secs_f64(),
            100.0 * achieved / bound
        );
    };
    println!("latency {latency} ms per Tableau call, {concurrency} SCIM requests in flight");
    println!(
        "{:<22} {:>7} {:>9} {:>11} {:>10} {:>10} {:>8}",
        "operation", "users", "seconds", "calls/op", "users/s", "bound/s", "of bound"
    );
    report("sync (lookup+create)", create, create_calls);
    report("role change", change, change_calls);
}
