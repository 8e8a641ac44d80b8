//! SCIM resources to Tableau users and groups, and back. Pure.
//!
//! | SCIM | Tableau / store |
//! |---|---|
//! | `id` | user LUID |
//! | `userName` | `name` |
//! | `name.formatted`, `givenName`+`familyName`, `displayName` | `fullName` |
//! | primary (else first) `emails[].value` | `email` |
//! | `roles[].value` (and Tableau's `siteRoles`) | `siteRole`, through the role mapping |
//! | `active` | false: `Unlicensed`; true: the mapped role again |
//! | `groups` | the user's Tableau groups (on request: it costs a call) |
//! | Group `displayName`, `members` | the local group's name and members |
//! | everything else | the store |

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use super::store::{GroupRow, UserRow};
use crate::scim::version::set_meta;
use crate::scim::{urn, ScimError};
use crate::tableau::model::{Group, User, UserUpdate};
use crate::tableau::{Deployment, SiteRole};

/// Keys the store never keeps: Tableau holds them, or the server sets them.
const NOT_STORED: [&str; 6] = [
    "id",
    "meta",
    "userName",
    "externalId",
    "groups",
    urn::TABLEAU_SCIM_USER,
];

/// The attributes of a user resource that only the store can hold.
pub fn stored_attributes(resource: &Value) -> Value {
    let mut out = resource.clone();
    if let Some(o) = out.as_object_mut() {
        for k in NOT_STORED {
            o.remove(k);
        }
    }
    out
}

