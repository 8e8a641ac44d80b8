//! Offboarding custody on Tableau Cloud (`deprovision = "transfer"`): an IdP deletes a user who
//! owns workbooks, data sources, flows and a project in several projects; the content goes to
//! their manager (or the custodian), the user is removed and the seat is free.

use crate::common;

use common::flows::creator_seed;
use common::{fast_retry, id, Site};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tableau_scim::bridge::mapping::roles::RoleMapping;
use tableau_scim::bridge::policy::Deprovision;
use tableau_scim::bridge::reconcile::findings::DriftKind;
use tableau_scim::bridge::reconcile::{Options, Silent};
use tableau_scim::check;
use tableau_scim::emulator::{EmulatorConfig, Fault, Faults, Flavor};
use tableau_scim::stack::StackOptions;
use tableau_scim::tableau::content::ContentKind;
use tableau_scim::tableau::SiteRole;

const TOKEN: &str = "custody-test-token";
const CUSTODIAN: &str = "custodian@example.com";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A Tableau Cloud site whose tenant hands a departing user's content over, with a custodian
/// account (a Creator) already on the site.
fn cloud(configure: impl FnOnce(&mut StackOptions)) -> Site {
    let emu = EmulatorConfig::new("acme", "pat", "pat-secret");
    Site::start(emu, TOKEN, |o| {
        o.set_flavor(Flavor::Cloud);
        o.tenant.retry = fast_retry();
        o.tenant.roles = RoleMapping::new(
            [
                ("creator".to_string(), SiteRole::Creator),
                ("viewer".to_string(), SiteRole::Viewer),
            ],
            [],
            SiteRole::Viewer,
        );
        o.tenant.policy.deprovision = Deprovision::Transfer;
        o.tenant.policy.custodian = Some(CUSTODIAN.into());
        o.emulator.seed = Some(creator_seed(CUSTODIAN));
        configure(o);
    })
}

/// POST a user as Okta does, with a role and (optionally) a manager.
async fn provision(site: &Site, name: &str, role: &str, manager: Option<&str>) -> String {
    let mut body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": name, "active": true, "roles": [{"value": role}],
        "emails": [{"value": name, "type": "work", "primary": true}]});
    if let Some(m) = manager {
        body[ENTERPRISE] = json!({"manager": {"value": m}});
    }
    let (s, u) = site.idp.call(Method::POST, "/Users", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    id(&u)
}

/// The user owns a workbook in two projects, a data source, a flow and a nested project.
fn seed_content(site: &Site, name: &str) {
    site.stack.emulator.with_state(|s| {
        for (kind, item, project) in [
            (ContentKind::Workbook, "Sales", "Finance"),
            (ContentKind::Workbook, "Churn", "Marketing"),
            (ContentKind::Datasource, "Orders", "Finance"),
            (ContentKind::Flow, "Clean orders", "Finance"),
            (ContentKind::Project, "Sandbox", "Marketing"),
        ] {
            assert!(s.seed_item(name, kind, item, Some(project)).is_some());
        }
    });
}

/// Who owns what, by item name.
fn owners(site: &Site) -> Vec<(String, Option<String>)> {
    site.stack
        .emulator
        .with_state(|s| s.content_owners())
        .unwrap_or_default()
}

