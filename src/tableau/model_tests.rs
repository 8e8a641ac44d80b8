//! Reading Tableau's XML into the model, and the request bodies written from it.

use super::*;
use crate::tableau::xml::parse;

#[test]
fn reads_tscs_user_list_sample() {
    // tableau-rest.md section 7, TSC test/assets/user_get.xml (verbatim).
    let doc = r#"<?xml version='1.0' encoding='UTF-8'?>
<tsResponse xmlns="http://tableau.com/api" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://tableau.com/api http://tableau.com/api/ts-api-2.3.xsd">
<pagination pageNumber="1" pageSize="100" totalAvailable="2" />
<users>
    <user id="dd2239f6-ddf1-4107-981a-4cf94e415794" name="alice" siteRole="Publisher" lastLogin="2016-08-16T23:17:06Z" externalAuthUserId="" fullName="alice cook" email="alicecook@test.com" />
    <user id="2a47bbf8-8900-4ebb-b0a4-2723bd7c46c3" name="Bob" siteRole="Interactor" externalAuthUserId="" fullName="Bob Smith" email="bob@test.com" />
</users>
</tsResponse>"#;
    let root = parse(doc).map_err(|e| e.to_string());
    let root = root.as_ref().map_err(Clone::clone);
    let Ok(root) = root else {
        panic!("parse failed")
    };
    let page = root.child("pagination").map(Pagination::from_element);
    assert_eq!(
        page.and_then(Result::ok).map(|p| p.total_available),
        Some(2)
    );
    let users: Vec<User> = root
        .find("users")
        .map(|u| {
            u.children_named("user")
                .filter_map(|e| User::from_element(e).ok())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0].name, "alice");
    assert_eq!(
        users[0].role(),
        Some(SiteRole::ExplorerCanPublish),
        "legacy Publisher"
    );
    assert_eq!(
        users[1].role(),
        Some(SiteRole::Explorer),
        "legacy Interactor"
    );
    assert_eq!(users[0].last_login.as_deref(), Some("2016-08-16T23:17:06Z"));
}

