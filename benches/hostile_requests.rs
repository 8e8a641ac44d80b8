//! The worst an authenticated client can send: `cargo bench --bench hostile_requests` starts
//! `tableau-scim demo` as its own process and sends, one shape at a time, the largest requests
//! the 1 MiB body limit admits: what was quadratic before `scim/bounds.rs` (40,000 distinct emails in a
//! create or in one PATCH operation, 40,000 `.search` attributes), and the largest request the
//! bounds accept (1,000 PATCH operations; a user of 100 emails and an 8 KiB title). For each:
//! the answer, the median time one request holds the server, the CPU time the whole process
//! spent per request, and `/healthz`'s latency while two of them run in parallel (the demo has
//! two HTTP workers, so two of them could hold both).
//!
//! `HOSTILE_REFERENCE=path/to/tableau-scim` runs the same requests against another build in
//! the same run (the build before: BENCHMARKS.md section 13). `HOSTILE_SECS` (default 3) is
//! how long each shape is repeated and how long the parallel phase lasts at least.

// A bench, like a test, stops loudly on a broken assumption (clippy.toml lets tests do so).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, Method};
use serde_json::{json, Value};

const TOKEN: &str = "hostile-bench-token-0123456789";
/// The demo's body limit.
const BODY_LIMIT: usize = 1024 * 1024;
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The CPU time every thread of `pid` has used, in nanoseconds (`/proc/PID/task/*/schedstat`).
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

/// A demo process of `binary`, and its SCIM base URL.
struct Demo {
    child: Child,
    scim: String,
    _data: tempfile::TempDir,
}

impl Demo {
    fn start(binary: &str) -> Demo {
        let data = tempfile::tempdir().unwrap_or_else(|e| panic!("a temporary directory: {e}"));
        let mut child = Command::new(binary)
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
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("demo output"));
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
        Demo {
            child,
            scim,
            _data: data,
        }
    }

    fn origin(&self) -> String {
        self.scim.trim_end_matches("/scim/v2").to_string()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// As many `{"value":"e{i}@x.co"}` emails as fit in `budget` bytes of JSON.
fn emails_within(budget: usize, tag: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut used = 0;
    for i in 0.. {
        let v = json!({"value": format!("e{i}{tag}@x.co")});
        used += v.to_string().len() + 1;
        if used > budget {
            break;
        }
        out.push(v);
    }
    out
}

/// One request shape: its name, and the request of repetition `i` (a fresh user name each
/// time where the request creates one).
struct Shape {
    name: &'static str,
    method: Method,
    path: String,
    body: Box<dyn Fn(u64) -> Value + Send + Sync>,
}

/// The shapes, against a server whose users `ids` were created for them.
fn shapes(ids: &[String]) -> Vec<Shape> {
    let many = Arc::new(emails_within(BODY_LIMIT - 400, ""));
    let distinct = many.len();
    let twenty: Vec<Value> = (0..20)
        .map(|i| json!({"value": format!("w{i}@example.com")}))
        .collect();
    let op = json!({"op": "add", "path": "emails", "value": twenty});
    let ops: Vec<Value> = (0..1000).map(|_| op.clone()).collect();
    let hundred: Vec<Value> = (0..100)
        .map(|i| json!({"value": format!("m{i}@example.com")}))
        .collect();
    let title = "t".repeat(8 * 1024);
    let attributes: Vec<String> = {
        let mut out = Vec::new();
        let mut used = 0;
        for i in 0.. {
            let a = format!("urn:x:{i}");
            used += a.len() + 3;
            if used > BODY_LIMIT - 400 {
                break;
            }
            out.push(a);
        }
        out
    };
    let attribute_count = attributes.len();
    let (m1, m2) = (many.clone(), many);
    vec![
        Shape {
            name: leak(format!("POST /Users, {distinct} distinct emails (1 MiB)")),
            method: Method::POST,
            path: "/Users".into(),
            body: Box::new(
                move |i| json!({"schemas": [USER], "userName": format!("many{i}@example.com"), "emails": *m1}),
            ),
        },
        Shape {
            name: leak(format!(
                "PATCH /Users/{{id}}, one add of {distinct} distinct emails (1 MiB)"
            )),
            method: Method::PATCH,
            path: format!("/Users/{}", ids[0]),
            body: Box::new(
                move |_| json!({"schemas": [PATCH], "Operations": [{"op": "add", "path": "emails", "value": *m2}]}),
            ),
        },
        Shape {
            name: leak(format!(
                "POST /Users/.search, {attribute_count} attributes (1 MiB)"
            )),
            method: Method::POST,
            path: "/Users/.search".into(),
            body: Box::new(move |_| {
                json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "attributes": attributes,
                    "count": 1
                })
            }),
        },
        Shape {
            name: "PATCH /Users/{id}, 1,000 operations of 20 emails (largest admitted)",
            method: Method::PATCH,
            path: format!("/Users/{}", ids[1]),
            body: Box::new(move |_| json!({"schemas": [PATCH], "Operations": ops})),
        },
        Shape {
            name: "POST /Users, 100 emails and an 8 KiB title (largest admitted user)",
            method: Method::POST,
            path: "/Users".into(),
            body: Box::new(move |i| {
                json!({
                    "schemas": [USER],
                    "userName": format!("big{i}@example.com"),
                    "title": title,
                    "emails": hundred
                })
            }),
        },
    ]
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// What one shape cost one build.
struct Figures {
    status: u16,
    requests: u64,
    median_ms: f64,
    cpu_ms: f64,
    healthz: [f64; 3],
}

