//! `tableau-scim preview`: an administrator about to change an IdP's assignments previews the
//! transcript of SCIM requests it would send. The preview reads the site, plays the
//! transcript on a copy, and prints each Tableau call; Tableau and the store are left as they
//! were. Then the IdP really sends the same requests, and the calls Tableau receives are the
//! ones the preview printed, request by request.

use std::path::Path;

use crate::common;

use common::flows::creator_seed;
use common::{fast_retry, id, patch, Site};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tableau_scim::bridge::mapping::roles::RoleMapping;
use tableau_scim::bridge::policy::Deprovision;
use tableau_scim::emulator::{EmulatorConfig, Flavor};
use tableau_scim::tableau::content::ContentKind;
use tableau_scim::tableau::SiteRole;

const TOKEN: &str = "preview-test-token";
const CUSTODIAN: &str = "custodian@example.com";

/// A Tableau Cloud site whose tenant hands a departing user's content to a custodian.
fn site(max_changes: u64) -> Site {
    let emu = EmulatorConfig::new("acme", "pat", "pat-secret");
    Site::start(emu, TOKEN, |o| {
        o.set_flavor(Flavor::Cloud);
        o.tenant.retry = fast_retry();
        o.tenant.roles = RoleMapping::new(
            [
                ("creator".to_string(), SiteRole::Creator),
                ("explorer".to_string(), SiteRole::Explorer),
                ("viewer".to_string(), SiteRole::Viewer),
            ],
            [],
            SiteRole::Viewer,
        );
        o.tenant.policy.deprovision = Deprovision::Transfer;
        o.tenant.policy.custodian = Some(CUSTODIAN.into());
        o.tenant.policy.safety.max_changes = max_changes;
        o.tenant.policy.safety.max_share = 0.0;
        o.emulator.seed = Some(creator_seed(CUSTODIAN));
    })
}

