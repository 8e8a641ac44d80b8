//! Offboarding custody at Tableau's latency (`deprovision = "transfer"`): a DELETE of a user
//! who owns 10, 100 and 1,000 items (projects, data sources, flows and workbooks alike), the
//! emulator answering each call after 50 ms. Beside each: the fewest calls any bridge needs
//! (unlicense, one listing page per kind per 1,000 items, one owner change per item, Remove
//! User) and the time those calls take one after another, the reference a bridge without
//! concurrent owner changes would meet. `cargo bench --bench custody`.

// A bench, like a test, stops loudly on a broken assumption (clippy.toml lets tests do so).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // each bench uses a part of what the tests share
#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::Instant;

use common::flows::creator_seed;
use common::{id, Site};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tableau_scim::bridge::policy::Deprovision;
use tableau_scim::emulator::{EmulatorConfig, Faults, Flavor};
use tableau_scim::tableau::content::ContentKind;

const TOKEN: &str = "bench-custody-token-123456";
const LATENCY_MS: u64 = 50;
const CUSTODIAN: &str = "custodian@example.com";

#[tokio::main]
async fn main() {
    let site = Site::start(EmulatorConfig::new("bench", "pat", "secret"), TOKEN, |o| {
        o.set_flavor(Flavor::Cloud);
        o.tenant.policy.deprovision = Deprovision::Transfer;
        o.tenant.policy.custodian = Some(CUSTODIAN.into());
        o.emulator.seed = Some(creator_seed(CUSTODIAN));
    });
    println!(
        "| items owned | Tableau calls | fewest calls | time | those calls one after another at {LATENCY_MS} ms |"
    );
    println!("|---|---|---|---|---|");
    for (n, items) in [10usize, 100, 1_000].into_iter().enumerate() {
        let name = format!("leaver{n}@example.com");
        let (s, u) = site
            .idp
            .call(
                Method::POST,
                "/Users",
                Some(json!({"userName": name, "roles": [{"value": "Creator"}]})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        site.stack.emulator.with_state(|s| {
            for i in 0..items {
                let kind = ContentKind::ALL[i % ContentKind::ALL.len()];
                s.seed_item(
                    &name,
                    kind,
                    &format!("item {i}"),
                    Some(&format!("P{}", i % 7)),
                );
            }
            s.faults = Faults {
                latency_ms: LATENCY_MS,
                ..Faults::default()
            };
        });
        site.reset_calls();
        let started = Instant::now();
        let (s, body) = site
            .idp
            .call(Method::DELETE, &format!("/Users/{}", id(&u)), None)
            .await;
        let took = started.elapsed();
        assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
        site.stack
            .emulator
            .with_state(|s| s.faults = Faults::default());
        let calls = site.tableau_calls();
        let per_kind = items.div_ceil(ContentKind::ALL.len());
        let listings = ContentKind::ALL.len() * per_kind.div_ceil(1000).max(1);
        let fewest = 1 + listings + items + 1;
        println!(
            "| {items} | {calls} | {fewest} | {:.2} s | {:.2} s |",
            took.as_secs_f64(),
            fewest as f64 * LATENCY_MS as f64 / 1000.0
        );
        assert_eq!(site.role(&name), None, "the user is removed");
    }
}
