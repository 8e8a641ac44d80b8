//! The bridge end to end: the real SCIM server over the bridge, against the emulator, replaying
//! how Okta and Entra ID provision, and checking Tableau's end state through the emulator.

use crate::common;

use common::flows::{entra_flow, existing_user_seed, okta_flow};
use common::{fast_retry, id, patch, Site};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tableau_scim::bridge::mapping::roles::RoleMapping;
use tableau_scim::bridge::policy::{Deprovision, OnLicenseExhausted};
use tableau_scim::stack::StackOptions;

use tableau_scim::emulator::{Capacity, EmulatorConfig, Fault, Faults, Flavor};
use tableau_scim::tableau::SiteRole;

const TOKEN: &str = "bridge-test-token";

/// The acme site, one pre-existing Explorer in it, fast retries and a `tableau-creator` role,
/// changed by `configure`.
fn harness(configure: impl FnOnce(&mut StackOptions)) -> Site {
    let mut emu = EmulatorConfig::new("acme", "pat", "pat-secret");
    emu.seed = Some(existing_user_seed());
    Site::start(emu, TOKEN, |o| {
        o.tenant.retry = fast_retry();
        o.tenant.roles = RoleMapping::new(
            [("tableau-creator".to_string(), SiteRole::Creator)],
            [],
            SiteRole::Viewer,
        );
        configure(o);
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn okta_provisions_a_site() {
    let h = harness(|_| {});
    okta_flow(&h, "okta.user@example.com", "Okta Push").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn entra_provisions_a_site() {
    let h = harness(|_| {});
    let uid = entra_flow(&h, "entra.user@example.com", "Entra Sales").await;
    let (s, _) = h
        .idp
        .call(Method::DELETE, &format!("/Users/{uid}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        h.role("entra.user@example.com"),
        None,
        "removed from Tableau"
    );
    assert_eq!(
        h.idp.get(&format!("/Users/{uid}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert!(h.members("Entra Sales").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn okta_and_entra_provision_tableau_cloud_without_a_name_or_email_in_update_user() {
    let h = harness(|o| o.set_flavor(Flavor::Cloud));
    okta_flow(&h, "okta.cloud@example.com", "Okta Cloud").await;
    entra_flow(&h, "entra.cloud@example.com", "Entra Cloud").await;
    let sent = |attribute| {
        h.stack
            .emulator
            .with_state(|s| s.attribute_sent("Update User", attribute))
    };
    // Tableau Cloud refuses them all (docs/tableau-fidelity.md).
    assert_eq!(
        (sent("fullName"), sent("name"), sent("email")),
        (Some(0), Some(0), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_flows_end_in_the_same_state_under_faults() {
    let h = harness(|o| {
        o.emulator.faults = Faults {
            rate_429: 0.1,
            retry_after_secs: 0,
            rate_5xx: 0.1,
            expire_session_after: Some(7),
            rate_drop: 0.05,
            // At least one fault whatever the dice say (a 503 is retried on every call): the
            // run always exercises the retries it asserts.
            script: [Fault::Unavailable].into_iter().collect(),
            ..Faults::default()
        };
    });
    okta_flow(&h, "faulty.okta@example.com", "Faulty Okta").await;
    entra_flow(&h, "faulty.entra@example.com", "Faulty Entra").await;
    let users = h
        .stack
        .emulator
        .with_state(|s| s.user_names())
        .unwrap_or_default();
    for n in ["faulty.okta@example.com", "faulty.entra@example.com"] {
        assert_eq!(
            users.iter().filter(|u| *u == n).count(),
            1,
            "{n}: no duplicate"
        );
    }
    let stats = h.stack.tenant().tableau_stats();
    assert!(stats.retries > 0, "faults were injected and retried");
    assert!(stats.sign_ins > 1, "sessions expired and were renewed");
}

#[tokio::test(flavor = "multi_thread")]
async fn tableau_calls_per_operation() {
    let h = harness(|_| {});
    let (_, u) = h.idp.call(Method::POST, "/Users", Some(json!({"userName":"count@example.com","name":{"formatted":"Count Me"},"emails":[{"value":"count@example.com","primary":true}]}))).await;
    let uid = id(&u);
    h.reset_calls();
    let (_, hit) = h
        .idp
        .get("/Users?filter=userName%20eq%20%22count%40example.com%22")
        .await;
    assert_eq!(hit["totalResults"], 1);
    assert_eq!(
        h.tableau_calls(),
        0,
        "a userName eq lookup of a cached user makes no Tableau call"
    );
    h.idp.get(&format!("/Users/{uid}")).await;
    assert_eq!(h.tableau_calls(), 0, "GET by id of a cached user");
    h.reset_calls();
    let (s, _) = h.idp.call(Method::POST, "/Users", Some(json!({"userName":"two@example.com","name":{"formatted":"Two Calls"},"emails":[{"value":"two@example.com","primary":true}]}))).await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(
        h.tableau_calls() <= 2,
        "a create makes at most two: {}",
        h.tableau_calls()
    );
    let (_, body) = h.idp.get(&format!("/Users/{uid}")).await;
    h.reset_calls();
    let (s, _) = h
        .idp
        .call(Method::PUT, &format!("/Users/{uid}"), Some(body))
        .await;
    assert_eq!(s, StatusCode::OK);
    let seen = h.stack.emulator.with_state(|s| s.stats_snapshot());
    assert_eq!(
        h.tableau_calls(),
        0,
        "a PUT that changes nothing makes no call: {seen:?}"
    );
    let (s, _) = h
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{uid}"),
            Some(patch(
                json!([{"op":"replace","path":"name.formatted","value":"Count Me"}]),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        h.tableau_calls(),
        0,
        "a PATCH that changes nothing makes no call"
    );
    let (_, _) = h
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{uid}"),
            Some(patch(
                json!([{"op":"replace","path":"roles","value":[{"value":"Explorer"}]}]),
            )),
        )
        .await;
    assert_eq!(h.tableau_calls(), 1, "a role change is one Update User");
    h.reset_calls();
    let (s, unknown) = h
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName":"bad@example.com","roles":[{"value":"Wizard"}]})),
        )
        .await;
    assert_eq!(
        (s, unknown["scimType"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalidValue"))
    );
    assert!(unknown["detail"]
        .as_str()
        .is_some_and(|d| d.contains("Wizard") && d.contains("Creator")));
    assert_eq!(
        h.tableau_calls(),
        0,
        "an unknown role makes no Tableau call"
    );
    let (_, g) = h
        .idp
        .call(
            Method::POST,
            "/Groups",
            Some(json!({"displayName":"Counted"})),
        )
        .await;
    let gid = id(&g);
    h.reset_calls();
    let (_, gg) = h
        .idp
        .get(&format!("/Groups/{gid}?excludedAttributes=members"))
        .await;
    assert_eq!(gg["displayName"], "Counted");
    assert_eq!(
        h.tableau_calls(),
        0,
        "excludedAttributes=members never fetches members"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_parallel_creates_of_one_user_name_make_one_user() {
    let h = std::sync::Arc::new(harness(|_| {}));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            h.idp
                .call(
                    Method::POST,
                    "/Users",
                    Some(json!({"userName":"race@example.com"})),
                )
                .await
                .0
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        if let Ok(s) = t.await {
            statuses.push(s);
        }
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        19
    );
    let n = h.stack.emulator.with_state(|s| {
        s.user_names()
            .iter()
            .filter(|u| *u == "race@example.com")
            .count()
    });
    assert_eq!(n, Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn pre_existing_users_are_found_not_duplicated_and_never_renamed() {
    let h = harness(|_| {});
    let (_, found) = h
        .idp
        .get("/Users?filter=userName%20eq%20%22EXISTING%40example.com%22")
        .await;
    assert_eq!(found["totalResults"], 1, "checklist 7");
    assert_eq!(found["Resources"][0]["displayName"], "Pre Existing");
    let (s, dup) = h
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName":"existing@example.com"})),
        )
        .await;
    assert_eq!(
        (s, dup["scimType"].clone()),
        (StatusCode::CONFLICT, json!("uniqueness"))
    );
    let uid = id(&found["Resources"][0]);
    // An Okta PUT with no roles leaves the Tableau role alone.
    let (_, mut body) = h.idp.get(&format!("/Users/{uid}")).await;
    body["title"] = json!("Analyst");
    h.idp
        .call(Method::PUT, &format!("/Users/{uid}"), Some(body))
        .await;
    assert_eq!(h.role("existing@example.com").as_deref(), Some("Explorer"));

    // Neither Tableau renames a user through REST (Server: knowledge article 001473865;
    // Cloud: the user name is the sign-in email): with rename = "refuse" a rename is refused
    // before any call (the default moves the person: tests/it/moves.rs).
    for flavor in [Flavor::Server, Flavor::Cloud] {
        let site = harness(|o| {
            o.set_flavor(flavor);
            o.tenant.policy.rename = tableau_scim::bridge::policy::Rename::Refuse;
        });
        let (_, f) = site
            .idp
            .get("/Users?filter=userName%20eq%20%22existing%40example.com%22")
            .await;
        let sid = id(&f["Resources"][0]);
        site.reset_calls();
        let (s, e) = site
            .idp
            .call(
                Method::PATCH,
                &format!("/Users/{sid}"),
                Some(patch(
                    json!([{"op":"replace","path":"userName","value":"new@example.com"}]),
                )),
            )
            .await;
        assert_eq!(
            (s, e["scimType"].clone()),
            (StatusCode::BAD_REQUEST, json!("mutability")),
            "{flavor:?}"
        );
        assert!(
            e["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("provision a new one"),
            "says what to do instead: {e}"
        );
        assert_eq!(
            site.tableau_calls(),
            0,
            "{flavor:?}: refused before Tableau"
        );
        // Letter case alone is no rename: Tableau keeps its own spelling.
        let (s, same) = site
            .idp
            .call(
                Method::PATCH,
                &format!("/Users/{sid}"),
                Some(patch(
                    json!([{"op":"replace","path":"userName","value":"EXISTING@example.com"}]),
                )),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{flavor:?}: {same}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn content_owners_are_left_unlicensed_and_come_back_on_recreate() {
    let h = harness(|_| {});
    let (_, u) = h
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName":"owner@example.com","roles":[{"value":"Creator"}]})),
        )
        .await;
    let uid = id(&u);
    h.stack
        .emulator
        .with_state(|s| s.set_owns_content("owner@example.com", true));
    let (s, _) = h
        .idp
        .call(Method::DELETE, &format!("/Users/{uid}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        h.role("owner@example.com").as_deref(),
        Some("Unlicensed"),
        "kept, Unlicensed"
    );
    assert_eq!(
        h.idp.get(&format!("/Users/{uid}")).await.0,
        StatusCode::NOT_FOUND,
        "gone for SCIM"
    );
    let (_, none) = h
        .idp
        .get("/Users?filter=userName%20eq%20%22owner%40example.com%22")
        .await;
    assert_eq!(none["totalResults"], 0);
    let (s, back) = h
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName":"owner@example.com","roles":[{"value":"Explorer"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{back}");
    assert_eq!(id(&back), uid, "the same Tableau user, with its content");
    assert_eq!(h.role("owner@example.com").as_deref(), Some("Explorer"));
    let tenant = h.stack.tenant();
    let audit = tenant.audit_trail().await.unwrap_or_default();
    assert!(audit.iter().any(|a| a.operation == "delete_user"
        && a.outcome.contains("Unlicensed")
        && a.role_before.as_deref() == Some("Creator")));
    assert!(audit
        .iter()
        .all(|a| a.tableau_calls > 0 || a.outcome == "uniqueness"));
}

#[tokio::test(flavor = "multi_thread")]
async fn license_policies_and_unlicense_deprovisioning() {
    let h = harness(|o| {
        o.emulator.capacity = Capacity {
            creator: Some(1),
            explorer: None,
            viewer: None,
        };
    });
    let (s, u) = h
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName":"seat@example.com","roles":[{"value":"Creator"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        u["urn:ietf:params:scim:schemas:extension:tableau-scim:2.0:User"]["siteRole"], "Unlicensed",
        "the real role is shown"
    );
    assert_eq!(
        h.stack
            .tenant()
            .counters()
            .license_downgrades
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );

    let r = harness(|o| {
        o.emulator.capacity = Capacity {
            creator: Some(1),
            explorer: None,
            viewer: None,
        };
        o.tenant.policy.on_license_exhausted = OnLicenseExhausted::Reject;
        o.tenant.policy.deprovision = Deprovision::Unlicense;
    });
    let (s, e) = r
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName":"seat@example.com","roles":[{"value":"Creator"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        e["detail"].as_str().is_some_and(|d| d.contains("Creator")),
        "{e}"
    );
    let (_, v) = r
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName":"viewer@example.com"})),
        )
        .await;
    let (s, _) = r
        .idp
        .call(Method::DELETE, &format!("/Users/{}", id(&v)), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        r.role("viewer@example.com").as_deref(),
        Some("Unlicensed"),
        "unlicense policy keeps the user"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_if_match_is_412_and_group_put_sets_exact_members() {
    let h = harness(|_| {});
    let (_, u) = h
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName":"etag@example.com"})),
        )
        .await;
    let uid = id(&u);
    let old = u["meta"]["version"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    h.idp
        .call(
            Method::PATCH,
            &format!("/Users/{uid}"),
            Some(patch(json!([{"op":"add","path":"nickName","value":"E"}]))),
        )
        .await;
    let (s, _) = h
        .idp
        .with_header("If-Match", &old)
        .call(
            Method::PATCH,
            &format!("/Users/{uid}"),
            Some(patch(json!([{"op":"add","path":"nickName","value":"F"}]))),
        )
        .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);
    let (_, a) = h
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName":"a@example.com"})),
        )
        .await;
    let (_, g) = h
        .idp
        .call(
            Method::POST,
            "/Groups",
            Some(json!({"displayName":"Exact","members":[{"value":uid},{"value":id(&a)}]})),
        )
        .await;
    assert_eq!(h.members("Exact").len(), 2, "Okta AIW creates with members");
    let (s, put) = h
        .idp
        .call(
            Method::PUT,
            &format!("/Groups/{}", id(&g)),
            Some(json!({"displayName":"Exact","members":[{"value":id(&a)}]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{put}");
    assert_eq!(h.members("Exact"), vec!["a@example.com".to_string()]);
    let (s, e) = h.idp.call(Method::PATCH, &format!("/Groups/{}", id(&g)), Some(patch(json!([{"op":"add","path":"members","value":[{"value":"6b7179ba-b82b-4f0f-91ed-812074ac5da6"}]}])))).await;
    assert_eq!(
        (s, e["scimType"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalidValue"))
    );
    let (_, list) = h.idp.get("/Groups").await;
    assert!(
        list["Resources"]
            .as_array()
            .is_some_and(|a| a.iter().all(|g| g["displayName"] != "All Users")),
        "All Users is hidden"
    );
    let (s, _) = h
        .idp
        .call(Method::DELETE, &format!("/Groups/{}", id(&g)), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(!h
        .stack
        .emulator
        .with_state(|s| s.group_names())
        .unwrap_or_default()
        .contains(&"Exact".to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn group_roles_follow_membership() {
    let h = harness(|o| {
        o.tenant.roles = RoleMapping::new(
            [],
            [("Tableau-Creators".to_string(), SiteRole::Creator)],
            SiteRole::Viewer,
        );
    });
    let (_, u) = h
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName":"grp@example.com"})),
        )
        .await;
    let uid = id(&u);
    assert_eq!(h.role("grp@example.com").as_deref(), Some("Viewer"));
    let (_, g) = h
        .idp
        .call(
            Method::POST,
            "/Groups",
            Some(json!({"displayName":"Tableau-Creators"})),
        )
        .await;
    let gid = id(&g);
    let join = json!([{"op":"add","path":"members","value":[{"value":uid}]}]);
    let group = format!("/Groups/{gid}");
    let (s, _) = h
        .idp
        .call(Method::PATCH, &group, Some(patch(join.clone())))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        h.role("grp@example.com").as_deref(),
        Some("Creator"),
        "joining grants the role"
    );
    // A profile push without roles keeps the group's grant.
    let (_, body) = h.idp.get(&format!("/Users/{uid}")).await;
    h.idp
        .call(Method::PUT, &format!("/Users/{uid}"), Some(body))
        .await;
    assert_eq!(h.role("grp@example.com").as_deref(), Some("Creator"));
    let (s, _) = h
        .idp
        .call(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(patch(
                json!([{"op":"remove","path":format!("members[value eq \"{uid}\"]")}]),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        h.role("grp@example.com").as_deref(),
        Some("Viewer"),
        "leaving takes it back"
    );
    // Joining again, then the group is deleted: the role it granted goes with it.
    let (s, _) = h.idp.call(Method::PATCH, &group, Some(patch(join))).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(h.role("grp@example.com").as_deref(), Some("Creator"));
    let (s, _) = h.idp.call(Method::DELETE, &group, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        h.role("grp@example.com").as_deref(),
        Some("Viewer"),
        "deleting the group takes it back"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_in_small_pages_costs_one_tableau_call_per_thousand_users() {
    let h = harness(|_| {});
    h.stack.emulator.with_state(|s| {
        for i in 0..2_498 {
            let _ = s.add_user(
                &format!("imp{i:04}@example.com"),
                SiteRole::Viewer,
                None,
                None,
                None,
            );
        }
    });
    // Sign-in and version discovery happen once per process; measure a cold listing after them.
    h.idp.get("/ServiceProviderConfig").await;
    h.idp
        .get("/Users?filter=userName%20eq%20%22warm%40example.com%22")
        .await;
    h.stack.tenant().forget_user_pages();
    h.reset_calls();
    let mut start = 1;
    let mut seen = std::collections::HashSet::new();
    loop {
        let (_, p) = h
            .idp
            .get(&format!("/Users?startIndex={start}&count=100"))
            .await;
        let items = p["Resources"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            assert_eq!(p["totalResults"], 2_500);
            break;
        }
        for u in &items {
            seen.insert(id(u));
        }
        start += items.len();
    }
    assert_eq!(seen.len(), 2_500, "every user once");
    assert_eq!(
        h.tableau_calls(),
        3,
        "2,500 users: three Tableau pages of 1,000"
    );
    // A write invalidates the pages: the next listing sees it.
    h.idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName":"late@example.com"})),
        )
        .await;
    let (_, p) = h.idp.get("/Users?count=0").await;
    assert_eq!(p["totalResults"], 2_501);
}
