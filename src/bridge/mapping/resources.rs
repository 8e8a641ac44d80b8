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

use crate::scim::version::set_meta;
use crate::scim::{urn, ScimError};
use crate::store::{GroupRow, UserRow};
use crate::tableau::directory_names::names_directory_user;
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

/// The `fullName` and `email` of `desired` that Tableau does not hold yet (nothing else), where
/// Update User may carry them: on Tableau Server. Tableau Cloud's Update User takes neither
/// ([`Deployment::updates_names`]); the store keeps them either way and they are served from it.
pub fn attribute_update(desired: &Value, user: &User, deployment: Deployment) -> UserUpdate {
    if !deployment.updates_names() {
        return UserUpdate::default();
    }
    UserUpdate {
        full_name: full_name(desired).filter(|f| user.full_name.as_deref() != Some(f.as_str())),
        email: email(desired).filter(|e| user.email.as_deref() != Some(e.as_str())),
        ..UserUpdate::default()
    }
}

/// The userName the store keeps for `user` when the IdP writes `idp_name`, and SCIM shows. On
/// an Active Directory server Tableau stores the directory's account (`jsmith`) for the IdP's
/// UPN or `CORP\jsmith` ([`crate::tableau::directory_names`]): the IdP's form is kept when it
/// names that account, or is the form the store already knows the user by (`row`: a user
/// created through tableau-scim, whose UPN need not hold the account name). Otherwise, and on
/// sites of Tableau's own identity store, Tableau's name.
pub fn kept_user_name(idp_name: &str, user: &User, row: Option<&UserRow>) -> String {
    if idp_name.eq_ignore_ascii_case(&user.name) {
        return user.name.to_string();
    }
    let known = row.is_some_and(|r| r.user_name.eq_ignore_ascii_case(idp_name));
    if known || names_directory_user(idp_name, user) {
        idp_name.to_string()
    } else {
        user.name.to_string()
    }
}

/// The userName SCIM shows for `user`: the one the store keeps (what the IdP wrote, in its
/// form on a directory site: [`kept_user_name`]), else Tableau's name.
pub fn shown_user_name(user: &User, row: Option<&UserRow>) -> String {
    match row {
        Some(r) if !r.user_name.is_empty() => r.user_name.clone(),
        _ => user.name.to_string(),
    }
}

/// The SCIM form of a Tableau user, its store row and (when asked for) its groups.
pub fn user_to_scim(u: &User, row: Option<&UserRow>, groups: Option<Vec<Value>>) -> Value {
    let mut r = match row.map(|r| &r.attributes) {
        Some(Value::Object(o)) => o.clone(),
        _ => Map::new(),
    };
    r.insert("id".into(), u.id.as_str().into());
    r.insert("userName".into(), shown_user_name(u, row).into());
    if let Some(ext) = row.and_then(|r| r.external_id.clone()) {
        r.insert("externalId".into(), ext.into());
    }
    // A user we never wrote (pre-existing in Tableau) is described from Tableau; for one we
    // wrote, the attributes the IdP sent are the answer, removals included.
    if row.is_none() {
        if let Some(e) = &u.email {
            r.insert("emails".into(), json!([{"value": e, "primary": true}]));
        }
        if let Some(f) = u.full_name.as_deref().filter(|f| !f.trim().is_empty()) {
            r.insert("displayName".into(), f.into());
            r.insert("name".into(), name_of_full_name(f));
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

/// The SCIM `name` of a Tableau full name, for users the IdP did not provision (Okta's "Test
/// Users endpoint" reads `name.givenName` and `name.familyName` of the first listed user, and a
/// site lists its administrator first). `formatted` is the full name as Tableau holds it; the
/// split is a guess Tableau cannot make better: the last word is the family name, the words
/// before it the given name (one word is a given name alone). Joined again by [`full_name`] it
/// is the same full name.
pub fn name_of_full_name(full: &str) -> Value {
    let words: Vec<&str> = full.split_whitespace().collect();
    let mut name = Map::new();
    name.insert("formatted".into(), full.into());
    match words.split_last() {
        Some((last, [])) => {
            name.insert("givenName".into(), (*last).into());
        }
        Some((last, given)) => {
            name.insert("givenName".into(), given.join(" ").into());
            name.insert("familyName".into(), (*last).into());
        }
        None => {}
    }
    Value::Object(name)
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
    let mut resource = group_content(g, row, members);
    set_meta(
        &mut resource,
        row.map(|r| r.created.as_str()),
        row.map(|r| r.last_modified.as_str()),
    );
    resource
}

/// [`group_to_scim`] without `meta`: the base a change is applied to when no `If-Match` needs
/// the version (the version of a 10,000-member group is a digest of ~400 KB of JSON).
pub fn group_content(g: &Group, row: Option<&GroupRow>, members: Option<&[String]>) -> Value {
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
    Value::Object(r)
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
    let user_name = shown_user_name(user, previous);
    UserRow {
        restore_role: role.map(|r| r.as_str().to_string()),
        deleted: true,
        ..row(&user.id, &user_name, external_id, attributes, previous, at)
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
        provisioned: previous.is_some_and(|r| r.provisioned),
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
#[path = "resources_tests.rs"]
mod tests;
