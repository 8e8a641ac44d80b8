//! Tableau's rules as an IdP meets them through tableau-scim: what Tableau Cloud cannot change,
//! full license tiers on update, the account tableau-scim signs in with, and Connected App
//! scopes in readiness and `check-config`. Each transcript runs the real server against the
//! emulator (docs/tableau-fidelity.md lists the rules and their sources).

use crate::common;

use std::sync::atomic::Ordering;

use common::tableau::connected_app;
use common::{fast_retry, id, patch, Site};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tableau_scim::bridge::policy::OnLicenseExhausted;
use tableau_scim::check::{self, TenantReport};
use tableau_scim::config::{Config, ServerConfig, TenantConfig};
use tableau_scim::emulator::{Capacity, EmulatorConfig, Flavor, RunningEmulator};
use tableau_scim::stack::StackOptions;
use tableau_scim::tableau::{Credentials, Deployment, SiteRole};

const TOKEN: &str = "tableau-rules-token";
const EXT: &str = "urn:ietf:params:scim:schemas:extension:tableau-scim:2.0:User";

fn site(configure: impl FnOnce(&mut StackOptions)) -> Site {
    let emu = EmulatorConfig::new("acme", "pat", "pat-secret");
    Site::start(emu, TOKEN, |o| {
        o.tenant.retry = fast_retry();
        configure(o);
    })
}

fn cloud() -> Site {
    site(|o| o.set_flavor(Flavor::Cloud))
}

/// The administrator tableau-scim signs in as, by a `userName eq` filter.
async fn admin_id(h: &Site) -> String {
    let (s, found) = h
        .idp
        .get("/Users?filter=userName%20eq%20%22admin%40example.com%22")
        .await;
    assert_eq!(
        (s, found["totalResults"].clone()),
        (StatusCode::OK, json!(1))
    );
    id(&found["Resources"][0])
}

fn ann() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ann@example.com",
        "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"},
        "displayName": "Ann Lee",
        "emails": [{"value": "ann@example.com", "type": "work", "primary": true}],
        "active": true
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn on_tableau_cloud_a_create_is_one_add_user_and_names_are_kept_by_tableau_scim() {
    let h = cloud();
    admin_id(&h).await;
    h.reset_calls();
    let (s, created) = h.idp.call(Method::POST, "/Users", Some(ann())).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let seen = h.stack.emulator.with_state(|s| s.stats_snapshot());
    assert_eq!(h.tableau_calls(), 1, "Add User only: {seen:?}");
    assert_eq!(
        h.sent("Add User", "email"),
        1,
        "the email travels with Add User"
    );
    assert_eq!(created["displayName"], "Ann Lee");
    let uid = id(&created);
    let (_, got) = h.idp.get(&format!("/Users/{uid}")).await;
    assert_eq!(
        (
            got["name"]["formatted"].clone(),
            got["emails"][0]["value"].clone()
        ),
        (json!("Ann Lee"), json!("ann@example.com"))
    );

    h.reset_calls();
    let (s, renamed) = h
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{uid}"),
            Some(patch(
                json!([{"op":"replace","path":"displayName","value":"Ann Lee-Park"}]),
            )),
        )
        .await;
    assert_eq!(
        (s, renamed["displayName"].clone()),
        (StatusCode::OK, json!("Ann Lee-Park"))
    );
    assert_eq!(
        h.tableau_calls(),
        0,
        "a display name lives in tableau-scim on Cloud"
    );
    assert_eq!(h.sent("Update User", "fullName"), 0);
    let (_, again) = h.idp.get(&format!("/Users/{uid}")).await;
    assert_eq!(again["displayName"], "Ann Lee-Park");

    // "Tableau Cloud only allows for updating siteRole and authSetting" (Tableau's Postman
    // collection): a new work email is kept and served by tableau-scim, and costs no call.
    h.reset_calls();
    let (s, moved) = h
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{uid}"),
            Some(patch(
                json!([{"op":"replace","path":"emails[type eq \"work\"].value","value":"ann@corp.example"}]),
            )),
        )
        .await;
    assert_eq!(
        (s, moved["emails"][0]["value"].clone()),
        (StatusCode::OK, json!("ann@corp.example")),
        "{moved}"
    );
    assert_eq!(
        (h.tableau_calls(), h.sent("Update User", "email")),
        (0, 0),
        "Update User never carries an email on Cloud"
    );
    let (_, again) = h.idp.get(&format!("/Users/{uid}")).await;
    assert_eq!(again["emails"][0]["value"], "ann@corp.example");

    // A user name that is not an email is the IdP's to fix: 400, before any call.
    h.reset_calls();
    let (s, refused) = h
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "UserName123"})),
        )
        .await;
    assert_eq!(
        (s, refused["scimType"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalidValue")),
        "{refused}"
    );
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("email")),
        "{refused}"
    );
    assert_eq!(h.tableau_calls(), 0, "refused before any Tableau call");
}

