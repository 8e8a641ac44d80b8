//! Group rules: local groups, "All Users", and membership.

use std::collections::BTreeSet;

use super::{api_error, luid, ApiError, EmuGroup, SiteState};
use crate::tableau::model::{Group, User};
use crate::tableau::site_role::SiteRole;

impl SiteState {
    /// A group with its user count.
    pub fn group_view(&self, g: &EmuGroup) -> Group {
        let mut out = g.group.clone();
        out.user_count = Some(u64::try_from(self.member_ids(g).len()).unwrap_or(u64::MAX));
        out
    }

    /// Groups sorted by name.
    pub fn groups_sorted(&self) -> Vec<Group> {
        let mut v: Vec<Group> = self.groups.values().map(|g| self.group_view(g)).collect();
        v.sort_by_cached_key(|x| x.name.to_lowercase());
        v
    }

    /// Look up a group: 404012 "Group not found" when there is none (REST reference error
    /// tables of Query Groups' neighbours: Update Group, Delete Group, Get Users in Group, Add
    /// User to Group).
    pub fn group(&self, id: &str) -> Result<&EmuGroup, ApiError> {
        self.groups.get(id).ok_or_else(|| {
            api_error(
                404,
                "404012",
                "Group not found",
                format!("Group '{id}' could not be found."),
            )
        })
    }

    fn member_ids(&self, g: &EmuGroup) -> Vec<String> {
        if g.group.id == self.all_users_id {
            self.users.keys().cloned().collect()
        } else {
            g.members.iter().cloned().collect()
        }
    }

    /// A group's members, sorted by name.
    pub fn members(&self, id: &str) -> Result<Vec<User>, ApiError> {
        let g = self.group(id)?;
        let mut v: Vec<User> = self
            .member_ids(g)
            .iter()
            .filter_map(|m| self.users.get(m).map(|u| u.user.clone()))
            .collect();
        v.sort_by_cached_key(|x| x.name.to_lowercase());
        Ok(v)
    }

    /// The groups of a user, "All Users" included.
    pub fn groups_of(&self, user_id: &str) -> Result<Vec<Group>, ApiError> {
        self.user(user_id)?;
        Ok(self
            .groups_sorted()
            .into_iter()
            .filter(|g| {
                g.id == self.all_users_id
                    || self
                        .groups
                        .get(&g.id)
                        .is_some_and(|e| e.members.contains(user_id))
            })
            .collect())
    }

    fn group_name_taken(&self, name: &str, except: Option<&str>) -> bool {
        let lower = name.to_lowercase();
        self.groups
            .values()
            .any(|g| Some(g.group.id.as_str()) != except && g.group.name.to_lowercase() == lower)
    }

    /// Create Group (local).
    pub fn create_group(
        &mut self,
        name: &str,
        minimum_site_role: Option<SiteRole>,
    ) -> Result<Group, ApiError> {
        if name.trim().is_empty() {
            return Err(api_error(
                400,
                "400000",
                "Bad Request",
                "The group name is missing",
            ));
        }
        if let Some(r) = minimum_site_role {
            Self::check_role(r)?;
        }
        if self.group_name_taken(name, None) {
            return Err(api_error(
                409,
                "409009",
                "Conflict",
                format!("Group '{name}' already exists on the site"),
            ));
        }
        let g = EmuGroup {
            group: Group {
                id: luid(),
                name: name.into(),
                minimum_site_role: minimum_site_role.map(|r| r.as_str().to_string()),
                user_count: None,
                domain: Some("local".into()),
            },
            members: BTreeSet::new(),
        };
        let view = self.group_view(&g);
        self.groups.insert(g.group.id.clone(), g);
        Ok(view)
    }

    fn check_not_all_users(&self, id: &str) -> Result<(), ApiError> {
        if id == self.all_users_id {
            return Err(api_error(
                403,
                "403004",
                "Forbidden",
                "The All Users group cannot be changed or deleted",
            ));
        }
        Ok(())
    }

    /// Update Group.
    pub fn update_group(
        &mut self,
        id: &str,
        name: Option<String>,
        minimum_site_role: Option<SiteRole>,
    ) -> Result<Group, ApiError> {
        self.group(id)?;
        self.check_not_all_users(id)?;
        if name.is_some() {
            self.check_local_group(id, "name and members")?;
        }
        if let Some(n) = &name {
            if n.trim().is_empty() {
                return Err(api_error(
                    400,
                    "400000",
                    "Bad Request",
                    "The group name is missing",
                ));
            }
            if self.group_name_taken(n, Some(id)) {
                return Err(api_error(
                    409,
                    "409009",
                    "Conflict",
                    format!("Group '{n}' already exists on the site"),
                ));
            }
        }
        if let Some(r) = minimum_site_role {
            Self::check_role(r)?;
        }
        let Some(g) = self.groups.get_mut(id) else {
            return Err(api_error(404, "404012", "Group not found", id.to_string()));
        };
        if let Some(n) = name {
            g.group.name = n;
        }
        if minimum_site_role.is_some() {
            g.group.minimum_site_role = minimum_site_role.map(|r| r.as_str().to_string());
        }
        let g = g.clone();
        Ok(self.group_view(&g))
    }

    /// Delete Group.
    pub fn delete_group(&mut self, id: &str) -> Result<(), ApiError> {
        self.group(id)?;
        self.check_not_all_users(id)?;
        self.groups.remove(id);
        Ok(())
    }

    /// Add users to a group. `bulk` adds skip users who are already members; a single add of
    /// a member answers 409011.
    pub fn add_members(
        &mut self,
        group_id: &str,
        user_ids: &[String],
        bulk: bool,
    ) -> Result<Vec<User>, ApiError> {
        self.group(group_id)?;
        self.check_not_all_users(group_id)?;
        self.check_local_group(group_id, "members")?;
        let mut added = Vec::new();
        for uid in user_ids {
            let user = self.user(uid)?.user.clone();
            let Some(g) = self.groups.get_mut(group_id) else {
                return Err(api_error(
                    404,
                    "404012",
                    "Resource Not Found",
                    group_id.to_string(),
                ));
            };
            if !g.members.insert(uid.clone()) && !bulk {
                return Err(api_error(
                    409,
                    "409011",
                    "Conflict",
                    format!("User '{uid}' is already a member of the group"),
                ));
            }
            added.push(user);
        }
        Ok(added)
    }

    /// Remove users from a group. A single removal of a non-member answers 404002; bulk
    /// removals skip non-members.
    pub fn remove_members(
        &mut self,
        group_id: &str,
        user_ids: &[String],
        bulk: bool,
    ) -> Result<(), ApiError> {
        self.group(group_id)?;
        self.check_not_all_users(group_id)?;
        self.check_local_group(group_id, "members")?;
        for uid in user_ids {
            if !bulk {
                self.user(uid)?;
            }
            let Some(g) = self.groups.get_mut(group_id) else {
                return Err(api_error(
                    404,
                    "404012",
                    "Resource Not Found",
                    group_id.to_string(),
                ));
            };
            if !g.members.remove(uid) && !bulk {
                return Err(api_error(
                    404,
                    "404002",
                    "Resource Not Found",
                    format!("User '{uid}' is not a member of the group"),
                ));
            }
        }
        Ok(())
    }
}
