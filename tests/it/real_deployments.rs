//! Real deployments as an IdP meets them through tableau-scim: Add User that fails but
//! creates, look-alike names and wildcards, Tableau Cloud's sign-in methods, Tableau Server on
//! Active Directory, roles granted at sign-in. Each transcript runs the real server against
//! the emulator; docs/tableau-fidelity.md lists every rule with its source.

use crate::common;

use common::{fast_retry, id, Site};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tableau_scim::bridge::policy::OnSignInGrants;
use tableau_scim::bridge::reconcile::findings::DriftKind;
use tableau_scim::bridge::reconcile::{Options, Silent};
use tableau_scim::check::{self, TenantReport};
use tableau_scim::emulator::state::{Directory, DirectoryGroup, DirectoryUser};
use tableau_scim::emulator::{EmulatorConfig, Fault, Flavor};
use tableau_scim::stack::StackOptions;
use tableau_scim::tableau::auth_config::AuthConfiguration;
use tableau_scim::tableau::SiteRole;

const TOKEN: &str = "real-deployments-token";

fn site(configure: impl FnOnce(&mut StackOptions)) -> Site {
    let emu = EmulatorConfig::new("acme", "pat", "pat-secret");
    Site::start(emu, TOKEN, |o| {
        o.tenant.retry = fast_retry();
        configure(o);
    })
}

fn user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "name": {"formatted": "Ann Lee"},
        "emails": [{"value": name, "type": "work", "primary": true}],
        "roles": [{"value": "Explorer"}],
        "active": true
    })
}

/// The IdP creates group `name` with `member`.
async fn create_group(h: &Site, name: &str, member: &str) -> (StatusCode, Value) {
    h.idp
        .call(
            Method::POST,
            "/Groups",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": name, "members": [{"value": member}]}),
            ),
        )
        .await
}

/// Make the emulator's next calls meet `faults`, in order.
fn script(h: &Site, faults: &[Fault]) {
    h.stack
        .emulator
        .with_state(|s| s.faults.script = faults.iter().copied().collect());
}

/// Tableau Server answered 400003 to Add Users that created the user (tableauserverclient
/// issues #1137, #636). The bridge looks the name up before answering and takes the user as
/// created: the IdP hears 201 with the real id, the store knows the user, and the IdP's next
/// create of the same name is a conflict, not a second user.
#[tokio::test(flavor = "multi_thread")]
async fn an_add_user_refused_after_it_created_the_user_is_taken_as_created() {
    let h = site(|_| {});
    script(&h, &[Fault::DoneButRefused]);
    let (s, created) = h
        .idp
        .call(Method::POST, "/Users", Some(user("ann@example.com")))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let in_tableau = h
        .stack
        .emulator
        .with_state(|s| s.user_named("ann@example.com"))
        .flatten();
    assert_eq!(
        in_tableau.as_ref().map(|u| u.id.to_string()),
        Some(id(&created)),
        "the id Tableau gave"
    );
    assert_eq!(
        h.role("ann@example.com").as_deref(),
        Some("Explorer"),
        "the role asked for"
    );
    assert_eq!(
        h.calls("GET /sites/{id}/users"),
        1,
        "one lookup of the name before answering"
    );
    let (_, found) = h
        .idp
        .get("/Users?filter=userName%20eq%20%22ann%40example.com%22")
        .await;
    assert_eq!(found["Resources"][0]["id"], created["id"]);
    assert_eq!(
        found["Resources"][0]["name"]["formatted"], "Ann Lee",
        "the store has it"
    );
    let (s, again) = h
        .idp
        .call(Method::POST, "/Users", Some(user("ann@example.com")))
        .await;
    assert_eq!(
        (s, again["scimType"].clone()),
        (StatusCode::CONFLICT, json!("uniqueness")),
        "{again}"
    );
    let names = h
        .stack
        .emulator
        .with_state(|s| s.user_names())
        .unwrap_or_default();
    assert_eq!(
        names
            .iter()
            .filter(|n| n.as_str() == "ann@example.com")
            .count(),
        1
    );
}

