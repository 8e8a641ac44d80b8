//! Tableau calls per SCIM flow, read from the emulator's counters, beside the minimum a perfect
//! bridge would need: `cargo bench --bench tableau_calls`. Sign-in is warmed up first and not
//! counted.

use reqwest::{Client, Method};
use serde_json::{json, Value};
use tableau_scim::stack::{Stack, StackOptions};
use tableau_scim::tableau::emulator::EmulatorConfig;
use tableau_scim::tableau::SiteRole;

const TOKEN: &str = "bench-calls-token-123456";

async fn call(http: &Client, method: Method, url: &str, body: Option<Value>) -> Value {
    let mut req = http.request(method, url).bearer_auth(TOKEN);
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/scim+json")
            .body(b.to_string());
    }
    match req.send().await {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(e) => panic!("{url}: {e}"),
    }
}

fn calls(stack: &Stack) -> u64 {
    stack.emulator.with_state(|s| s.total_calls()).unwrap_or(0)
}

fn reset(stack: &Stack) {
    stack.emulator.with_state(|s| s.reset_stats());
}

#[tokio::main]
async fn main() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let stack = match Stack::start(StackOptions::new(
        EmulatorConfig::new("bench", "pat", "secret"),
        dir.path().to_path_buf(),
        TOKEN,
    )) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
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
    let http = Client::new();
    let base = stack.scim_url();
    // Warm up: version discovery and sign-in happen once per process, not per operation.
    call(&http, Method::GET, &format!("{base}/Users?count=0"), None).await;
    let mut rows: Vec<(&str, u64, u64)> = Vec::new();

    reset(&stack);
    call(&http, Method::GET, &format!("{base}/Users?filter=userName%20eq%20%22okta.new%40example.com%22&startIndex=1&count=100"), None).await;
    let okta = call(&http, Method::POST, &format!("{base}/Users"), Some(json!({"userName":"okta.new@example.com","name":{"givenName":"Okta","familyName":"New"},"emails":[{"value":"okta.new@example.com","primary":true}],"password":"x","active":true}))).await;
    // Lookup 1; Add User 1; Update User 1 for fullName and email (Add User cannot set the name).
    rows.push(("Okta create (lookup + POST)", calls(&stack), 3));

    reset(&stack);
    call(
        &http,
        Method::GET,
        &format!("{base}/Users?filter=userName+eq+%22entra.new%40example.com%22"),
        None,
    )
    .await;
    call(&http, Method::POST, &format!("{base}/Users"), Some(json!({"userName":"entra.new@example.com","externalId":"e1","active":"True","name":{"formatted":"Entra New"},"emails":[{"value":"entra.new@example.com","type":"work","primary":true}],"roles":[]}))).await;
    rows.push(("Entra create (lookup + POST)", calls(&stack), 3));

    let uid = okta["id"].as_str().unwrap_or_default().to_string();
    reset(&stack);
    call(
        &http,
        Method::PATCH,
        &format!("{base}/Users/{uid}"),
        Some(json!({"Operations":[{"op":"replace","path":"roles","value":[{"value":"Creator"}]}]})),
    )
    .await;
    rows.push(("PATCH role change", calls(&stack), 1));

    reset(&stack);
    call(
        &http,
        Method::PATCH,
        &format!("{base}/Users/{uid}"),
        Some(json!({"Operations":[{"op":"replace","value":{"active":false}}]})),
    )
    .await;
    rows.push(("deactivate", calls(&stack), 1));

    let page = call(
        &http,
        Method::GET,
        &format!("{base}/Users?startIndex=1&count=1000"),
        None,
    )
    .await;
    let members: Vec<Value> = page["Resources"]
        .as_array()
        .map(|a| a.iter().map(|u| json!({"value": u["id"]})).collect())
        .unwrap_or_default();
    reset(&stack);
    let g = call(
        &http,
        Method::POST,
        &format!("{base}/Groups"),
        Some(json!({"displayName":"Pushed","members":[]})),
    )
    .await;
    let gid = g["id"].as_str().unwrap_or_default().to_string();
    call(
        &http,
        Method::PATCH,
        &format!("{base}/Groups/{gid}"),
        Some(json!({"Operations":[{"op":"add","path":"members","value":members}]})),
    )
    .await;
    // Create Group 1; one bulk Add Users to Group (API 3.21+) 1.
    rows.push(("group push of 1,000 members", calls(&stack), 2));

    // Import, cold: pages of 200 over the whole directory.
    stack.tenant().caches.user_pages.invalidate_all();
    reset(&stack);
    let mut start = 1;
    loop {
        let p = call(
            &http,
            Method::GET,
            &format!("{base}/Users?startIndex={start}&count=200"),
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
    rows.push(("full import, count=200", calls(&stack), minimum));

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
