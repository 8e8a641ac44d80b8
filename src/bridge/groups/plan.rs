//! What a group change means in Tableau and in the store, decided without I/O: the rename, the
//! members to add and remove (by set difference), whose site role to re-evaluate, and the row.
//! [`crate::bridge::groups`] only carries the plans out.

use std::collections::HashSet;

use serde_json::Value;

use crate::bridge::mapping::roles::RoleMapping;
use crate::bridge::mapping::text_checks::check_group_name;
use crate::bridge::mapping::{group_row, member_ids};
use crate::scim::ScimError;
use crate::store::GroupRow;
use crate::tableau::model::Group;

/// `POST /Groups`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCreatePlan {
    /// The group's name.
    pub name: String,
    /// Its members (user ids), each once.
    pub members: Vec<String>,
    /// Users whose site role to re-evaluate afterwards: the members, when the group grants a
    /// role (`group_roles`).
    pub reevaluate: Vec<String>,
}

/// Plan a create.
pub fn plan_group_create(input: &Value, roles: &RoleMapping) -> Result<GroupCreatePlan, ScimError> {
    let name = input["displayName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    check_group_name(&name)?;
    let members = member_ids(input)?;
    let reevaluate = if roles.group_grants(&name) {
        members.clone()
    } else {
        Vec::new()
    };
    Ok(GroupCreatePlan {
        name,
        members,
        reevaluate,
    })
}

/// Everything a PUT or PATCH of a group is about.
#[derive(Debug, Clone)]
pub struct GroupChange<'a> {
    /// The group in Tableau now.
    pub current: &'a Group,
    /// Its store row, if we wrote it before.
    pub row: Option<&'a GroupRow>,
    /// Its members in Tableau now.
    pub members: &'a [String],
    /// The resource the IdP wants.
    pub desired: &'a Value,
    /// The tenant's role mapping (which groups grant roles).
    pub roles: &'a RoleMapping,
    /// Now, for `meta.lastModified`.
    pub at: &'a str,
}

/// What to do for a [`GroupChange`], in this order: rename, remove, add, re-evaluate roles,
/// write the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPlan {
    /// The new name, when it changes.
    pub rename: Option<String>,
    /// Members to remove, in their current order.
    pub removed: Vec<String>,
    /// Members to add, in the order asked.
    pub added: Vec<String>,
    /// The members afterwards, as the IdP listed them.
    pub members: Vec<String>,
    /// Users whose site role may change because of this (each once).
    pub reevaluate: Vec<String>,
    /// The store row to write (and audit), when anything changes.
    pub row: Option<GroupRow>,
}

/// Plan a group change. Membership is a set difference (linear in the members, whatever the
/// group's size). A role-granting group (or a rename into or out of one) re-evaluates the role
/// of every member who joined or left, and of every member at all on a rename.
pub fn plan_group_update(c: &GroupChange<'_>) -> Result<GroupPlan, ScimError> {
    let new_name = c.desired["displayName"].as_str().unwrap_or_default();
    let members = member_ids(c.desired)?;
    let before: HashSet<&str> = c.members.iter().map(String::as_str).collect();
    let after: HashSet<&str> = members.iter().map(String::as_str).collect();
    let removed: Vec<String> = c
        .members
        .iter()
        .filter(|m| !after.contains(m.as_str()))
        .cloned()
        .collect();
    let added: Vec<String> = members
        .iter()
        .filter(|m| !before.contains(m.as_str()))
        .cloned()
        .collect();
    let renamed = new_name != c.current.name;
    if renamed {
        check_group_name(new_name)?;
    }
    let grants = c.roles.group_grants(new_name) || c.roles.group_grants(&c.current.name);
    let reevaluate = if !grants {
        Vec::new()
    } else if renamed {
        unique(c.members.iter().chain(members.iter()))
    } else {
        unique(removed.iter().chain(added.iter()))
    };
    let external_id = c.desired["externalId"].as_str().map(str::to_string);
    let row_changed = c
        .row
        .is_none_or(|r| r.external_id != external_id || r.display_name != new_name);
    let tableau_changes = renamed || !removed.is_empty() || !added.is_empty();
    let after_group = Group {
        name: new_name.to_string(),
        ..c.current.clone()
    };
    Ok(GroupPlan {
        rename: renamed.then(|| new_name.to_string()),
        row: (row_changed || tableau_changes)
            .then(|| group_row(&after_group, external_id, c.row, c.at)),
        removed,
        added,
        members,
        reevaluate,
    })
}

/// On `DELETE /Groups`: whether the former members' roles must be re-evaluated once the group
/// is gone (it granted a role), so their list is read before the delete.
pub fn reevaluates_members_on_delete(group: &Group, roles: &RoleMapping) -> bool {
    roles.group_grants(&group.name)
}

