//! What a preview's changes would do to the site, in the figures an administrator decides
//! on: users added and removed, role changes, seats per license tier, site administrators
//! demoted or made, content owners whose content would be stranded or handed over, groups and
//! memberships. Pure: it compares the site before and after.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::tableau::site_role::{LicenseTier, SiteRole};

/// One user as the site holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The site role as Tableau writes it.
    pub role: String,
    /// Owns a project, workbook, data source or flow.
    pub owns: bool,
}

/// The site at one moment, as the impact reads it: users by name, groups by name with their
/// members' names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteView {
    /// Users by name.
    pub users: BTreeMap<String, Person>,
    /// Groups by name, with their members' names ("All Users" left out).
    pub groups: BTreeMap<String, BTreeSet<String>>,
}

/// A role that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleChange {
    /// Whose.
    pub user: String,
    /// From.
    pub from: String,
    /// To.
    pub to: String,
}

/// Seats of one license tier before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seats {
    /// `Creator`, `Explorer` or `Viewer`.
    pub tier: &'static str,
    /// Taken before.
    pub before: u64,
    /// Taken after.
    pub after: u64,
}

/// The impact of a set of changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Impact {
    /// Users added to the site.
    pub added: Vec<String>,
    /// Users removed from the site.
    pub removed: Vec<String>,
    /// Users whose site role changed (Unlicensed included: a deactivation).
    pub role_changes: Vec<RoleChange>,
    /// Seats per tier where the count changes.
    pub seats: Vec<Seats>,
    /// Site or server administrators who would be one no longer (or be gone).
    pub admins_demoted: Vec<String>,
    /// Users who would become administrators.
    pub admins_made: Vec<String>,
    /// Users who own content and would be removed, unlicensed, left in a role that cannot
    /// own content, or would own nothing afterwards (their content handed over).
    pub content_owners_affected: Vec<String>,
    /// Groups created.
    pub groups_created: Vec<String>,
    /// Groups deleted.
    pub groups_deleted: Vec<String>,
    /// Memberships added, in groups on both sides.
    pub memberships_added: u64,
    /// Memberships removed, in groups on both sides.
    pub memberships_removed: u64,
}

fn role(p: Option<&Person>) -> Option<SiteRole> {
    p.and_then(|p| p.role.parse().ok())
}

fn is_admin(r: Option<SiteRole>) -> bool {
    r.is_some_and(|r| r.privilege() >= SiteRole::SiteAdministratorExplorer.privilege())
}

fn tier_name(t: LicenseTier) -> &'static str {
    match t {
        LicenseTier::Creator => "Creator",
        LicenseTier::Explorer => "Explorer",
        LicenseTier::Viewer => "Viewer",
    }
}

