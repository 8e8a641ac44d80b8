use super::*;
use crate::bridge::reconcile::license::{classify_license, needs_seats};
use crate::tableau::model::SiteInfo;
use serde_json::json;

fn user(id: &str, role: &str) -> User {
    User {
        id: id.into(),
        name: format!("{id}@example.com").into(),
        site_role: role.into(),
        ..User::default()
    }
}

fn row(id: &str, attributes: serde_json::Value) -> UserRow {
    UserRow {
        id: id.into(),
        user_name: format!("{id}@example.com"),
        external_id: None,
        attributes,
        created: "2026-01-01T00:00:00Z".into(),
        last_modified: "2026-01-01T00:00:00Z".into(),
        restore_role: None,
        deleted: false,
        provisioned: false,
    }
}

fn group(id: &str, name: &str) -> Group {
    Group {
        id: id.into(),
        name: name.into(),
        ..Group::default()
    }
}

fn group_row(id: &str, name: &str) -> GroupRow {
    GroupRow {
        id: id.into(),
        display_name: name.into(),
        external_id: None,
        created: String::new(),
        last_modified: String::new(),
    }
}

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn roles() -> RoleMapping {
    RoleMapping::new(
        [],
        [("Creators".to_string(), SiteRole::Creator)],
        SiteRole::Viewer,
    )
}

/// (kind, user id or "-", group id or "-", has a repair)
fn summary(f: &[Finding]) -> Vec<(DriftKind, String, String, bool)> {
    let mut v: Vec<_> = f
        .iter()
        .map(|f| {
            (
                f.kind,
                f.user.as_ref().map_or("-".into(), |u| u.id.clone()),
                f.group.as_ref().map_or("-".into(), |g| g.id.clone()),
                f.repair.is_some(),
            )
        })
        .collect();
    v.sort();
    v
}

struct World {
    users: Vec<User>,
    groups: Vec<Group>,
    members: HashMap<String, Vec<String>>,
    rows: Vec<UserRow>,
    group_rows: Vec<GroupRow>,
    asserted: HashMap<String, Vec<String>>,
}

impl World {
    fn new() -> World {
        World {
            users: vec![user("admin", "SiteAdministratorCreator")],
            groups: vec![group("all", "All Users")],
            members: HashMap::new(),
            rows: Vec::new(),
            group_rows: Vec::new(),
            asserted: HashMap::new(),
        }
    }

    fn find(&self, recreate: bool) -> Vec<Finding> {
        find_drift(
            &SiteNow {
                users: &self.users,
                groups: &self.groups,
                members: &self.members,
                signed_in_as: "admin",
            },
            &Asserted {
                users: &self.rows,
                groups: &self.group_rows,
                members: &self.asserted,
            },
            &roles(),
            recreate,
        )
    }
}

#[test]
fn a_site_as_the_idp_asserted_it_has_no_findings() {
    let mut w = World::new();
    w.users.push(user("u1", "Creator"));
    w.rows
        .push(row("u1", json!({"roles": [{"value": "Creator"}]})));
    w.users.push(user("u2", "Unlicensed"));
    w.rows.push(row("u2", json!({"active": false})));
    w.groups.push(group("g1", "Sales"));
    w.group_rows.push(group_row("g1", "Sales"));
    w.members.insert("g1".into(), ids(&["u1"]));
    w.asserted.insert("g1".into(), ids(&["u1"]));
    assert_eq!(
        w.find(false),
        vec![],
        "the signed-in account and All Users are not unmanaged"
    );
}

