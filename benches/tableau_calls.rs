//! Tableau calls per SCIM flow, read from the emulator's counters, beside the minimum a perfect
//! bridge would need: `cargo bench --bench tableau_calls`. Sign-in is warmed up first and not
//! counted.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Idp, Site};
use reqwest::Method;
use serde_json::{json, Value};
use tableau_scim::tableau::emulator::{EmulatorConfig, Flavor};
use tableau_scim::tableau::SiteRole;

const TOKEN: &str = "bench-calls-token-123456";

/// The body of a SCIM answer (a failed request fails the benchmark).
async fn call(idp: &Idp, method: Method, path: &str, body: Option<Value>) -> Value {
    idp.call(method, path, body).await.1
}

#[tokio::main]
async fn main() {
    let site = Site::start(EmulatorConfig::new("bench", "pat", "secret"), TOKEN, |_| {});
    let stack = &site.stack;
    stack.emulator.with_state(|s| {
        for i in 0..9_999 {
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
    // Lookup 1; Add User 1; Update User 1 for fullName and email (Add User cannot set the name).
    rows.push(("Okta create (lookup + POST)", site.tableau_calls(), 3));

    site.reset_calls();
    call(
        idp,
        Method::GET,
        "/Users?filter=userName+eq+%22entra.new%40example.com%22",
        None,
    )
    .await;
    call(idp,Method::POST, "/Users", Some(json!({"userName":"entra.new@example.com","externalId":"e1","active":"True","name":{"formatted":"Entra New"},"emails":[{"value":"entra.new@example.com","type":"work","primary":true}],"roles":[]}))).await;
    rows.push(("Entra create (lookup + POST)", site.tableau_calls(), 3));

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

    // Import, cold: pages of 200 over the whole directory.
    stack.tenant().caches.user_pages.invalidate_all();
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

    rows.extend(cloud_rows().await);

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
    let over: Vec<&str> = rows
        .iter()
        .filter(|(_, got, min)| got != min)
        .map(|(n, _, _)| *n)
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
    rows.push(("Cloud: Entra create (lookup+POST)", site.tableau_calls(), 2));
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
