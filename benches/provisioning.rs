//! Provisioning at Tableau's latency: `cargo bench --bench provisioning` creates users and then
//! changes their roles through the bridge while the emulator adds `BENCH_LATENCY_MS` (50) to
//! every call and the IdP side keeps `BENCH_CONCURRENCY` (8) requests in flight. The bound is
//! what the Tableau calls alone allow: concurrency / (calls per operation x latency).
//! `BENCH_USERS` (10000) sets the size.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, Method};
use serde_json::{json, Value};
use tableau_scim::stack::{Stack, StackOptions};
use tableau_scim::tableau::emulator::{EmulatorConfig, Faults};

const TOKEN: &str = "bench-provisioning-token";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn send(http: &Client, method: Method, url: &str, body: Value) -> Value {
    for _ in 0..5 {
        if let Ok(r) = http
            .request(method.clone(), url)
            .bearer_auth(TOKEN)
            .header("Content-Type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await
        {
            if r.status().is_success() {
                return r.json().await.unwrap_or(Value::Null);
            }
        }
    }
    panic!("{url} kept failing");
}

async fn run<F, Fut>(n: usize, concurrency: usize, work: F) -> Duration
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let work = Arc::new(work);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (next, work) = (next.clone(), work.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                work(i).await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let n = env("BENCH_USERS", 10_000);
    let concurrency = env("BENCH_CONCURRENCY", 8);
    let latency = env("BENCH_LATENCY_MS", 50);
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let mut emu = EmulatorConfig::new("prov", "pat", "secret");
    emu.faults = Faults {
        latency_ms: latency as u64,
        ..Faults::default()
    };
    let mut opts = StackOptions::new(emu, dir.path().to_path_buf(), TOKEN);
    opts.server.workers = 2;
    let stack = match Stack::start(opts) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let base = stack.scim_url();
    let http = Client::new();
    send(
        &http,
        Method::GET,
        &format!("{base}/Users?count=0"),
        json!(null),
    )
    .await;
    stack.emulator.with_state(|s| s.reset_stats());
    let ids: Arc<std::sync::Mutex<Vec<String>>> =
        Arc::new(std::sync::Mutex::new(vec![String::new(); n]));
    let (h, b, out) = (http.clone(), base.clone(), ids.clone());
    let create = run(n, concurrency, move |i| {
        let (h, b, out) = (h.clone(), b.clone(), out.clone());
        async move {
            // Okta's create: userName, name and email, so Add User then Update User.
            let u = send(&h, Method::POST, &format!("{b}/Users"), json!({"userName": format!("p{i:05}@example.com"), "name": {"givenName": "P", "familyName": i.to_string()}, "emails": [{"value": format!("p{i:05}@example.com"), "primary": true}]})).await;
            if let Ok(mut v) = out.lock() {
                v[i] = u["id"].as_str().unwrap_or_default().to_string();
            }
        }
    })
    .await;
    let create_calls = stack.emulator.with_state(|s| s.total_calls()).unwrap_or(0);
    stack.emulator.with_state(|s| s.reset_stats());
    let ids: Arc<Vec<String>> = Arc::new(ids.lock().map(|v| v.clone()).unwrap_or_default());
    let (h, b) = (http.clone(), base.clone());
    let change = run(n, concurrency, move |i| {
        let (h, b, ids) = (h.clone(), b.clone(), ids.clone());
        async move {
            send(&h, Method::PATCH, &format!("{b}/Users/{}", ids[i]), json!({"Operations":[{"op":"replace","path":"roles","value":[{"value":"Explorer"}]}]})).await;
        }
    })
    .await;
    let change_calls = stack.emulator.with_state(|s| s.total_calls()).unwrap_or(0);
    let report = |name: &str, took: Duration, calls: u64| {
        let per_op = calls as f64 / n as f64;
        let achieved = n as f64 / took.as_secs_f64();
        let bound = concurrency as f64 / (per_op * latency as f64 / 1000.0);
        println!(
            "{name:<14} {n:>7} {:>9.1} {per_op:>11.2} {achieved:>10.1} {bound:>10.1} {:>7.1}%",
            took.as_secs_f64(),
            100.0 * achieved / bound
        );
    };
    println!("latency {latency} ms per Tableau call, {concurrency} SCIM requests in flight");
    println!(
        "{:<14} {:>7} {:>9} {:>11} {:>10} {:>10} {:>8}",
        "operation", "users", "seconds", "calls/op", "users/s", "bound/s", "of bound"
    );
    report("create", create, create_calls);
    report("role change", change, change_calls);
}
