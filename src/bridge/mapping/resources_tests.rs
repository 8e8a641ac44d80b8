//! SCIM to Tableau and back: full names, emails, roles, store rows, rendering.

use super::*;
use crate::bridge::fixtures::user;

fn row(attributes: Value) -> UserRow {
    user_row(
        "u1",
        "ann@example.com",
        &attributes,
        None,
        None,
        "2026-01-01T00:00:00.000Z",
    )
}

#[test]
fn full_name_prefers_formatted_then_given_family_then_display_name() {
    let cases = [
        (
            json!({"name": {"formatted": "F M L", "givenName": "G"}}),
            Some("F M L"),
        ),
        (
            json!({"name": {"formatted": " ", "givenName": "G", "familyName": "F"}}),
            Some("G F"),
        ),
        (
            json!({"name": {"familyName": "F"}, "displayName": "D"}),
            Some("F"),
        ),
        (json!({"name": {}, "displayName": "D"}), Some("D")),
        (json!({"displayName": " "}), None),
        (json!({}), None),
    ];
    for (r, want) in cases {
        assert_eq!(full_name(&r).as_deref(), want, "{r}");
    }
}

#[test]
fn email_is_the_primary_else_the_first() {
    let r = json!({"emails": [{"value": "a@x"}, {"value": "b@x", "primary": true}]});
    assert_eq!(email(&r).as_deref(), Some("b@x"));
    assert_eq!(
        email(&json!({"emails": [{"value": "a@x"}]})).as_deref(),
        Some("a@x")
    );
    assert_eq!(email(&json!({"emails": []})), None);
    assert_eq!(email(&json!({})), None);
}

#[test]
fn roles_and_active_read_as_the_idp_sent_them() {
    let r = json!({"roles": [{"value": "Creator"}, {"display": "no value"}, {"value": ""}]});
    assert_eq!(role_values(&r), vec!["Creator".to_string(), String::new()]);
    assert!(role_values(&json!({})).is_empty());
    assert!(is_active(&json!({})));
    assert!(is_active(&json!({"active": true})));
    assert!(!is_active(&json!({"active": false})));
}

#[test]
fn active_now_agrees_with_the_scim_form() {
    for role in ["Viewer", "Unlicensed"] {
        for r in [
            None,
            Some(row(json!({"active": false}))),
            Some(row(json!({"active": true}))),
            Some(row(json!({}))),
        ] {
            let u = user(role);
            assert_eq!(
                active_now(&u, r.as_ref()),
                is_active(&user_to_scim(&u, r.as_ref(), None)),
                "{role} {r:?}"
            );
        }
    }
    assert!(!active_now(&user("Unlicensed"), None));
    assert!(
        active_now(&user("Unlicensed"), Some(&row(json!({})))),
        "the IdP's word wins"
    );
}

#[test]
fn a_user_we_never_wrote_is_described_from_tableau() {
    let mut u = user("Viewer");
    u.last_login = Some("2026-01-02T00:00:00Z".into());
    let r = user_to_scim(&u, None, Some(vec![]));
    assert_eq!(r["userName"], "ann@example.com");
    assert_eq!(r["displayName"], "Ann Lee");
    assert_eq!(
        r["name"],
        json!({"formatted": "Ann Lee", "givenName": "Ann", "familyName": "Lee"}),
        "Okta's Test Users endpoint reads givenName and familyName of such a user"
    );
    assert_eq!(
        full_name(&r).as_deref(),
        Some("Ann Lee"),
        "the same full name again"
    );
    assert_eq!(
        r["emails"],
        json!([{"value": "ann@example.com", "primary": true}])
    );
    assert_eq!(r["active"], true);
    assert!(r.get("groups").is_none(), "no empty groups");
    assert_eq!(
        r[urn::TABLEAU_SCIM_USER],
        json!({"siteRole": "Viewer", "lastLogin": "2026-01-02T00:00:00Z"})
    );
    assert!(r["meta"]["version"]
        .as_str()
        .is_some_and(|v| v.starts_with("W/")));
    assert!(r["meta"].get("created").is_none());
}

#[test]
fn a_full_name_splits_into_given_and_family_names() {
    for (full, want) in [
        (
            "Mary Ann Smith",
            json!({"formatted": "Mary Ann Smith", "givenName": "Mary Ann", "familyName": "Smith"}),
        ),
        ("Cher", json!({"formatted": "Cher", "givenName": "Cher"})),
        (
            "  Ana   Lima ",
            json!({"formatted": "  Ana   Lima ", "givenName": "Ana", "familyName": "Lima"}),
        ),
    ] {
        assert_eq!(name_of_full_name(full), want, "{full}");
    }
}

