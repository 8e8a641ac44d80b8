//! Who has access to the site: every Tableau user with its site role now, the role the IdP
//! asked for, whether SCIM manages it, whether it is active, its last sign-in and its groups.
//! For the admin console's access view and `tableau-scim report access`. Reads the bridge's
//! cached listings: the name index (no call while fresh; one call per 1,000 users otherwise),
//! the group list and the groups' member lists (one call per group per 1,000 members when not
//! cached); nothing per user.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::bridge::error::BridgeResult;
use crate::bridge::mapping::grants::{grant_of, strongest_grant};
use crate::bridge::mapping::is_active;
use crate::bridge::mapping::roles::RoleMapping;
use crate::bridge::reconcile::findings::{asserted_granting_groups, asserted_role, Asserted};
use crate::bridge::tenant::Tenant;
use crate::store::{GroupRow, UserRow};
use crate::tableau::model::{Group, User};

/// One user of the site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessEntry {
    /// Tableau LUID (the SCIM id).
    pub id: String,
    /// User name.
    pub user_name: String,
    /// Full name, as Tableau holds it.
    pub full_name: String,
    /// Site role now.
    pub site_role: String,
    /// The role the IdP's last request maps to (empty when it asserted none or never
    /// provisioned the user).
    pub asserted_role: String,
    /// Provisioned through SCIM.
    pub managed: bool,
    /// Active: as the IdP last wrote it for a managed user, otherwise licensed in Tableau.
    pub active: bool,
    /// Tableau's last sign-in (empty: never).
    pub last_login: String,
    /// When the IdP provisioned the user through tableau-scim (`meta.created`; empty: not
    /// managed).
    pub provisioned: String,
    /// Its groups ("All Users" aside), by name, sorted.
    pub groups: Vec<String>,
    /// Where the site role comes from ([`role_source`]).
    pub role_source: String,
}

/// Where a user's site role `role` comes from: the IdP, when it is the role the IdP's last
/// request maps to (through a role-granting IdP group when one is why); else a Tableau group
/// whose grant at sign-in is that role ([`strongest_grant`]); else Tableau itself (set there, or a user the
/// IdP never provisioned). Pure.
pub fn role_source(
    role: &str,
    managed: bool,
    asserted: &str,
    idp_groups: &[String],
    tableau_groups: &[&Group],
) -> String {
    if managed && !asserted.is_empty() && asserted == role {
        return match idp_groups.first() {
            Some(g) => format!("the IdP (group '{g}')"),
            None => "the IdP".into(),
        };
    }
    if let Some((g, grant)) = strongest_grant(tableau_groups) {
        if grant.as_str() == role {
            return format!("granted at sign-in by '{}'", g.name);
        }
    }
    if managed {
        "set in Tableau".into()
    } else {
        "Tableau (not provisioned through SCIM)".into()
    }
}

/// The entries of `users`, by user name. Pure.
pub fn access_entries(
    users: &[Arc<User>],
    rows: &[UserRow],
    groups: &[Group],
    members: &HashMap<String, Arc<Vec<String>>>,
    group_rows: &[GroupRow],
    asserted_members: &HashMap<String, Vec<String>>,
    roles: &RoleMapping,
) -> Vec<AccessEntry> {
    let by_id: HashMap<&str, &UserRow> = rows
        .iter()
        .filter(|r| !r.deleted)
        .map(|r| (r.id.as_str(), r))
        .collect();
    let mut groups_of: HashMap<&str, Vec<String>> = HashMap::new();
    let mut grants_of: HashMap<&str, Vec<&Group>> = HashMap::new();
    for g in groups.iter().filter(|g| !g.is_all_users()) {
        for m in members.get(&g.id).iter().flat_map(|m| m.iter()) {
            groups_of
                .entry(m.as_str())
                .or_default()
                .push(g.name.clone());
            if grant_of(g).is_some() {
                grants_of.entry(m.as_str()).or_default().push(g);
            }
        }
    }
    let names: HashMap<&str, &str> = group_rows
        .iter()
        .map(|g| (g.id.as_str(), g.display_name.as_str()))
        .collect();
    let asserted = Asserted {
        users: rows,
        groups: group_rows,
        members: asserted_members,
    };
    let granting = asserted_granting_groups(&asserted, &names, roles);
    let none = Vec::new();
    let mut out: Vec<AccessEntry> = users
        .iter()
        .map(|u| {
            let row = by_id.get(u.id.as_str()).copied();
            let mut groups = groups_of.get(u.id.as_str()).cloned().unwrap_or_default();
            groups.sort();
            let idp_groups = granting.get(u.id.as_str()).unwrap_or(&none);
            let asserted = row
                .and_then(|r| asserted_role(r, idp_groups, roles))
                .map(|r| r.as_str().to_string())
                .unwrap_or_default();
            let tableau_grants = grants_of.get(u.id.as_str()).map_or(&[][..], Vec::as_slice);
            AccessEntry {
                id: u.id.to_string(),
                user_name: u.name.to_string(),
                full_name: u.full_name.as_deref().unwrap_or_default().to_string(),
                site_role: u.site_role.to_string(),
                role_source: role_source(
                    &u.site_role,
                    row.is_some(),
                    &asserted,
                    idp_groups,
                    tableau_grants,
                ),
                asserted_role: asserted,
                managed: row.is_some(),
                active: match row {
                    Some(r) => is_active(&r.attributes),
                    None => u.site_role != "Unlicensed",
                },
                last_login: u.last_login.as_deref().unwrap_or_default().to_string(),
                provisioned: row.map(|r| r.created.clone()).unwrap_or_default(),
                groups,
            }
        })
        .collect();
    out.sort_by_cached_key(|e| e.user_name.to_lowercase());
    out
}