#[test]
fn roles_differing_from_the_mapped_role_are_role_drift_either_way() {
    let mut w = World::new();
    w.users.push(user("up", "SiteAdministratorCreator"));
    w.rows
        .push(row("up", json!({"roles": [{"value": "Viewer"}]})));
    w.users.push(user("down", "Viewer"));
    w.rows
        .push(row("down", json!({"roles": [{"value": "Explorer"}]})));
    // No roles sent: the IdP asserted no role, whatever Tableau holds.
    w.users.push(user("free", "Creator"));
    w.rows.push(row("free", json!({"displayName": "F"})));
    let f = w.find(false);
    assert_eq!(
        summary(&f),
        vec![
            (DriftKind::Role, "down".into(), "-".into(), true),
            (DriftKind::Role, "up".into(), "-".into(), true),
        ]
    );
    let up = f
        .iter()
        .find(|f| f.user.as_ref().is_some_and(|u| u.id == "up"));
    assert_eq!(
        up.map(|f| (f.tableau.as_str(), f.asserted.as_str(), f.repair.clone())),
        Some((
            "SiteAdministratorCreator",
            "Viewer",
            Some(Repair::SetRole {
                user_id: "up".into(),
                from: "SiteAdministratorCreator".into(),
                to: SiteRole::Viewer
            })
        ))
    );
}

#[test]
fn a_role_granted_by_an_asserted_group_is_the_asserted_role() {
    let mut w = World::new();
    w.users.push(user("u1", "Viewer"));
    w.rows
        .push(row("u1", json!({"roles": [{"value": "Viewer"}]})));
    w.groups.push(group("g1", "Creators"));
    w.group_rows.push(group_row("g1", "Creators"));
    w.asserted.insert("g1".into(), ids(&["u1"]));
    w.members.insert("g1".into(), ids(&["u1"]));
    let f = w.find(false);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].asserted, "Creator");
}

#[test]
fn a_deactivated_or_deleted_user_holding_a_license_is_an_access_leak() {
    let mut w = World::new();
    w.users.push(user("off", "Explorer"));
    w.rows.push(row(
        "off",
        json!({"active": false, "roles": [{"value": "Explorer"}]}),
    ));
    w.users.push(user("gone", "Viewer"));
    let mut tomb = row("gone", json!({}));
    tomb.deleted = true;
    w.rows.push(tomb.clone());
    // Deleted and removed from Tableau: nothing to report.
    let mut removed = tomb;
    removed.id = "removed".into();
    w.rows.push(removed);
    let f = w.find(true);
    assert_eq!(
        summary(&f),
        vec![
            (DriftKind::AccessLeak, "gone".into(), "-".into(), true),
            (DriftKind::AccessLeak, "off".into(), "-".into(), true),
        ]
    );
    assert!(f.iter().all(|f| matches!(
        f.repair,
        Some(Repair::SetRole {
            to: SiteRole::Unlicensed,
            ..
        })
    )));
    assert!(f
        .iter()
        .any(|f| f.asserted == "Unlicensed (deleted by the IdP)"));
}

#[test]
fn a_managed_user_gone_from_tableau_is_missing_and_recreated_only_when_asked() {
    let mut w = World::new();
    w.rows
        .push(row("u1", json!({"roles": [{"value": "Creator"}]})));
    let f = w.find(false);
    assert_eq!(
        summary(&f),
        vec![(DriftKind::Missing, "u1".into(), "-".into(), false)]
    );
    assert!(f[0].note.is_some());
    let f = w.find(true);
    assert!(matches!(
        &f[0].repair,
        Some(Repair::Recreate {
            role: SiteRole::Creator,
            ..
        })
    ));
}

#[test]
fn users_and_groups_the_idp_never_provisioned_are_unmanaged_and_never_repaired() {
    let mut w = World::new();
    w.users.push(user("hand", "Creator"));
    w.groups.push(group("g9", "Made by hand"));
    assert_eq!(
        summary(&w.find(true)),
        vec![
            (DriftKind::Unmanaged, "-".into(), "g9".into(), false),
            (DriftKind::Unmanaged, "hand".into(), "-".into(), false),
        ]
    );
    assert!(!DriftKind::Unmanaged.is_drift());
    assert!(DriftKind::ALL.iter().filter(|k| k.is_drift()).count() == 7);
}

