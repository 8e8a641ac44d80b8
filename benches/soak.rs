//! The fault soak: `cargo bench --bench soak` provisions `SOAK_USERS` (2000) users and
//! `SOAK_GROUPS` (50) groups Okta-style and Entra-style while the emulator injects 10% 5xx,
//! a rate limit of 100 calls/s (429 with Retry-After past it), session expiry every 200 calls,
//! dropped connections and 2 s stalls (`SOAK_RATE_LIMIT`: another rate, 0 for none);
//! then compares Tableau with what the IdP asked for and counts lost, duplicated and wrong
//! objects (all must be zero) and retries, and the time against the rate limit's bound
//! (`SOAK_TRACE=1` prints the tenant's limits and calls each second). The IdP side retries a
//! failed request as Okta and Entra do, and links a user that a 409 says exists.
//! `SOAK_FLAVOR=cloud` runs it on Tableau Cloud's rules, where no Update User may carry
//! `fullName` or `name`.

// A bench, like a test, stops loudly on a broken assumption (clippy.toml lets tests do so).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[allow(dead_code)] // each bench uses a part of what the tests share
#[path = "../tests/it/common/mod.rs"]
mod common;

use common::{id, Idp, Site};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use tableau_scim::bridge::mapping::roles::RoleMapping;
use tableau_scim::emulator::{EmulatorConfig, Faults, Flavor};
use tableau_scim::tableau::retry::RetryPolicy;
use tableau_scim::tableau::SiteRole;

const TOKEN: &str = "soak-token-0123456789";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One IdP request, retried until it gets an answer that is not a fault.
async fn idp(
    client: &Idp,
    method: Method,
    path: &str,
    body: Option<Value>,
    idp_retries: &std::sync::atomic::AtomicU64,
) -> (StatusCode, Value) {
    for attempt in 0..60 {
        if let Ok((s, v)) = client.try_call(method.clone(), path, body.clone()).await {
            if !(s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS) {
                return (s, v);
            }
        }
        idp_retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(50 * (attempt + 1).min(10))).await;
    }
    panic!("{method} {path} never succeeded");
}

async fn create_user(client: &Idp, body: Value, retries: &std::sync::atomic::AtomicU64) -> String {
    let name = body["userName"].as_str().unwrap_or_default().to_string();
    loop {
        let (s, v) = idp(client, Method::POST, "/Users", Some(body.clone()), retries).await;
        match s {
            StatusCode::CREATED => return id(&v),
            StatusCode::CONFLICT => {
                let q = format!(
                    "/Users?filter=userName%20eq%20%22{}%22",
                    name.replace('@', "%40")
                );
                let (_, l) = idp(client, Method::GET, &q, None, retries).await;
                if l["totalResults"] == 1 {
                    return id(&l["Resources"][0]);
                }
            }
            other => panic!("create {name}: {other} {v}"),
        }
    }
}

