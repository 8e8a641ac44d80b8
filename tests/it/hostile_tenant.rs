//! What an authenticated client can make the server do: one tenant's token in an attacker's
//! hands, or a misconfigured IdP. Tableau calls per request are bounded by the page, not the
//! site; look-alike names never reach another account; administrators the IdP never
//! provisioned are left alone (SECURITY.md, "What an authenticated client can do").

use crate::common;

use common::{fast_retry, Site};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tableau_scim::emulator::state::SeedUser;
use tableau_scim::emulator::{EmulatorConfig, Seed};
use tableau_scim::stack::StackOptions;
use tableau_scim::tableau::SiteRole;

const TOKEN: &str = "hostile-tenant-token";

fn site(configure: impl FnOnce(&mut StackOptions)) -> Site {
    let emu = EmulatorConfig::new("acme", "pat", "pat-secret");
    Site::start(emu, TOKEN, |o| {
        o.tenant.retry = fast_retry();
        configure(o);
    })
}

/// On a site of 2,500 users and 60 groups: a filter other than a lone `eq` costs nothing
/// while the name index is complete, however often it is asked; `GET /Groups?count=1` reads the
/// members of the one group on the page, and none when `members` is excluded; an unfiltered
/// page reads the Tableau page it covers, once per cache lifetime.
#[tokio::test(flavor = "multi_thread")]
async fn tableau_calls_per_request_are_bounded_by_the_page_not_the_site() {
    let h = site(|_| {});
    h.stack.emulator.with_state(|s| {
        for i in 0..2_500 {
            let _ = s.add_user(
                &format!("u{i:04}@example.com"),
                SiteRole::Viewer,
                None,
                None,
                None,
            );
        }
        for i in 0..60 {
            let _ = s.create_group(&format!("Team {i:02}"), None);
        }
    });
    h.relist_names().await;
    for _ in 0..20 {
        let (s, found) = h
            .idp
            .get("/Users?filter=userName%20sw%20%22u00%22&count=5")
            .await;
        assert!(s.is_success(), "{found}");
        assert_eq!(found["totalResults"], 100);
    }
    assert_eq!(h.tableau_calls(), 0, "answered from the name index");
    let (_, one) = h.idp.get("/Groups?count=1").await;
    assert_eq!(one["totalResults"], 60);
    assert_eq!(
        h.calls("GET /sites/{id}/groups/{id}/users"),
        1,
        "the members of the page's one group"
    );
    h.reset_calls();
    let (_, none) = h
        .idp
        .get("/Groups?count=60&excludedAttributes=members")
        .await;
    assert_eq!(none["Resources"].as_array().map(Vec::len), Some(60));
    assert_eq!(h.tableau_calls(), 0, "members excluded: none read");
    h.reset_calls();
    for start in [1, 101, 201] {
        h.idp
            .get(&format!("/Users?startIndex={start}&count=100"))
            .await;
    }
    assert_eq!(
        h.calls("GET /sites/{id}/users"),
        1,
        "one Tableau page serves them"
    );
}

fn with_kate(o: &mut StackOptions) {
    o.emulator.seed = Some(Seed {
        users: vec![SeedUser {
            name: "kate@example.com".into(),
            site_role: "SiteAdministratorCreator".into(),
            full_name: Some("Kate Admin".into()),
            email: None,
            owns_content: false,
        }],
        groups: vec![],
    });
}

