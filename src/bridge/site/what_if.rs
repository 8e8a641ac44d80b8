//! "What if this group were unassigned?": for every member of a group, the site role and seat
//! they would have (a) if the group were taken from them while they stay assigned to the app
//! (the group's push removed: `group_roles` re-evaluates them), and (b) if the IdP deactivated
//! them (the app unassigned from the group, their only assignment: Okta and Entra ID then
//! deactivate). Reads only: the group's members and users from the bridge's caches, and the
//! site's content listings (one per kind, paged) for who owns content.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::bridge::error::BridgeResult;
use crate::bridge::mapping::roles::RoleMapping;
use crate::bridge::tenant::Tenant;
use crate::bridge::users::plan::plan_role_reevaluation;
use crate::scim::ScimError;
use crate::store::UserRow;
use crate::tableau::content::ContentKind;
use crate::tableau::model::User;
use crate::tableau::SiteRole;

/// The largest group the console answers for (a bigger one: `tableau-scim preview`).
pub const MAX_MEMBERS: usize = 20_000;

/// One member's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberOutcome {
    /// User name.
    pub user: String,
    /// Site role now.
    pub role_now: String,
    /// Site role if the group were taken from them (they stay active).
    pub without_group: String,
    /// Site role if deactivated.
    pub deactivated: &'static str,
    /// Owns content.
    pub owns_content: bool,
}

/// Seats of a tier freed in a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Freed {
    /// `Creator`, `Explorer` or `Viewer`.
    pub tier: &'static str,
    /// Seats freed.
    pub seats: u64,
}

/// The whole answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhatIf {
    /// The group's name.
    pub group: String,
    /// Whether the group grants a site role through `group_roles`.
    pub grants_role: bool,
    /// Every member, by user name.
    pub members: Vec<MemberOutcome>,
    /// Seats freed if the group were taken from its members.
    pub freed_without_group: Vec<Freed>,
    /// Seats freed if its members were deactivated.
    pub freed_deactivated: Vec<Freed>,
    /// Administrators who would lose it without the group / if deactivated.
    pub admins_demoted: (u64, u64),
    /// Content owners left in a role that cannot own content / deactivated.
    pub owners_affected: (u64, u64),
}

fn tier_of(role: &str) -> Option<&'static str> {
    role.parse::<SiteRole>()
        .ok()
        .and_then(SiteRole::tier)
        .map(|t| match t {
            crate::tableau::site_role::LicenseTier::Creator => "Creator",
            crate::tableau::site_role::LicenseTier::Explorer => "Explorer",
            crate::tableau::site_role::LicenseTier::Viewer => "Viewer",
        })
}

fn is_admin(role: &str) -> bool {
    role.parse::<SiteRole>()
        .is_ok_and(|r| r.privilege() >= SiteRole::SiteAdministratorExplorer.privilege())
}

fn can_own(role: &str) -> bool {
    role.parse::<SiteRole>()
        .is_ok_and(SiteRole::can_own_content)
}

/// One member's outcome: `other_grants` are the role-granting groups they would still be in
/// (`None`: the group grants no role, so taking it changes none).
pub fn member_outcome(
    user: &User,
    row: Option<&UserRow>,
    other_grants: Option<&[String]>,
    roles: &RoleMapping,
    owns_content: bool,
) -> Result<MemberOutcome, ScimError> {
    let now = user.site_role.to_string();
    let without_group = match other_grants {
        Some(g) => plan_role_reevaluation(user, row, g, roles)?
            .map_or_else(|| now.clone(), |r| r.as_str().to_string()),
        None => now.clone(),
    };
    Ok(MemberOutcome {
        user: user.name.to_string(),
        role_now: now,
        without_group,
        deactivated: SiteRole::Unlicensed.as_str(),
        owns_content,
    })
}

fn freed(members: &[MemberOutcome], after: impl Fn(&MemberOutcome) -> &str) -> Vec<Freed> {
    let mut by_tier: BTreeMap<&'static str, i64> = BTreeMap::new();
    for m in members {
        if let Some(t) = tier_of(&m.role_now) {
            *by_tier.entry(t).or_default() += 1;
        }
        if let Some(t) = tier_of(after(m)) {
            *by_tier.entry(t).or_default() -= 1;
        }
    }
    by_tier
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(tier, n)| Freed {
            tier,
            seats: n as u64,
        })
        .collect()
}

/// The figures of both scenarios over the members' outcomes.
pub fn summarise(group: &str, grants_role: bool, mut members: Vec<MemberOutcome>) -> WhatIf {
    members.sort_by(|a, b| a.user.cmp(&b.user));
    let count = |f: &dyn Fn(&MemberOutcome) -> bool| members.iter().filter(|m| f(m)).count() as u64;
    let admins_demoted = (
        count(&|m| is_admin(&m.role_now) && !is_admin(&m.without_group)),
        count(&|m| is_admin(&m.role_now)),
    );
    let owners_affected = (
        count(&|m| m.owns_content && !can_own(&m.without_group)),
        count(&|m| m.owns_content && m.role_now != m.deactivated),
    );
    WhatIf {
        group: group.to_string(),
        grants_role,
        freed_without_group: freed(&members, |m| &m.without_group),
        freed_deactivated: freed(&members, |m| m.deactivated),
        admins_demoted,
        owners_affected,
        members,
    }
}