#[tokio::main]
async fn main() {
    let users = env("SOAK_USERS", 2000);
    let groups = env("SOAK_GROUPS", 50);
    let mut emu = EmulatorConfig::new("soak", "pat", "secret");
    emu.faults = Faults {
        rate_5xx: 0.10,
        // Tableau's 429 is an answer to too many calls: a rate limit (100 calls per second, a
        // burst of 20) rather than a random share. The bridge now slows every call of the
        // tenant at a 429 (and waits out its Retry-After), which a random 429 on 5% of calls
        // would turn into a crawl no Tableau causes.
        rate_limit_per_sec: Some(env("SOAK_RATE_LIMIT", 100) as f64).filter(|r| *r > 0.0),
        rate_limit_burst: Some(20.0),
        expire_session_after: Some(200),
        rate_drop: 0.02,
        rate_stall: 0.002,
        stall_ms: 2000,
        ..Faults::default()
    };
    let cloud = std::env::var("SOAK_FLAVOR").is_ok_and(|f| f.eq_ignore_ascii_case("cloud"));
    let site = Site::start(emu, TOKEN, |o| {
        if cloud {
            o.set_flavor(Flavor::Cloud);
        }
        o.tenant.roles = RoleMapping::new(
            [("analyst".to_string(), SiteRole::Explorer)],
            [],
            SiteRole::Viewer,
        );
        o.tenant.retry = RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(500),
            max_total: Duration::from_secs(30),
        };
    });
    let stack = &site.stack;
    // Stalls last 2 s: the IdP waits longer than that.
    let patient = Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap_or_default();
    let client = Idp::with_client(&stack.scim_url(), TOKEN, patient);
    let retries = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    if std::env::var_os("SOAK_TRACE").is_some() {
        // Each second: the tenant's calls in flight, its call rate, 429s so far and the calls
        // of that second, to see where a slow run lost its time.
        let t = site.stack.tenant().clone();
        tokio::spawn(async move {
            let mut last = 0;
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let (window, rate, throttled) = t.tableau_limits();
                let calls = t.tableau_stats().total_calls();
                eprintln!(
                    "{:>4.0} s: {window} in flight, {:.1} calls/s allowed, {throttled} 429s, {} calls",
                    started.elapsed().as_secs_f64(),
                    rate.unwrap_or(0.0),
                    calls - last
                );
                last = calls;
            }
        });
    }
    // What the IdP asks for: user i is an "analyst" (Explorer) when i % 3 == 0, else Viewer;
    // users 0..half are Okta-style, the rest Entra-style; user i is in group i % groups.
    let mut expected_roles: BTreeMap<String, &str> = BTreeMap::new();
    let mut tasks = Vec::new();
    let chunk = users.div_ceil(8);
    for w in 0..8 {
        let (client, retries) = (client.clone(), retries.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in (w * chunk)..((w + 1) * chunk).min(users) {
                let name = format!("soak{i:05}@example.com");
                let roles = if i % 3 == 0 { json!([{"value":"analyst","primary":true}]) } else { json!([]) };
                let body = if i < users / 2 {
                    json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":name,"name":{"givenName":"S","familyName":i.to_string()},"emails":[{"primary":true,"value":name,"type":"work"}],"password":"x","active":true,"roles":roles})
                } else {
                    json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"externalId":format!("ext-{i}"),"userName":name,"active":"True","emails":[{"primary":true,"type":"work","value":name}],"name":{"formatted":format!("S {i}")},"roles":roles})
                };
                ids.push((i, create_user(&client, body, &retries).await));
            }
            ids
        }));
    }
    let mut ids: BTreeMap<usize, String> = BTreeMap::new();
    for t in tasks {
        if let Ok(v) = t.await {
            ids.extend(v);
        }
    }
    for i in 0..users {
        expected_roles.insert(
            format!("soak{i:05}@example.com"),
            if i % 3 == 0 { "Explorer" } else { "Viewer" },
        );
    }
    let mut expected_members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for g in 0..groups {
        let gname = format!("Soak Group {g:02}");
        let (s, v) = idp(
            &client,
            Method::POST,
            "/Groups",
            Some(json!({"displayName": gname})),
            &retries,
        )
        .await;
        let gid = if s == StatusCode::CREATED {
            id(&v)
        } else {
            let (_, l) = idp(
                &client,
                Method::GET,
                &format!(
                    "/Groups?filter=displayName%20eq%20%22{}%22",
                    gname.replace(' ', "%20")
                ),
                None,
                &retries,
            )
            .await;
            id(&l["Resources"][0])
        };
        let members: Vec<Value> = (0..users)
            .filter(|i| i % groups == g)
            .filter_map(|i| ids.get(&i))
            .map(|id| json!({"value": id}))
            .collect();
        for batch in members.chunks(100) {
            let op = if g % 2 == 0 { "add" } else { "Add" };
            idp(&client, Method::PATCH, &format!("/Groups/{gid}"), Some(json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":op,"path":"members","value":batch}]})), &retries).await;
        }
        expected_members.insert(
            gname,
            (0..users)
                .filter(|i| i % groups == g)
                .map(|i| format!("soak{i:05}@example.com"))
                .collect(),
        );
    }
    let took = started.elapsed();
    let dump = stack.emulator.with_state(|s| {
        (
            s.user_names(),
            expected_roles
                .keys()
                .map(|n| (n.clone(), s.role_of(n)))
                .collect::<Vec<_>>(),
            expected_members
                .keys()
                .map(|g| (g.clone(), s.member_names(g)))
                .collect::<Vec<_>>(),
        )
    });
    let Some((names, roles, members)) = dump else {
        panic!("emulator state")
    };
    let mut lost = 0;
    let mut duplicated = 0;
    let mut wrong = 0;
    for (name, role) in &roles {
        let count = names.iter().filter(|n| *n == name).count();
        match count {
            0 => lost += 1,
            1 => {}
            _ => duplicated += count - 1,
        }
        if role.as_deref() != expected_roles.get(name).copied() && count > 0 {
            wrong += 1;
        }
    }
    let mut wrong_groups = 0;
    for (g, got) in &members {
        let got: BTreeSet<String> = got.clone().unwrap_or_default().into_iter().collect();
        if Some(&got) != expected_members.get(g) {
            wrong_groups += 1;
        }
    }
    let stats = stack.tenant().tableau_stats();
    let names_sent = stack
        .emulator
        .with_state(|s| {
            s.attribute_sent("Update User", "fullName") + s.attribute_sent("Update User", "name")
        })
        .unwrap_or(u64::MAX);
    println!(
        "soak ({}): {users} users, {groups} groups in {:.1} s",
        if cloud {
            "Tableau Cloud"
        } else {
            "Tableau Server"
        },
        took.as_secs_f64()
    );
    let (window, rate, throttled) = site.stack.tenant().tableau_limits();
    println!("faults: 10% 5xx, a rate limit of 100 calls/s (bucket of 20; 429 with Retry-After), session expiry every 200 calls, 2% dropped connections, 0.2% 2 s stalls");
    println!(
        "429s received {throttled}; limits at the end: {window} in flight, {:.1} calls/s",
        rate.unwrap_or(0.0)
    );
    println!("lost users {lost}, duplicated users {duplicated}, wrong roles {wrong}, wrong group memberships {wrong_groups}");
    if let Some(limit) = std::env::var("SOAK_RATE_LIMIT")
        .ok()
        .map_or(Some(100.0), |v| v.parse::<f64>().ok())
        .filter(|r| *r > 0.0)
    {
        let bound = stats.total_calls() as f64 / limit;
        println!(
            "bound: {} calls at {limit} calls/s = {bound:.1} s; took {:.2}x it (target 1.5x)",
            stats.total_calls(),
            took.as_secs_f64() / bound
        );
    }
    println!(
        "Tableau requests {}, bridge retries {}, sign-ins {}, IdP-side retries {}",
        stats.total_calls(),
        stats.retries,
        stats.sign_ins,
        retries.load(std::sync::atomic::Ordering::Relaxed)
    );
    println!("Update User requests carrying fullName or name: {names_sent}");
    if lost + duplicated + wrong + wrong_groups > 0 || (cloud && names_sent > 0) {
        std::process::exit(1);
    }
}