#[tokio::test(flavor = "multi_thread")]
async fn on_tableau_server_the_full_name_goes_to_tableau() {
    let h = site(|_| {});
    admin_id(&h).await;
    h.reset_calls();
    let (s, _) = h.idp.call(Method::POST, "/Users", Some(ann())).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        (
            h.sent("Add User", "email"),
            h.sent("Update User", "fullName"),
            h.sent("Update User", "email")
        ),
        (0, 1, 1),
        "Add User, then Update User for what Add User cannot carry"
    );
    let full = h
        .stack
        .emulator
        .with_state(|s| s.user_named("ann@example.com").and_then(|u| u.full_name))
        .flatten();
    assert_eq!(full.as_deref(), Some("Ann Lee"));
}

/// A Creator seat held by the administrator, and no other.
fn one_creator_seat(o: &mut StackOptions) {
    o.emulator.capacity = Capacity {
        creator: Some(1),
        explorer: None,
        viewer: None,
    };
}

/// Create Ann (a Viewer), then ask for Creator and a new work email in one PATCH: the user's
/// id, and the PATCH's answer.
async fn create_then_promote(h: &Site) -> (String, StatusCode, Value) {
    let (_, u) = h.idp.call(Method::POST, "/Users", Some(ann())).await;
    let uid = id(&u);
    let promote = patch(json!([
        {"op":"replace","path":"roles","value":[{"value":"Creator","primary":true}]},
        {"op":"replace","path":"emails[type eq \"work\"].value","value":"ann@corp.example"}
    ]));
    let (s, after) = h
        .idp
        .call(Method::PATCH, &format!("/Users/{uid}"), Some(promote))
        .await;
    (uid, s, after)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_tier_on_update_keeps_the_role_under_downgrade_and_refuses_under_reject() {
    let h = site(one_creator_seat);
    let (_, s, after) = create_then_promote(&h).await;
    assert_eq!(s, StatusCode::OK, "{after}");
    assert_eq!(
        after[EXT]["siteRole"], "Viewer",
        "the role Tableau kept is shown"
    );
    assert_eq!(
        after["emails"][0]["value"], "ann@corp.example",
        "the rest is applied"
    );
    assert_eq!(h.role("ann@example.com").as_deref(), Some("Viewer"));
    let email = h
        .stack
        .emulator
        .with_state(|s| s.user_named("ann@example.com").and_then(|u| u.email))
        .flatten();
    assert_eq!(email.as_deref(), Some("ann@corp.example"));
    assert_eq!(
        h.stack
            .tenant()
            .counters()
            .license_downgrades
            .load(Ordering::Relaxed),
        1,
        "counted"
    );

    let r = site(|o| {
        one_creator_seat(o);
        o.tenant.policy.on_license_exhausted = OnLicenseExhausted::Reject;
    });
    let (uid, s, e) = create_then_promote(&r).await;
    assert_eq!(
        (s, e["scimType"].clone()),
        (StatusCode::CONFLICT, json!(null)),
        "{e}"
    );
    assert!(
        e["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no Creator license") && d.contains("keeps the site role")),
        "{e}"
    );
    let (_, unchanged) = r.idp.get(&format!("/Users/{uid}")).await;
    assert_eq!(
        unchanged["emails"][0]["value"], "ann@example.com",
        "nothing applied"
    );
    assert_eq!(r.role("ann@example.com").as_deref(), Some("Viewer"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_tableau_scim_signs_in_with_cannot_be_demoted_or_deprovisioned() {
    let h = site(|_| {});
    let me = admin_id(&h).await;
    h.reset_calls();
    for body in [
        patch(json!([{"op":"replace","path":"roles","value":[{"value":"Viewer"}]}])),
        patch(json!([{"op":"replace","path":"active","value":false}])),
    ] {
        let (s, e) = h
            .idp
            .call(Method::PATCH, &format!("/Users/{me}"), Some(body))
            .await;
        assert_eq!(
            (s, e["scimType"].clone()),
            (StatusCode::BAD_REQUEST, json!("mutability")),
            "{e}"
        );
        assert!(
            e["detail"].as_str().is_some_and(
                |d| d.contains("'admin@example.com' is the account tableau-scim signs in")
            ),
            "{e}"
        );
    }
    let (s, e) = h
        .idp
        .call(Method::DELETE, &format!("/Users/{me}"), None)
        .await;
    assert_eq!(
        (s, e["scimType"].clone()),
        (StatusCode::BAD_REQUEST, json!("mutability")),
        "{e}"
    );
    assert_eq!(h.tableau_calls(), 0, "refused before any Tableau call");
    assert_eq!(
        h.stack
            .tenant()
            .counters()
            .own_role_refusals
            .load(Ordering::Relaxed),
        3
    );
    assert_eq!(
        h.role("admin@example.com").as_deref(),
        Some("SiteAdministratorCreator")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn name_changes_on_tableau_cloud_stay_in_tableau_scim() {
    let h = cloud();
    let transcript: [(Method, &str, Value); 3] = [
        (Method::POST, "/Users", ann()),
        (
            Method::POST,
            "/Users",
            json!({"userName":"bo@example.com","displayName":"Bo","name":{"formatted":"Bo Berg"},"emails":[{"value":"bo@example.com","primary":true}],"active":true,"roles":[{"value":"Explorer"}]}),
        ),
        (
            Method::POST,
            "/Groups",
            json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Cloud Team"}),
        ),
    ];
    let mut ids = Vec::new();
    for (m, path, body) in transcript {
        let (s, v) = h.idp.call(m, path, Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        ids.push(id(&v));
    }
    // Okta: PUT the whole user with a new name; Entra: a path-less replace of name parts.
    let (_, mut full) = h.idp.get(&format!("/Users/{}", ids[0])).await;
    full["name"]["formatted"] = json!("Ann Park");
    full["displayName"] = json!("Ann Park");
    let (s, _) = h
        .idp
        .call(Method::PUT, &format!("/Users/{}", ids[0]), Some(full))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = h
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{}", ids[1]),
            Some(patch(
                json!([{"op":"Replace","value":{"displayName":"Bo B.","name.givenName":"Bo"}}]),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            h.sent("Update User", "fullName"),
            h.sent("Update User", "name")
        ),
        (0, 0)
    );
}

/// `check-config` of one tenant signing in to `emu` with `credentials`.
async fn check_config(
    emu: &RunningEmulator,
    credentials: Credentials,
    map_assets_to: Option<&str>,
) -> TenantReport {
    let mut tenant = TenantConfig::new(
        "acme",
        &emu.url(),
        "acme",
        Deployment::Server,
        credentials,
        vec![],
    );
    tenant.policy.map_assets_to = map_assets_to.map(str::to_string);
    let config = Config {
        server: ServerConfig::default(),
        tenants: vec![tenant],
    };
    let mut reports = check::check(&config).await;
    assert_eq!(reports.len(), 1);
    reports.remove(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connected_app_is_ready_and_check_config_names_a_scope_tableau_withholds() {
    let mut emu = EmulatorConfig::new("acme", "pat", "pat-secret");
    emu.connected_app = Some(connected_app());
    let h = Site::start(emu, TOKEN, |o| {
        o.tenant.retry = fast_retry();
        o.tenant.credentials = Credentials::ConnectedApp(connected_app());
    });
    let ready = reqwest::get(format!("http://{}/readyz", h.stack.serving.server.addr))
        .await
        .map(|r| r.status());
    assert_eq!(ready.ok(), Some(StatusCode::OK), "Query Site is granted");
    let (s, _) = h.idp.call(Method::POST, "/Users", Some(ann())).await;
    assert_eq!(s, StatusCode::CREATED);

    let report = check_config(
        &h.stack.emulator,
        Credentials::ConnectedApp(connected_app()),
        None,
    )
    .await;
    assert!(report.ok, "{:?}", report.lines);

    let mut emu = EmulatorConfig::new("acme", "pat", "pat-secret");
    emu.connected_app = Some(connected_app());
    emu.known_scopes = Some(vec!["tableau:users:*".into(), "tableau:groups:*".into()]);
    let withheld = common::tableau::start(emu);
    let report = check_config(&withheld, Credentials::ConnectedApp(connected_app()), None).await;
    assert!(!report.ok);
    assert!(
        report
            .lines
            .iter()
            .any(|l| l.starts_with("FAIL") && l.contains("tableau:content:read")),
        "{:?}",
        report.lines
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_config_warns_that_map_assets_to_needs_a_server_administrator() {
    let emu = common::tableau::emu();
    let report = check_config(&emu, common::tableau::pat(), Some("x")).await;
    assert!(
        report
            .lines
            .iter()
            .any(|l| l.starts_with("warn map_assets_to")),
        "{:?}",
        report.lines
    );
    let mut cfg = EmulatorConfig::new("acme", "pat", "pat-secret");
    cfg.admin_role = SiteRole::ServerAdministrator;
    let server_admin = common::tableau::start(cfg);
    let report = check_config(
        &server_admin,
        common::tableau::pat_of("pat", "pat-secret"),
        Some("x"),
    )
    .await;
    assert!(
        !report.lines.iter().any(|l| l.contains("map_assets_to")),
        "{:?}",
        report.lines
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn entras_pathless_value_path_email_reaches_tableau_and_unknown_keys_are_refused() {
    let h = site(|_| {});
    let (_, u) = h.idp.call(Method::POST, "/Users", Some(ann())).await;
    let uid = id(&u);
    // Microsoft's SCIM guide, "Update User [Multi-valued properties]".
    let (s, after) = h
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{uid}"),
            Some(patch(json!([{"op":"Replace","value":{"emails[type eq \"work\"].value":"ann@corp.example"}}]))),
        )
        .await;
    assert_eq!(
        (s, after["emails"][0]["value"].clone()),
        (StatusCode::OK, json!("ann@corp.example"))
    );
    let email = h
        .stack
        .emulator
        .with_state(|s| s.user_named("ann@example.com").and_then(|u| u.email))
        .flatten();
    assert_eq!(email.as_deref(), Some("ann@corp.example"));

    h.reset_calls();
    let (s, e) = h
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{uid}"),
            Some(patch(json!([{"op":"Replace","value":{"displayName":"Ann L.","emails[type eq \"work\"].colour":"red"}}]))),
        )
        .await;
    assert_eq!(
        (s, e["scimType"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalidPath")),
        "{e}"
    );
    assert_eq!(h.tableau_calls(), 0);
    let (_, same) = h.idp.get(&format!("/Users/{uid}")).await;
    assert_eq!(same["displayName"], "Ann Lee", "all or nothing");
}
