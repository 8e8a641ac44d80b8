//! Identity moves at Tableau's latency (`rename = "move"`): a PATCH of the userName of a user
//! in two groups who owns 10, 100 and 1,000 items (projects, data sources, flows and workbooks
//! alike), the emulator answering each call after 50 ms. Beside each: the fewest calls any
//! bridge needs (Add User, Get Groups for User, one Add User to Group per group, one listing
//! page per kind per 1,000 items, one owner change per item, Remove User) and the time those
//! calls take one after another. `cargo bench --bench moves`.

// A bench, like a test, stops loudly on a broken assumption (clippy.toml lets tests do so).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // each bench uses a part of what the tests share
#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::Instant;

use common::{id, Site};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tableau_scim::emulator::{EmulatorConfig, Faults, Flavor};
use tableau_scim::tableau::content::ContentKind;

const TOKEN: &str = "bench-moves-token-1234567";
const LATENCY_MS: u64 = 50;
const GROUPS: usize = 2;

#[tokio::main]
async fn main() {
    let site = Site::start(EmulatorConfig::new("bench", "pat", "secret"), TOKEN, |o| {
        o.set_flavor(Flavor::Cloud);
    });
    println!(
        "| items owned | Tableau calls | fewest calls | time | those calls one after another at {LATENCY_MS} ms |"
    );
    println!("|---|---|---|---|---|");
    for (n, items) in [10usize, 100, 1_000].into_iter().enumerate() {
        let name = format!("mover{n}@example.com");
        let (s, u) = site
            .idp
            .call(
                Method::POST,
                "/Users",
                Some(json!({"userName": name, "roles": [{"value": "Creator"}]})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        let user = id(&u);
        for g in 0..GROUPS {
            let (s, body) = site
                .idp
                .call(
                    Method::POST,
                    "/Groups",
                    Some(json!({"displayName": format!("Team {n}.{g}"), "members": [{"value": user}]})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{body}");
        }
        site.stack.emulator.with_state(|s| {
            for i in 0..items {
                let kind = ContentKind::ALL[i % ContentKind::ALL.len()];
                s.seed_item(
                    &name,
                    kind,
                    &format!("item {n}.{i}"),
                    Some(&format!("P{}", i % 7)),
                );
            }
        });
        site.relist_names().await;
        site.stack.emulator.with_state(|s| {
            s.faults = Faults {
                latency_ms: LATENCY_MS,
                ..Faults::default()
            }
        });
        site.reset_calls();
        let to = format!("moved{n}@example.com");
        let started = Instant::now();
        let (s, body) = site
            .idp
            .call(
                Method::PATCH,
                &format!("/Users/{user}"),
                Some(
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Replace", "path": "userName", "value": to}]}),
                ),
            )
            .await;
        let took = started.elapsed();
        assert_eq!(s, StatusCode::OK, "{body}");
        site.stack
            .emulator
            .with_state(|s| s.faults = Faults::default());
        let calls = site.tableau_calls();
        let per_kind = items.div_ceil(ContentKind::ALL.len());
        let listings = ContentKind::ALL.len() * per_kind.div_ceil(1000).max(1);
        let fewest = 1 + 1 + GROUPS + listings + items + 1;
        println!(
            "| {items} | {calls} | {fewest} | {:.2} s | {:.2} s |",
            took.as_secs_f64(),
            fewest as f64 * LATENCY_MS as f64 / 1000.0
        );
        assert_eq!(site.role(&name), None, "the old user is removed");
        assert_eq!(site.role(&to).as_deref(), Some("Creator"));
    }
}
