//! Onboarding at scale: an IdP's first sync looks up every user before creating it. With the
//! site's names listed, those lookups cost no Tableau call; Tableau changing behind the
//! bridge's back is caught on the next write.

use crate::common;

use common::{fast_retry, id, patch, Site};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tableau_scim::emulator::{EmulatorConfig, Flavor};
use tableau_scim::tableau::SiteRole;

const TOKEN: &str = "onboarding-token-0123456789";

fn site(flavor: Flavor) -> Site {
    let mut emu = EmulatorConfig::new("acme", "pat", "pat-secret");
    emu.set_flavor(flavor);
    Site::start(emu, TOKEN, |o| {
        o.set_flavor(flavor);
        o.tenant.retry = fast_retry();
    })
}

fn lookup(name: &str) -> String {
    format!(
        "/Users?filter=userName%20eq%20%22{}%22",
        name.replace('@', "%40")
    )
}

/// Okta's first sync of `n` users: a lookup, then a create, each.
async fn okta_sync(h: &Site, n: usize) {
    for i in 0..n {
        let name = format!("new{i:04}@example.com");
        let (s, found) = h.idp.get(&lookup(&name)).await;
        assert_eq!(
            (s, found["totalResults"].clone()),
            (StatusCode::OK, json!(0))
        );
        let (s, created) = h
            .idp
            .call(
                Method::POST,
                "/Users",
                Some(json!({"userName": name, "name": {"givenName": "N", "familyName": i.to_string()},
                    "emails": [{"value": name, "primary": true}], "active": true})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_sync_costs_only_the_calls_that_change_tableau() {
    for (flavor, per_user) in [(Flavor::Server, 2), (Flavor::Cloud, 1)] {
        let h = site(flavor);
        okta_sync(&h, 50).await;
        let stats = h.stack.emulator.with_state(|s| s.stats_snapshot());
        assert_eq!(
            h.tableau_calls(),
            50 * per_user,
            "{flavor:?}: lookups of new users cost nothing: {stats:?}"
        );
        // And the users just created are found without a call.
        h.reset_calls();
        let (_, hit) = h.idp.get(&lookup("new0007@example.com")).await;
        assert_eq!(hit["totalResults"], 1);
        assert_eq!(h.tableau_calls(), 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_created_in_tableau_behind_our_back_is_linked_after_one_conflict() {
    let h = site(Flavor::Server);
    h.stack.emulator.with_state(|s| {
        s.add_user(
            "elsewhere@example.com",
            SiteRole::Explorer,
            None,
            None,
            None,
        )
    });
    let (_, miss) = h.idp.get(&lookup("elsewhere@example.com")).await;
    assert_eq!(
        miss["totalResults"], 0,
        "not listed yet: the index says absent"
    );
    let (s, e) = h
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "elsewhere@example.com"})),
        )
        .await;
    assert_eq!(
        (s, e["scimType"].clone()),
        (StatusCode::CONFLICT, json!("uniqueness"))
    );
    h.reset_calls();
    let (_, hit) = h.idp.get(&lookup("ELSEWHERE@example.com")).await;
    assert_eq!(hit["totalResults"], 1, "the IdP's next lookup links it");
    assert_eq!(h.tableau_calls(), 0);
    let count = h
        .stack
        .emulator
        .with_state(|s| {
            s.user_names()
                .iter()
                .filter(|n| *n == "elsewhere@example.com")
                .count()
        })
        .unwrap_or(0);
    assert_eq!(count, 1, "no duplicate");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_deleted_in_tableau_behind_our_back_is_404_on_the_next_write() {
    let h = site(Flavor::Server);
    let (_, u) = h
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "doomed@example.com"})),
        )
        .await;
    let uid = id(&u);
    h.stack
        .emulator
        .with_state(|s| s.remove_user(&uid, None, None))
        .transpose()
        .expect("removed in Tableau");
    let (_, stale) = h.idp.get(&lookup("doomed@example.com")).await;
    assert_eq!(stale["totalResults"], 1, "the index has not heard yet");
    let (s, e) = h
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{uid}"),
            Some(patch(
                json!([{"op":"replace","path":"roles","value":[{"value":"Explorer"}]}]),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    let (_, gone) = h.idp.get(&lookup("doomed@example.com")).await;
    assert_eq!(gone["totalResults"], 0, "dropped from the index");
    let (s, again) = h
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "doomed@example.com"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "the IdP creates it again: {again}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_listing_learns_what_changed_in_tableau() {
    let h = site(Flavor::Server);
    h.stack.emulator.with_state(|s| {
        for i in 0..2500 {
            let _ = s.add_user(
                &format!("bulk{i:04}@example.com"),
                SiteRole::Viewer,
                None,
                None,
                None,
            );
        }
    });
    h.relist_names().await;
    for name in ["bulk0000@example.com", "bulk2499@example.com"] {
        let (_, hit) = h.idp.get(&lookup(name)).await;
        assert_eq!(hit["totalResults"], 1, "{name}");
    }
    let (_, miss) = h.idp.get(&lookup("bulk2500@example.com")).await;
    assert_eq!(miss["totalResults"], 0);
    assert_eq!(h.tableau_calls(), 0, "lookups, hit or miss, cost nothing");
    // A listing of 2,501 users took three calls, and groups one.
    let before = h.tableau_calls();
    h.stack.tenant().list_names().await.expect("listed");
    assert_eq!(h.tableau_calls() - before, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn group_lookups_by_name_cost_nothing_once_listed() {
    let h = site(Flavor::Server);
    let (s, g) = h
        .idp
        .call(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "Onboarding Team"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    h.reset_calls();
    for name in ["Onboarding%20Team", "onboarding%20team", "Nobody"] {
        let (s, _) = h
            .idp
            .get(&format!("/Groups?filter=displayName%20eq%20%22{name}%22"))
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    let (_, hit) = h
        .idp
        .get("/Groups?filter=displayName%20eq%20%22onboarding%20team%22&excludedAttributes=members")
        .await;
    assert_eq!(hit["Resources"][0]["id"], g["id"]);
    assert_eq!(h.tableau_calls(), 0);
}

/// Tableau Cloud throttling a sync (a bucket of 30 calls per second, 429 without
/// `Retry-After`): 8 IdP workers create 60 users; every user is made once, the 429s are seen
/// and the tenant's limits come down to what Tableau accepts.
#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_sync_slows_to_tableaus_rate_and_loses_nothing() {
    let h = site(Flavor::Cloud);
    h.stack.emulator.with_state(|s| {
        s.faults.rate_limit_per_sec = Some(30.0);
        s.faults.rate_limit_burst = Some(5.0);
        s.faults.rate_limit_no_retry_after = true;
    });
    let mut tasks = Vec::new();
    for w in 0..8 {
        let idp = h.idp.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..60).step_by(8) {
                let name = format!("throttled{i:03}@example.com");
                let (s, u) = idp
                    .call(
                        Method::POST,
                        "/Users",
                        Some(
                            json!({"userName": name, "emails": [{"value": name, "primary": true}]}),
                        ),
                    )
                    .await;
                assert_eq!(s, StatusCode::CREATED, "{u}");
            }
        }));
    }
    for t in tasks {
        t.await.expect("a worker ends");
    }
    let made = h
        .stack
        .emulator
        .with_state(|s| {
            s.users_sorted()
                .iter()
                .filter(|u| u.name.starts_with("throttled"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(made, 60, "each user exactly once");
    let (_, rate, throttled) = h.stack.tenant().tableau_limits();
    assert!(throttled > 0, "Tableau's 429s were seen");
    let rate = rate.expect("a 429 sets a call rate");
    assert!(rate < 30.0, "the rate came down under Tableau's: {rate}");
}
