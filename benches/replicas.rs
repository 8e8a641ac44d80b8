//! Provisioning at Tableau's latency with three replicas on one PostgreSQL against one replica,
//! in the same run: `cargo bench --bench replicas`. The emulator adds `BENCH_LATENCY_MS` (50) to
//! every call; the IdP keeps 8 requests in flight per replica, sent round robin. Each user is
//! synced as Okta does (a `userName eq` lookup, then the create with name and email: Add User
//! and Update User), then its role changed. The bound is what the Tableau calls alone allow:
//! requests in flight / (calls per operation x latency). `BENCH_USERS` (3000) users for three
//! replicas, a third of them for one, and for the reference: one instance on SQLite.

// A bench, like a test, stops loudly on a broken assumption (clippy.toml lets tests do so).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

#[allow(dead_code)] // each bench uses a part of what the tests share
#[path = "../tests/it/common/mod.rs"]
mod common;

use common::flows::Provisioned;
use common::load::{run, send};
use common::replicas::{site, Replicas, TOKEN};
use common::Site;
use reqwest::Method;
use serde_json::json;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Sync `n` users, then change their roles, through `replicas` replicas on PostgreSQL (0: one
/// instance on SQLite, the reference); print both rows.
async fn measure(replicas: usize, n: usize, latency: usize, server_toml: &str) {
    let mut emu = site();
    emu.faults.latency_ms = latency as u64;
    let r: Box<dyn Provisioned> = if replicas == 0 {
        Box::new(Site::start(emu, TOKEN, |o| o.server.workers = 2))
    } else {
        Box::new(Replicas::start_with(emu, replicas, server_toml, "").await)
    };
    let label = match (replicas, server_toml.is_empty()) {
        (0, _) => "SQLite".to_string(),
        (n, true) => n.to_string(),
        // The site's calls in flight: "3/24" is three replicas sharing 24.
        (n, false) => format!("{n}/{}", server_toml.rsplit(' ').next().unwrap_or_default()),
    };
    let replicas = replicas.max(1);
    let concurrency = 8 * replicas;
    r.reset_calls();
    let ids = Arc::new(std::sync::Mutex::new(vec![String::new(); n]));
    let (idp, out) = (r.idp().clone(), ids.clone());
    let tag = format!("r{replicas}");
    let create = run(n, concurrency, move |i| {
        let (idp, out, tag) = (idp.clone(), out.clone(), tag.clone());
        async move {
            let name = format!("{tag}u{i:05}@example.com");
            let found = send(&idp, Method::GET, &format!("/Users?filter=userName%20eq%20%22{}%22", name.replace('@', "%40")), json!(null)).await;
            assert_eq!(found["totalResults"], 0);
            let u = send(&idp, Method::POST, "/Users", json!({"userName": name, "name": {"givenName": "P", "familyName": i.to_string()}, "emails": [{"value": name, "primary": true}]})).await;
            if let Ok(mut v) = out.lock() {
                v[i] = u["id"].as_str().unwrap_or_default().to_string();
            }
        }
    })
    .await;
    let work_calls = |r: &dyn Provisioned| r.total_calls() - r.calls("POST /auth/signin");
    let create_calls = work_calls(r.as_ref());
    let sign_ins = r.calls("POST /auth/signin");
    r.reset_calls();
    let ids: Arc<Vec<String>> = Arc::new(ids.lock().map(|v| v.clone()).unwrap_or_default());
    let idp = r.idp().clone();
    let change = run(n, concurrency, move |i| {
        let (idp, ids) = (idp.clone(), ids.clone());
        async move {
            send(&idp, Method::PATCH, &format!("/Users/{}", ids[i]), json!({"Operations":[{"op":"replace","path":"roles","value":[{"value":"Explorer"}]}]})).await;
        }
    })
    .await;
    let change_calls = work_calls(r.as_ref());
    let report = |name: &str, took: Duration, calls: u64| {
        let per_op = calls as f64 / n as f64;
        let achieved = n as f64 / took.as_secs_f64();
        let bound = concurrency as f64 / (per_op * latency as f64 / 1000.0);
        println!(
            "{label:>8} {name:<22} {n:>6} {:>8.1} {per_op:>9.2} {achieved:>9.1} {bound:>9.1} {:>7.1}%",
            took.as_secs_f64(),
            100.0 * achieved / bound
        );
    };
    report("sync (lookup+create)", create, create_calls);
    report("role change", change, change_calls);
    println!("{label:>8} sign-ins during the sync: {sign_ins}");
}

#[tokio::main]
async fn main() {
    let n = env("BENCH_USERS", 3000);
    let latency = env("BENCH_LATENCY_MS", 50);
    println!("latency {latency} ms per Tableau call, 8 SCIM requests in flight per replica");
    println!(
        "{:>8} {:<22} {:>6} {:>8} {:>9} {:>9} {:>9} {:>8}",
        "replicas", "operation", "users", "seconds", "calls/op", "users/s", "bound/s", "of bound"
    );
    measure(0, n / 3, latency, "").await;
    measure(1, n / 3, latency, "").await;
    // The replicas share the site's tableau_concurrency (8 alone): 24 gives each of three the
    // 8 calls in flight one instance has, so the bound is three instances'.
    measure(3, n, latency, "tableau_concurrency = 24").await;
    // 3*: each replica may send 16 calls at once instead of 8. Round robin gives a replica
    // more than 8 of the 24 requests at times; with a limit of 8 the extra one waits a whole
    // Tableau call. Tableau still sees at most 24 requests' calls at once: the bound is the same.
    measure(3, n, latency, "tableau_concurrency = 48").await;
}