#[test]
fn members_differing_from_the_asserted_ones_are_membership_drift_one_per_member() {
    let mut w = World::new();
    for (id, role) in [
        ("a", "Viewer"),
        ("b", "Viewer"),
        ("c", "Viewer"),
        ("t", "Unlicensed"),
    ] {
        w.users.push(user(id, role));
        w.rows.push(row(id, json!({})));
    }
    if let Some(r) = w.rows.last_mut() {
        r.deleted = true;
    }
    w.groups.push(group("g1", "Sales"));
    w.group_rows.push(group_row("g1", "Sales"));
    // Asserted a, b, the deleted t and the missing m; Tableau holds a, c (added by hand) and t.
    w.asserted.insert("g1".into(), ids(&["a", "b", "t", "m"]));
    w.members.insert("g1".into(), ids(&["a", "c", "t"]));
    w.rows.push(row("m", json!({})));
    let f = w.find(false);
    assert_eq!(
        summary(&f),
        vec![
            (DriftKind::Membership, "b".into(), "g1".into(), true),
            (DriftKind::Membership, "c".into(), "g1".into(), true),
            (DriftKind::Missing, "m".into(), "-".into(), false),
        ]
    );
    assert!(f.iter().any(|f| f.repair
        == Some(Repair::RemoveMember {
            group_id: "g1".into(),
            user_id: "c".into()
        })));
    // Members not known (written before the store kept them): not compared.
    w.asserted.clear();
    assert_eq!(
        groups_to_list(
            &w.groups,
            &Asserted {
                users: &w.rows,
                groups: &w.group_rows,
                members: &w.asserted,
            }
        )
        .len(),
        0
    );
    assert!(w
        .find(false)
        .iter()
        .all(|f| f.kind != DriftKind::Membership));
}

#[test]
fn a_managed_group_gone_from_tableau_is_missing() {
    let mut w = World::new();
    w.group_rows.push(group_row("g1", "Sales"));
    w.asserted.insert("g1".into(), Vec::new());
    assert_eq!(
        summary(&w.find(true)),
        vec![(DriftKind::Missing, "-".into(), "g1".into(), false)]
    );
}

#[test]
fn a_lower_role_is_license_drift_when_its_tier_is_full() {
    let mut w = World::new();
    w.users.push(user("u1", "Viewer"));
    w.rows
        .push(row("u1", json!({"roles": [{"value": "Creator"}]})));
    w.users.push(user("u2", "Creator"));
    w.rows
        .push(row("u2", json!({"roles": [{"value": "Viewer"}]})));
    let mut f = w.find(false);
    assert!(needs_seats(&f));
    let mut site = SiteInfo {
        id: "s".into(),
        name: "s".into(),
        content_url: "s".into(),
        tier_creator_capacity: Some(2),
        tier_explorer_capacity: None,
        tier_viewer_capacity: None,
        num_creators: Some(1),
        num_explorers: Some(0),
        num_viewers: Some(1),
        num_users: Some(3),
    };
    let mut free = f.clone();
    classify_license(&mut free, &site);
    assert!(
        free.iter().all(|f| f.kind == DriftKind::Role),
        "a seat is free: role drift"
    );
    site.num_creators = Some(2);
    classify_license(&mut f, &site);
    assert_eq!(
        summary(&f),
        vec![
            (DriftKind::Role, "u2".into(), "-".into(), true),
            (DriftKind::License, "u1".into(), "-".into(), false),
        ]
    );
}

#[test]
fn the_signed_in_account_gets_no_repair_of_its_own_role() {
    let mut w = World::new();
    w.rows
        .push(row("admin", json!({"roles": [{"value": "Viewer"}]})));
    let f = w.find(false);
    assert_eq!(
        summary(&f),
        vec![(DriftKind::Role, "admin".into(), "-".into(), false)]
    );
    assert!(f[0]
        .note
        .as_deref()
        .is_some_and(|n| n.contains("own site role")));
}