/// `*` is a wildcard in Tableau's filters: a lookup of `a*c@example.com` must not find
/// `abc@example.com`, a user the IdP never provisioned, whether the name index answers or
/// Tableau does (index off).
#[tokio::test(flavor = "multi_thread")]
async fn a_wildcard_in_a_user_name_never_finds_another_user() {
    for index in [true, false] {
        let h = site(|o| {
            o.emulator.seed = Some(tableau_scim::emulator::Seed {
                users: vec![tableau_scim::emulator::state::SeedUser {
                    name: "abc@example.com".into(),
                    site_role: "SiteAdministratorCreator".into(),
                    full_name: Some("A. B. Carter".into()),
                    email: None,
                    owns_content: false,
                }],
                groups: vec![],
            });
        });
        if !index {
            // As before the first listing: every lookup asks Tableau.
            h.stack.tenant().forget_name_listing();
        }
        let (s, found) = h
            .idp
            .get("/Users?filter=userName%20eq%20%22a*c%40example.com%22")
            .await;
        assert_eq!(
            (s, found["totalResults"].clone()),
            (StatusCode::OK, json!(0)),
            "index {index}: {found}"
        );
        let (s, created) = h
            .idp
            .call(Method::POST, "/Users", Some(user("a*c@example.com")))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        assert_eq!(
            h.role("abc@example.com").as_deref(),
            Some("SiteAdministratorCreator"),
            "untouched"
        );
        let (_, found) = h
            .idp
            .get("/Users?filter=userName%20eq%20%22a*c%40example.com%22")
            .await;
        assert_eq!(found["Resources"][0]["id"], created["id"], "index {index}");
    }
}

fn saml(id: &str, name: &str) -> AuthConfiguration {
    AuthConfiguration {
        auth_setting: "SAML".into(),
        enabled: true,
        id: id.into(),
        name: name.into(),
        known_provider_alias: None,
    }
}

const OKTA_SAML: &str = "0f0e0d0c-1111-4a4a-8b8b-000000000001";
const ENTRA_SAML: &str = "0f0e0d0c-2222-4a4a-8b8b-000000000002";

/// A Tableau Cloud site with two SAML configurations (an Okta one and an Entra one), as sites
/// from Tableau 2024.3 may have.
fn two_saml_site(configure: impl FnOnce(&mut StackOptions)) -> Site {
    site(|o| {
        o.set_flavor(Flavor::Cloud);
        o.emulator.auth_configurations =
            vec![saml(OKTA_SAML, "Okta"), saml(ENTRA_SAML, "Entra ID")];
        configure(o);
    })
}

async fn ready(h: &Site) -> (StatusCode, String) {
    let r = reqwest::get(format!(
        "http://{}/readyz?verbose=1",
        h.stack.serving.server.addr
    ))
    .await
    .expect("readyz answers");
    let status = r.status();
    (status, r.text().await.unwrap_or_default())
}

/// `check-config` of the tenant `h` serves.
async fn check_config(h: &Site) -> TenantReport {
    let mut reports = check::check(&h.stack.config).await;
    reports.remove(0)
}

/// With more than one SAML configuration, `authSetting="SAML"` leaves a new user "Unspecified"
/// and unable to sign in (tableauserverclient issue #1598). `check-config` lists the site's
/// configurations and fails naming the ids to choose from, and the tenant is not ready; with
/// `idp_configuration_id` naming one, it is, and the users it adds can sign in.
#[tokio::test(flavor = "multi_thread")]
async fn an_ambiguous_sign_in_method_on_tableau_cloud_is_refused_naming_the_choices() {
    let h = two_saml_site(|o| o.tenant.policy.auth_setting = Some("SAML".into()));
    let report = check_config(&h).await;
    assert!(!report.ok, "{:?}", report.lines);
    for id in [OKTA_SAML, ENTRA_SAML] {
        assert!(
            report.lines.iter().any(|l| l.contains(id)),
            "lists {id}: {:?}",
            report.lines
        );
    }
    assert!(
        report.lines.iter().any(|l| l.starts_with("FAIL")
            && l.contains("ambiguous")
            && l.contains("idp_configuration_id")),
        "{:?}",
        report.lines
    );
    let (status, _) = ready(&h).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "not ready");
    // What Tableau does with such an Add User: the user cannot sign in.
    h.stack.emulator.with_state(|s| {
        s.add_user(
            "sam@example.com",
            SiteRole::Viewer,
            Some("SAML".into()),
            None,
            None,
        )
        .map(drop)
    });
    let refused = h
        .stack
        .emulator
        .with_state(|s| s.sign_in_user("sam@example.com", "2026-12-01T00:00:00Z"));
    assert!(
        refused
            .as_ref()
            .is_some_and(|r| r.as_ref().is_err_and(|e| e.detail.contains("Remote IdP"))),
        "{refused:?}"
    );

    let h = two_saml_site(|o| o.tenant.policy.idp_configuration_id = Some(ENTRA_SAML.into()));
    let report = check_config(&h).await;
    assert!(report.ok, "{:?}", report.lines);
    assert!(report
        .lines
        .iter()
        .any(|l| l.starts_with("ok") && l.contains("Entra ID")));
    assert_eq!(ready(&h).await.0, StatusCode::OK);
    let (s, created) = h
        .idp
        .call(Method::POST, "/Users", Some(user("ann@example.com")))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(h.sent("Add User", "idpConfigurationId"), 1);
    let signed_in = h
        .stack
        .emulator
        .with_state(|s| s.sign_in_user("ann@example.com", "2026-12-01T00:00:00Z"));
    assert!(
        signed_in.is_some_and(|r| r.is_ok()),
        "the new user can sign in"
    );
}

