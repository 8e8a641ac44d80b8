//! What differs between Tableau as it is now and what the IdP last asserted through us, and
//! what would restore the IdP's truth. Pure: the listings come in, findings come out.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::bridge::mapping::grants::grant_of;
use crate::bridge::mapping::is_active;
use crate::bridge::mapping::roles::RoleMapping;
use crate::bridge::users::plan::mapped_role;
use crate::store::{GroupRow, UserRow};
use crate::tableau::model::{Group, User};
use crate::tableau::SiteRole;

/// The kinds of drift, in the order a report lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// A user the IdP deactivated or deleted (kept Unlicensed) holds a licensed role.
    AccessLeak,
    /// A SCIM-managed user's site role is not the one the IdP's roles map to.
    Role,
    /// As `Role`, lower than asserted, and no seat of the asserted role's tier is free.
    License,
    /// As `Role`, higher than asserted, and a group the user is in grants that role at
    /// sign-in: Tableau gives it again at every sign-in, so no repair is offered.
    SignInGrant,
    /// A SCIM-managed group's members differ from the members the IdP asserted.
    Membership,
    /// A SCIM-managed user or group is gone from Tableau.
    Missing,
    /// A Tableau user or group the IdP never provisioned (reported, never touched).
    Unmanaged,
    /// Under `deprovision = "transfer"`, a user deleted through SCIM whom Tableau still has
    /// (it kept an owner of content, Unlicensed): a custody to finish.
    Custody,
}

impl DriftKind {
    /// Every kind.
    pub const ALL: [DriftKind; 8] = [
        DriftKind::AccessLeak,
        DriftKind::Role,
        DriftKind::License,
        DriftKind::SignInGrant,
        DriftKind::Membership,
        DriftKind::Missing,
        DriftKind::Unmanaged,
        DriftKind::Custody,
    ];

    /// The name in reports and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            DriftKind::AccessLeak => "access_leak",
            DriftKind::Role => "role",
            DriftKind::License => "license",
            DriftKind::SignInGrant => "granted_at_sign_in",
            DriftKind::Membership => "membership",
            DriftKind::Missing => "missing",
            DriftKind::Unmanaged => "unmanaged",
            DriftKind::Custody => "custody",
        }
    }

    /// Whether a finding of this kind is drift for the exit status: everything but
    /// `unmanaged`, which is an inventory (every site has the account tableau-scim signs in
    /// with's peers, local administrators, that the IdP need not know).
    pub fn is_drift(self) -> bool {
        self != DriftKind::Unmanaged
    }
}

/// A user or group, by id and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Named {
    /// Tableau LUID (the SCIM id).
    pub id: String,
    /// User name or group name.
    pub name: String,
}

impl Named {
    pub(super) fn of(id: &str, name: &str) -> Named {
        Named {
            id: id.to_string(),
            name: name.to_string(),
        }
    }
}