async fn outcomes(site: &Site) -> Vec<String> {
    site.stack
        .tenant()
        .audit_trail()
        .await
        .expect("the audit trail")
        .into_iter()
        .filter(|r| r.operation == "delete_user")
        .map(|r| r.outcome)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_users_content_goes_to_their_manager_and_the_seat_is_freed() {
    let site = cloud(|_| {});
    let manager = provision(&site, "mgr@example.com", "creator", None).await;
    let ann = provision(&site, "ann@example.com", "creator", Some(&manager)).await;
    seed_content(&site, "ann@example.com");
    site.reset_calls();
    let (s, body) = site
        .idp
        .call(Method::DELETE, &format!("/Users/{ann}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let items = 5;
    let moved: Vec<_> = owners(&site)
        .into_iter()
        .filter(|(name, _)| !["Default", "Finance", "Marketing"].contains(&name.as_str()))
        .collect();
    assert_eq!(moved.len(), items);
    assert!(
        moved
            .iter()
            .all(|(_, o)| o.as_deref() == Some("mgr@example.com")),
        "{moved:?}"
    );
    assert_eq!(
        site.role("ann@example.com"),
        None,
        "removed: the seat is free"
    );
    assert_eq!(
        site.idp.get(&format!("/Users/{ann}")).await.0,
        StatusCode::NOT_FOUND
    );
    // The manager's site role (Get User), Unlicense, four listings (workbooks and flows of the
    // user, the site's data sources and projects), one owner change per item, Remove User.
    assert_eq!(
        site.tableau_calls(),
        1 + 1 + 4 + items as u64 + 1,
        "calls: {:?}",
        site.stack.emulator.with_state(|s| s.stats_snapshot())
    );
    let trail = outcomes(&site).await;
    assert!(
        trail
            .iter()
            .any(|o| o == "custody: 5 of 5 items handed to the manager 'mgr@example.com'"),
        "{trail:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_manager_who_can_own_the_custodian_receives_it_and_the_audit_says_why() {
    let site = cloud(|_| {});
    let viewer = provision(&site, "vic@example.com", "viewer", None).await;
    let bob = provision(&site, "bob@example.com", "creator", Some(&viewer)).await;
    let cat = provision(&site, "cat@example.com", "creator", None).await;
    seed_content(&site, "bob@example.com");
    site.stack
        .emulator
        .with_state(|s| s.seed_item("cat@example.com", ContentKind::Workbook, "Cat's", None));
    for who in [&bob, &cat] {
        let (s, body) = site
            .idp
            .call(Method::DELETE, &format!("/Users/{who}"), None)
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    }
    assert!(owners(&site)
        .iter()
        .filter(|(name, _)| [
            "Sales",
            "Churn",
            "Orders",
            "Clean orders",
            "Sandbox",
            "Cat's"
        ]
        .contains(&name.as_str()))
        .all(|(_, o)| o.as_deref() == Some(CUSTODIAN)));
    let trail = outcomes(&site).await;
    assert!(
        trail
            .iter()
            .any(|o| o == "custody: the manager 'vic@example.com' is Viewer, a site role that cannot own content"),
        "{trail:?}"
    );
    assert_eq!(site.role("bob@example.com"), None);
    assert_eq!(site.role("cat@example.com"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn content_tableau_will_not_hand_over_keeps_the_user_unlicensed_and_is_reported() {
    let site = cloud(|_| {});
    let dan = provision(&site, "dan@example.com", "creator", None).await;
    seed_content(&site, "dan@example.com");
    // Dan also owns a collection: no REST call changes its owner.
    site.stack
        .emulator
        .with_state(|s| s.set_owns_content("dan@example.com", true));
    site.reset_calls();
    let (s, body) = site
        .idp
        .call(Method::DELETE, &format!("/Users/{dan}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(site.role("dan@example.com").as_deref(), Some("Unlicensed"));
    assert_eq!(
        site.calls("PUT /sites/{id}/users/{id}"),
        1,
        "one Update User makes Dan Unlicensed, before the transfer"
    );
    assert!(owners(&site)
        .iter()
        .filter(|(name, _)| name == "Sales")
        .all(|(_, o)| o.as_deref() == Some(CUSTODIAN)));
    let trail = outcomes(&site).await;
    assert!(
        trail
            .iter()
            .any(|o| o.starts_with("custody: Tableau keeps the user, Unlicensed")),
        "{trail:?}"
    );
    // reconcile reports the custody left unfinished; once the collection has been handed
    // over by hand, --apply finishes it.
    let report = site
        .stack
        .tenant()
        .reconcile(Options::default(), &Silent)
        .await;
    let custody: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == DriftKind::Custody)
        .collect();
    assert_eq!(custody.len(), 1, "{:?}", report.findings);
    assert_eq!(
        custody[0].user.as_ref().map(|u| u.name.as_str()),
        Some("dan@example.com")
    );
    site.stack
        .emulator
        .with_state(|s| s.set_owns_content("dan@example.com", false));
    let apply = Options {
        apply: true,
        ..Options::default()
    };
    let report = site.stack.tenant().reconcile(apply, &Silent).await;
    let outcome: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == DriftKind::Custody)
        .map(|f| f.outcome.clone())
        .collect();
    assert_eq!(outcome, vec![Some("repaired".to_string())]);
    assert_eq!(site.role("dan@example.com"), None, "removed at last");
    let report = site
        .stack
        .tenant()
        .reconcile(Options::default(), &Silent)
        .await;
    assert!(report.findings.iter().all(|f| f.kind != DriftKind::Custody));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fault_mid_transfer_is_an_error_the_idps_retry_finishes_without_moving_anything_twice() {
    let site = cloud(|_| {});
    let eve = provision(&site, "eve@example.com", "creator", None).await;
    seed_content(&site, "eve@example.com");
    site.reset_calls();
    // Enough 503s in a row to outlast the retries once the transfers have begun: unlicense,
    // four listings and two owner changes go through first.
    let mut script: Vec<Fault> = vec![Fault::Ok; 7];
    script.extend(std::iter::repeat_n(Fault::Unavailable, 20));
    site.stack.emulator.with_state(|s| {
        s.faults = Faults {
            script: script.into(),
            ..Faults::default()
        }
    });
    let (s, _) = site
        .idp
        .call(Method::DELETE, &format!("/Users/{eve}"), None)
        .await;
    assert!(s.is_server_error(), "{s}");
    assert_eq!(
        site.role("eve@example.com").as_deref(),
        Some("Unlicensed"),
        "access ended first"
    );
    site.stack
        .emulator
        .with_state(|s| s.faults = Faults::default());
    site.reset_calls();
    let (s, body) = site
        .idp
        .call(Method::DELETE, &format!("/Users/{eve}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(site.role("eve@example.com"), None);
    assert!(owners(&site)
        .iter()
        .filter(
            |(name, _)| ["Sales", "Churn", "Orders", "Clean orders", "Sandbox"]
                .contains(&name.as_str())
        )
        .all(|(_, o)| o.as_deref() == Some(CUSTODIAN)));
    assert_eq!(
        site.calls("PUT /sites/{id}/workbooks/{id}")
            + site.calls("PUT /sites/{id}/datasources/{id}")
            + site.calls("PUT /sites/{id}/flows/{id}")
            + site.calls("PUT /sites/{id}/projects/{id}"),
        3,
        "the retry moves only what had not moved"
    );
}

/// `custody_on_deactivation`: Okta's deactivation (PATCH active=false) hands the content to the
/// manager at once; the user stays, Unlicensed, and a reactivation gives the role back.
#[tokio::test(flavor = "multi_thread")]
async fn a_deactivation_hands_the_content_over_when_configured_and_the_user_stays() {
    let site = cloud(|o| o.tenant.policy.custody_on_deactivation = true);
    let manager = provision(&site, "mgr@example.com", "creator", None).await;
    let fay = provision(&site, "fay@example.com", "creator", Some(&manager)).await;
    seed_content(&site, "fay@example.com");
    let (s, body) = site
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{fay}"),
            Some(common::patch(
                json!([{"op": "replace", "value": {"active": false}}]),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["active"], false);
    assert_eq!(site.role("fay@example.com").as_deref(), Some("Unlicensed"));
    assert!(owners(&site)
        .iter()
        .filter(
            |(name, _)| ["Sales", "Churn", "Orders", "Clean orders", "Sandbox"]
                .contains(&name.as_str())
        )
        .all(|(_, o)| o.as_deref() == Some("mgr@example.com")));
    let (s, body) = site
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{fay}"),
            Some(common::patch(
                json!([{"op": "replace", "value": {"active": true}}]),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(site.role("fay@example.com").as_deref(), Some("Creator"));
}

#[tokio::test(flavor = "multi_thread")]
async fn check_config_refuses_a_custodian_who_cannot_own_content_or_is_not_on_the_site() {
    let good = cloud(|_| {});
    let report = check::check(&good.stack.config).await.remove(0);
    assert!(
        report
            .lines
            .iter()
            .any(|l| l.starts_with("ok   custodian custodian@example.com (Creator)")),
        "{:?}",
        report.lines
    );
    let viewer = cloud(|o| {
        if let Some(seed) = o.emulator.seed.as_mut() {
            seed.users[0].site_role = "Viewer".into();
        }
    });
    let report = check::check(&viewer.stack.config).await.remove(0);
    assert!(!report.ok);
    assert!(
        report
            .lines
            .iter()
            .any(|l| l.starts_with("FAIL custodian custodian@example.com is Viewer")),
        "{:?}",
        report.lines
    );
    let missing = cloud(|o| o.tenant.policy.custodian = Some("nobody@example.com".into()));
    let report = check::check(&missing.stack.config).await.remove(0);
    assert!(
        report
            .lines
            .iter()
            .any(|l| l == "FAIL custodian 'nobody@example.com' is not a user of the site"),
        "{:?}",
        report.lines
    );
}