fn sign_in(h: &Site, name: &str) -> Option<String> {
    h.stack
        .emulator
        .with_state(|s| s.sign_in_user(name, "2026-12-01T09:00:00Z").ok())
        .flatten()
        .map(|u| u.site_role.to_string())
}

fn patch_active(active: bool) -> Value {
    common::patch(json!([{"op": "replace", "path": "active", "value": active}]))
}

/// A Tableau group with a minimum site role licenses its members when they sign in and never
/// demotes them (Cloud help `grant_role.htm`, Server help `groups_create_adsync.htm`). An IdP's
/// deactivation takes the user out of such groups, so the next sign-in cannot license them
/// again; the reactivation puts them back where the IdP asserted them.
#[tokio::test(flavor = "multi_thread")]
async fn a_deactivation_takes_the_user_out_of_groups_that_grant_a_role_at_sign_in() {
    let h = site(|o| o.tenant.policy.group_minimum_site_role = Some(SiteRole::Explorer));
    let (_, ann) = h
        .idp
        .call(Method::POST, "/Users", Some(user("ann@example.com")))
        .await;
    let uid = id(&ann);
    let (s, g) = create_group(&h, "Analysts", &uid).await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let (s, off) = h
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{uid}"),
            Some(patch_active(false)),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{off}");
    assert_eq!(
        h.members("Analysts"),
        Vec::<String>::new(),
        "out of the granting group"
    );
    assert_eq!(
        sign_in(&h, "ann@example.com").as_deref(),
        Some("Unlicensed"),
        "a sign-in does not license a deactivated user"
    );
    // The IdP pushes the membership again while the user is deactivated: it is recorded, and
    // Tableau's group is joined only on reactivation.
    let (s, pushed) = h
        .idp
        .call(
            Method::PATCH,
            &format!("/Groups/{}", id(&g)),
            Some(common::patch(
                json!([{"op": "add", "path": "members", "value": [{"value": uid}]}]),
            )),
        )
        .await;
    assert!(s.is_success(), "{pushed}");
    assert_eq!(
        h.members("Analysts"),
        Vec::<String>::new(),
        "kept out while deactivated"
    );
    assert_eq!(
        sign_in(&h, "ann@example.com").as_deref(),
        Some("Unlicensed")
    );
    let (s, on) = h
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{uid}"),
            Some(patch_active(true)),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{on}");
    assert_eq!(
        h.members("Analysts"),
        vec!["ann@example.com".to_string()],
        "back where the IdP put them"
    );
    assert_eq!(h.role("ann@example.com").as_deref(), Some("Explorer"));

    // Under on_sign_in_grants = "refuse" the deactivation is refused, naming the group, and
    // nothing changes.
    let r = site(|o| {
        o.tenant.policy.group_minimum_site_role = Some(SiteRole::Explorer);
        o.tenant.policy.on_sign_in_grants = OnSignInGrants::Refuse;
    });
    let (_, bo) = r
        .idp
        .call(Method::POST, "/Users", Some(user("bo@example.com")))
        .await;
    let bid = id(&bo);
    create_group(&r, "Analysts", &bid).await;
    let (s, refused) = r
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{bid}"),
            Some(patch_active(false)),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("'Analysts'")),
        "{refused}"
    );
    assert_eq!(
        r.role("bo@example.com").as_deref(),
        Some("Explorer"),
        "unchanged"
    );
    assert_eq!(r.members("Analysts"), vec!["bo@example.com".to_string()]);
}