async fn user(site: &Site, name: &str, role: &str) -> String {
    let (s, u) = site
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(
                json!({"userName": name, "active": true, "roles": [{"value": role}],
                "emails": [{"value": name, "type": "work", "primary": true}]}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    id(&u)
}

async fn group(site: &Site, name: &str, members: &[&String]) -> String {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    let (s, g) = site
        .idp
        .call(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": name, "members": members})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    id(&g)
}

/// Who is on the site with which role, who is in which group, who owns what.
type SiteFacts = (
    Vec<(String, Option<String>)>,
    Vec<(String, Vec<String>)>,
    Vec<(String, Option<String>)>,
);

fn facts(site: &Site) -> SiteFacts {
    site.stack
        .emulator
        .with_state(|s| {
            let users = s
                .user_names()
                .into_iter()
                .map(|n| (n.clone(), s.role_of(&n)))
                .collect();
            let groups = s
                .group_names()
                .into_iter()
                .map(|g| (g.clone(), s.member_names(&g).unwrap_or_default()))
                .collect();
            (users, groups, s.content_owners())
        })
        .unwrap_or_default()
}

/// `tableau-scim preview` as its own process: its exit status, JSON and standard error.
async fn preview(config: &Path, transcript: &Path, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec![
        "preview".to_string(),
        "--config".into(),
        config.display().to_string(),
        "--from".into(),
        transcript.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let json = !extra.contains(&"text");
    if json {
        args.extend(["--format".into(), "json".into()]);
    }
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tableau-scim"))
            .args(&args)
            .env("RUST_LOG", "warn")
            .output()
            .expect("the command runs")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let v = if json {
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("a JSON preview ({e}): {stdout}\n{stderr}"))
    } else {
        Value::String(stdout)
    };
    (out.status.code().unwrap_or(-1), v, stderr)
}

/// The calls of a request that change the site, as the log writes them.
fn changes(calls: &[Value]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c["method"] != "GET" && !c["call"].as_str().unwrap_or("").starts_with("/auth/"))
        .map(|c| {
            format!(
                "{} {} -> {}",
                c["method"].as_str().unwrap_or(""),
                c["call"].as_str().unwrap_or(""),
                c["status"]
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_preview_prints_the_calls_the_real_run_then_makes_and_changes_nothing() {
    let site = site(1_000_000);
    let ann = user(&site, "ann@example.com", "creator").await;
    let bob = user(&site, "bob@example.com", "viewer").await;
    let cy = user(&site, "cy@example.com", "explorer").await;
    let dee = user(&site, "dee@example.com", "viewer").await;
    let sales = group(&site, "Sales", &[&ann, &bob, &cy]).await;
    let ops = group(&site, "Ops", &[&dee]).await;
    site.stack.emulator.with_state(|s| {
        assert!(s
            .seed_item(
                "ann@example.com",
                ContentKind::Workbook,
                "Pipeline",
                Some("Finance")
            )
            .is_some());
        assert!(s
            .seed_item(
                "ann@example.com",
                ContentKind::Datasource,
                "Orders",
                Some("Finance")
            )
            .is_some());
    });
    let dir = common::tempdir();
    let config = site.stack.write_config(dir.path()).expect("config written");

    // What an IdP would send after a reorganisation: Okta's and Entra ID's shapes mixed.
    let transcript: Vec<Value> = vec![
        json!({"method": "PATCH", "path": format!("/Users/{bob}"),
            "body": patch(json!([{"op": "replace", "value": {"active": false}}]))}),
        json!({"method": "PATCH", "path": format!("/Users/{cy}"),
            "body": patch(json!([{"op": "Replace", "path": "roles", "value": [{"value": "creator"}]}]))}),
        json!({"method": "PATCH", "path": format!("https://scim.example.com/scim/v2/Groups/{sales}"),
            "body": patch(json!([{"op": "Remove", "path": "members", "value": [{"value": cy}]},
                                 {"op": "Add", "path": "members", "value": [{"value": dee}]}]))}),
        json!({"method": "POST", "path": "/Users",
            "body": {"userName": "eve@example.com", "active": true, "roles": [{"value": "explorer"}]}}),
        json!({"method": "DELETE", "path": format!("/Users/{ann}")}),
        json!({"method": "DELETE", "path": format!("/Groups/{ops}")}),
        json!({"method": "PATCH", "path": "/Users/no-such-user",
            "body": patch(json!([{"op": "replace", "value": {"active": false}}]))}),
    ];
    let file = dir.path().join("transcript.jsonl");
    let lines: Vec<String> = transcript.iter().map(Value::to_string).collect();
    std::fs::write(&file, lines.join("\n")).expect("transcript written");

    let before = facts(&site);
    site.stack.emulator.with_state(|s| s.start_call_log());
    let (code, p, stderr) = preview(&config, &file, &[]).await;
    assert_eq!(code, 1, "one request would be refused: {stderr}");
    let during = site
        .stack
        .emulator
        .with_state(|s| s.take_call_log().calls)
        .unwrap_or_default();
    assert!(
        during.iter().all(|c| !c.is_change()),
        "the preview only reads the site: {during:?}"
    );
    assert_eq!(facts(&site), before, "Tableau is as it was");

    let played = p["played"].as_array().cloned().unwrap_or_default();
    assert_eq!(played.len(), transcript.len());
    let statuses: Vec<u64> = played
        .iter()
        .map(|r| r["status"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(statuses, vec![200, 200, 204, 201, 204, 204, 404]);
    let impact = &p["impact"];
    assert_eq!(impact["added"], json!(["eve@example.com"]));
    assert_eq!(impact["removed"], json!(["ann@example.com"]));
    assert_eq!(
        impact["content_owners_affected"],
        json!(["ann@example.com"])
    );
    assert_eq!(impact["groups_deleted"], json!(["Ops"]));
    assert!(impact["role_changes"]
        .as_array()
        .is_some_and(|c| c
            .contains(&json!({"user": "bob@example.com", "from": "Viewer", "to": "Unlicensed"}))));
    let previewed: Vec<Vec<String>> = played
        .iter()
        .map(|r| changes(r["calls"].as_array().map_or(&[][..], Vec::as_slice)))
        .collect();
    assert!(
        previewed[4]
            .iter()
            .any(|c| c.contains("{workbook Pipeline}") && c.contains("{custodian@example.com}")),
        "the workbook is handed to the custodian before ann is removed: {:?}",
        previewed[4]
    );

    // The IdP sends the same requests for real.
    site.stack.emulator.with_state(|s| s.start_call_log());
    for (i, r) in transcript.iter().enumerate() {
        let method =
            Method::from_bytes(r["method"].as_str().unwrap_or("").as_bytes()).expect("a method");
        let path = r["path"].as_str().unwrap_or("");
        let path = path.split("/scim/v2").last().unwrap_or(path);
        let body = r.get("body").cloned();
        let (s, answer) = site.idp.call(method, path, body).await;
        assert_eq!(
            u64::from(s.as_u16()),
            statuses[i],
            "request {}: {answer}",
            i + 1
        );
        let real = site
            .stack
            .emulator
            .with_state(|s| s.take_call_log().calls)
            .unwrap_or_default();
        // The preview signed in with the tenant's PAT, which ends serve's session (one
        // session per PAT): serve's first call after it is answered 401 and made again on a
        // new session. That refused call changed nothing, so it is not compared.
        let real: Vec<String> = real
            .iter()
            .filter(|c| c.is_change() && c.status != 401)
            .map(|c| format!("{} {} -> {}", c.method, c.call, c.status))
            .collect();
        assert_eq!(
            real,
            previewed[i],
            "request {} made the calls previewed",
            i + 1
        );
    }
    assert!(
        previewed.iter().map(Vec::len).sum::<usize>() >= 8,
        "{previewed:?}"
    );
    assert_eq!(site.role("bob@example.com").as_deref(), Some("Unlicensed"));
    assert_eq!(site.role("ann@example.com"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_preview_shows_where_the_breaker_would_hold_and_without_it_everything_applied() {
    let site = site(3);
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(user(&site, &format!("u{i}@example.com"), "explorer").await);
    }
    let dir = common::tempdir();
    let config = site.stack.write_config(dir.path()).expect("config written");
    let file = dir.path().join("unassign.jsonl");
    let lines: Vec<String> = ids
        .iter()
        .map(|u| {
            json!({"method": "PATCH", "path": format!("/Users/{u}"),
                "body": patch(json!([{"op": "Replace", "path": "active", "value": "False"}]))})
            .to_string()
        })
        .collect();
    std::fs::write(&file, lines.join("\n")).expect("transcript written");

    let (code, p, stderr) = preview(&config, &file, &[]).await;
    assert_eq!(code, 1, "{stderr}");
    let outcomes: Vec<&str> = p["played"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["outcome"].as_str().unwrap_or(""))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        outcomes,
        vec!["done", "done", "done", "held", "held", "held"]
    );
    assert_eq!(
        p["impact"]["seats"],
        json!([{"tier": "Explorer", "before": 6, "after": 3}])
    );

    let (code, text, stderr) = preview(&config, &file, &["--no-breaker", "--format", "text"]).await;
    assert_eq!(code, 0, "{stderr}");
    let text = text.as_str().unwrap_or("");
    assert!(text.contains("Explorer seats: 6 -> 0 (6 freed)"), "{text}");
    assert!(text.contains("role changes (6)"), "{text}");
    assert!(
        text.contains("PUT /users/{u5@example.com} user.siteRole=Unlicensed -> 200"),
        "{text}"
    );

    // Nothing was held, counted or changed for real: the IdP's own six deactivations meet
    // the breaker at the threshold, as they would have without any preview.
    let holds = site.stack.tenant().holds().await.expect("holds");
    assert!(
        holds.is_empty(),
        "the preview's holds were in its copy of the store"
    );
    assert_eq!(site.role("u0@example.com").as_deref(), Some("Explorer"));
    let mut statuses = Vec::new();
    for u in &ids {
        let (s, _) = site
            .idp
            .call(
                Method::PATCH,
                &format!("/Users/{u}"),
                Some(patch(
                    json!([{"op": "replace", "value": {"active": false}}]),
                )),
            )
            .await;
        statuses.push(s.as_u16());
    }
    assert_eq!(statuses, vec![200, 200, 200, 503, 503, 503]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_transcript_is_refused_before_the_site_is_read() {
    let site = site(1_000_000);
    let dir = common::tempdir();
    let config = site.stack.write_config(dir.path()).expect("config written");
    let file = dir.path().join("bad.jsonl");
    std::fs::write(
        &file,
        "{\"method\":\"GET\",\"path\":\"/Users\"}\n{\"method\":\"POST\",\"path\":\"/Users\"}\n",
    )
    .expect("written");
    site.reset_calls();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tableau-scim"))
            .args(["preview", "--config"])
            .arg(&config)
            .arg("--from")
            .arg(&file)
            .output()
            .expect("runs")
    })
    .await
    .expect("join");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2: a POST needs a body"), "{err}");
    assert_eq!(site.tableau_calls(), 0, "nothing read from Tableau");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_csv_of_the_intended_state_is_previewed_as_the_requests_that_reach_it() {
    let site = site(1_000_000);
    let ann = user(&site, "ann@example.com", "creator").await;
    let bob = user(&site, "bob@example.com", "viewer").await;
    user(&site, "cy@example.com", "explorer").await;
    group(&site, "Sales", &[&ann, &bob]).await;
    let dir = common::tempdir();
    let config = site.stack.write_config(dir.path()).expect("config written");
    let file = dir.path().join("intended.csv");
    std::fs::write(
        &file,
        "userName,role,groups\nann@example.com,explorer,\"Sales; Ops\"\ndan@example.com,viewer,Sales\n",
    )
    .expect("written");
    let before = facts(&site);

    let (code, p, stderr) = preview(&config, &file, &[]).await;
    assert_eq!(code, 0, "{stderr} {p:#}");
    assert_eq!(facts(&site), before, "Tableau is as it was");
    let shape: Vec<String> = p["played"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    format!(
                        "{} {}",
                        r["method"].as_str().unwrap_or(""),
                        r["path"]
                            .as_str()
                            .unwrap_or("")
                            .split('?')
                            .next()
                            .unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        shape,
        vec![
            "GET /Users".to_string(),
            format!("PATCH /Users/{ann}"),
            "POST /Users".into(),
            format!("PATCH /Users/{bob}"),
            shape[4].clone(),
            "GET /Groups".into(),
            "POST /Groups".into(),
            shape[7].clone(),
        ]
    );
    assert!(
        shape[4].starts_with("PATCH /Users/") && shape[7].starts_with("PATCH /Groups/"),
        "{shape:?}"
    );
    let i = &p["impact"];
    assert_eq!(i["added"], json!(["dan@example.com"]));
    assert_eq!(i["groups_created"], json!(["Ops"]));
    let changes: Vec<String> = i["role_changes"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|c| {
                    format!(
                        "{} {}",
                        c["user"].as_str().unwrap_or(""),
                        c["to"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        changes,
        vec![
            "ann@example.com Explorer",
            "bob@example.com Unlicensed",
            "cy@example.com Unlicensed"
        ]
    );
    assert_eq!(
        (
            i["memberships_added"].as_u64(),
            i["memberships_removed"].as_u64()
        ),
        (Some(1), Some(1))
    );
}
