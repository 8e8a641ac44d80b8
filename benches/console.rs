//! The admin console's access view at 100,000 users: `cargo bench --bench console`. Each page
//! builds the whole list (from the cached name listing and member lists), filters, sorts and
//! cuts a page, so its time is measured beside a SCIM page of 100 users from the same server in
//! the same run, and its Tableau calls are counted (the bound: one per 1,000 users at
//! most, nothing per user).

// A bench, like a test, stops loudly on a broken assumption (clippy.toml lets tests do so).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // each bench uses a part of what the tests share
#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::Site;
use reqwest::{header, Client, StatusCode};
use tableau_scim::emulator::EmulatorConfig;
use tableau_scim::tableau::SiteRole;

const TOKEN: &str = "bench-console-scim-token-1";
const ADMIN: &str = "bench-console-admin-token-2";
const USERS: usize = 100_000;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median and slowest of `n` timed GETs of `url`.
async fn timed(
    http: &Client,
    url: &str,
    cookie: &str,
    bearer: Option<&str>,
    n: usize,
) -> (f64, f64, usize) {
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..n {
        let mut req = http.get(url).header(header::COOKIE, cookie);
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        let t = Instant::now();
        let resp = req.send().await.expect("an answer");
        assert_eq!(resp.status(), StatusCode::OK, "{url}");
        bytes = resp.bytes().await.map(|b| b.len()).unwrap_or(0);
        times.push(t.elapsed());
    }
    times.sort();
    (ms(times[n / 2]), ms(times[n - 1]), bytes)
}

#[tokio::main]
async fn main() {
    let site = Site::start(EmulatorConfig::new("bench", "pat", "secret"), TOKEN, |o| {
        o.server.admin_tokens = vec![tableau_scim::http::TokenDigest::of(ADMIN)];
        o.server.workers = 2;
    });
    let roles = [
        SiteRole::Viewer,
        SiteRole::Explorer,
        SiteRole::Creator,
        SiteRole::Unlicensed,
    ];
    site.stack.emulator.with_state(|s| {
        let ids: Vec<String> = (0..USERS)
            .filter_map(|i| {
                s.add_user(
                    &format!("user{i:06}@example.com"),
                    roles[i % 4],
                    None,
                    None,
                    None,
                )
                .ok()
                .map(|u| u.id.to_string())
            })
            .collect();
        for g in 0..20 {
            if let Ok(group) = s.create_group(&format!("Team {g:02}"), None) {
                let members: Vec<String> = ids.iter().skip(g).step_by(40).cloned().collect();
                let _ = s.add_members(&group.id, &members, true);
            }
        }
    });
    site.relist_names().await;
    let base = site
        .stack
        .scim_url()
        .trim_end_matches("/scim/v2")
        .to_string();
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    // Sign in as a browser does.
    let form = http
        .get(format!("{base}/admin/login"))
        .send()
        .await
        .expect("login form");
    let login_cookie = form
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("tableau_scim_login="))
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_string();
    let csrf = login_cookie
        .split('=')
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let signed = http
        .post(format!("{base}/admin/login"))
        .header(header::COOKIE, &login_cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("token={ADMIN}&csrf={csrf}"))
        .send()
        .await
        .expect("signed in");
    let cookie = signed
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("tableau_scim_session="))
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_string();
    assert!(!cookie.is_empty(), "a session");
    let access = format!("{base}/admin/tenants/bench/access");
    site.reset_calls();
    let first = Instant::now();
    let (_, _, _) = timed(&http, &access, &cookie, None, 1).await;
    let cold = ms(first.elapsed());
    let cold_calls = site.tableau_calls();
    site.reset_calls();
    let rows = [
        ("access, page 1", format!("{access}?page=1")),
        (
            "access, page 500 (the middle)",
            format!("{access}?page=500"),
        ),
        ("access, search 'user04'", format!("{access}?q=user04")),
        (
            "access, role Creator, sorted by role",
            format!("{access}?role=Creator&sort=role"),
        ),
        (
            "access.csv, role Creator (25,000 rows)",
            format!("{access}.csv?role=Creator"),
        ),
    ];
    println!(
        "{} users, 20 groups of 2,500 members; medians of 10 requests",
        USERS
    );
    println!(
        "{:<44} {:>10} {:>10} {:>10}",
        "request", "median ms", "slowest", "bytes"
    );
    println!(
        "{:<44} {:>10.1} {:>10} {:>10}",
        "access, first opening (member lists read)", cold, "", ""
    );
    for (name, url) in &rows {
        let (median, worst, bytes) = timed(&http, url, &cookie, None, 10).await;
        println!("{name:<44} {median:>10.1} {worst:>10.1} {bytes:>10}");
    }
    let warm_calls = site.tableau_calls();
    let (median, worst, bytes) = timed(
        &http,
        &format!("{base}/scim/v2/Users?startIndex=50001&count=100"),
        "",
        Some(TOKEN),
        10,
    )
    .await;
    println!(
        "{:<44} {median:>10.1} {worst:>10.1} {bytes:>10}",
        "reference: SCIM GET /Users, 100 from 50,001"
    );
    println!();
    println!("Tableau calls: first opening {cold_calls} (bound: the 20 groups' member lists, 3 pages each, and the group list); the 50 requests after it {warm_calls}");
}
