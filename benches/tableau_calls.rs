//! Tableau calls per SCIM flow, read from the emulator's counters, beside the minimum a perfect
//! bridge would need: `cargo bench --bench tableau_calls`. Sign-in is warmed up first and not
//! counted.

// A bench, like a test, stops loudly on a broken assumption (clippy.toml lets tests do so).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // each bench uses a part of what the tests share
#[path = "../tests/it/common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Idp, Site};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tableau_scim::emulator::{EmulatorConfig, Flavor};
use tableau_scim::tableau::SiteRole;

const TOKEN: &str = "bench-calls-token-123456";

/// Users of the initial-sync rows.
const SYNC_USERS: usize = 10_000;

/// How an IdP writes a lookup and a create.
#[derive(Debug, Clone, Copy)]
enum Style {
    Okta,
    Entra,
}

/// The body of a SCIM answer (a failed request fails the benchmark).
async fn call(idp: &Idp, method: Method, path: &str, body: Option<Value>) -> Value {
    idp.call(method, path, body).await.1
}

#[tokio::main]
async fn main() {
    let site = Site::start(EmulatorConfig::new("bench", "pat", "secret"), TOKEN, |_| {});
    let stack = &site.stack;
    stack.emulator.with_state(|s| {
        for i in 0..10_099 {
            let _ = s.add_user(
                &format!("import{i:05}@example.com"),
                SiteRole::Viewer,
                None,
                None,
                None,
            );
        }
    });
    let idp = &site.idp;
    // Warm up: version discovery and sign-in happen once per process, not per operation.
    call(idp, Method::GET, "/Users?count=0", None).await;
    let mut rows: Vec<(&str, u64, u64)> = Vec::new();

    site.reset_calls();
    call(
        idp,
        Method::GET,
        "/Users?filter=userName%20eq%20%22okta.new%40example.com%22&startIndex=1&count=100",
        None,
    )
    .await;
    let okta = call(idp,Method::POST, "/Users", Some(json!({"userName":"okta.new@example.com","name":{"givenName":"Okta","familyName":"New"},"emails":[{"value":"okta.new@example.com","primary":true}],"password":"x","active":true}))).await;
    // Lookup 0 (the name index holds every name of the site); Add User 1; Update User 1 for
    // fullName and email (Add User cannot set the name on Server).
    rows.push(("Okta create (lookup + POST)", site.tableau_calls(), 2));

    site.reset_calls();
    call(
        idp,
        Method::GET,
        "/Users?filter=userName+eq+%22entra.new%40example.com%22",
        None,
    )
    .await;
    call(idp,Method::POST, "/Users", Some(json!({"userName":"entra.new@example.com","externalId":"e1","active":"True","name":{"formatted":"Entra New"},"emails":[{"value":"entra.new@example.com","type":"work","primary":true}],"roles":[]}))).await;
    rows.push(("Entra create (lookup + POST)", site.tableau_calls(), 2));

    let uid = okta["id"].as_str().unwrap_or_default().to_string();
    site.reset_calls();
    call(
        idp,
        Method::PATCH,
        &format!("/Users/{uid}"),
        Some(json!({"Operations":[{"op":"replace","path":"roles","value":[{"value":"Creator"}]}]})),
    )
    .await;
    rows.push(("PATCH role change", site.tableau_calls(), 1));

    site.reset_calls();
    call(
        idp,
        Method::PATCH,
        &format!("/Users/{uid}"),
        Some(json!({"Operations":[{"op":"replace","value":{"active":false}}]})),
    )
    .await;
    rows.push(("deactivate", site.tableau_calls(), 1));

    let page = call(idp, Method::GET, "/Users?startIndex=1&count=1000", None).await;
    let members: Vec<Value> = page["Resources"]
        .as_array()
        .map(|a| a.iter().map(|u| json!({"value": u["id"]})).collect())
        .unwrap_or_default();
    site.reset_calls();
    let g = call(
        idp,
        Method::POST,
        "/Groups",
        Some(json!({"displayName":"Pushed","members":[]})),
    )
    .await;
    let gid = g["id"].as_str().unwrap_or_default().to_string();
    call(
        idp,
        Method::PATCH,
        &format!("/Groups/{gid}"),
        Some(json!({"Operations":[{"op":"add","path":"members","value":members}]})),
    )
    .await;
    // Create Group 1; one bulk Add Users to Group (API 3.21+) 1.
    rows.push(("group push of 1,000 members", site.tableau_calls(), 2));

    // Members already in the group: nothing to change in Tableau.
    site.reset_calls();
    let again: Vec<Value> = members.iter().take(10).cloned().collect();
    call(
        idp,
        Method::PATCH,
        &format!("/Groups/{gid}"),
        Some(json!({"Operations":[{"op":"add","path":"members","value":again}]})),
    )
    .await;
    rows.push(("re-adding 10 present members", site.tableau_calls(), 0));
    let (big, timing) = large_group(&site).await;
    rows.push(big);

    // Import, cold: pages of 200 over the whole directory.
    stack.tenant().forget_user_pages();
    site.reset_calls();
    let mut start = 1;
    loop {
        let p = call(
            idp,
            Method::GET,
            &format!("/Users?startIndex={start}&count=200"),
            None,
        )
        .await;
        let n = p["Resources"].as_array().map_or(0, Vec::len);
        if n == 0 {
            break;
        }
        start += n;
    }
    let total = start - 1;
    let minimum = u64::try_from(total.div_ceil(1000)).unwrap_or(0);
    rows.push(("full import, count=200", site.tableau_calls(), minimum));

    // Reconciliation of the whole site (dry run): one call per 1,000 users, the group list,
    // and the member listings of the three managed groups (one call per 1,000 members each).
    // Nothing has drifted, so no Query Site.
    site.reset_calls();
    let t = Instant::now();
    let report = stack
        .tenant()
        .reconcile(
            tableau_scim::bridge::reconcile::Options::default(),
            &tableau_scim::bridge::reconcile::Silent,
        )
        .await;
    let took = t.elapsed();
    assert!(report.complete, "{:?}", report.errors);
    let users = stack
        .emulator
        .with_state(|s| s.user_names().len())
        .unwrap_or(0);
    let pages = u64::try_from(users.div_ceil(1000)).unwrap_or(0);
    let member_pages: u64 = ["Pushed", "Large", "Small"]
        .iter()
        .map(|g| u64::try_from(site.members(g).len().div_ceil(1000).max(1)).unwrap_or(0))
        .sum();
    rows.push((
        "reconcile, whole site (dry run)",
        site.tableau_calls(),
        pages + 1 + member_pages,
    ));
    let reconcile_timing = format!(
        "reconcile of {users} users and 3 managed groups: {:.0} ms, {} findings ({} unmanaged), {} drift",
        ms(took),
        report.findings.len(),
        report.counts.get("unmanaged").copied().unwrap_or(0),
        report.remaining_drift()
    );

    rows.extend(cloud_rows().await);
    let mut bounded = Vec::new();
    for flavor in [Flavor::Server, Flavor::Cloud] {
        for style in [Style::Okta, Style::Entra] {
            bounded.push(initial_sync(flavor, style, SYNC_USERS).await);
        }
    }

    println!(
        "{:<32} {:>8} {:>8} {:>7}",
        "flow", "calls", "minimum", "ratio"
    );
    for (name, got, min) in &rows {
        println!(
            "{name:<32} {got:>8} {min:>8} {:>7.2}",
            *got as f64 / (*min).max(1) as f64
        );
    }
    println!("(import read {total} users)");
    println!();
    println!(
        "{:<40} {:>8} {:>8} {:>7}",
        "initial sync", "calls", "bound", "ratio"
    );
    for (name, got, bound) in &bounded {
        println!(
            "{name:<40} {got:>8} {bound:>8} {:>7.3}",
            *got as f64 / (*bound).max(1) as f64
        );
    }
    println!();
    println!("{timing}");
    println!("{reconcile_timing}");
    let over: Vec<String> = rows
        .iter()
        .filter(|(_, got, min)| got != min)
        .map(|(n, _, _)| n.to_string())
        .chain(
            bounded
                .iter()
                .filter(|(_, got, bound)| got > bound)
                .map(|(n, _, _)| n.clone()),
        )
        .collect();
    if !over.is_empty() {
        eprintln!("not at the minimum: {over:?}");
        std::process::exit(1);
    }
}