/// Tableau's `fullName`: `name.formatted`, else `givenName familyName`, else `displayName`.
pub fn full_name(r: &Value) -> Option<String> {
    let name = &r["name"];
    if let Some(f) = name["formatted"].as_str().filter(|s| !s.trim().is_empty()) {
        return Some(f.to_string());
    }
    let parts: Vec<&str> = [&name["givenName"], &name["familyName"]]
        .iter()
        .filter_map(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .collect();
    if !parts.is_empty() {
        return Some(parts.join(" "));
    }
    r["displayName"]
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
}

/// Tableau's `email`: the primary email, else the first.
pub fn email(r: &Value) -> Option<String> {
    let emails = r["emails"].as_array()?;
    emails
        .iter()
        .find(|e| e["primary"] == true)
        .or_else(|| emails.first())
        .and_then(|e| e["value"].as_str())
        .map(str::to_string)
}

/// The `roles[].value`s of a resource (none when it has no `roles`).
pub fn role_values(r: &Value) -> Vec<String> {
    r["roles"]
        .as_array()
        .map(|roles| {
            roles
                .iter()
                .filter_map(|x| x["value"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a resource is active: only an explicit `active: false` is not.
pub fn is_active(r: &Value) -> bool {
    r["active"] != false
}

/// Whether the user is active as SCIM shows it now: as the IdP last wrote it when we hold a
/// row, otherwise (a user we never wrote) licensed in Tableau. The same answer as
/// `is_active(&user_to_scim(user, row, None))`.
pub fn active_now(user: &User, row: Option<&UserRow>) -> bool {
    match row {
        Some(r) => is_active(&r.attributes),
        None => user.role() != Some(SiteRole::Unlicensed),
    }
}

/// Update User answers with the changed attributes only; fold them into what we know.
pub fn merge(user: &mut User, after: User) {
    if !after.name.is_empty() {
        user.name = after.name;
    }
    if !after.site_role.is_empty() {
        user.site_role = after.site_role;
    }
    if after.full_name.is_some() {
        user.full_name = after.full_name;
    }
    if after.email.is_some() {
        user.email = after.email;
    }
    if after.auth_setting.is_some() {
        user.auth_setting = after.auth_setting;
    }
}

/// The `fullName` and `email` of `desired` that Tableau does not hold yet (nothing else). The
/// full name goes to Tableau only where Update User may carry it (not on Tableau Cloud); the
/// store keeps it either way.
pub fn attribute_update(desired: &Value, user: &User, deployment: Deployment) -> UserUpdate {
    UserUpdate {
        full_name: full_name(desired)
            .filter(|_| deployment.updates_full_name())
            .filter(|f| user.full_name.as_deref() != Some(f.as_str())),
        email: email(desired).filter(|e| user.email.as_deref() != Some(e.as_str())),
        ..UserUpdate::default()
    }
}

/// The SCIM form of a Tableau user, its store row and (when asked for) its groups.
pub fn user_to_scim(u: &User, row: Option<&UserRow>, groups: Option<Vec<Value>>) -> Value {
    let mut r = match row.map(|r| &r.attributes) {
        Some(Value::Object(o)) => o.clone(),
        _ => Map::new(),
    };
    r.insert("id".into(), u.id.as_str().into());
    r.insert("userName".into(), u.name.as_str().into());
    if let Some(ext) = row.and_then(|r| r.external_id.clone()) {
        r.insert("externalId".into(), ext.into());
    }
    // A user we never wrote (pre-existing in Tableau) is described from Tableau; for one we
    // wrote, the attributes the IdP sent are the answer, removals included.
    if row.is_none() {
        if let Some(e) = &u.email {
            r.insert("emails".into(), json!([{"value": e, "primary": true}]));
        }
        if let Some(f) = &u.full_name {
            r.insert("displayName".into(), f.as_str().into());
        }
        r.insert("active".into(), active_now(u, None).into());
    }
    if let Some(g) = groups.filter(|g| !g.is_empty()) {
        r.insert("groups".into(), Value::Array(g));
    }
    let mut ext = Map::new();
    ext.insert("siteRole".into(), u.site_role.as_str().into());
    if let Some(a) = &u.auth_setting {
        ext.insert("authSetting".into(), a.as_str().into());
    }
    if let Some(l) = &u.last_login {
        ext.insert("lastLogin".into(), l.as_str().into());
    }
    r.insert(urn::TABLEAU_SCIM_USER.into(), Value::Object(ext));
    let mut resource = Value::Object(r);
    set_meta(
        &mut resource,
        row.map(|r| r.created.as_str()),
        row.map(|r| r.last_modified.as_str()),
    );
    resource
}

/// A user's Tableau groups as its SCIM `groups` ("All Users" is Tableau's own and not shown).
pub fn user_groups(groups: Vec<Group>) -> Vec<Value> {
    groups
        .into_iter()
        .filter(|g| !g.is_all_users())
        .map(|g| json!({"value": g.id, "display": g.name, "type": "direct"}))
        .collect()
}

/// The SCIM form of a Tableau group, its store row and (when wanted) its member ids.
pub fn group_to_scim(g: &Group, row: Option<&GroupRow>, members: Option<&[String]>) -> Value {
    let mut r = Map::new();
    r.insert("id".into(), g.id.clone().into());
    r.insert("displayName".into(), g.name.clone().into());
    if let Some(ext) = row.and_then(|r| r.external_id.clone()) {
        r.insert("externalId".into(), ext.into());
    }
    if let Some(m) = members.filter(|m| !m.is_empty()) {
        let list: Vec<Value> = m
            .iter()
            .map(|id| json!({"value": id, "type": "User"}))
            .collect();
        r.insert("members".into(), Value::Array(list));
    }
    let mut resource = Value::Object(r);
    set_meta(
        &mut resource,
        row.map(|r| r.created.as_str()),
        row.map(|r| r.last_modified.as_str()),
    );
    resource
}

/// The member ids of a group resource, each once, in the order given. Tableau groups hold
/// users only, so a member of type `Group` is refused.
pub fn member_ids(r: &Value) -> Result<Vec<String>, ScimError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for m in r["members"].as_array().into_iter().flatten() {
        if m["type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("Group"))
        {
            return Err(ScimError::InvalidValue(format!(
                "member '{}' is a Group; Tableau groups cannot contain groups",
                m["value"].as_str().unwrap_or_default()
            )));
        }
        if let Some(v) = m["value"].as_str() {
            if seen.insert(v) {
                out.push(v.to_string());
            }
        }
    }
    Ok(out)
}

/// The store row of a user as the IdP wrote `resource` at `at`: what Tableau cannot hold of
/// it, `created` kept from the row it replaces.
pub fn user_row(
    id: &str,
    user_name: &str,
    resource: &Value,
    previous: Option<&UserRow>,
    restore_role: Option<String>,
    at: &str,
) -> UserRow {
    let external_id = resource["externalId"].as_str().map(str::to_string);
    UserRow {
        restore_role,
        ..row(
            id,
            user_name,
            external_id,
            stored_attributes(resource),
            previous,
            at,
        )
    }
}

/// A tombstone: the user was deleted through SCIM but stays in Tableau. What the IdP last wrote
/// is kept, with the role the user had.
pub fn tombstone(
    user: &User,
    previous: Option<&UserRow>,
    role: Option<SiteRole>,
    at: &str,
) -> UserRow {
    let external_id = previous.and_then(|r| r.external_id.clone());
    let attributes = previous.map_or_else(|| json!({}), |r| r.attributes.clone());
    UserRow {
        restore_role: role.map(|r| r.as_str().to_string()),
        deleted: true,
        ..row(&user.id, &user.name, external_id, attributes, previous, at)
    }
}

/// The one constructor of user rows: a live row written at `at`, `created` kept from the row
/// it replaces.
fn row(
    id: &str,
    user_name: &str,
    external_id: Option<String>,
    attributes: Value,
    previous: Option<&UserRow>,
    at: &str,
) -> UserRow {
    UserRow {
        id: id.to_string(),
        user_name: user_name.to_string(),
        external_id,
        attributes,
        created: previous.map_or_else(|| at.to_string(), |r| r.created.clone()),
        last_modified: at.to_string(),
        restore_role: None,
        deleted: false,
    }
}

/// The store row of a group written at `at` (`created` kept from the row it replaces).
pub fn group_row(
    group: &Group,
    external_id: Option<String>,
    previous: Option<&GroupRow>,
    at: &str,
) -> GroupRow {
    GroupRow {
        id: group.id.clone(),
        display_name: group.name.clone(),
        external_id,
        created: previous.map_or_else(|| at.to_string(), |r| r.created.clone()),
        last_modified: at.to_string(),
    }
}

#[cfg(test)]
mod tests {
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
        let cloud = attribute_update(&renamed, &u, Deployment::Cloud);
        assert_eq!(
            cloud.full_name, None,
            "Tableau Cloud cannot take a full name"
        );
    }

    #[test]
    fn group_members_are_users_each_once_in_order() {
        let g =
            json!({"members": [{"value": "b"}, {"value": "a", "type": "User"}, {"value": "b"}]});
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
}
