//! Identity moves (`rename = "move"`, the default): an IdP changes a user's userName (an email
//! change, in Entra ID's PATCH or Okta's PUT); Tableau gets a new user under the new name with
//! the same role, groups and content, the old user goes, and the SCIM id stays.

use crate::common;

use common::{fast_retry, id, Site};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tableau_scim::bridge::mapping::roles::RoleMapping;
use tableau_scim::bridge::policy::Rename;
use tableau_scim::emulator::{Capacity, EmulatorConfig, Fault, Faults, Flavor};
use tableau_scim::stack::StackOptions;
use tableau_scim::tableau::content::ContentKind;
use tableau_scim::tableau::SiteRole;

const TOKEN: &str = "moves-test-token";
const OLD: &str = "ann@example.com";
const NEW: &str = "ann.lee@example.com";
const ITEMS: [&str; 5] = ["Sales", "Churn", "Orders", "Clean orders", "Sandbox"];

fn site(flavor: Flavor, configure: impl FnOnce(&mut StackOptions)) -> Site {
    let emu = EmulatorConfig::new("acme", "pat", "pat-secret");
    Site::start(emu, TOKEN, |o| {
        o.set_flavor(flavor);
        o.tenant.retry = fast_retry();
        o.tenant.roles = RoleMapping::new(
            [
                ("creator".to_string(), SiteRole::Creator),
                ("viewer".to_string(), SiteRole::Viewer),
            ],
            [],
            SiteRole::Viewer,
        );
        configure(o);
    })
}