impl Tenant {
    /// The ids of every user who owns a project, workbook, data source or flow (the site's
    /// listings of each kind, paged: reads only).
    pub async fn content_owner_ids(&self) -> BridgeResult<HashSet<String>> {
        let mut owners = HashSet::new();
        for kind in ContentKind::ALL {
            owners.extend(
                self.client
                    .site_content(kind)
                    .await?
                    .into_iter()
                    .map(|i| i.owner_id),
            );
        }
        Ok(owners)
    }

    /// The site's groups as (id, name), by name ("All Users" left out: no IdP assigns it).
    pub async fn group_choices(&self) -> BridgeResult<Vec<(String, String)>> {
        let mut out: Vec<(String, String)> = self
            .site_groups()
            .await?
            .iter()
            .filter(|g| g.name != crate::tableau::model::ALL_USERS)
            .map(|g| (g.id.clone(), g.name.clone()))
            .collect();
        out.sort_by_cached_key(|g| g.1.to_lowercase());
        Ok(out)
    }

    /// What unassigning the group `group_id` would do to each member ([`WhatIf`]).
    pub async fn group_what_if(&self, group_id: &str) -> BridgeResult<WhatIf> {
        let groups = self.site_groups().await?;
        let Some(group) = groups.iter().find(|g| g.id == group_id).cloned() else {
            return Err(ScimError::NotFound(format!("no group {group_id}")).into());
        };
        let ids = self.group_member_ids(group_id).await?;
        if ids.len() > MAX_MEMBERS {
            return Err(ScimError::TooMany(format!(
                "'{}' has {} members; the console answers for at most {MAX_MEMBERS}: use tableau-scim preview",
                group.name,
                ids.len()
            ))
            .into());
        }
        let owners = self.content_owner_ids().await?;
        let grants_role = self.roles().group_grants(&group.name);
        let mut members = Vec::with_capacity(ids.len());
        for uid in ids.iter() {
            let Some((cur, row)) = self.load_user(uid).await? else {
                continue;
            };
            let others: Option<Vec<String>> = if grants_role {
                let mut g = self.granting_groups_of(uid).await?;
                g.retain(|n| n != &group.name);
                Some(g)
            } else {
                None
            };
            members.push(member_outcome(
                &cur,
                row.as_deref(),
                others.as_deref(),
                &self.roles(),
                owners.contains(uid.as_str()),
            )?);
        }
        Ok(summarise(&group.name, grants_role, members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, role: &str) -> User {
        User {
            id: name.into(),
            name: name.into(),
            site_role: role.into(),
            ..User::default()
        }
    }

    fn mapping() -> RoleMapping {
        RoleMapping::new(
            [],
            [
                ("Creators".to_string(), SiteRole::Creator),
                ("Explorers".to_string(), SiteRole::Explorer),
            ],
            SiteRole::Viewer,
        )
    }

    #[test]
    fn without_a_granting_group_a_member_falls_to_what_else_grants_or_the_default() {
        let roles = mapping();
        let only = member_outcome(&user("ann", "Creator"), None, Some(&[]), &roles, true);
        assert_eq!(only.map(|m| m.without_group), Ok("Viewer".to_string()));
        let also = member_outcome(
            &user("bob", "Creator"),
            None,
            Some(&["Explorers".into()]),
            &roles,
            false,
        );
        assert_eq!(also.map(|m| m.without_group), Ok("Explorer".to_string()));
        let plain = member_outcome(&user("cy", "Creator"), None, None, &roles, false);
        assert_eq!(
            plain.map(|m| m.without_group),
            Ok("Creator".to_string()),
            "a group granting nothing changes nothing"
        );
    }

    #[test]
    fn both_scenarios_count_seats_admins_and_owners() {
        let m = |u: &str, now: &str, without: &str, owns: bool| MemberOutcome {
            user: u.into(),
            role_now: now.into(),
            without_group: without.into(),
            deactivated: "Unlicensed",
            owns_content: owns,
        };
        let w = summarise(
            "Creators",
            true,
            vec![
                m(
                    "cy",
                    "SiteAdministratorCreator",
                    "SiteAdministratorCreator",
                    false,
                ),
                m("ann", "Creator", "Viewer", true),
                m("bob", "Creator", "Explorer", false),
            ],
        );
        assert_eq!(w.members[0].user, "ann", "sorted by user");
        assert_eq!(
            w.freed_without_group,
            vec![Freed {
                tier: "Creator",
                seats: 2
            }]
        );
        assert_eq!(
            w.freed_deactivated,
            vec![Freed {
                tier: "Creator",
                seats: 3
            }]
        );
        assert_eq!(w.admins_demoted, (0, 1));
        assert_eq!(w.owners_affected, (1, 1));
    }
}