/// The one Tableau change that restores the IdP's truth for a finding.
#[derive(Debug, Clone, PartialEq)]
pub enum Repair {
    /// Update User with this site role.
    SetRole {
        /// User LUID.
        user_id: String,
        /// The role it had when seen.
        from: String,
        /// The role to give.
        to: SiteRole,
    },
    /// Add User to Group.
    AddMember {
        /// Group LUID.
        group_id: String,
        /// User LUID.
        user_id: String,
    },
    /// Remove User from Group.
    RemoveMember {
        /// Group LUID.
        group_id: String,
        /// User LUID.
        user_id: String,
    },
    /// Remove User from Group for each of `groups` (they grant a role at sign-in), then Update
    /// User with Unlicensed: an access leak a sign-in would open again.
    Ungrant {
        /// User LUID.
        user_id: String,
        /// The role it had when seen.
        from: String,
        /// The groups (LUID, name) that grant it a role at sign-in.
        groups: Vec<(String, String)>,
    },
    /// Hand the content of a user deleted through SCIM to the manager or the custodian, then
    /// remove them (`deprovision = "transfer"`).
    Custody {
        /// User LUID.
        user_id: String,
    },
    /// Add User again (only with `--recreate-missing`): a new LUID, so the row and the
    /// asserted memberships move to it.
    Recreate {
        /// The user's row under its old id.
        row: Box<UserRow>,
        /// The role to create it with.
        role: SiteRole,
    },
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Its kind.
    pub kind: DriftKind,
    /// The user concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Named>,
    /// The group concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<Named>,
    /// The value in Tableau now.
    pub tableau: String,
    /// The value the IdP asserted.
    pub asserted: String,
    /// What would restore the IdP's truth, when something may.
    #[serde(skip)]
    pub repair: Option<Repair>,
    /// Why no repair is offered, when none is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// After `--apply`: `repaired`, or `failed: ...`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// Tableau as it is now: the site's users and groups, the members of the groups listed, the
/// account tableau-scim signs in with.
#[derive(Debug, Clone, Copy)]
pub struct SiteNow<'a> {
    /// Every user of the site.
    pub users: &'a [User],
    /// Every group of the site ("All Users" is ignored).
    pub groups: &'a [Group],
    /// Members (user ids) of the groups whose members were listed.
    pub members: &'a HashMap<String, Vec<String>>,
    /// The user LUID tableau-scim signs in as.
    pub signed_in_as: &'a str,
}

/// What the IdP asserted through us: the store.
#[derive(Debug, Clone, Copy)]
pub struct Asserted<'a> {
    /// Every user row, tombstones included.
    pub users: &'a [UserRow],
    /// Every group row.
    pub groups: &'a [GroupRow],
    /// The asserted members of the groups whose members are known.
    pub members: &'a HashMap<String, Vec<String>>,
}

/// The groups whose Tableau members must be listed: the managed ones (with a row, present in
/// Tableau, and whose asserted members are known), and those that grant a role at sign-in
/// (whose members' roles Tableau sets at every sign-in).
pub fn groups_to_list<'a>(now_groups: &'a [Group], asserted: &Asserted<'_>) -> Vec<&'a Group> {
    let managed: HashSet<&str> = asserted.groups.iter().map(|g| g.id.as_str()).collect();
    now_groups
        .iter()
        .filter(|g| !g.is_all_users())
        .filter(|g| {
            (managed.contains(g.id.as_str()) && asserted.members.contains_key(&g.id))
                || grant_of(g).is_some()
        })
        .collect()
}

/// Every difference between `now` and `asserted`, users first, then groups. `recreate_missing`
/// offers a repair for missing users.
pub fn find_drift(
    now: &SiteNow<'_>,
    asserted: &Asserted<'_>,
    roles: &RoleMapping,
    recreate_missing: bool,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let tableau_users: HashMap<&str, &User> =
        now.users.iter().map(|u| (u.id.as_str(), u)).collect();
    let rows: HashMap<&str, &UserRow> = asserted.users.iter().map(|r| (r.id.as_str(), r)).collect();
    let group_names: HashMap<&str, &str> = asserted
        .groups
        .iter()
        .map(|g| (g.id.as_str(), g.display_name.as_str()))
        .collect();
    let granting = asserted_granting_groups(asserted, &group_names, roles);
    for row in asserted.users {
        let user = tableau_users.get(row.id.as_str()).copied();
        let no_groups = Vec::new();
        let grants = granting.get(row.id.as_str()).unwrap_or(&no_groups);
        if let Some(f) = user_finding(row, user, grants, roles, now.signed_in_as, recreate_missing)
        {
            out.push(f);
        }
    }
    for u in now.users {
        if !rows.contains_key(u.id.as_str()) && u.id != now.signed_in_as {
            out.push(Finding {
                kind: DriftKind::Unmanaged,
                user: Some(Named::of(&u.id, &u.name)),
                group: None,
                tableau: u.site_role.to_string(),
                asserted: "nothing (never provisioned through SCIM)".into(),
                repair: None,
                note: None,
                outcome: None,
            });
        }
    }
    out.extend(group_findings(now, asserted, &tableau_users, &rows));
    out
}