#[test]
fn a_user_we_wrote_is_what_the_idp_sent_with_tableaus_facts() {
    let mut stored = row(json!({"nickName": "A", "active": false}));
    stored.external_id = Some("ext-1".into());
    let r = user_to_scim(&user("Unlicensed"), Some(&stored), None);
    assert_eq!(r["nickName"], "A");
    assert_eq!(r["active"], false);
    assert_eq!(r["externalId"], "ext-1");
    assert!(
        r.get("emails").is_none(),
        "the IdP removed them: not refilled from Tableau"
    );
    assert_eq!(r["meta"]["created"], "2026-01-01T00:00:00.000Z");
    assert_eq!(r[urn::TABLEAU_SCIM_USER]["siteRole"], "Unlicensed");
}

#[test]
fn the_store_keeps_only_what_tableau_cannot() {
    let input = json!({"id": "x", "userName": "a", "externalId": "e", "nickName": "n",
        "groups": [], "meta": {}, urn::TABLEAU_SCIM_USER: {"siteRole": "Viewer"}});
    assert_eq!(stored_attributes(&input), json!({"nickName": "n"}));
    let first = user_row("u1", "a", &input, None, None, "t1");
    assert_eq!(
        (first.created.as_str(), first.external_id.as_deref()),
        ("t1", Some("e"))
    );
    let second = user_row(
        "u1",
        "a",
        &input,
        Some(&first),
        Some("Creator".into()),
        "t2",
    );
    assert_eq!(
        (second.created.as_str(), second.last_modified.as_str()),
        ("t1", "t2")
    );
    assert_eq!(second.restore_role.as_deref(), Some("Creator"));
    let tomb = tombstone(
        &user("Creator"),
        Some(&second),
        Some(SiteRole::Creator),
        "t3",
    );
    assert!(tomb.deleted);
    assert_eq!(
        (
            tomb.attributes,
            tomb.external_id,
            tomb.created.as_str(),
            tomb.restore_role.as_deref()
        ),
        (
            json!({"nickName": "n"}),
            Some("e".to_string()),
            "t1",
            Some("Creator")
        )
    );
    let bare = tombstone(&user("Viewer"), None, Some(SiteRole::Viewer), "t4");
    assert_eq!((bare.attributes, bare.created.as_str()), (json!({}), "t4"));
}

#[test]
fn update_user_answers_are_merged_without_losing_what_they_omit() {
    let mut u = user("Viewer");
    merge(
        &mut u,
        User {
            site_role: "Creator".into(),
            ..User::default()
        },
    );
    assert_eq!(
        (
            u.name.as_str(),
            u.site_role.as_str(),
            u.full_name.as_deref()
        ),
        ("ann@example.com", "Creator", Some("Ann Lee"))
    );
    let desired = json!({"name": {"formatted": "Ann Lee"}, "emails": [{"value": "new@x"}]});
    let upd = attribute_update(&desired, &u, Deployment::Server);
    assert_eq!(
        (upd.full_name, upd.email.as_deref()),
        (None, Some("new@x")),
        "only what differs"
    );
    let renamed = json!({"name": {"formatted": "Ann B. Lee"}});
    let server = attribute_update(&renamed, &u, Deployment::Server);
    assert_eq!(server.full_name.as_deref(), Some("Ann B. Lee"));
    let cloud = attribute_update(&desired, &u, Deployment::Cloud);
    assert!(
        cloud.is_empty(),
        "Tableau Cloud's Update User takes neither a full name nor an email: {cloud:?}"
    );
}

#[test]
fn group_members_are_users_each_once_in_order() {
    let g = json!({"members": [{"value": "b"}, {"value": "a", "type": "User"}, {"value": "b"}]});
    assert_eq!(
        member_ids(&g).ok(),
        Some(vec!["b".to_string(), "a".to_string()])
    );
    let nested = json!({"members": [{"value": "g2", "type": "group"}]});
    assert!(matches!(member_ids(&nested), Err(ScimError::InvalidValue(m)) if m.contains("g2")));
    let group = Group {
        id: "g1".into(),
        name: "Sales".into(),
        ..Group::default()
    };
    let r = group_to_scim(&group, None, Some(&["a".to_string()]));
    assert_eq!(r["members"], json!([{"value": "a", "type": "User"}]));
    assert!(group_to_scim(&group, None, Some(&[]))
        .get("members")
        .is_none());
    let gr = group_row(&group, Some("e".into()), None, "t1");
    assert_eq!(
        (gr.display_name.as_str(), gr.created.as_str()),
        ("Sales", "t1")
    );
}