/// Ann, a Creator in two groups, owning a workbook in two projects, a data source, a flow and a
/// project. Returns her SCIM id.
async fn ann(site: &Site) -> String {
    let (s, u) = site
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(
                json!({"userName": OLD, "active": true, "roles": [{"value": "creator"}],
                "name": {"givenName": "Ann", "familyName": "Lee"},
                "emails": [{"value": OLD, "type": "work", "primary": true}]}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let ann = id(&u);
    for g in ["Finance", "Marketing"] {
        let (s, body) = site
            .idp
            .call(
                Method::POST,
                "/Groups",
                Some(json!({"displayName": g, "members": [{"value": ann}]})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    site.stack.emulator.with_state(|s| {
        for (kind, item, project) in [
            (ContentKind::Workbook, "Sales", "Finance"),
            (ContentKind::Workbook, "Churn", "Marketing"),
            (ContentKind::Datasource, "Orders", "Finance"),
            (ContentKind::Flow, "Clean orders", "Finance"),
            (ContentKind::Project, "Sandbox", "Marketing"),
        ] {
            assert!(s.seed_item(OLD, kind, item, Some(project)).is_some());
        }
    });
    ann
}

/// Who owns Ann's items now.
fn owners_of_items(site: &Site) -> Vec<Option<String>> {
    site.stack
        .emulator
        .with_state(|s| s.content_owners())
        .unwrap_or_default()
        .into_iter()
        .filter(|(name, _)| ITEMS.contains(&name.as_str()))
        .map(|(_, o)| o)
        .collect()
}

fn owner_changes(site: &Site) -> u64 {
    ["workbooks", "datasources", "flows", "projects"]
        .iter()
        .map(|k| site.calls(&format!("PUT /sites/{{id}}/{k}/{{id}}")))
        .sum()
}

/// Afterwards Tableau has one Ann, under the new name, with her role, groups and items; the
/// SCIM id still finds her, under the new name, in her groups.
async fn assert_moved(site: &Site, ann: &str) {
    assert_eq!(site.role(OLD), None, "the old user is gone");
    assert_eq!(site.role(NEW).as_deref(), Some("Creator"));
    for g in ["Finance", "Marketing"] {
        assert_eq!(site.members(g), vec![NEW.to_string()], "{g}");
    }
    let owners = owners_of_items(site);
    assert_eq!(owners.len(), ITEMS.len());
    assert!(
        owners.iter().all(|o| o.as_deref() == Some(NEW)),
        "{owners:?}"
    );
    let (s, u) = site.idp.get(&format!("/Users/{ann}")).await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["userName"], NEW);
    assert_eq!(u["id"], ann, "the SCIM id does not change");
    let (_, found) = site
        .idp
        .get("/Users?filter=userName%20eq%20%22ann.lee%40example.com%22")
        .await;
    assert_eq!(found["totalResults"], 1, "{found}");
    assert_eq!(found["Resources"][0]["id"], ann);
    let (_, old) = site
        .idp
        .get("/Users?filter=userName%20eq%20%22ann%40example.com%22")
        .await;
    assert_eq!(old["totalResults"], 0, "{old}");
    let (_, all) = site.idp.get("/Users").await;
    let ids: Vec<&Value> = all["Resources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| &u["id"])
        .collect();
    assert_eq!(ids.iter().filter(|i| **i == ann).count(), 1, "{all}");
    let (_, groups) = site
        .idp
        .get("/Groups?filter=displayName%20eq%20%22Finance%22")
        .await;
    assert_eq!(
        groups["Resources"][0]["members"][0]["value"], ann,
        "{groups}"
    );
}

/// The calls of a move of a user in two groups owning five items on Tableau Cloud, each one
/// the job cannot do without: Add User; Get Groups for User; Add User to Group twice; the
/// four listings of what she owns (her workbooks and flows, the site's data sources and
/// projects); one owner change per item; Remove User.
const CLOUD_MOVE_CALLS: u64 = 1 + 1 + 2 + 4 + 5 + 1;

#[tokio::test(flavor = "multi_thread")]
async fn entra_ids_patch_of_user_name_moves_the_person_with_role_groups_and_content() {
    let site = site(Flavor::Cloud, |_| {});
    let ann = ann(&site).await;
    site.relist_names().await;
    let created = site.idp.get(&format!("/Users/{ann}")).await.1;
    // Entra ID's PATCH of an attribute: "Replace" with a path (scim-idp.md).
    let (s, u) = site
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{ann}"),
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "path": "userName", "value": NEW}]}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["userName"], NEW);
    assert_eq!(u["id"], ann);
    assert_ne!(
        u["meta"]["lastModified"], created["meta"]["lastModified"],
        "meta.lastModified moves"
    );
    assert_eq!(
        site.tableau_calls(),
        CLOUD_MOVE_CALLS,
        "{:?}",
        site.stack.emulator.with_state(|s| s.stats_snapshot())
    );
    assert_eq!(owner_changes(&site), 5);
    assert_moved(&site, &ann).await;
    let steps: Vec<String> = site
        .stack
        .tenant()
        .audit_trail()
        .await
        .expect("the audit trail")
        .into_iter()
        .filter(|r| r.operation == "move_user")
        .map(|r| r.outcome)
        .collect();
    assert_eq!(steps.len(), 5, "one entry per step and the end: {steps:?}");
    assert!(
        steps[0].starts_with("step add: 'ann.lee@example.com' added as Creator"),
        "{steps:?}"
    );
    assert_eq!(steps[1], "step groups: joined 2 groups");
    assert_eq!(steps[2], "step content: 5 of 5 items handed over");
    assert_eq!(steps[3], "step remove: 'ann@example.com' removed");
    assert_eq!(
        steps[4],
        "moved from 'ann@example.com' to 'ann.lee@example.com' (5 items)"
    );
    // The moved person can be changed and removed by the id the IdP kept.
    let (s, body) = site
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{ann}"),
            Some(common::patch(
                json!([{"op":"replace","path":"roles","value":[{"value":"viewer"}]}]),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(site.role(NEW).as_deref(), Some("Viewer"));
}

#[tokio::test(flavor = "multi_thread")]
async fn oktas_put_with_a_new_email_moves_the_person_on_tableau_server() {
    let site = site(Flavor::Server, |_| {});
    let ann = ann(&site).await;
    let (_, mut body) = site.idp.get(&format!("/Users/{ann}")).await;
    // Okta's profile push: the whole user, with the new userName and email.
    body["userName"] = json!(NEW);
    body["emails"] = json!([{"value": NEW, "type": "work", "primary": true}]);
    site.reset_calls();
    let (s, u) = site
        .idp
        .call(Method::PUT, &format!("/Users/{ann}"), Some(body))
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["userName"], NEW);
    assert_eq!(u["emails"][0]["value"], NEW);
    assert_moved(&site, &ann).await;
    let email = site
        .stack
        .emulator
        .with_state(|s| {
            s.user_named(NEW)
                .and_then(|u| u.email.map(|e| e.to_string()))
        })
        .flatten();
    assert_eq!(
        email.as_deref(),
        Some(NEW),
        "Update User gave the new user its email"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_move_tableau_would_refuse_is_a_4xx_before_anything_changes() {
    let site = site(Flavor::Cloud, |o| {
        // Two Creator seats: the site administrator tableau-scim signs in as holds one.
        o.emulator.capacity = Capacity {
            creator: Some(2),
            ..Capacity::default()
        };
    });
    let ann = ann(&site).await;
    let (s, bob) = site
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "bob@example.com"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{bob}");
    let replace = |to: &str| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "userName", "value": to}]})
    };
    // The new name is taken.
    let (s, e) = site
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{ann}"),
            Some(replace("bob@example.com")),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["scimType"], "uniqueness");
    // The last Creator seat is Ann's: the new user cannot be seated beside her.
    assert_eq!(site.role(OLD).as_deref(), Some("Creator"));
    site.reset_calls();
    let (s, e) = site
        .idp
        .call(Method::PATCH, &format!("/Users/{ann}"), Some(replace(NEW)))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert!(
        e["detail"]
            .as_str()
            .is_some_and(|d| d.contains("license tier is full")),
        "{e}"
    );
    assert_eq!(
        site.role(NEW),
        None,
        "the user Add User made is removed again"
    );
    assert_eq!(site.role(OLD).as_deref(), Some("Creator"));
    assert_eq!(owner_changes(&site), 0);
    let (_, u) = site.idp.get(&format!("/Users/{ann}")).await;
    assert_eq!(u["userName"], OLD);
}