#[test]
fn reads_group_list_all_fields_site_and_server_info() {
    let doc = r#"<tsResponse xmlns="http://tableau.com/api"><pagination pageNumber="1" pageSize="100" totalAvailable="3"/>
  <groups>
<group id="ef8b19c0-43b6-11e6-af50-63f5805dbe3c" name="All Users" userCount="2"><domain name="local"/></group>
<group id="e7833b48-c6f7-47b5-a2a7-36e7dd232758" name="Another group" minimumSiteRole="Explorer"><domain name="local"/></group>
  </groups></tsResponse>"#;
    let root = parse(doc).ok();
    let groups: Vec<Group> = root
        .as_ref()
        .and_then(|r| r.find("groups"))
        .map(|g| {
            g.children_named("group")
                .filter_map(|e| Group::from_element(e).ok())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(groups.len(), 2);
    assert!(groups[0].is_all_users());
    assert_eq!(groups[0].user_count, Some(2));
    assert_eq!(groups[1].minimum_site_role.as_deref(), Some("Explorer"));
    assert_eq!(groups[1].domain.as_deref(), Some("local"));
    // TSC's reading: the minimum role in an <import> child.
    let tsc_shape = r#"<group id="g" name="G"><import domainName="local" siteRole="Viewer" grantLicenseMode="onLogin"/></group>"#;
    let g = parse(tsc_shape)
        .ok()
        .map(|e| Group::from_element(&e))
        .and_then(Result::ok);
    assert_eq!(
        g.map(|g| (g.minimum_site_role, g.domain)),
        Some((Some("Viewer".into()), Some("local".into())))
    );

    let site = r#"<tsResponse xmlns="http://tableau.com/api"><site id="s1" name="Acme" contentUrl="acme" tierCreatorCapacity="5" tierExplorerCapacity="10"><usage numCreators="5" numExplorers="3" numViewers="0" numUsers="9"/></site></tsResponse>"#;
    let s = parse(site)
        .ok()
        .and_then(|r| r.find("site").map(SiteInfo::from_element))
        .and_then(Result::ok);
    assert_eq!(
        s.as_ref().map(|s| (
            s.tier_creator_capacity,
            s.tier_viewer_capacity,
            s.num_creators
        )),
        Some((Some(5), None, Some(5)))
    );
    use crate::tableau::site_role::LicenseTier;
    let free = s.map(|s| {
        [
            LicenseTier::Creator,
            LicenseTier::Explorer,
            LicenseTier::Viewer,
        ]
        .map(|t| s.seat_free(t))
    });
    assert_eq!(
        free,
        Some([false, true, true]),
        "5 of 5 Creators used; 3 of 10 Explorers; Viewers not limited"
    );
    // `<usage>` needs only numUsers and storage (ts-api_3_29.xsd): a count left out is
    // unknown, not zero, and a limited tier of unknown use is not known to be full.
    let sparse = r#"<tsResponse xmlns="http://tableau.com/api"><site id="s1" name="Acme" contentUrl="acme" tierCreatorCapacity="5"><usage numUsers="9" storage="12"/></site></tsResponse>"#;
    let s = parse(sparse)
        .ok()
        .and_then(|r| r.find("site").map(SiteInfo::from_element))
        .and_then(Result::ok);
    assert_eq!(
        s.as_ref().map(|s| (
            s.num_users,
            s.num_creators,
            s.seat_free(LicenseTier::Creator)
        )),
        Some((Some(9), None, true))
    );

    let info = r#"<tsResponse><serverInfo><productVersion build="10100.16.1024.2100">10.1.0</productVersion><restApiVersion>3.10</restApiVersion></serverInfo></tsResponse>"#;
    let i = parse(info)
        .ok()
        .and_then(|r| r.find("serverInfo").map(ServerInfo::from_element))
        .and_then(Result::ok);
    assert_eq!(i.map(|i| i.rest_api_version), Some("3.10".to_string()));
}

#[test]
fn error_envelope_and_html_errors() {
    let e = crate::tableau::xml::parse_error(
        409,
        r#"<?xml version='1.0' encoding='UTF-8'?><tsResponse xmlns="http://tableau.com/api"><error code="409000"><summary>Conflict</summary><detail>User &apos;alice&apos; already exists</detail></error></tsResponse>"#,
    );
    assert!(e.is_user_exists());
    assert!(e.to_string().contains("User 'alice' already exists"));
    let html = crate::tableau::xml::parse_error(429, "<html><body>Too Many Requests</body></html>");
    assert_eq!(html.code(), Some("429000"));
}

#[test]
fn request_bodies_have_tableaus_shapes() {
    let new = NewUser {
        name: "a&b@x.com".into(),
        site_role: SiteRole::Viewer,
        auth_setting: Some("SAML".into()),
        idp_configuration_id: Some("idp-1".into()),
        email: Some("a@x.com".into()),
    };
    let server = NewUser {
        idp_configuration_id: None,
        ..new.clone()
    };
    assert_eq!(
        server.to_request(ApiVersion(3, 27), Deployment::Server),
        r#"<tsRequest><user name="a&amp;b@x.com" siteRole="Viewer" authSetting="SAML"/></tsRequest>"#,
        "no email on Tableau Server"
    );
    assert_eq!(
        new.to_request(ApiVersion(3, 26), Deployment::Cloud),
        r#"<tsRequest><user name="a&amp;b@x.com" siteRole="Viewer" idpConfigurationId="idp-1" email="a@x.com"/></tsRequest>"#
    );
    let upd = UserUpdate {
        site_role: Some(SiteRole::Creator),
        full_name: Some("O'Neil".into()),
        ..UserUpdate::default()
    };
    assert_eq!(
        upd.to_request(),
        r#"<tsRequest><user fullName="O&apos;Neil" siteRole="Creator"/></tsRequest>"#
    );
    assert_eq!(
        group_request("Sales", Some(SiteRole::Explorer)),
        r#"<tsRequest><group name="Sales" minimumSiteRole="Explorer"/></tsRequest>"#
    );
    assert_eq!(
        members_request(&["u1".into(), "u2".into()]),
        r#"<tsRequest><users><user id="u1"/><user id="u2"/></users></tsRequest>"#
    );
    assert_eq!(
        member_request("u1"),
        r#"<tsRequest><user id="u1"/></tsRequest>"#
    );
}

#[test]
fn api_versions_compare_numerically() {
    assert!(ApiVersion::parse("3.9") < ApiVersion::parse("3.21"));
    assert_eq!(
        ApiVersion::parse("3.21"),
        Some(ApiVersion::BULK_GROUP_MEMBERS)
    );
    assert_eq!(ApiVersion::parse("x"), None);
}
