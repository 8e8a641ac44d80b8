//! A seed: the users and groups an emulated site holds at start.

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use super::{api_error, ApiError, SiteState};
use crate::tableau::site_role::SiteRole;

/// A seed file: users and groups present at start.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// Users.
    #[serde(default)]
    pub users: Vec<SeedUser>,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<SeedGroup>,
}

/// A seeded user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SeedUser {
    /// User name.
    pub name: String,
    /// Site role.
    pub site_role: String,
    /// Display name.
    #[serde(default)]
    pub full_name: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// Owns content.
    #[serde(default)]
    pub owns_content: bool,
}

/// A seeded group.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SeedGroup {
    /// Group name.
    pub name: String,
    /// Member user names.
    #[serde(default)]
    pub members: Vec<String>,
    /// Minimum site role.
    #[serde(default)]
    pub minimum_site_role: Option<String>,
}

impl SiteState {
    /// Add the users and groups of a seed.
    pub fn apply_seed(&mut self, seed: &Seed) -> Result<(), ApiError> {
        for u in &seed.users {
            let role: SiteRole = u
                .site_role
                .parse()
                .map_err(|_| api_error(400, "400013", "Invalid site role", u.site_role.clone()))?;
            let auth = Some(self.default_auth().to_string());
            let created = self.add_user(&u.name, role, auth, None, u.email.clone())?;
            if let Some(e) = self.users.get_mut(created.id.as_str()) {
                e.user.full_name = u.full_name.as_deref().map(CompactString::from);
                e.owns_content = u.owns_content;
            }
        }
        for g in &seed.groups {
            let role = match &g.minimum_site_role {
                Some(r) => Some(
                    r.parse()
                        .map_err(|_| api_error(400, "400013", "Invalid site role", r.clone()))?,
                ),
                None => None,
            };
            let group = self.create_group(&g.name, role)?;
            let ids: Vec<String> = g
                .members
                .iter()
                .filter_map(|n| {
                    self.users
                        .values()
                        .find(|u| u.user.name == *n)
                        .map(|u| u.user.id.to_string())
                })
                .collect();
            self.add_members(&group.id, &ids, true)?;
        }
        Ok(())
    }
}