/// A role Tableau granted at sign-in, above what the IdP asserted, is reported as its own kind
/// naming the group, and `--apply` never "repairs" it (the next sign-in would undo it): the
/// second run finds the same, having changed nothing.
#[tokio::test(flavor = "multi_thread")]
async fn reconcile_reports_a_role_granted_at_sign_in_and_never_fights_it() {
    let h = site(|_| {});
    let mut viewer = user("cy@example.com");
    viewer["roles"] = json!([{"value": "Viewer"}]);
    let (_, cy) = h.idp.call(Method::POST, "/Users", Some(viewer)).await;
    let cid = id(&cy);
    // An administrator's group in Tableau, granting Creator at sign-in.
    h.stack.emulator.with_state(|s| {
        let g = s.create_group("Makers", Some(SiteRole::Creator));
        g.and_then(|g| s.add_members(&g.id, std::slice::from_ref(&cid), false))
            .map(drop)
    });
    assert_eq!(sign_in(&h, "cy@example.com").as_deref(), Some("Creator"));
    let tenant = h.stack.tenant();
    for apply in [true, true] {
        let report = tenant
            .reconcile(
                Options {
                    apply,
                    recreate_missing: false,
                },
                &Silent,
            )
            .await;
        let found: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.user.as_ref().is_some_and(|u| u.id == cid))
            .collect();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, DriftKind::SignInGrant);
        assert!(found[0]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("'Makers'")));
        assert_eq!(found[0].outcome, None, "no repair was tried");
        assert_eq!(h.role("cy@example.com").as_deref(), Some("Creator"));
    }
}

fn directory() -> Directory {
    let user = |account: &str, upn: &str, full: &str| DirectoryUser {
        account: account.into(),
        upn: Some(upn.into()),
        full_name: Some(full.into()),
        email: None,
    };
    Directory {
        domain: "corp.example.com".into(),
        nickname: Some("CORP".into()),
        users: vec![
            user("jsmith", "jsmith@corp.example.com", "John Smith"),
            user("alee", "amy.lee@corp.example.com", "Amy Lee"),
            user("bwong", "bwong@corp.example.com", "Bo Wong"),
        ],
        groups: vec![DirectoryGroup {
            name: "Finance".into(),
            members: vec!["bwong".into()],
        }],
    }
}

fn ad_user(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
           "active": true, "roles": [{"value": "Viewer"}]})
}

