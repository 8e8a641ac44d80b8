//! An unauthenticated flood: `cargo bench --bench unauthenticated_flood` starts
//! `tableau-scim demo` as its own process, warms it up, then sends `FLOOD_REQUESTS` (100,000)
//! requests with random methods, paths and tokens, and reports how much the process's resident
//! memory and the `/metrics` text grew. Bounds: less than 5 MB and 100 KB. Figures go to
//! RELIABILITY.md. `FLOOD_BINARY=path/to/tableau-scim` floods another build (the reference).

// A bench, like a test, stops loudly on a broken assumption (clippy.toml lets tests do so).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rand::Rng;
use reqwest::{Client, Method};

#[allow(dead_code)] // each bench uses a part of what the tests share
#[path = "../tests/it/common/mod.rs"]
mod common;

use common::load::proc_status_kib;

const TOKEN: &str = "flood-demo-token-0123456789";
const CONCURRENCY: usize = 32;

/// The process's resident memory now, in KiB.
fn resident_kib(pid: u32) -> u64 {
    proc_status_kib(&pid.to_string(), "VmRSS:")
}

/// A random token of `len` characters from `alphabet`.
fn random_text(rng: &mut impl Rng, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// One random request: a made-up or real method, a path under or outside SCIM, a wrong token
/// or none.
fn random_request(client: &Client, origin: &str, rng: &mut impl Rng) -> reqwest::RequestBuilder {
    const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const PATH: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-._~";
    let method = match rng.random_range(0..4) {
        0 => Method::GET,
        1 => Method::POST,
        _ => {
            let len = rng.random_range(3..200);
            Method::from_bytes(random_text(rng, UPPER, len).as_bytes()).unwrap_or(Method::PUT)
        }
    };
    let len = rng.random_range(1..400);
    let tail = random_text(rng, PATH, len);
    let path = match rng.random_range(0..3) {
        0 => format!("/scim/v2/{tail}"),
        1 => format!("/tenants/{tail}/scim/v2/Users"),
        _ => format!("/{tail}"),
    };
    let mut req = client.request(method, format!("{origin}{path}"));
    if rng.random_bool(0.7) {
        let len = rng.random_range(8..120);
        let token = random_text(rng, PATH, len);
        req = req.header("Authorization", format!("Bearer {token}"));
    }
    req
}

async fn flood(client: &Client, origin: &str, n: u64) -> (u64, f64) {
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, origin, next, errors) = (
            client.clone(),
            origin.to_string(),
            next.clone(),
            errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let req = random_request(&client, &origin, &mut rand::rng());
                match req.send().await {
                    Ok(r) if r.status().is_client_error() => {
                        let _ = r.bytes().await;
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    (
        errors.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
    )
}

async fn metrics_bytes(client: &Client, origin: &str) -> usize {
    match client
        .get(format!("{origin}/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
    {
        Ok(r) => r.bytes().await.map_or(0, |b| b.len()),
        Err(_) => 0,
    }
}

#[tokio::main]
async fn main() {
    let n: u64 = std::env::var("FLOOD_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("a temporary directory: {e}"));
    let binary = std::env::var("FLOOD_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_tableau-scim").to_string());
    let mut demo = Command::new(&binary)
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--token",
            TOKEN,
            "--data",
        ])
        .arg(data.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("the demo starts: {e}"));
    let pid = demo.id();
    let stdout = demo.stdout.take().unwrap_or_else(|| panic!("demo output"));
    let mut lines = BufReader::new(stdout).lines();
    let scim = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split("SCIM base URL:")
                .nth(1)
                .map(|u| u.trim().to_string())
        })
        .unwrap_or_else(|| panic!("the demo printed no SCIM base URL"));
    std::thread::spawn(move || for _ in lines {});
    let origin = scim.trim_end_matches("/scim/v2").to_string();
    let client = Client::new();
    // Warm up: connections, buffers, the allocator's arenas, every label combination.
    flood(&client, &origin, 5_000).await;
    let (rss_before, metrics_before) = (resident_kib(pid), metrics_bytes(&client, &origin).await);
    let (errors, secs) = flood(&client, &origin, n).await;
    // Let the summary of rejections be logged and the metrics upkeep run.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let (rss_after, metrics_after) = (resident_kib(pid), metrics_bytes(&client, &origin).await);
    let _ = demo.kill();
    let _ = demo.wait();
    let grew_kib = rss_after.saturating_sub(rss_before);
    println!(
        "{n} unauthenticated requests (random methods, paths, tokens) in {secs:.1} s ({:.0}/s), {errors} not answered 4xx",
        n as f64 / secs
    );
    println!(
        "resident memory: {:.1} MiB before, {:.1} MiB after: +{:.2} MiB (bound 5 MB)",
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        grew_kib as f64 / 1024.0
    );
    println!("/metrics: {metrics_before} bytes before, {metrics_after} bytes after (bound 100 KB)");
    if grew_kib * 1024 >= 5_000_000 || metrics_after >= 100_000 || errors > 0 {
        std::process::exit(1);
    }
}
