//! IdP roles to a Tableau site role: a per-tenant table, the site-role names themselves and
//! their legacy names, most privileged wins, a default when none is given. Pure.

use std::collections::HashMap;

use crate::tableau::SiteRole;

/// A role value the mapping does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role '{value}'; accepted are {accepted}")]
pub struct UnknownRole {
    /// The value as the IdP sent it.
    pub value: String,
    /// What is accepted, for the error message.
    pub accepted: String,
}

/// The role mapping of one tenant.
#[derive(Debug, Clone)]
pub struct RoleMapping {
    table: HashMap<String, SiteRole>,
    group_roles: HashMap<String, SiteRole>,
    default: SiteRole,
}

impl Default for RoleMapping {
    /// Site-role names only, and Viewer for users who bring no role.
    fn default() -> Self {
        RoleMapping::new([], [], SiteRole::Viewer)
    }
}

impl RoleMapping {
    /// A mapping: `table` from IdP role values (any case) to site roles, `group_roles` from IdP
    /// group names (any case) to the site role their members get, and the role for users who
    /// bring none. Site-role names and legacy names are always accepted too.
    pub fn new(
        table: impl IntoIterator<Item = (String, SiteRole)>,
        group_roles: impl IntoIterator<Item = (String, SiteRole)>,
        default: SiteRole,
    ) -> RoleMapping {
        RoleMapping {
            table: table
                .into_iter()
                .map(|(k, v)| (k.to_lowercase(), v))
                .collect(),
            group_roles: group_roles
                .into_iter()
                .map(|(k, v)| (k.to_lowercase(), v))
                .collect(),
            default,
        }
    }

    /// The role table and the group-role table, sorted by key (a configuration file writes
    /// them back).
    pub fn entries(&self) -> (Vec<RoleEntry<'_>>, Vec<RoleEntry<'_>>) {
        (
            sorted_entries(&self.table),
            sorted_entries(&self.group_roles),
        )
    }

    /// The default role.
    pub fn default_role(&self) -> SiteRole {
        self.default
    }

    /// The site role one value means, if any.
    pub fn lookup(&self, value: &str) -> Option<SiteRole> {
        if let Some(r) = self.table.get(&value.to_lowercase()) {
            return Some(*r);
        }
        // Site-role names in any case, legacy names included, but only the assignable ones.
        let canonical = SiteRole::ASSIGNABLE
            .iter()
            .chain(
                [
                    SiteRole::Explorer,
                    SiteRole::ExplorerCanPublish,
                    SiteRole::SiteAdministratorExplorer,
                ]
                .iter(),
            )
            .find(|r| r.as_str().eq_ignore_ascii_case(value))
            .copied();
        canonical.or_else(|| {
            ["Interactor", "Publisher", "SiteAdministrator"]
                .iter()
                .find(|l| l.eq_ignore_ascii_case(value))
                .and_then(|l| l.parse().ok())
        })
    }

    fn accepted(&self) -> String {
        let mut names: Vec<String> = SiteRole::ASSIGNABLE
            .iter()
            .map(|r| r.as_str().to_string())
            .collect();
        let mut custom: Vec<&String> = self.table.keys().collect();
        custom.sort();
        names.extend(custom.into_iter().cloned());
        names.join(", ")
    }

    /// The site role for these IdP role values and IdP group names: the most privileged of
    /// everything that maps, else the default. An unknown role value is an error (no Tableau
    /// call is made for it); unknown group names simply grant nothing.
    pub fn resolve<'a>(
        &self,
        roles: impl IntoIterator<Item = &'a str>,
        groups: impl IntoIterator<Item = &'a str>,
    ) -> Result<SiteRole, UnknownRole> {
        let mut granted = Vec::new();
        for value in roles {
            let v = value.trim();
            if v.is_empty() {
                continue;
            }
            granted.push(self.lookup(v).ok_or_else(|| UnknownRole {
                value: v.to_string(),
                accepted: self.accepted(),
            })?);
        }
        for g in groups {
            if let Some(r) = self.group_roles.get(&g.to_lowercase()) {
                granted.push(*r);
            }
        }
        Ok(SiteRole::most_privileged(granted).unwrap_or(self.default))
    }

    /// Whether any group grants a role (so membership changes must re-evaluate roles).
    pub fn has_group_roles(&self) -> bool {
        !self.group_roles.is_empty()
    }

    /// Whether `group` grants a role.
    pub fn group_grants(&self, group: &str) -> bool {
        self.group_roles.contains_key(&group.to_lowercase())
    }
}

/// One line of a role table: the IdP value or group name (lowercase) and its site role.
pub type RoleEntry<'a> = (&'a str, SiteRole);

fn sorted_entries(m: &HashMap<String, SiteRole>) -> Vec<RoleEntry<'_>> {
    let mut v: Vec<RoleEntry<'_>> = m.iter().map(|(k, r)| (k.as_str(), *r)).collect();
    v.sort_unstable_by_key(|(k, _)| *k);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> RoleMapping {
        RoleMapping::new(
            [
                (
                    "tableau-admin".to_string(),
                    SiteRole::SiteAdministratorCreator,
                ),
                ("analyst".to_string(), SiteRole::Explorer),
            ],
            [("Tableau-Creators".to_string(), SiteRole::Creator)],
            SiteRole::Viewer,
        )
    }

    #[test]
    fn table_site_roles_and_legacy_names_most_privileged_wins() {
        let m = mapping();
        assert_eq!(m.resolve(["Analyst"], []), Ok(SiteRole::Explorer));
        assert_eq!(m.resolve(["creator"], []), Ok(SiteRole::Creator));
        assert_eq!(
            m.resolve(["Publisher"], []),
            Ok(SiteRole::ExplorerCanPublish)
        );
        assert_eq!(
            m.resolve(["viewer", "TABLEAU-ADMIN", "analyst"], []),
            Ok(SiteRole::SiteAdministratorCreator)
        );
        assert_eq!(
            m.resolve([], []),
            Ok(SiteRole::Viewer),
            "no role: the default"
        );
        assert_eq!(m.resolve(["", " "], []), Ok(SiteRole::Viewer));
        assert_eq!(m.resolve(["Unlicensed"], []), Ok(SiteRole::Unlicensed));
    }

    #[test]
    fn group_roles_grant_and_unknown_values_are_refused() {
        let m = mapping();
        assert_eq!(
            m.resolve(["viewer"], ["tableau-creators"]),
            Ok(SiteRole::Creator)
        );
        assert_eq!(m.resolve([], ["Sales"]), Ok(SiteRole::Viewer));
        let err = m.resolve(["Wizard"], []);
        assert!(
            matches!(&err, Err(UnknownRole { value, accepted }) if value == "Wizard" && accepted.contains("Creator") && accepted.contains("analyst")),
            "{err:?}"
        );
        assert!(
            m.resolve(["ServerAdministrator"], []).is_err(),
            "never assignable"
        );
        assert!(m.resolve(["Guest"], []).is_err());
    }
}
