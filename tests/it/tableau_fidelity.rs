//! Tableau's rules as the emulator enforces them and the client meets them: one test per rule
//! family of docs/tableau-fidelity.md, where each rule's source is cited. What the client never
//! sends is sent by hand ([`Raw`]), so the emulator's side of each rule is tested too.

use crate::common;

use common::tableau::*;
use reqwest::Method;
use tableau_scim::emulator::{Capacity, EmulatorConfig, Flavor};
use tableau_scim::tableau::model::UserUpdate;
use tableau_scim::tableau::{Credentials, Deployment, NameMatch, SiteRole, TableauError};

const UNKNOWN_ID: &str = "6b7179ba-b82b-4f0f-91ed-812074ac5da6";

/// "Tableau Cloud only allows for updating siteRole and authSetting" (Tableau's Postman
/// collection, Update User): the client never sends a full name or an email there, and the
/// emulator's Cloud refuses both; a site role still changes.
#[tokio::test(flavor = "multi_thread")]
async fn tableau_cloud_never_gets_a_full_name_or_email_in_update_user() {
    let e = cloud_emu(|_| {});
    let c = cloud_client(&e);
    let u = ok(c
        .add_user(&user_for(&e, "ann@example.com", SiteRole::Viewer))
        .await);
    for upd in [
        UserUpdate {
            full_name: Some("Ann".into()),
            ..UserUpdate::default()
        },
        UserUpdate {
            email: Some("ann@corp.example".into()),
            ..UserUpdate::default()
        },
    ] {
        let refused = c.update_user(&u.id, &upd).await;
        assert!(
            matches!(refused, Err(TableauError::Refused(_))),
            "{refused:?}"
        );
    }
    assert_eq!(c.stats().calls("PUT users/{id}"), 0, "never sent");

    let raw = Raw::sign_in(&e, "3.27").await;
    let path = format!("/users/{}", u.id);
    for body in [
        r#"<tsRequest><user fullName="Ann"/></tsRequest>"#,
        r#"<tsRequest><user email="ann@corp.example"/></tsRequest>"#,
    ] {
        let (status, code, _) = raw.send(Method::PUT, &path, body).await;
        assert_eq!(
            (status, code.as_str()),
            (403, "403009"),
            "Cloud refuses {body}"
        );
    }
    let (status, _, body) = raw
        .send(
            Method::PUT,
            &path,
            r#"<tsRequest><user siteRole="Explorer"/></tsRequest>"#,
        )
        .await;
    assert_eq!(status, 200, "a site role may change: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn update_user_has_no_name_on_either_deployment() {
    for e in [emu(), cloud_emu(|_| {})] {
        let c = client(&e);
        let u = ok(c
            .add_user(&user_for(&e, "bo@example.com", SiteRole::Viewer))
            .await);
        let raw = Raw::sign_in(&e, "3.24").await;
        let (status, code, _) = raw
            .send(
                Method::PUT,
                &format!("/users/{}", u.id),
                r#"<tsRequest><user name="new@example.com"/></tsRequest>"#,
            )
            .await;
        assert_eq!((status, code.as_str()), (400, "400003"));
        assert!(e
            .with_state(|s| s.user_named("bo@example.com").is_some())
            .unwrap_or(false));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_tier_leaves_add_user_unlicensed_and_refuses_update_user_with_409014() {
    let mut cfg = EmulatorConfig::new("acme", PAT_NAME, PAT_SECRET);
    // The administrator holds the only Creator seat.
    cfg.capacity = Capacity {
        creator: Some(1),
        explorer: Some(1),
        viewer: None,
    };
    let e = start(cfg);
    let c = client(&e);
    let u = ok(c
        .add_user(&new_user("c@example.com", SiteRole::Creator))
        .await);
    assert_eq!(u.site_role, "Unlicensed", "Add User succeeds, unlicensed");
    let x = ok(c
        .add_user(&new_user("x@example.com", SiteRole::Explorer))
        .await);
    assert_eq!(x.site_role, "Explorer");
    let up = c
        .update_user(
            &u.id,
            &UserUpdate {
                site_role: Some(SiteRole::ExplorerCanPublish),
                email: Some("c@corp.example".into()),
                ..UserUpdate::default()
            },
        )
        .await;
    assert!(
        up.as_ref()
            .err()
            .is_some_and(TableauError::is_licensing_conflict),
        "{up:?}"
    );
    let after = ok(c.get_user(&u.id).await);
    assert_eq!(
        after.map(|u| (u.site_role.to_string(), u.email)),
        Some(("Unlicensed".to_string(), None)),
        "nothing changed"
    );
    let site = ok(c.site_info().await);
    assert_eq!(
        (
            site.tier_creator_capacity,
            site.tier_explorer_capacity,
            site.num_creators,
            site.num_explorers
        ),
        (Some(1), Some(1), Some(1), Some(1))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn query_site_carries_usage_only_when_asked() {
    let e = emu();
    let raw = Raw::sign_in(&e, "3.24").await;
    let (_, _, plain) = raw.send(Method::GET, "", "").await;
    assert!(
        plain.contains("<site ") && !plain.contains("<usage"),
        "{plain}"
    );
    let (_, _, asked) = raw
        .send(Method::GET, "?includeUsageStatistics=true", "")
        .await;
    assert!(asked.contains("<usage "), "{asked}");
    let site = ok(client(&e).site_info().await);
    assert_eq!(
        (site.num_users, site.num_creators),
        (Some(1), Some(1)),
        "the client asks"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connected_app_scopes_are_granted_per_call() {
    let mut cfg = EmulatorConfig::new("acme", PAT_NAME, PAT_SECRET);
    cfg.connected_app = Some(connected_app());
    let e = start(cfg);
    let c = client_with(&e, Credentials::ConnectedApp(connected_app()), None);
    ok(c.all_users().await);
    ok(c.all_groups().await);
    ok(c.site_info().await);

    // A Tableau that grants users and groups but not the content read scope.
    let mut cfg = EmulatorConfig::new("acme", PAT_NAME, PAT_SECRET);
    cfg.connected_app = Some(connected_app());
    cfg.known_scopes = Some(vec!["tableau:users:*".into(), "tableau:groups:*".into()]);
    let e = start(cfg);
    let c = client_with(&e, Credentials::ConnectedApp(connected_app()), None);
    ok(c.all_users().await);
    let err = c.site_info().await.err().map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|m| m.contains("401002") && m.contains("tableau:content:read")),
        "names the missing scope: {err:?}"
    );
}

/// Tableau Server answers a duplicate user 409000 (REST reference error table), Tableau Cloud
/// 409017 (the migration SDK); the client takes either as "exists", and an option chooses.
#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_user_is_409000_on_server_409017_on_cloud_or_as_chosen() {
    for (flavor, chosen, code) in [
        (Flavor::Server, None, "409000"),
        (Flavor::Cloud, None, "409017"),
        (Flavor::Server, Some("409017"), "409017"),
    ] {
        let mut cfg = EmulatorConfig::new("acme", PAT_NAME, PAT_SECRET);
        cfg.set_flavor(flavor);
        cfg.user_exists_code = chosen;
        let e = start(cfg);
        let c = client(&e);
        ok(
            c.add_user(&user_for(&e, "dup@example.com", SiteRole::Viewer))
                .await,
        );
        let dup = c
            .add_user(&user_for(&e, "DUP@example.com", SiteRole::Viewer))
            .await;
        assert_eq!(
            dup.as_ref().err().and_then(|e| e.code()),
            Some(code),
            "{flavor:?}"
        );
        assert!(dup.err().is_some_and(|e| e.is_user_exists()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_cannot_change_their_own_site_role() {
    let e = emu();
    let c = client(&e);
    let me = ok(c.session().await).user_id.clone();
    let own = c
        .update_user(
            &me,
            &UserUpdate {
                site_role: Some(SiteRole::Explorer),
                ..UserUpdate::default()
            },
        )
        .await;
    assert!(
        own.as_ref()
            .err()
            .is_some_and(TableauError::is_own_role_forbidden),
        "{own:?}"
    );
    assert_eq!(
        e.with_state(|s| s.role_of(EmulatorConfig::DEFAULT_ADMIN))
            .flatten()
            .as_deref(),
        Some("SiteAdministratorCreator")
    );
    let named = ok(c
        .update_user(
            &me,
            &UserUpdate {
                full_name: Some("The Admin".into()),
                ..UserUpdate::default()
            },
        )
        .await);
    assert_eq!(
        named.full_name.as_deref(),
        Some("The Admin"),
        "the rest may change"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn map_assets_to_needs_a_server_administrator() {
    let owner_and_heir = |e: &tableau_scim::emulator::RunningEmulator| {
        e.with_state(|s| {
            let owner = s.add_user("owner@example.com", SiteRole::Creator, None, None, None);
            let heir = s.add_user("heir@example.com", SiteRole::Creator, None, None, None);
            s.set_owns_content("owner@example.com", true);
            (
                owner.map(|u| u.id.to_string()).unwrap_or_default(),
                heir.map(|u| u.id.to_string()).unwrap_or_default(),
            )
        })
        .unwrap_or_default()
    };
    for site_admin in [emu(), cloud_emu(|_| {})] {
        let c = client(&site_admin);
        let (owner, heir) = owner_and_heir(&site_admin);
        let refused = c.remove_user(&owner, Some(&heir)).await;
        assert_eq!(code_of(refused).as_deref(), Some("403000"));
        assert!(ok(c.get_user(&owner).await).is_some(), "still there");
        // Without mapAssetsTo an owner is left Unlicensed, with 409003.
        assert_eq!(
            code_of(c.remove_user(&owner, None).await).as_deref(),
            Some("409003")
        );
        assert_eq!(
            ok(c.get_user(&owner).await).map(|u| u.site_role.to_string()),
            Some("Unlicensed".to_string())
        );
    }
    let mut cfg = EmulatorConfig::new("acme", PAT_NAME, PAT_SECRET);
    cfg.admin_role = SiteRole::ServerAdministrator;
    let e = start(cfg);
    let c = client(&e);
    let (owner, heir) = owner_and_heir(&e);
    assert!(ok(c.remove_user(&owner, Some(&heir)).await));

    let mut cloud = EmulatorConfig::new("acme", PAT_NAME, PAT_SECRET);
    cloud.set_flavor(Flavor::Cloud);
    cloud.admin_role = SiteRole::ServerAdministrator;
    assert!(
        tableau_scim::emulator::start("127.0.0.1:0", cloud, 1).is_err(),
        "Tableau Cloud has no server administrators"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_sent_to_the_wrong_pod_is_posted_again_to_the_pod() {
    let mut cfg = EmulatorConfig::new("acme", PAT_NAME, PAT_SECRET);
    cfg.sign_in_host = Some("localhost".into());
    let e = start(cfg);
    // An HTTP client that follows the 301 itself turns the POST into a GET: 405000.
    let naive = reqwest::Client::new();
    let r = ok(naive
        .post(format!("{}/api/3.24/auth/signin", e.url()))
        .body("<tsRequest/>")
        .send()
        .await);
    let status = r.status().as_u16();
    assert_eq!(
        (status, error_code(&ok(r.text().await)).as_str()),
        (405, "405000")
    );

    e.with_state(|s| s.reset_stats());
    let c = client(&e);
    assert_eq!(ok(c.all_users().await).len(), 1);
    let session = ok(c.session().await);
    assert_eq!(
        session.server,
        format!("http://localhost:{}", e.addr.port()),
        "the session's calls go to the pod"
    );
    assert_eq!(c.stats().sign_ins, 1);
    assert_eq!(
        emulator_calls(&e, "POST /auth/signin"),
        2,
        "redirected, then answered"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn codes_for_missing_groups_tokens_guests_roles_and_sites() {
    let e = emu();
    let raw = Raw::sign_in(&e, "3.24").await;
    let (status, code, _) = raw
        .send(Method::DELETE, &format!("/groups/{UNKNOWN_ID}"), "")
        .await;
    assert_eq!((status, code.as_str()), (404, "404012"), "group not found");
    let (status, code, _) = raw
        .send(
            Method::POST,
            "/users",
            r#"<tsRequest><user name="g@example.com" siteRole="Guest"/></tsRequest>"#,
        )
        .await;
    assert_eq!(
        (status, code.as_str()),
        (409, "409005"),
        "no Guest on Add User"
    );
    let (status, code, _) = raw
        .send(
            Method::POST,
            "/users",
            r#"<tsRequest><user name="z@example.com" siteRole="SuperUser"/></tsRequest>"#,
        )
        .await;
    assert_eq!(
        (status, code.as_str()),
        (400, "400013"),
        "invalid site role"
    );

    let users = format!("{}/sites/{}/users", raw.api, raw.site_id);
    let no_token = ok(ok(raw.http.get(&users).send().await).text().await);
    assert_eq!(error_code(&no_token), "401000");
    let stale = ok(ok(raw
        .http
        .get(&users)
        .header("X-Tableau-Auth", "stale-token")
        .send()
        .await)
    .text()
    .await);
    assert_eq!(error_code(&stale), "401002");
    let other_site = ok(ok(raw
        .http
        .get(format!("{}/sites/{UNKNOWN_ID}/users", raw.api))
        .header("X-Tableau-Auth", &raw.token)
        .send()
        .await)
    .text()
    .await);
    assert_eq!(error_code(&other_site), "404000", "site not found");

    let c = client(&e);
    assert_eq!(
        code_of(c.query_users(1, 1001, None).await).as_deref(),
        Some("403014")
    );
    assert_eq!(
        code_of(c.query_users(9, 100, None).await).as_deref(),
        Some("400006")
    );
    let missing = c
        .update_user(
            UNKNOWN_ID,
            &UserUpdate {
                full_name: Some("x".into()),
                ..UserUpdate::default()
            },
        )
        .await;
    assert_eq!(code_of(missing).as_deref(), Some("404002"));
    assert_eq!(ok(c.get_user(UNKNOWN_ID).await), None);
    assert!(
        !ok(c.delete_group(UNKNOWN_ID).await),
        "a missing group is gone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn attributes_go_only_where_the_version_and_deployment_take_them() {
    // Tableau Server: Add User has no email; the client leaves it for Update User.
    let e = emu();
    let raw = Raw::sign_in(&e, "3.24").await;
    let (status, code, _) = raw
        .send(
            Method::POST,
            "/users",
            r#"<tsRequest><user name="m@example.com" siteRole="Viewer" email="m@example.com"/></tsRequest>"#,
        )
        .await;
    assert_eq!((status, code.as_str()), (400, "400003"));
    let mut with_email = new_user("m@example.com", SiteRole::Viewer);
    with_email.email = Some("m@example.com".into());
    let u = ok(client(&e).add_user(&with_email).await);
    assert_eq!(u.email, None, "not sent");
    let mut with_idp = new_user("i@example.com", SiteRole::Viewer);
    with_idp.idp_configuration_id = Some("idp-1".into());
    let mut older_cfg = EmulatorConfig::new("acme", PAT_NAME, PAT_SECRET);
    older_cfg.api_version = "3.23".into();
    let older_server = start(older_cfg);
    assert!(
        matches!(
            client(&older_server).add_user(&with_idp).await,
            Err(TableauError::Config(_))
        ),
        "idpConfigurationId needs 3.24 (TSC PR #1601)"
    );

    // Tableau Cloud from 3.26: one Add User carries the email.
    let cloud = cloud_emu(|_| {});
    let c = cloud_client(&cloud);
    // Tableau Cloud requires a sign-in method (TSC docs/api-ref.md; issue #990).
    let (status, code, _) = Raw::sign_in(&cloud, "3.27")
        .await
        .send(
            Method::POST,
            "/users",
            r#"<tsRequest><user name="n@example.com" siteRole="Viewer"/></tsRequest>"#,
        )
        .await;
    assert_eq!(
        (status, code.as_str()),
        (400, "400003"),
        "no authSetting on Cloud"
    );
    with_email.auth_setting = Some("TableauIDWithMFA".into());
    let u = ok(c.add_user(&with_email).await);
    assert_eq!(u.email.as_deref(), Some("m@example.com"));
    assert_eq!(c.stats().calls("POST users"), 1);
    assert_eq!(
        cloud
            .with_state(|s| s.user_named("m@example.com").and_then(|u| u.email))
            .flatten()
            .as_deref(),
        Some("m@example.com")
    );
    let older = cloud_emu(|cfg| cfg.api_version = "3.25".into());
    let u = ok(cloud_client(&older).add_user(&with_email).await);
    assert_eq!(u.email, None, "3.25 takes no email on Add User");

    // isUat on a JWT sign-in from 3.27 only.
    for version in ["3.26", "3.27"] {
        let mut cfg = EmulatorConfig::new("acme", PAT_NAME, PAT_SECRET);
        cfg.connected_app = Some(connected_app());
        cfg.api_version = version.into();
        let e = start(cfg);
        let c = client_for(
            &e.url(),
            Credentials::ConnectedApp(connected_app()),
            None,
            Deployment::Server,
        );
        ok(c.sign_in().await);
        let token =
            tableau_scim::tableau::jwt::mint(&connected_app(), chrono_now()).unwrap_or_default();
        let body = format!(
            r#"<tsRequest><credentials jwt="{token}" isUat="false"><site contentUrl="acme"/></credentials></tsRequest>"#
        );
        let r = ok(reqwest::Client::new()
            .post(format!("{}/api/{version}/auth/signin", e.url()))
            .body(body)
            .send()
            .await);
        let expected = if version == "3.26" { 400 } else { 200 };
        assert_eq!(r.status().as_u16(), expected, "isUat at {version}");
    }
}

fn chrono_now() -> i64 {
    tableau_scim::clock::system_now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0)
}

/// Tableau's filters take `*` as a wildcard (Tableau's MCP server: `name:eq:mark*`; the REST
/// filtering page from Cloud May 2023 and Server 2022.1.14), `eq` is case-sensitive, and `cieq`
/// is refused with 400065 where the version does not know it. The client never returns a user
/// or group whose name differs from the one asked for.
#[tokio::test(flavor = "multi_thread")]
async fn name_lookups_never_take_a_wildcard_match_for_the_name() {
    let e = emu();
    let c = client(&e);
    let abc = ok(c
        .add_user(&new_user("abc@example.com", SiteRole::Viewer))
        .await);
    ok(c.create_group("Finance", None).await);
    let raw = Raw::sign_in(&e, "3.24").await;
    let listed = |body: &str| body.matches("<user ").count();
    let (status, _, body) = raw
        .send(Method::GET, "/users?filter=name:eq:a*c@example.com", "")
        .await;
    assert_eq!(
        (status, listed(&body)),
        (200, 1),
        "the emulator's eq is a wildcard: {body}"
    );
    let (_, _, body) = raw
        .send(Method::GET, "/users?filter=name:eq:ABC@example.com", "")
        .await;
    assert_eq!(listed(&body), 0, "eq is case-sensitive");
    let (_, _, body) = raw
        .send(Method::GET, "/users?filter=name:cieq:ABC@example.com", "")
        .await;
    assert_eq!(listed(&body), 1, "cieq is not");

    for how in [NameMatch::Exact, NameMatch::CaseInsensitive] {
        assert_eq!(
            ok(c.find_user_by_name("a*c@example.com", how).await),
            None,
            "{how:?}"
        );
    }
    assert_eq!(ok(c.find_group_by_name("Fin*").await), None);
    assert_eq!(
        ok(
            c.find_user_by_name("ABC@example.com", NameMatch::CaseInsensitive)
                .await
        )
        .map(|u| u.id),
        Some(abc.id.clone())
    );
    // A name that really holds a star is found, exactly.
    let star = ok(c
        .add_user(&new_user("a*c@example.com", SiteRole::Viewer))
        .await);
    assert_eq!(
        ok(
            c.find_user_by_name("a*c@example.com", NameMatch::CaseInsensitive)
                .await
        )
        .map(|u| u.id),
        Some(star.id)
    );
}

/// Below REST 3.22 (assumed: no source dates `cieq`) or on a Tableau that answers it 400065,
/// a case-insensitive lookup is `eq`, then the listing only when `eq` found no user of that
/// letter case.
#[tokio::test(flavor = "multi_thread")]
async fn without_cieq_a_lookup_is_eq_then_a_listing() {
    let mut old = EmulatorConfig::new("acme", PAT_NAME, PAT_SECRET);
    old.api_version = "3.21".into();
    let old = start(old);
    let raw = Raw::sign_in(&old, "3.21").await;
    let (status, code, _) = raw
        .send(Method::GET, "/users?filter=name:cieq:x@example.com", "")
        .await;
    assert_eq!((status, code.as_str()), (400, "400065"));
    let c = client(&old);
    let ann = ok(c
        .add_user(&new_user("ann@example.com", SiteRole::Viewer))
        .await);
    assert!(!ok(c.filters_any_case().await));
    c.reset_stats();
    let same_case = ok(c
        .find_user_by_name("ann@example.com", NameMatch::CaseInsensitive)
        .await);
    assert_eq!(same_case.map(|u| u.id), Some(ann.id.clone()));
    assert_eq!(c.stats().calls("GET users"), 1, "eq found it");
    let other_case = ok(c
        .find_user_by_name("Ann@Example.com", NameMatch::CaseInsensitive)
        .await);
    assert_eq!(other_case.map(|u| u.id), Some(ann.id.clone()));
    assert_eq!(c.stats().calls("GET users"), 3, "eq, then the listing");

    // A Tableau that refuses cieq at a version said to know it: the first 400065 turns it off.
    let mut no_cieq = EmulatorConfig::new("acme", PAT_NAME, PAT_SECRET);
    no_cieq.no_cieq = true;
    let e = start(no_cieq);
    let c = client(&e);
    let bo = ok(c
        .add_user(&new_user("bo@example.com", SiteRole::Viewer))
        .await);
    assert!(ok(c.filters_any_case().await));
    let found = ok(c
        .find_user_by_name("BO@example.com", NameMatch::CaseInsensitive)
        .await);
    assert_eq!(found.map(|u| u.id), Some(bo.id));
    assert!(!ok(c.filters_any_case().await), "off after the 400065");
    assert_eq!(
        ok(
            c.find_user_by_name("nobody@example.com", NameMatch::CaseInsensitive)
                .await
        ),
        None
    );
}