fn unique<'a>(ids: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.filter(|id| seen.insert(id.as_str())).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tableau::SiteRole;
    use serde_json::json;

    const AT: &str = "2026-03-01T00:00:00.000Z";

    fn roles() -> RoleMapping {
        RoleMapping::new(
            [],
            [("Creators".to_string(), SiteRole::Creator)],
            SiteRole::Viewer,
        )
    }

    fn group(name: &str) -> Group {
        Group {
            id: "g1".into(),
            name: name.into(),
            ..Group::default()
        }
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn desired(name: &str, members: &[&str]) -> Value {
        let m: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
        json!({"displayName": name, "members": m})
    }

    fn stored(name: &str) -> GroupRow {
        group_row(&group(name), None, None, "2026-01-01T00:00:00.000Z")
    }

    fn plan(current: &str, row: Option<&GroupRow>, members: &[&str], want: &Value) -> GroupPlan {
        let (g, members, roles) = (group(current), ids(members), roles());
        let c = GroupChange {
            current: &g,
            row,
            members: &members,
            desired: want,
            roles: &roles,
            at: AT,
        };
        match plan_group_update(&c) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn membership_is_a_set_difference_in_order() {
        let row = stored("Sales");
        let p = plan(
            "Sales",
            Some(&row),
            &["a", "b", "c"],
            &desired("Sales", &["c", "d", "a", "e"]),
        );
        assert_eq!(p.removed, ids(&["b"]));
        assert_eq!(p.added, ids(&["d", "e"]));
        assert_eq!(p.members, ids(&["c", "d", "a", "e"]));
        assert_eq!(p.rename, None);
        assert!(p.reevaluate.is_empty(), "Sales grants no role");
        let r = p.row.expect("a membership change is written");
        assert_eq!(
            (r.created.as_str(), r.last_modified.as_str()),
            ("2026-01-01T00:00:00.000Z", AT)
        );
    }

    #[test]
    fn nothing_changed_means_no_call_no_write() {
        let row = stored("Sales");
        let p = plan(
            "Sales",
            Some(&row),
            &["a", "b"],
            &desired("Sales", &["b", "a"]),
        );
        assert!(p.removed.is_empty() && p.added.is_empty() && p.rename.is_none());
        assert_eq!(p.row, None);
    }

    #[test]
    fn a_group_we_never_wrote_is_adopted_on_its_first_write() {
        let p = plan("Sales", None, &["a"], &desired("Sales", &["a"]));
        assert_eq!(p.row.map(|r| r.created), Some(AT.to_string()));
    }

    #[test]
    fn an_external_id_change_writes_the_row_only() {
        let row = stored("Sales");
        let mut want = desired("Sales", &["a"]);
        want["externalId"] = "ext-9".into();
        let p = plan("Sales", Some(&row), &["a"], &want);
        assert!(p.added.is_empty() && p.removed.is_empty() && p.rename.is_none());
        assert_eq!(p.row.and_then(|r| r.external_id), Some("ext-9".to_string()));
    }

    #[test]
    fn a_rename_is_planned_and_written() {
        let row = stored("Sales");
        let p = plan("Sales", Some(&row), &["a"], &desired("Sales EMEA", &["a"]));
        assert_eq!(p.rename.as_deref(), Some("Sales EMEA"));
        assert_eq!(
            p.row.map(|r| r.display_name),
            Some("Sales EMEA".to_string())
        );
    }

    #[test]
    fn a_role_granting_group_reevaluates_who_joined_or_left() {
        let row = stored("Creators");
        let p = plan(
            "Creators",
            Some(&row),
            &["a", "b"],
            &desired("creators", &["b", "c"]),
        );
        assert_eq!(
            p.rename.as_deref(),
            Some("creators"),
            "a case change is a rename"
        );
        assert_eq!(
            p.reevaluate,
            ids(&["a", "b", "c"]),
            "renamed: everyone, once"
        );
        let p = plan(
            "Creators",
            Some(&row),
            &["a", "b"],
            &desired("Creators", &["b", "c"]),
        );
        assert_eq!(p.reevaluate, ids(&["a", "c"]), "joined or left");
    }

    #[test]
    fn a_rename_into_or_out_of_a_granting_name_reevaluates_all_members() {
        let p = plan(
            "Sales",
            None,
            &["a", "b"],
            &desired("Creators", &["a", "b"]),
        );
        assert_eq!(p.reevaluate, ids(&["a", "b"]));
        let p = plan(
            "Creators",
            None,
            &["a"],
            &desired("Former creators", &["a"]),
        );
        assert_eq!(p.reevaluate, ids(&["a"]));
    }

    #[test]
    fn a_group_member_is_refused_before_anything_is_planned() {
        let want = json!({"displayName": "Sales", "members": [{"value": "g2", "type": "Group"}]});
        let (g, roles) = (group("Sales"), roles());
        let c = GroupChange {
            current: &g,
            row: None,
            members: &[],
            desired: &want,
            roles: &roles,
            at: AT,
        };
        assert!(matches!(
            plan_group_update(&c),
            Err(ScimError::InvalidValue(_))
        ));
    }

    #[test]
    fn adding_one_member_to_a_large_group_is_linear() {
        let current: Vec<String> = (0..10_000).map(|i| format!("u{i}")).collect();
        let mut members: Vec<Value> = current.iter().map(|id| json!({"value": id})).collect();
        members.push(json!({"value": "new"}));
        let want = json!({"displayName": "Big", "members": members});
        let (g, roles) = (group("Big"), roles());
        let c = GroupChange {
            current: &g,
            row: None,
            members: &current,
            desired: &want,
            roles: &roles,
            at: AT,
        };
        let p = plan_group_update(&c).expect("plan");
        assert_eq!((p.added, p.removed.len()), (ids(&["new"]), 0));
    }

    #[test]
    fn creates_and_deletes_of_a_granting_group_reevaluate_its_members() {
        let input = json!({"displayName": "creators", "members": [{"value": "a"}, {"value": "a"}]});
        let p = plan_group_create(&input, &roles()).expect("plan");
        assert_eq!(
            (p.name.as_str(), p.members.clone(), p.reevaluate),
            ("creators", ids(&["a"]), ids(&["a"]))
        );
        let p = plan_group_create(
            &json!({"displayName": "Sales", "members": [{"value": "a"}]}),
            &roles(),
        )
        .expect("plan");
        assert!(p.reevaluate.is_empty());
        assert!(reevaluates_members_on_delete(&group("creators"), &roles()));
        assert!(!reevaluates_members_on_delete(&group("Sales"), &roles()));
    }
}