/// The names of the role-granting groups each user is an asserted member of.
pub fn asserted_granting_groups<'a>(
    asserted: &Asserted<'a>,
    group_names: &HashMap<&str, &'a str>,
    roles: &RoleMapping,
) -> HashMap<&'a str, Vec<String>> {
    let mut out: HashMap<&str, Vec<String>> = HashMap::new();
    if !roles.has_group_roles() {
        return out;
    }
    for (gid, members) in asserted.members {
        let Some(name) = group_names
            .get(gid.as_str())
            .filter(|n| roles.group_grants(n))
        else {
            continue;
        };
        for m in members {
            out.entry(m.as_str()).or_default().push((*name).to_string());
        }
    }
    out
}

/// The site role the IdP's last request maps to for a user the store holds: Unlicensed when
/// deactivated or deleted, the mapped role of its `roles` and asserted role-granting groups,
/// `None` when it asserted none (no `roles`, no granting group) or its values no longer map.
pub fn asserted_role(row: &UserRow, granting: &[String], roles: &RoleMapping) -> Option<SiteRole> {
    if row.deleted || !is_active(&row.attributes) {
        return Some(SiteRole::Unlicensed);
    }
    mapped_role(roles, &row.attributes, granting).ok().flatten()
}

/// The finding of one user the store holds, if any. The rules:
/// - a tombstone (deleted through SCIM, kept in Tableau) or a deactivated user holding any
///   role but Unlicensed is an access leak, repaired by Unlicensed;
/// - a live row whose user is gone from Tableau is missing;
/// - an active user whose roles (and asserted role-granting groups) map to a role other than
///   Tableau's has role drift; when Tableau's is lower it may be for want of a seat, which
///   [`super::license::classify_license`] decides once the site's seats are known. An active user whose
///   request carried no roles asserted no role: whatever Tableau holds is not drift (an admin
///   may manage such roles in Tableau on purpose).
fn user_finding(
    row: &UserRow,
    user: Option<&User>,
    granting: &[String],
    roles: &RoleMapping,
    signed_in_as: &str,
    recreate_missing: bool,
) -> Option<Finding> {
    let named = |u: &User| Some(Named::of(&u.id, &u.name));
    let Some(user) = user else {
        if row.deleted {
            return None;
        }
        let role = if is_active(&row.attributes) {
            mapped_role(roles, &row.attributes, granting)
                .ok()
                .flatten()
                .unwrap_or(roles.default_role())
        } else {
            SiteRole::Unlicensed
        };
        return Some(Finding {
            kind: DriftKind::Missing,
            user: Some(Named::of(&row.id, &row.user_name)),
            group: None,
            tableau: "absent".into(),
            asserted: "present".into(),
            repair: recreate_missing.then(|| Repair::Recreate {
                row: Box::new(row.clone()),
                role,
            }),
            note: (!recreate_missing).then(|| "re-created only with --recreate-missing".into()),
            outcome: None,
        });
    };
    let now = user.role();
    let inactive = row.deleted || !is_active(&row.attributes);
    if inactive {
        if now == Some(SiteRole::Unlicensed) {
            return None;
        }
        let why = if row.deleted {
            "deleted"
        } else {
            "deactivated"
        };
        return Some(set_role(
            DriftKind::AccessLeak,
            user,
            SiteRole::Unlicensed,
            format!("Unlicensed ({why} by the IdP)"),
            signed_in_as,
        ));
    }
    let wanted = match mapped_role(roles, &row.attributes, granting) {
        Ok(Some(r)) => r,
        Ok(None) => return None,
        Err(e) => {
            return Some(Finding {
                kind: DriftKind::Role,
                user: named(user),
                group: None,
                tableau: user.site_role.to_string(),
                asserted: "roles the mapping no longer knows".into(),
                repair: None,
                note: Some(e.to_string()),
                outcome: None,
            })
        }
    };
    if now == Some(wanted) {
        return None;
    }
    Some(set_role(
        DriftKind::Role,
        user,
        wanted,
        wanted.as_str().into(),
        signed_in_as,
    ))
}