/// Tableau Cloud: Add User carries the email (API 3.26 on), and the full name stays in
/// tableau-scim, so a create is one call and a name change none.
async fn cloud_rows() -> Vec<(&'static str, u64, u64)> {
    let site = Site::start(EmulatorConfig::new("bench", "pat", "secret"), TOKEN, |o| {
        o.set_flavor(Flavor::Cloud)
    });
    let idp = &site.idp;
    call(idp, Method::GET, "/Users?count=0", None).await;
    let mut rows = Vec::new();
    site.reset_calls();
    let created = call(idp, Method::POST, "/Users", Some(json!({"userName":"cloud.new@example.com","name":{"givenName":"Cloud","familyName":"New"},"emails":[{"value":"cloud.new@example.com","primary":true}],"password":"x","active":true}))).await;
    rows.push(("Cloud: POST /Users", site.tableau_calls(), 1));
    site.reset_calls();
    call(
        idp,
        Method::GET,
        "/Users?filter=userName+eq+%22entra.cloud%40example.com%22",
        None,
    )
    .await;
    call(idp, Method::POST, "/Users", Some(json!({"userName":"entra.cloud@example.com","externalId":"e2","active":"True","name":{"formatted":"Entra Cloud"},"emails":[{"value":"entra.cloud@example.com","type":"work","primary":true}],"roles":[]}))).await;
    rows.push(("Cloud: Entra create (lookup+POST)", site.tableau_calls(), 1));
    let uid = created["id"].as_str().unwrap_or_default().to_string();
    site.reset_calls();
    call(
        idp,
        Method::PATCH,
        &format!("/Users/{uid}"),
        Some(json!({"Operations":[{"op":"replace","path":"name.givenName","value":"Clouded"}]})),
    )
    .await;
    rows.push(("Cloud: name change", site.tableau_calls(), 0));
    rows
}