async fn send(client: &Client, scim: &str, shape: &Shape, i: u64) -> u16 {
    let body = serde_json::to_vec(&(shape.body)(i)).unwrap_or_default();
    match client
        .request(shape.method.clone(), format!("{scim}{}", shape.path))
        .bearer_auth(TOKEN)
        .header("Content-Type", "application/scim+json")
        .body(body)
        .send()
        .await
    {
        Ok(r) => {
            let s = r.status().as_u16();
            let _ = r.bytes().await;
            s
        }
        Err(_) => 0,
    }
}

/// `/healthz` latencies in ms, sorted, sampled every 5 ms until `stop`.
async fn probe_healthz(client: Client, origin: String, stop: Arc<AtomicBool>) -> Vec<f64> {
    let mut out = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        let _ = client.get(format!("{origin}/healthz")).send().await;
        out.push(t.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    out.sort_by(f64::total_cmp);
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn measure(demo: &Demo, shape: Arc<Shape>, secs: f64, counter: &AtomicU64) -> Figures {
    let client = Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap_or_default();
    let pid = demo.child.id();
    // One after the other: the time one request holds the server, and its CPU.
    let mut times = Vec::new();
    let mut status = 0;
    let cpu_before = cpu_ns(pid);
    let started = Instant::now();
    while times.len() < 2 || (started.elapsed().as_secs_f64() < secs && times.len() < 200) {
        let i = counter.fetch_add(1, Ordering::Relaxed);
        let t = Instant::now();
        status = send(&client, &demo.scim, &shape, i).await;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let cpu_ms = (cpu_ns(pid) - cpu_before) as f64 / 1e6 / times.len() as f64;
    times.sort_by(f64::total_cmp);
    // Two in parallel, and /healthz beside them.
    let stop = Arc::new(AtomicBool::new(false));
    let probe = tokio::spawn(probe_healthz(client.clone(), demo.origin(), stop.clone()));
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let mut workers = Vec::new();
    for _ in 0..2 {
        let (client, scim, shape, done, stop) = (
            client.clone(),
            demo.scim.clone(),
            shape.clone(),
            done.clone(),
            stop.clone(),
        );
        let next = counter.fetch_add(1_000_000, Ordering::Relaxed);
        workers.push(tokio::spawn(async move {
            let mut i = next;
            let mut mine = 0;
            while mine == 0 || (Instant::now() < until && !stop.load(Ordering::Relaxed)) {
                send(&client, &scim, &shape, i).await;
                i += 1;
                mine += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    stop.store(true, Ordering::Relaxed);
    let sorted = probe.await.unwrap_or_default();
    Figures {
        status,
        requests: times.len() as u64,
        median_ms: percentile(&times, 0.5),
        cpu_ms,
        healthz: [
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.99),
            sorted.last().copied().unwrap_or(0.0),
        ],
    }
}

async fn create(client: &Client, scim: &str, name: &str) -> String {
    let r = client
        .post(format!("{scim}/Users"))
        .bearer_auth(TOKEN)
        .json(&json!({"schemas": [USER], "userName": name}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e}"));
    let v: Value = r.json().await.unwrap_or_default();
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("create {name}: {v}"))
        .to_string()
}

/// Every shape against `binary`; `(idle /healthz p50/p99/max, figures per shape)`.
async fn run(binary: &str, secs: f64) -> ([f64; 3], Vec<(&'static str, Figures)>) {
    let demo = Demo::start(binary);
    let client = Client::new();
    let idle = {
        let stop = Arc::new(AtomicBool::new(false));
        let probe = tokio::spawn(probe_healthz(client.clone(), demo.origin(), stop.clone()));
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.store(true, Ordering::Relaxed);
        let s = probe.await.unwrap_or_default();
        [
            percentile(&s, 0.5),
            percentile(&s, 0.99),
            s.last().copied().unwrap_or(0.0),
        ]
    };
    let ids = vec![
        create(&client, &demo.scim, "patched-once@example.com").await,
        create(&client, &demo.scim, "patched-often@example.com").await,
    ];
    let counter = AtomicU64::new(0);
    let mut out = Vec::new();
    for shape in shapes(&ids) {
        let name = shape.name;
        let f = measure(&demo, Arc::new(shape), secs, &counter).await;
        println!(
            "  {name}: {} x {}, median {:.2} ms, CPU {:.2} ms/request, /healthz beside two: p50 {:.2} p99 {:.2} max {:.2} ms",
            f.status, f.requests, f.median_ms, f.cpu_ms, f.healthz[0], f.healthz[1], f.healthz[2]
        );
        out.push((name, f));
    }
    (idle, out)
}

#[tokio::main]
async fn main() {
    let secs: f64 = std::env::var("HOSTILE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    let mut builds = vec![(
        "this build".to_string(),
        env!("CARGO_BIN_EXE_tableau-scim").to_string(),
    )];
    if let Ok(reference) = std::env::var("HOSTILE_REFERENCE") {
        builds.push((format!("reference ({reference})"), reference));
    }
    let mut results = Vec::new();
    for (label, binary) in &builds {
        println!("{label}:");
        results.push((label.clone(), run(binary, secs).await));
    }
    println!();
    println!("| request | build | answer | requests | median ms | CPU ms/request | /healthz beside two: p50 / p99 / max ms |");
    println!("|---|---|---|---|---|---|---|");
    for (label, (idle, _)) in &results {
        println!(
            "| (idle) | {label} | | | | | {:.2} / {:.2} / {:.2} |",
            idle[0], idle[1], idle[2]
        );
    }
    let shapes = results.first().map_or(0, |(_, (_, f))| f.len());
    for i in 0..shapes {
        for (label, (_, figures)) in &results {
            let (name, f) = &figures[i];
            println!(
                "| {name} | {label} | {} | {} | {:.2} | {:.2} | {:.2} / {:.2} / {:.2} |",
                f.status,
                f.requests,
                f.median_ms,
                f.cpu_ms,
                f.healthz[0],
                f.healthz[1],
                f.healthz[2]
            );
        }
    }
}
