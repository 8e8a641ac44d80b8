//! Facing the internet: what an unauthenticated client can make the server do. Made-up
//! methods and paths create no metric series; `/metrics` and tenant names are shown only to
//! whom they belong; an address that keeps failing authentication gets 429 while others and
//! valid tokens pass; failures are logged as a summary, not one line each; requests larger than
//! we read, and tenants with too much in flight, get SCIM errors.

use crate::common;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{captured_logs, captured_text, Idp, Reply, Site};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use tableau_scim::backend::memory::MemoryStore;
use tableau_scim::emulator::{EmulatorConfig, Faults};
use tableau_scim::http::guard::GuardSettings;
use tableau_scim::http::{self, AppState, HttpSettings, TokenDigest, TokenSet};

const TOKEN: &str = "exposure-tenant-token-0123";
const METRICS_TOKEN: &str = "exposure-metrics-token-4567";

/// A server on the in-memory store with `settings` changed by `configure`; its origin.
fn server(configure: impl FnOnce(&mut HttpSettings)) -> String {
    let mut settings = HttpSettings {
        metrics_tokens: TokenSet::new(vec![TokenDigest::of(METRICS_TOKEN)]),
        ..HttpSettings::default()
    };
    configure(&mut settings);
    let state = AppState::single(
        Arc::new(MemoryStore::new()),
        TokenSet::new(vec![TokenDigest::of(TOKEN)]),
        settings,
    );
    let s = http::start("127.0.0.1:0", state, 1).expect("the server starts");
    format!("http://{}", s.addr)
}

/// A client whose connections come from `source` (any 127.0.0.0/8 address is this host).
fn from(origin: &str, source: &str, token: &str) -> Idp {
    let ip: IpAddr = source.parse().expect("an address");
    let http = Client::builder()
        .local_address(ip)
        .build()
        .expect("a client");
    Idp::with_client(origin, token, http)
}

async fn get(idp: &Idp, path: &str, token: Option<&str>) -> Reply {
    idp.raw(Method::GET, path, token, None, None).await
}