/// One name, one account (PRECIS, RFC 8265): `Kate` written with U+212A KELVIN SIGN finds no
/// one (it used to return `kate@example.com`, an administrator never provisioned through
/// SCIM), and names that pass for others (look-alikes, another normalisation form, a stray
/// space, bidi and zero-width controls, non-characters) are refused before any Tableau call.
#[tokio::test(flavor = "multi_thread")]
async fn look_alike_names_never_reach_another_account() {
    let h = site(with_kate);
    let kelvin = "\u{212A}ate@example.com";
    let (s, found) = h
        .idp
        .get(&format!(
            "/Users?filter=userName%20eq%20%22{}%22",
            urlencode(kelvin)
        ))
        .await;
    assert_eq!(
        (s, found["totalResults"].clone()),
        (StatusCode::OK, json!(0)),
        "{found}"
    );
    for (user_name, why) in [
        (kelvin, "U+212A"),
        (" kate@example.com", "space"),
        ("e\u{301}mile@example.com", "canonical form"),
        ("a\u{200b}b@example.com", "U+200B"),
        ("\u{fffe}x@example.com", "U+FFFE"),
    ] {
        let (s, refused) = h
            .idp
            .call(Method::POST, "/Users", Some(json!({"userName": user_name})))
            .await;
        assert_eq!(
            (s, refused["scimType"].clone()),
            (StatusCode::BAD_REQUEST, json!("invalidValue")),
            "{user_name:?}: {refused}"
        );
        assert!(
            refused["detail"].as_str().is_some_and(|d| d.contains(why)),
            "{refused}"
        );
    }
    for (path, body) in [
        ("/Groups", json!({"displayName": "Fin\u{200b}ance"})),
        ("/Groups", json!({"displayName": "Finance "})),
        (
            "/Users",
            json!({"userName": "zoe@example.com", "displayName": "Zoe\u{202e}evil"}),
        ),
    ] {
        let (s, refused) = h.idp.call(Method::POST, path, Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {refused}");
    }
    assert_eq!(h.tableau_calls(), 0, "all refused before any Tableau call");
    assert_eq!(
        h.role("kate@example.com").as_deref(),
        Some("SiteAdministratorCreator")
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Site administrators the IdP never provisioned cannot be demoted, deactivated or deleted
/// through SCIM unless the tenant allows it; the account tableau-scim signs in with is
/// read-only (it used to accept an email change).
#[tokio::test(flavor = "multi_thread")]
async fn administrators_the_idp_did_not_provision_are_left_alone() {
    let h = site(with_kate);
    let (_, found) = h
        .idp
        .get("/Users?filter=userName%20eq%20%22kate%40example.com%22")
        .await;
    let kate = common::id(&found["Resources"][0]);
    for body in [
        common::patch(json!([{"op": "replace", "path": "roles", "value": [{"value": "Viewer"}]}])),
        common::patch(json!([{"op": "replace", "path": "active", "value": false}])),
    ] {
        let (s, refused) = h
            .idp
            .call(Method::PATCH, &format!("/Users/{kate}"), Some(body))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{refused}");
        assert!(refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("manage_unprovisioned_admins")));
    }
    let (s, _) = h
        .idp
        .call(Method::DELETE, &format!("/Users/{kate}"), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        h.role("kate@example.com").as_deref(),
        Some("SiteAdministratorCreator")
    );
    assert_eq!(h.sent("Update User", "siteRole"), 0, "nothing sent");

    let (_, me) = h
        .idp
        .get("/Users?filter=userName%20eq%20%22admin%40example.com%22")
        .await;
    let me = common::id(&me["Resources"][0]);
    let (s, refused) = h
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{me}"),
            Some(common::patch(json!([{"op": "replace", "path": "emails", "value": [{"value": "evil@attacker.example", "primary": true}]}]))),
        )
        .await;
    assert_eq!(
        (s, refused["scimType"].clone()),
        (StatusCode::BAD_REQUEST, json!("mutability")),
        "{refused}"
    );
    assert_eq!(h.sent("Update User", "email"), 0);

    let allowed = site(|o| {
        with_kate(o);
        o.tenant.policy.manage_unprovisioned_admins = true;
    });
    let (_, found) = allowed
        .idp
        .get("/Users?filter=userName%20eq%20%22kate%40example.com%22")
        .await;
    let kate = common::id(&found["Resources"][0]);
    let (s, demoted) = allowed
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{kate}"),
            Some(common::patch(
                json!([{"op": "replace", "path": "roles", "value": [{"value": "Viewer"}]}]),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{demoted}");
    assert_eq!(allowed.role("kate@example.com").as_deref(), Some("Viewer"));
}

/// When Tableau is unreachable the IdP hears 503 and what happened, not Tableau's internal
/// address or the site's id; the cause goes to the log under the request id the answer carries.
#[tokio::test(flavor = "multi_thread")]
async fn an_outage_is_said_without_internal_addresses_and_logged_with_the_request_id() {
    let _ = common::captured_logs();
    let h = site(|o| {
        o.tenant.retry = tableau_scim::tableau::retry::RetryPolicy {
            max_attempts: 2,
            ..fast_retry()
        };
    });
    let address = h.stack.emulator.addr.to_string();
    let site_id = h.stack.emulator.site_id.clone();
    h.stack.tenant().forget_name_listing();
    h.stack.emulator.handle.stop(false).await;
    let r = h
        .idp
        .read("/Users?filter=userName%20eq%20%22new%40example.com%22")
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    let detail = r.body["detail"].as_str().unwrap_or_default().to_string();
    assert!(
        !detail.contains(&address) && !detail.contains(&site_id),
        "{detail}"
    );
    let request_id = r.header("x-request-id").to_string();
    assert!(!request_id.is_empty());
    let log = common::captured_text();
    assert!(
        log.lines().any(|l| l.contains(&request_id)
            && l.contains("the request failed")
            && l.contains(&address)),
        "the cause is logged with the request id"
    );
}

/// A client's `Host` header is never written into `Location` or `meta.location`: without
/// `public_url` the address the connection reached is (the demo, the tests), and `serve`
/// refuses to start without `public_url`, naming it.
#[tokio::test(flavor = "multi_thread")]
async fn the_host_header_is_never_echoed_and_serve_needs_public_url() {
    let h = site(|_| {});
    let origin = format!("http://{}", h.stack.serving.server.addr);
    let r = h
        .idp
        .with_header("Host", "evil.example")
        .request(
            Method::POST,
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "host@example.com"
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let location = r.header("location").to_string();
    let meta = r.body["meta"]["location"].as_str().unwrap_or_default();
    for l in [location.as_str(), meta] {
        assert!(l.starts_with(&format!("{origin}/scim/v2/Users/")), "{l}");
        assert!(!l.contains("evil"), "{l}");
    }

    let dir = common::tempdir();
    let config = dir.path().join("config.toml");
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n[[tenants]]\nid = \"acme\"\ntableau_url = \"{}\"\nsite = \"acme\"\ndeployment = \"server\"\npat_name = \"pat\"\npat_secret = \"pat-secret\"\ntoken_hashes = [\"{}\"]\n",
        dir.path().display(),
        h.stack.emulator.url(),
        tableau_scim::http::TokenDigest::of("a-token-for-this-test-only").to_hex()
    );
    std::fs::write(&config, text).expect("the configuration is written");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tableau-scim"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .expect("serve runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("server.public_url is required"), "{stderr}");
}