#[tokio::test(flavor = "multi_thread")]
async fn rename_refuse_keeps_the_mutability_error() {
    let site = site(Flavor::Cloud, |o| o.tenant.policy.rename = Rename::Refuse);
    let ann = ann(&site).await;
    site.reset_calls();
    let (s, e) = site
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{ann}"),
            Some(common::patch(
                json!([{"op":"replace","path":"userName","value":NEW}]),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["scimType"], "mutability");
    assert_eq!(site.tableau_calls(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_mid_move_are_retried_or_reported_and_the_retry_finishes_without_doing_twice() {
    let site = site(Flavor::Cloud, |_| {});
    let ann = ann(&site).await;
    site.relist_names().await;
    // A 429, a dropped connection, a 500 and an expiring session along the way are retried;
    // then enough 503s in a row to outlast the retries once some owner changes went through.
    let mut script = vec![
        Fault::Ok,
        Fault::TooMany,
        Fault::Ok,
        Fault::Drop,
        Fault::Internal,
    ];
    script.extend(vec![Fault::Ok; 8]);
    script.extend(std::iter::repeat_n(Fault::Unavailable, 30));
    site.stack.emulator.with_state(|s| {
        s.faults = Faults {
            script: script.into(),
            retry_after_secs: 0,
            expire_session_after: Some(6),
            ..Faults::default()
        }
    });
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "userName", "value": NEW}]});
    let (s, e) = site
        .idp
        .call(Method::PATCH, &format!("/Users/{ann}"), Some(patch.clone()))
        .await;
    assert!(s.is_server_error(), "{s} {e}");
    assert_eq!(
        site.role(OLD).as_deref(),
        Some("Creator"),
        "the old user stays until every item moved"
    );
    let (_, u) = site.idp.get(&format!("/Users/{ann}")).await;
    assert_eq!(
        u["userName"], OLD,
        "the IdP still sees the person as they were"
    );
    let moved_before = owners_of_items(&site)
        .iter()
        .filter(|o| o.as_deref() == Some(NEW))
        .count() as u64;
    assert!(moved_before < 5, "the faults came before the last item");
    site.stack
        .emulator
        .with_state(|s| s.faults = Faults::default());
    site.reset_calls();
    let (s, u) = site
        .idp
        .call(Method::PATCH, &format!("/Users/{ann}"), Some(patch))
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(
        site.calls("POST /sites/{id}/users"),
        0,
        "Add User is not sent again"
    );
    assert_eq!(
        owner_changes(&site),
        5 - moved_before,
        "the retry hands over only what had not moved"
    );
    assert_moved(&site, &ann).await;
}
