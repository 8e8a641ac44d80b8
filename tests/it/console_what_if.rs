//! The console's "what if this group were unassigned?": before touching the IdP, an admin
//! picks a group and reads each member's role and seat without it and if deactivated; nothing
//! changes. And the holds page names the content owners among the held changes.

use crate::common;

use common::{fast_retry, id, patch, Site};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tableau_scim::bridge::mapping::roles::RoleMapping;
use tableau_scim::emulator::EmulatorConfig;
use tableau_scim::http::TokenDigest;
use tableau_scim::tableau::content::ContentKind;
use tableau_scim::tableau::SiteRole;

use crate::console_browser::Browser;

const TOKEN: &str = "what-if-scim-token";
const ADMIN: &str = "what-if-admin-token-0001";

fn site() -> Site {
    Site::start(
        EmulatorConfig::new("acme", "pat", "pat-secret"),
        TOKEN,
        |o| {
            o.tenant.retry = fast_retry();
            o.tenant.admin_tokens = vec![TokenDigest::of(ADMIN)];
            o.tenant.policy.safety.max_changes = 3;
            o.tenant.policy.safety.max_share = 0.0;
            o.tenant.roles = RoleMapping::new(
                [],
                [
                    ("Tableau Creators".to_string(), SiteRole::Creator),
                    ("Explorers".to_string(), SiteRole::Explorer),
                ],
                SiteRole::Viewer,
            );
        },
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_sees_what_unassigning_a_group_would_do_and_the_owners_among_held_changes() {
    let site = site();
    let mut ids = std::collections::BTreeMap::new();
    for name in ["ann", "bob", "cy", "dee"] {
        let (s, u) = site
            .idp
            .call(
                Method::POST,
                "/Users",
                Some(json!({"userName": format!("{name}@example.com"), "active": true})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        ids.insert(name, id(&u));
    }
    let group = |name: &str, members: &[&str]| {
        let members: Vec<_> = members.iter().map(|m| json!({"value": ids[m]})).collect();
        json!({"displayName": name, "members": members})
    };
    let (s, g) = site
        .idp
        .call(
            Method::POST,
            "/Groups",
            Some(group("Tableau Creators", &["ann", "bob", "cy"])),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let creators = id(&g);
    let (s, _) = site
        .idp
        .call(Method::POST, "/Groups", Some(group("Explorers", &["bob"])))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    site.stack.emulator.with_state(|s| {
        assert!(s
            .seed_item("ann@example.com", ContentKind::Workbook, "Pipeline", None)
            .is_some())
    });
    assert_eq!(site.role("bob@example.com").as_deref(), Some("Creator"));

    let mut b = Browser::at(&format!("http://{}", site.stack.serving.server.addr));
    b.sign_in(ADMIN).await;
    let page = b.get("/admin/tenants/acme/whatif").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(&format!("<option value=\"{creators}\"")),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(">All Users<"),
        "no IdP assigns All Users"
    );

    site.reset_calls();
    let page = b
        .get(&format!("/admin/tenants/acme/whatif?group={creators}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for needle in [
        "Tableau Creators: 3 members",
        "<tr><td>ann@example.com</td><td>Creator</td><td>Viewer</td><td>Unlicensed</td><td>yes</td></tr>",
        "<tr><td>bob@example.com</td><td>Creator</td><td>Explorer</td><td>Unlicensed</td><td>no</td></tr>",
        "<span>Creator seats freed without the group</span> <strong>3</strong>",
        "<span>Creator seats freed if deactivated</span> <strong>3</strong>",
        "<span>content owners affected without the group / if deactivated</span> <strong>1 / 1</strong>",
    ] {
        assert!(page.body.contains(needle), "{needle}: {}", page.body);
    }
    assert!(!page.body.contains("dee@example.com"), "not a member");
    let changed = site
        .stack
        .emulator
        .with_state(|s| s.stats_snapshot())
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, n)| !k.starts_with("GET") && !k.contains("auth/") && *n > 0)
        .count();
    assert_eq!(changed, 0, "the page changes nothing in Tableau");
    assert_eq!(site.role("ann@example.com").as_deref(), Some("Creator"));
    let page = b.get("/admin/tenants/acme/whatif?group=not-a-group").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);

    // Three deactivations fit the window; ann's, a content owner's, is held.
    for name in ["dee", "bob", "cy", "ann"] {
        site.idp
            .call(
                Method::PATCH,
                &format!("/Users/{}", ids[name]),
                Some(patch(
                    json!([{"op": "replace", "value": {"active": false}}]),
                )),
            )
            .await;
    }
    let page = b.get("/admin/tenants/acme/holds").await;
    assert!(
        page.body
            .contains("The breaker is open: 1 changes are held."),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<span>content owners affected</span> <strong>1</strong>"),
        "{}",
        page.body
    );
}
