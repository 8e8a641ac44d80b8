//! Replicas of a tenant on PostgreSQL share one budget of Tableau calls for the site: the calls
//! in flight split among the live replicas, a limit one replica meets paces the others, and a
//! dead replica's share returns. What an admin reads on each replica's `/metrics`.

use crate::common;

use std::time::Duration;

use common::replicas::{site, Replicas};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use tableau_scim::emulator::Faults;

/// The value of `name{tenant="acme"}` on a metrics page.
fn gauge(page: &str, name: &str) -> Option<f64> {
    let prefix = format!("{name}{{tenant=\"acme\"}} ");
    page.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

async fn metrics(url: &str) -> String {
    match Client::new().get(url).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Wait (up to 10 s) until replica `i`'s gauge `name` satisfies `ok`; its last value.
async fn wait_for(r: &Replicas, i: usize, name: &str, ok: impl Fn(f64) -> bool) -> f64 {
    let mut last = None;
    for _ in 0..200 {
        last = gauge(&metrics(&r.metrics[i]).await, name);
        if last.is_some_and(&ok) {
            return last.unwrap_or_default();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("replica {i}: {name} stayed at {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_share_one_budget_of_tableau_calls_per_site() {
    let mut r = Replicas::start_with(
        site(),
        2,
        "metrics_listen = \"127.0.0.1:{metrics_port}\"",
        "",
    )
    .await;
    // The site's 8 calls in flight (server.tableau_concurrency), 4 each.
    for i in 0..2 {
        wait_for(&r, i, "tableau_budget_replicas", |v| v == 2.0).await;
        wait_for(&r, i, "tableau_concurrency_limit", |v| v == 4.0).await;
    }
    // Tableau takes 5 calls a second from now on; the IdP sends only to replica 0.
    r.emulator.with_state(|s| {
        s.faults = Faults {
            rate_limit_per_sec: Some(5.0),
            rate_limit_burst: Some(5.0),
            ..Faults::default()
        }
    });
    let idp = r.idp_of(0);
    let mut creates = Vec::new();
    for n in 0..40 {
        let idp = idp.clone();
        creates.push(tokio::spawn(async move {
            let body = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("budget{n}@example.com"),
                "active": true,
            });
            idp.call(Method::POST, "/Users", Some(body)).await.0
        }));
    }
    for c in creates {
        assert_eq!(c.await.expect("the create ran"), StatusCode::CREATED);
    }
    let page0 = metrics(&r.metrics[0]).await;
    assert!(
        gauge(&page0, "tableau_throttled_total").unwrap_or_default() >= 1.0,
        "replica 0 met Tableau's limit: {page0}"
    );
    // Replica 1 was sent nothing and met no 429, yet paces at its share of the site's rate.
    let rate = wait_for(&r, 1, "tableau_rate_limit", |v| v > 0.0).await;
    // What replica 0 published, split in two: its rate after a cut, of the order of the site's
    // limit (a first rate measured over the limiter's burst can be above it for a moment).
    assert!(rate <= 10.0, "a share of what the site takes: {rate}");
    let page1 = metrics(&r.metrics[1]).await;
    assert_eq!(
        gauge(&page1, "tableau_throttled_total").unwrap_or(0.0),
        0.0,
        "{page1}"
    );
    // Replica 0 dies: within a few seconds replica 1 holds the whole budget.
    r.kill(0);
    wait_for(&r, 1, "tableau_budget_replicas", |v| v == 1.0).await;
}