fn set_role(
    kind: DriftKind,
    user: &User,
    to: SiteRole,
    asserted: String,
    signed_in_as: &str,
) -> Finding {
    // Tableau refuses a change of one's own site role (403009): no repair is offered for the
    // account tableau-scim signs in with.
    let own = user.id == signed_in_as;
    Finding {
        kind,
        user: Some(Named::of(&user.id, &user.name)),
        group: None,
        tableau: user.site_role.to_string(),
        asserted,
        repair: (!own).then(|| Repair::SetRole {
            user_id: user.id.to_string(),
            from: user.site_role.to_string(),
            to,
        }),
        note: own.then(|| "the account tableau-scim signs in with cannot change its own site role; change it in Tableau as another administrator".into()),
        outcome: None,
    }
}

/// Groups: a managed group gone from Tableau is missing; a Tableau group without a row is
/// unmanaged; a managed group's members are compared with the asserted ones over the users
/// that exist in Tableau and were not deleted through SCIM (a deleted user's access is the
/// access-leak rule's, a missing user is the missing rule's).
fn group_findings(
    now: &SiteNow<'_>,
    asserted: &Asserted<'_>,
    tableau_users: &HashMap<&str, &User>,
    rows: &HashMap<&str, &UserRow>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let in_tableau: HashMap<&str, &Group> = now
        .groups
        .iter()
        .filter(|g| !g.is_all_users())
        .map(|g| (g.id.as_str(), g))
        .collect();
    let managed: HashSet<&str> = asserted.groups.iter().map(|g| g.id.as_str()).collect();
    let comparable =
        |id: &str| tableau_users.contains_key(id) && rows.get(id).is_none_or(|r| !r.deleted);
    for row in asserted.groups {
        let group = Some(Named::of(&row.id, &row.display_name));
        let Some(g) = in_tableau.get(row.id.as_str()) else {
            out.push(Finding {
                kind: DriftKind::Missing,
                user: None,
                group,
                tableau: "absent".into(),
                asserted: "present".into(),
                repair: None,
                note: Some("groups are not re-created: the IdP creates them again".into()),
                outcome: None,
            });
            continue;
        };
        let (Some(want), Some(have)) = (asserted.members.get(&row.id), now.members.get(&row.id))
        else {
            continue;
        };
        let want_set: HashSet<&str> = want.iter().map(String::as_str).collect();
        let have_set: HashSet<&str> = have.iter().map(String::as_str).collect();
        let member = |uid: &str, tableau: &str, asserted: &str, repair: Repair| Finding {
            kind: DriftKind::Membership,
            user: Some(Named::of(
                uid,
                tableau_users.get(uid).map_or(uid, |u| u.name.as_str()),
            )),
            group: Some(Named::of(&g.id, &g.name)),
            tableau: tableau.into(),
            asserted: asserted.into(),
            repair: Some(repair),
            note: None,
            outcome: None,
        };
        for uid in have
            .iter()
            .filter(|u| !want_set.contains(u.as_str()) && comparable(u))
        {
            out.push(member(
                uid,
                "member",
                "not a member",
                Repair::RemoveMember {
                    group_id: g.id.clone(),
                    user_id: uid.clone(),
                },
            ));
        }
        for uid in want
            .iter()
            .filter(|u| !have_set.contains(u.as_str()) && comparable(u))
        {
            out.push(member(
                uid,
                "not a member",
                "member",
                Repair::AddMember {
                    group_id: g.id.clone(),
                    user_id: uid.clone(),
                },
            ));
        }
    }
    for g in now.groups.iter().filter(|g| !g.is_all_users()) {
        if !managed.contains(g.id.as_str()) {
            out.push(Finding {
                kind: DriftKind::Unmanaged,
                user: None,
                group: Some(Named::of(&g.id, &g.name)),
                tableau: "present".into(),
                asserted: "nothing (never provisioned through SCIM)".into(),
                repair: None,
                note: None,
                outcome: None,
            });
        }
    }
    out
}

#[cfg(test)]
#[path = "findings_tests.rs"]
mod tests;