async fn find(h: &Site, name: &str) -> Value {
    let (s, found) = h
        .idp
        .get(&format!(
            "/Users?filter=userName%20eq%20%22{}%22",
            name.replace('@', "%40")
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{found}");
    found
}

/// Tableau Server on Active Directory: Add User works only for the directory's users and
/// stores the account name (sAMAccountName, knowledge base "Importing UPN Prefix as Username"),
/// while the IdP names users by UPN; groups imported from the directory are the directory's
/// (Server help `users_add_group.htm`, `groups_create_ad.htm`). tableau-scim matches the IdP's
/// names in both forms, keeps the IdP's form for SCIM, refuses what Tableau or the next sync
/// would undo with a 4xx before any call, and says a name the directory lacks is the IdP's to
/// fix.
#[tokio::test(flavor = "multi_thread")]
async fn tableau_server_on_active_directory_matches_names_in_both_forms_and_leaves_the_directory_its_groups(
) {
    let h = site(|o| o.emulator.directory = Some(directory()));
    // A user the directory sync brought in is found by the IdP's UPN: linked, not created.
    let bo = find(&h, "bwong@corp.example.com").await;
    assert_eq!(bo["totalResults"], 1, "{bo}");
    let bo_in_tableau = h
        .stack
        .emulator
        .with_state(|s| s.user_named("bwong"))
        .flatten();
    assert_eq!(
        bo["Resources"][0]["id"],
        json!(bo_in_tableau.map(|u| u.id.to_string()))
    );

    // Created by UPN: Tableau stores the account; SCIM keeps the IdP's form.
    for (upn, account) in [
        ("jsmith@corp.example.com", "jsmith"),
        ("amy.lee@corp.example.com", "alee"),
    ] {
        let (s, created) = h.idp.call(Method::POST, "/Users", Some(ad_user(upn))).await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        assert_eq!(created["userName"], upn);
        let in_tableau = h
            .stack
            .emulator
            .with_state(|s| s.user_named(account))
            .flatten();
        assert_eq!(
            in_tableau.as_ref().map(|u| u.id.to_string()),
            Some(id(&created)),
            "{account}"
        );
        let found = find(&h, upn).await;
        assert_eq!(
            found["Resources"][0]["id"], created["id"],
            "{upn}: found by the IdP's name"
        );
        assert_eq!(found["Resources"][0]["userName"], upn);
        let (s, patched) = h
            .idp
            .call(
                Method::PATCH,
                &format!("/Users/{}", id(&created)),
                Some(common::patch(json!([
                    {"op": "replace", "path": "userName", "value": upn},
                    {"op": "replace", "path": "roles", "value": [{"value": "Explorer"}]}
                ]))),
            )
            .await;
        assert_eq!(
            s,
            StatusCode::OK,
            "the IdP's own form is no rename: {patched}"
        );
        assert_eq!(patched["userName"], upn);
        assert_eq!(h.role(account).as_deref(), Some("Explorer"));
    }

    // A name the directory does not have is the IdP's to fix: 400, not 404 or 502.
    h.reset_calls();
    let (s, refused) = h
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(ad_user("nobody@corp.example.com")),
        )
        .await;
    assert_eq!(
        (s, refused["scimType"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalidValue")),
        "{refused}"
    );
    assert!(refused["detail"]
        .as_str()
        .is_some_and(|d| d.contains("Active Directory")));

    // The directory's group: its members and name are refused before any call.
    let (_, finance) = h
        .idp
        .get("/Groups?filter=displayName%20eq%20%22Finance%22")
        .await;
    let gid = id(&finance["Resources"][0]);
    let jsmith = id(&find(&h, "jsmith@corp.example.com").await["Resources"][0]);
    h.reset_calls();
    for ops in [
        json!([{"op": "add", "path": "members", "value": [{"value": jsmith}]}]),
        json!([{"op": "replace", "path": "displayName", "value": "Finance EMEA"}]),
    ] {
        let (s, refused) = h
            .idp
            .call(
                Method::PATCH,
                &format!("/Groups/{gid}"),
                Some(common::patch(ops)),
            )
            .await;
        assert_eq!(
            (s, refused["scimType"].clone()),
            (StatusCode::BAD_REQUEST, json!("mutability")),
            "{refused}"
        );
        assert!(refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("corp.example.com")));
    }
    assert_eq!(h.tableau_calls(), 0, "refused before any Tableau call");
    assert_eq!(h.members("Finance"), vec!["bwong".to_string()]);
    // A local group on the same server is ours.
    let (s, local) = create_group(&h, "Project X", &jsmith).await;
    assert_eq!(s, StatusCode::CREATED, "{local}");
    assert_eq!(h.members("Project X"), vec!["jsmith".to_string()]);
}

/// On a multi-site Tableau Server a site administrator cannot edit the full name (or email) of a
/// user who is also a member of other sites (Server help `sites_addusers.htm`). Tableau's 403009
/// means that there, not "your own site role": the IdP hears what is missing, as a 403.
#[tokio::test(flavor = "multi_thread")]
async fn a_site_administrator_cannot_rename_a_user_of_other_sites_and_hears_why() {
    for server_admin in [false, true] {
        let h = site(|o| {
            if server_admin {
                o.emulator.admin_role = SiteRole::ServerAdministrator;
            }
        });
        let (_, mo) = h
            .idp
            .call(Method::POST, "/Users", Some(user("mo@example.com")))
            .await;
        h.stack
            .emulator
            .with_state(|s| s.set_other_sites("mo@example.com", true));
        let (s, answer) = h
            .idp
            .call(
                Method::PATCH,
                &format!("/Users/{}", id(&mo)),
                Some(common::patch(
                    json!([{"op": "replace", "path": "name.formatted", "value": "Mo Farah"}]),
                )),
            )
            .await;
        let full = h
            .stack
            .emulator
            .with_state(|s| s.user_named("mo@example.com").and_then(|u| u.full_name))
            .flatten();
        if server_admin {
            assert_eq!(s, StatusCode::OK, "{answer}");
            assert_eq!(full.as_deref(), Some("Mo Farah"));
        } else {
            assert_eq!(s, StatusCode::FORBIDDEN, "{answer}");
            assert!(
                answer["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("every site") && !d.contains("own site role")),
                "{answer}"
            );
            assert_eq!(full.as_deref(), Some("Ann Lee"), "unchanged");
        }
    }
}
