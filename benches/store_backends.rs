//! One replica on PostgreSQL against the embedded SQLite store, the same SCIM mix on each in
//! the same run: `cargo bench --bench store_backends`. The mix is an IdP's: creates with a
//! lookup first, role changes, reads by id, a group push and member PATCHes; 8 clients at once.
//! PostgreSQL runs in a private cluster on this machine (fsync off, as in the tests).

// A bench, like a test, stops loudly on a broken assumption (clippy.toml lets tests do so).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // each bench uses a part of what the tests share
#[path = "../tests/it/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::postgres::PgCluster;
use common::{tempdir, Idp};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tableau_scim::emulator::EmulatorConfig;
use tableau_scim::stack::{Stack, StackOptions};
use tableau_scim::store::{PgStore, Store};

const TOKEN: &str = "bench-store-backends-token";
const USERS: usize = 400;
const CLIENTS: usize = 8;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Run the mix; (wall time, median and slowest request).
async fn mix(idp: &Idp) -> (Duration, f64, f64) {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let idp = idp.clone();
        tasks.push(tokio::spawn(async move {
            let mut took = Vec::new();
            let mut ids = Vec::new();
            for i in (c..USERS).step_by(CLIENTS) {
                let name = format!("u{i:04}@example.com");
                let t = Instant::now();
                let (s, _) = idp.get(&format!("/Users?filter=userName%20eq%20%22u{i:04}%40example.com%22")).await;
                assert_eq!(s, StatusCode::OK);
                let (s, u) = idp
                    .call(Method::POST, "/Users", Some(json!({"userName": name, "externalId": format!("x{i}"), "roles": [{"value": "Viewer"}]})))
                    .await;
                assert_eq!(s, StatusCode::CREATED, "{u}");
                took.push(t.elapsed());
                ids.push(u["id"].as_str().unwrap_or_default().to_string());
            }
            for id in &ids {
                let t = Instant::now();
                let (s, _) = idp
                    .call(Method::PATCH, &format!("/Users/{id}"), Some(common::patch(json!([{"op": "replace", "path": "roles", "value": [{"value": "Explorer"}]}]))))
                    .await;
                assert_eq!(s, StatusCode::OK);
                took.push(t.elapsed());
                let t = Instant::now();
                let (s, _) = idp.get(&format!("/Users/{id}")).await;
                assert_eq!(s, StatusCode::OK);
                took.push(t.elapsed());
            }
            (took, ids)
        }));
    }
    let mut took = Vec::new();
    let mut ids = Vec::new();
    for t in tasks {
        let (t, i) = t.await.expect("a client");
        took.extend(t);
        ids.extend(i);
    }
    let (s, g) = idp
        .call(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "Pushed", "members": []})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let gid = g["id"].as_str().unwrap_or_default().to_string();
    for chunk in ids.chunks(20) {
        let members: Vec<_> = chunk.iter().map(|id| json!({"value": id})).collect();
        let t = Instant::now();
        let r = idp
            .request(
                Method::PATCH,
                &format!("/Groups/{gid}"),
                Some(common::patch(
                    json!([{"op": "add", "path": "members", "value": members}]),
                )),
            )
            .await;
        assert!(r.status.is_success());
        took.push(t.elapsed());
    }
    took.sort();
    (
        started.elapsed(),
        ms(took[took.len() / 2]),
        ms(took[took.len() - 1]),
    )
}

fn options(dir: &std::path::Path) -> StackOptions {
    let mut o = StackOptions::new(
        EmulatorConfig::new("bench", "pat", "secret"),
        dir.to_path_buf(),
        TOKEN,
    );
    o.server.workers = 2;
    o
}

#[tokio::main]
async fn main() {
    let cluster = PgCluster::start();
    println!("{USERS} users by {CLIENTS} clients (lookup + POST, PATCH role, GET), a group push in PATCHes of 20; release build");
    println!(
        "{:<12} {:>10} {:>12} {:>12} {:>12}",
        "store", "wall s", "median ms", "slowest ms", "requests/s"
    );
    for round in 0..2 {
        for backend in ["SQLite", "PostgreSQL"] {
            let dir = tempdir();
            let store: Option<Arc<dyn Store>> = match backend {
                "PostgreSQL" => Some(Arc::new(
                    PgStore::connect(&cluster.database(&format!("bench{round}")), None)
                        .await
                        .expect("PostgreSQL"),
                )),
                _ => None,
            };
            let stack = Stack::start_on(options(dir.path()), store).expect("the stack");
            let idp = Idp::new(&stack.scim_url(), TOKEN);
            let (wall, median, worst) = mix(&idp).await;
            let requests = USERS * 4 + USERS.div_ceil(20) + 1;
            println!(
                "{backend:<12} {:>10.2} {median:>12.2} {worst:>12.2} {:>12.0}",
                wall.as_secs_f64(),
                requests as f64 / wall.as_secs_f64()
            );
            stack.run_until(async {}).await.expect("stops");
        }
    }
}