/// Compare the site before and after ([`Impact`]'s fields say what each counts).
pub fn impact(before: &SiteView, after: &SiteView) -> Impact {
    let mut out = Impact::default();
    let names: BTreeSet<&String> = before.users.keys().chain(after.users.keys()).collect();
    let mut seats: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    for name in names {
        let (b, a) = (before.users.get(name), after.users.get(name));
        let (rb, ra) = (role(b), role(a));
        match (b, a) {
            (None, Some(_)) => out.added.push(name.clone()),
            (Some(_), None) => out.removed.push(name.clone()),
            (Some(pb), Some(pa)) if pb.role != pa.role => out.role_changes.push(RoleChange {
                user: name.clone(),
                from: pb.role.clone(),
                to: pa.role.clone(),
            }),
            _ => {}
        }
        if let Some(t) = rb.and_then(SiteRole::tier) {
            seats.entry(tier_name(t)).or_default().0 += 1;
        }
        if let Some(t) = ra.and_then(SiteRole::tier) {
            seats.entry(tier_name(t)).or_default().1 += 1;
        }
        if is_admin(rb) && !is_admin(ra) {
            out.admins_demoted.push(name.clone());
        }
        if !is_admin(rb) && is_admin(ra) {
            out.admins_made.push(name.clone());
        }
        let owned = b.is_some_and(|p| p.owns);
        let keeps = a.is_some_and(|p| p.owns) && ra.is_some_and(SiteRole::can_own_content);
        if owned && !keeps {
            out.content_owners_affected.push(name.clone());
        }
    }
    out.seats = seats
        .into_iter()
        .filter(|(_, (b, a))| b != a)
        .map(|(tier, (before, after))| Seats {
            tier,
            before,
            after,
        })
        .collect();
    for (g, members) in &before.groups {
        match after.groups.get(g) {
            None => out.groups_deleted.push(g.clone()),
            Some(now) => {
                out.memberships_removed += members.difference(now).count() as u64;
                out.memberships_added += now.difference(members).count() as u64;
            }
        }
    }
    out.groups_created = after
        .groups
        .keys()
        .filter(|g| !before.groups.contains_key(*g))
        .cloned()
        .collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(users: &[(&str, &str, bool)], groups: &[(&str, &[&str])]) -> SiteView {
        SiteView {
            users: users
                .iter()
                .map(|(n, r, o)| {
                    (
                        n.to_string(),
                        Person {
                            role: r.to_string(),
                            owns: *o,
                        },
                    )
                })
                .collect(),
            groups: groups
                .iter()
                .map(|(g, m)| (g.to_string(), m.iter().map(|s| s.to_string()).collect()))
                .collect(),
        }
    }

    #[test]
    fn an_unassigned_group_frees_seats_demotes_admins_and_strands_owners() {
        let before = view(
            &[
                ("ann", "Creator", true),
                ("bob", "Viewer", false),
                ("cy", "SiteAdministratorExplorer", false),
                ("dee", "Explorer", false),
            ],
            &[("Sales", &["ann", "bob", "cy"]), ("Old", &["dee"])],
        );
        let after = view(
            &[
                ("ann", "Unlicensed", true),
                ("bob", "Unlicensed", false),
                ("cy", "Explorer", false),
                ("dee", "Explorer", false),
                ("eve", "Viewer", false),
            ],
            &[("Sales", &[]), ("New", &["eve"])],
        );
        let i = impact(&before, &after);
        assert_eq!(i.added, vec!["eve"]);
        assert!(i.removed.is_empty());
        assert_eq!(i.role_changes.len(), 3);
        assert_eq!(
            i.seats,
            vec![Seats {
                tier: "Creator",
                before: 1,
                after: 0
            }],
            "Explorer and Viewer seats are as many after as before"
        );
        assert_eq!(i.admins_demoted, vec!["cy"]);
        assert_eq!(
            i.content_owners_affected,
            vec!["ann"],
            "unlicensed, still owning"
        );
        assert_eq!(i.groups_deleted, vec!["Old"]);
        assert_eq!(i.groups_created, vec!["New"]);
        assert_eq!((i.memberships_removed, i.memberships_added), (3, 0));
    }

    #[test]
    fn a_removed_owner_and_a_handed_over_owner_are_both_affected_and_a_new_admin_is_named() {
        let before = view(
            &[
                ("ann", "Creator", true),
                ("bob", "Creator", true),
                ("cy", "Viewer", false),
            ],
            &[],
        );
        let after = view(
            &[
                ("bob", "Creator", false),
                ("cy", "SiteAdministratorCreator", false),
            ],
            &[],
        );
        let i = impact(&before, &after);
        assert_eq!(i.removed, vec!["ann"]);
        assert_eq!(i.content_owners_affected, vec!["ann", "bob"]);
        assert_eq!(i.admins_made, vec!["cy"]);
        assert!(i.admins_demoted.is_empty());
    }

    #[test]
    fn nothing_changed_is_an_empty_impact() {
        let v = view(&[("ann", "Creator", true)], &[("Sales", &["ann"])]);
        assert_eq!(impact(&v, &v), Impact::default());
    }
}