impl Tenant {
    /// Every user of the site as [`AccessEntry`]s.
    pub async fn access(&self) -> BridgeResult<Vec<AccessEntry>> {
        // What the other replicas wrote first, as a SCIM request does.
        self.replicas.catch_up().await?;
        let users = match self.caches.names.users(Instant::now()) {
            Some(u) => u,
            None => self
                .client
                .all_users()
                .await?
                .into_iter()
                .map(Arc::new)
                .collect(),
        };
        let groups = self.site_groups().await?;
        let mut members = HashMap::new();
        for g in groups.iter().filter(|g| !g.is_all_users()) {
            members.insert(g.id.clone(), self.group_member_ids(&g.id).await?);
        }
        let rows = self.store.users(&self.id).await?;
        let group_rows = self.store.groups(&self.id).await?;
        let asserted = self.store.all_asserted_members(&self.id).await?;
        Ok(access_entries(
            &users,
            &rows,
            &groups,
            &members,
            &group_rows,
            &asserted,
            &self.roles(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tableau::SiteRole;
    use serde_json::json;

    fn user(id: &str, role: &str) -> Arc<User> {
        Arc::new(User {
            id: id.into(),
            name: format!("{id}@example.com").into(),
            site_role: role.into(),
            full_name: Some(format!("Name {id}").into()),
            last_login: (id == "b").then(|| "2026-11-01T10:00:00Z".into()),
            ..User::default()
        })
    }

    fn row(id: &str, attributes: serde_json::Value) -> UserRow {
        UserRow {
            id: id.into(),
            user_name: format!("{id}@example.com"),
            external_id: None,
            attributes,
            created: format!("2026-01-0{}T00:00:00.000Z", id.len()),
            last_modified: String::new(),
            restore_role: None,
            deleted: false,
            provisioned: false,
        }
    }

    #[test]
    fn each_user_with_its_role_now_and_asked_for_managed_active_and_groups() {
        let users = vec![
            user("c", "Viewer"),
            user("a", "Creator"),
            user("b", "Unlicensed"),
        ];
        let rows = vec![
            row("a", json!({"roles": [{"value": "Explorer"}]})),
            row("b", json!({"active": false})),
        ];
        let groups = vec![
            Group {
                id: "g1".into(),
                name: "Sales".into(),
                ..Group::default()
            },
            Group {
                id: "all".into(),
                name: "All Users".into(),
                ..Group::default()
            },
        ];
        let members = HashMap::from([
            (
                "g1".to_string(),
                Arc::new(vec!["a".to_string(), "c".to_string()]),
            ),
            (
                "all".to_string(),
                Arc::new(vec!["a".to_string(), "b".to_string()]),
            ),
        ]);
        let roles = RoleMapping::new([], [], SiteRole::Viewer);
        let e = access_entries(
            &users,
            &rows,
            &groups,
            &members,
            &[],
            &HashMap::new(),
            &roles,
        );
        let got: Vec<_> = e
            .iter()
            .map(|e| {
                (
                    e.user_name.as_str(),
                    e.site_role.as_str(),
                    e.asserted_role.as_str(),
                    e.managed,
                    e.active,
                    e.groups.join(","),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "a@example.com",
                    "Creator",
                    "Explorer",
                    true,
                    true,
                    "Sales".to_string()
                ),
                (
                    "b@example.com",
                    "Unlicensed",
                    "Unlicensed",
                    true,
                    false,
                    String::new()
                ),
                (
                    "c@example.com",
                    "Viewer",
                    "",
                    false,
                    true,
                    "Sales".to_string()
                ),
            ]
        );
        assert_eq!(e[1].last_login, "2026-11-01T10:00:00Z");
        assert_eq!(e[0].provisioned, "2026-01-01T00:00:00.000Z");
        assert_eq!(e[2].provisioned, "", "not provisioned through SCIM");
        let sources: Vec<&str> = e.iter().map(|e| e.role_source.as_str()).collect();
        assert_eq!(
            sources,
            vec![
                "set in Tableau",
                "the IdP",
                "Tableau (not provisioned through SCIM)"
            ]
        );
    }

    #[test]
    fn a_role_granted_at_sign_in_names_its_group() {
        let grant = Group {
            id: "g".into(),
            name: "Analysts".into(),
            minimum_site_role: Some("Explorer".into()),
            ..Group::default()
        };
        let groups = [&grant];
        assert_eq!(
            role_source("Explorer", true, "Viewer", &[], &groups),
            "granted at sign-in by 'Analysts'"
        );
        assert_eq!(
            role_source("Viewer", false, "", &[], &groups),
            "Tableau (not provisioned through SCIM)",
            "not signed in since: the grant has not given it yet"
        );
        assert_eq!(
            role_source("Creator", true, "Viewer", &[], &groups),
            "set in Tableau"
        );
        assert_eq!(
            role_source(
                "Explorer",
                true,
                "Explorer",
                &["Tableau-Analysts".into()],
                &groups
            ),
            "the IdP (group 'Tableau-Analysts')",
            "the IdP's word first"
        );
    }
}