async fn metrics_text(origin: &str) -> String {
    let r = get(&Idp::new(origin, ""), "/metrics", Some(METRICS_TOKEN)).await;
    assert_eq!(r.status, StatusCode::OK);
    r.body.as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn made_up_methods_get_405_and_make_no_series_of_their_own() {
    let origin = server(|_| {});
    let idp = Idp::new(&origin, TOKEN);
    for i in 0..50 {
        let method = Method::from_bytes(format!("BREW{i}{}", "X".repeat(i * 40)).as_bytes())
            .expect("a method token");
        let authed = idp
            .raw(method.clone(), "/scim/v2/Users", Some(TOKEN), None, None)
            .await;
        assert_eq!(authed.status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(
            authed.body["detail"]
                .as_str()
                .is_some_and(|d| d.len() < 300),
            "the method is not repeated whole: {}",
            authed.body
        );
        let anonymous = idp
            .raw(method, &format!("/nowhere/{i}"), None, None, None)
            .await;
        assert_eq!(anonymous.status, StatusCode::NOT_FOUND);
    }
    let text = metrics_text(&origin).await;
    assert!(!text.contains("BREW"), "a client's method became a label");
    assert!(!text.contains("nowhere"), "a client's path became a label");
    assert!(
        text.contains("method=\"other\""),
        "made-up methods share one label"
    );
    // The metrics are the process's, every test's of the binary: each series' method is one
    // of the closed set, whatever the clients sent.
    let methods: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| l.starts_with("scim_requests_total{"))
        .filter_map(|l| l.split("method=\"").nth(1)?.split('"').next())
        .collect();
    assert!(
        methods
            .iter()
            .all(|m| ["GET", "POST", "PUT", "PATCH", "DELETE", "other"].contains(m)),
        "{methods:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_need_their_token_on_the_main_listener_and_are_absent_without_one() {
    let origin = server(|_| {});
    let anonymous = Idp::new(&origin, "");
    assert_eq!(
        get(&anonymous, "/metrics", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&anonymous, "/metrics", Some(TOKEN)).await.status,
        StatusCode::UNAUTHORIZED,
        "a tenant's token is not a metrics token"
    );
    // A SCIM request of this test's own, so the series exists whichever tests ran before in
    // this process (nextest runs each test alone).
    get(&anonymous, "/scim/v2/Users", Some(TOKEN)).await;
    assert!(metrics_text(&origin).await.contains("scim_requests_total"));
    let closed = server(|s| s.metrics_tokens = TokenSet::default());
    assert_eq!(
        get(&Idp::new(&closed, ""), "/metrics", None).await.status,
        StatusCode::NOT_FOUND,
        "no metrics token, no metrics listener: not served"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_address_that_keeps_failing_gets_429_while_others_and_valid_tokens_pass() {
    let origin = server(|s| {
        s.guard = GuardSettings {
            limit: 5,
            ..GuardSettings::default()
        }
    });
    let attacker = from(&origin, "127.0.0.2", "wrong-token-wrong-token");
    for _ in 0..5 {
        let r = get(&attacker, "/scim/v2/Users", Some("wrong-token-wrong-token")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let blocked = get(&attacker, "/scim/v2/Users", Some("wrong-token-wrong-token")).await;
    assert_eq!(
        (blocked.status, blocked.header("content-type")),
        (StatusCode::TOO_MANY_REQUESTS, "application/scim+json")
    );
    assert!(
        blocked
            .header("retry-after")
            .parse::<u64>()
            .is_ok_and(|s| s > 0),
        "Retry-After: {:?}",
        blocked.header("retry-after")
    );
    let bystander = from(&origin, "127.0.0.3", "");
    assert_eq!(
        get(&bystander, "/scim/v2/Users", Some("another-wrong-token-1"))
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "another address is not blocked"
    );
    let idp_on_the_same_address = from(&origin, "127.0.0.2", TOKEN);
    assert_eq!(
        get(&idp_on_the_same_address, "/scim/v2/Users", Some(TOKEN))
            .await
            .status,
        StatusCode::OK,
        "a valid token always passes"
    );
    let text = metrics_text(&origin).await;
    assert!(
        text.contains("rejected_requests_total{reason=\"blocked\"}"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_are_logged_as_a_summary_not_a_line_each() {
    let _ = captured_logs();
    let origin = server(|s| {
        s.guard = GuardSettings {
            limit: 1_000_000,
            summary_every: Duration::from_millis(300),
            ..GuardSettings::default()
        }
    });
    let before = captured_text().lines().count();
    let idp = Idp::new(&origin, "");
    for i in 0..400 {
        let token = format!("guess-number-{i:06}-guess");
        let r = get(&idp, &format!("/scim/v2/Users?probe={i}"), Some(&token)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        get(&idp, &format!("/wp-login-{i}.php"), None).await;
    }
    tokio::time::sleep(Duration::from_millis(900)).await;
    let log = captured_text();
    let new: Vec<&str> = log.lines().skip(before).collect();
    let summaries: Vec<&&str> = new
        .iter()
        .filter(|l| l.contains("requests rejected before authentication"))
        .collect();
    assert!(!summaries.is_empty(), "a summary was logged");
    let total: u64 = summaries
        .iter()
        .filter_map(|l| l.split("fields\":{\"message\":\"").nth(1))
        .filter_map(|m| m.split(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(total >= 800, "the summaries count every rejection: {total}");
    // Every test of the binary logs here too (their authenticated 404s among them): look for
    // lines about these rejected requests only. No request anywhere is logged with a 401: every
    // one is a rejection before authentication.
    let per_request = new
        .iter()
        .filter(|l| {
            l.contains("wp-login")
                || l.contains("guess-number")
                || l.contains("\"http.status\":401")
        })
        .count();
    assert_eq!(per_request, 0, "no line per rejected request");
    assert!(
        summaries.len() <= 5,
        "{} summary lines in about a second",
        summaries.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_urls_and_headers_get_scim_errors_and_replies_quote_little() {
    let origin = server(|_| {});
    let idp = Idp::new(&origin, TOKEN);
    let long = get(
        &idp,
        &format!("/scim/v2/Users?filter={}", "a".repeat(9_000)),
        Some(TOKEN),
    )
    .await;
    assert_eq!(long.status, StatusCode::URI_TOO_LONG);
    assert_eq!(long.body["status"], "414");
    let fat = idp
        .with_header("X-Padding", &"p".repeat(17_000))
        .raw(Method::GET, "/scim/v2/Users", Some(TOKEN), None, None)
        .await;
    assert_eq!(fat.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(fat.body["status"], "431");
    let echo = get(
        &idp,
        &format!("/scim/v2/{}", "z".repeat(7_000)),
        Some(TOKEN),
    )
    .await;
    assert_eq!(echo.status, StatusCode::NOT_FOUND);
    let detail = echo.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.len() < 400,
        "{} characters quoted back",
        detail.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_with_too_much_in_flight_gets_429_and_another_request_later_passes() {
    let mut emu = EmulatorConfig::new("acme", "pat", "pat-secret");
    emu.faults = Faults {
        latency_ms: 600,
        ..Faults::default()
    };
    let site = Site::start(emu, TOKEN, |o| {
        o.server.http.max_in_flight_per_tenant = 1;
    });
    let slow = site.idp.clone();
    let first = tokio::spawn(async move {
        slow.call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "slow@example.com"})),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = site
        .idp
        .raw(Method::GET, "/Users?count=1", Some(TOKEN), None, None)
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert_eq!(r.header("retry-after"), "1");
    let (s, _) = first.await.expect("the first request");
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = site.idp.call(Method::GET, "/Users?count=1", None).await;
    assert_eq!(s, StatusCode::OK);
}