/// An IdP's first sync of `n` users the site does not have, 8 requests in flight: for each a
/// `userName eq` lookup (404-free: an empty list) and a create. The count includes the start
/// (server info, sign-in, the first listing of the site's names). The bound is the issue's:
/// the calls that change Tableau (Server 2 per user, Cloud 1) plus one per 1,000 users and 3.
async fn initial_sync(flavor: Flavor, style: Style, n: usize) -> (String, u64, u64) {
    let site = Site::start(EmulatorConfig::new("sync", "pat", "secret"), TOKEN, |o| {
        o.set_flavor(flavor)
    });
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (idp, next) = (site.idp.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                sync_one(&idp, style, i).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("a sync worker ends");
    }
    let calls = site.startup_calls + site.tableau_calls();
    let per_user = match flavor {
        Flavor::Cloud => 1,
        _ => 2,
    };
    let bound = (per_user * n + n.div_ceil(1000) + 3) as u64;
    (
        format!("{flavor:?}, {style:?}, {n} new users"),
        calls,
        bound,
    )
}

async fn sync_one(idp: &Idp, style: Style, i: usize) {
    let name = format!("sync{i:05}@example.com");
    let (lookup, body) = match style {
        Style::Okta => (
            format!("/Users?filter=userName%20eq%20%22sync{i:05}%40example.com%22&startIndex=1&count=100"),
            json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":name,"name":{"givenName":"Sync","familyName":i.to_string()},"emails":[{"value":name,"primary":true,"type":"work"}],"active":true}),
        ),
        Style::Entra => (
            format!("/Users?filter=userName+eq+%22sync{i:05}%40example.com%22"),
            json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"userName":name,"externalId":format!("e{i}"),"active":"True","displayName":format!("Sync {i}"),"name":{"formatted":format!("Sync {i}"),"givenName":"Sync","familyName":i.to_string()},"emails":[{"value":name,"type":"work","primary":true}],"roles":[]}),
        ),
    };
    let (s, found) = idp.get(&lookup).await;
    assert_eq!(s, StatusCode::OK, "{found}");
    assert_eq!(found["totalResults"], 0, "{name} is new");
    let (s, created) = idp.call(Method::POST, "/Users", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
}

/// A group of 10,000 members, then 20 PATCHes each adding one new member, as an IdP pushes a
/// membership change: one Tableau call each and no body. Timed beside the same PATCHes on a
/// group of 10 members, in the same run.
async fn large_group(site: &Site) -> ((&'static str, u64, u64), String) {
    let idp = &site.idp;
    let mut ids = Vec::new();
    let mut start = 1;
    while ids.len() < 10_040 {
        let p = call(
            idp,
            Method::GET,
            &format!("/Users?startIndex={start}&count=1000"),
            None,
        )
        .await;
        let page: Vec<String> = p["Resources"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| u["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if page.is_empty() {
            break;
        }
        start += page.len();
        ids.extend(page);
    }
    assert!(ids.len() >= 10_040, "the site has {} users", ids.len());
    let (members, extra) = ids.split_at(10_000);
    let mut times = Vec::new();
    let mut calls = 0;
    for (name, size) in [("Large", 10_000), ("Small", 10)] {
        let value: Vec<Value> = members[..size]
            .iter()
            .map(|id| json!({"value": id}))
            .collect();
        let g = call(
            idp,
            Method::POST,
            "/Groups",
            Some(json!({"displayName": name, "members": value})),
        )
        .await;
        let gid = g["id"].as_str().unwrap_or_default().to_string();
        let mut took = Vec::new();
        let extra = if size == 10 {
            &extra[20..40]
        } else {
            &extra[..20]
        };
        site.reset_calls();
        for uid in extra {
            let t = Instant::now();
            let reply = idp
                .request(
                    Method::PATCH,
                    &format!("/Groups/{gid}"),
                    Some(json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":uid}]}]})),
                )
                .await;
            took.push(t.elapsed());
            assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
            assert!(reply.body.is_null());
        }
        if size == 10_000 {
            calls = site.tableau_calls();
        }
        took.sort();
        times.push((name, size, took[took.len() / 2], took[took.len() - 1]));
    }
    let timing = times
        .iter()
        .map(|(name, size, median, worst)| {
            format!(
                "PATCH +1 member, {name} group of {size}: median {:.2} ms, slowest {:.2} ms (20 PATCHes, 204)",
                ms(*median),
                ms(*worst)
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    (
        ("PATCH +1 member x20, 10,000-member group", calls, 20),
        timing,
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
