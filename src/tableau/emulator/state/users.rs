//! User rules: Add User, Update User, Remove User, and the license tiers.

use compact_str::CompactString;

use super::{api_error, luid, ApiError, EmuUser, Flavor, SiteState};
use crate::tableau::model::User;
use crate::tableau::site_role::SiteRole;

impl SiteState {
    /// Add User to Site.
    pub fn add_user(
        &mut self,
        name: &str,
        role: SiteRole,
        auth_setting: Option<String>,
        idp_configuration_id: Option<String>,
        email: Option<String>,
    ) -> Result<User, ApiError> {
        Self::check_role(role)?;
        if name.trim().is_empty() {
            return Err(api_error(
                400,
                "400000",
                "Bad Request",
                "The user name is missing",
            ));
        }
        if self.flavor == Flavor::Cloud && !looks_like_email(name) {
            return Err(api_error(
                400,
                "400000",
                "Bad Request",
                format!("On Tableau Cloud the user name must be an email address, not '{name}'"),
            ));
        }
        if auth_setting.is_some() && idp_configuration_id.is_some() {
            return Err(api_error(
                400,
                "400000",
                "Bad Request",
                "Give authSetting or idpConfigurationId, not both",
            ));
        }
        if self.flavor == Flavor::Cloud && auth_setting.as_deref() == Some("ServerDefault") {
            return Err(api_error(400, "400003", "Bad Request", "The authentication setting ServerDefault is not supported for your site. Use TableauIDWithMFA."));
        }
        if self.name_taken(name, None) {
            return Err(api_error(
                409,
                self.user_exists_code,
                "Conflict",
                format!("User '{name}' already exists on the site"),
            ));
        }
        let granted = self.grant(role, None)?;
        let auth = match (&auth_setting, &idp_configuration_id) {
            (Some(a), _) => Some(a.clone()),
            (None, Some(_)) => None,
            (None, None) => Some(self.default_auth().to_string()),
        };
        let user = User {
            id: luid().into(),
            name: name.into(),
            site_role: granted.as_str().into(),
            auth_setting: auth.map(CompactString::from),
            idp_configuration_id: idp_configuration_id.map(CompactString::from),
            email: email.map(CompactString::from),
            domain: Some("local".into()),
            ..User::default()
        };
        self.names
            .insert(user.name.as_str().to_lowercase(), user.id.to_string());
        self.users.insert(
            user.id.to_string(),
            EmuUser {
                user: user.clone(),
                owns_content: false,
            },
        );
        Ok(user)
    }

    /// Look up a user.
    pub fn user(&self, id: &str) -> Result<&EmuUser, ApiError> {
        self.users.get(id).ok_or_else(|| {
            api_error(
                404,
                "404002",
                "Resource Not Found",
                format!("User '{id}' could not be found."),
            )
        })
    }

    /// Update User.
    #[allow(clippy::too_many_arguments)]
    pub fn update_user(
        &mut self,
        id: &str,
        name: Option<String>,
        full_name: Option<String>,
        email: Option<String>,
        role: Option<SiteRole>,
        auth_setting: Option<String>,
        idp_configuration_id: Option<String>,
    ) -> Result<User, ApiError> {
        let current = self.user(id)?.user.clone();
        if let Some(r) = role {
            Self::check_role(r)?;
        }
        if let Some(n) = &name {
            if n != current.name {
                if self.flavor == Flavor::Cloud {
                    return Err(api_error(
                        400,
                        "400000",
                        "Bad Request",
                        "User names cannot be changed on Tableau Cloud",
                    ));
                }
                if self.name_taken(n, Some(id)) {
                    return Err(api_error(
                        409,
                        self.user_exists_code,
                        "Conflict",
                        format!("User '{n}' already exists on the site"),
                    ));
                }
            }
        }
        let granted = match role {
            Some(r) => Some(self.grant(r, current.role())?),
            None => None,
        };
        let Some(entry) = self.users.get_mut(id) else {
            return Err(api_error(
                404,
                "404002",
                "Resource Not Found",
                id.to_string(),
            ));
        };
        let u = &mut entry.user;
        if let Some(n) = name {
            self.names.remove(u.name.to_lowercase().as_str());
            self.names.insert(n.to_lowercase(), u.id.to_string());
            u.name = n.into();
        }
        if let Some(f) = full_name {
            u.full_name = Some(f.into()).filter(|f: &CompactString| !f.is_empty());
        }
        if let Some(e) = email {
            u.email = Some(e.into()).filter(|e: &CompactString| !e.is_empty());
        }
        if let Some(r) = granted {
            u.site_role = r.as_str().into();
        }
        if let Some(a) = auth_setting {
            u.auth_setting = Some(a.into());
            u.idp_configuration_id = None;
        }
        if let Some(i) = idp_configuration_id {
            u.idp_configuration_id = Some(i.into());
        }
        Ok(u.clone())
    }

    /// Remove User from Site.
    pub fn remove_user(&mut self, id: &str, map_assets_to: Option<&str>) -> Result<(), ApiError> {
        let owns = self.user(id)?.owns_content;
        if let Some(target) = map_assets_to {
            if self.flavor == Flavor::Cloud {
                return Err(api_error(
                    400,
                    "400000",
                    "Bad Request",
                    "mapAssetsTo is not supported on Tableau Cloud",
                ));
            }
            self.user(target)?;
            if target == id {
                return Err(api_error(
                    400,
                    "400000",
                    "Bad Request",
                    "mapAssetsTo must name another user",
                ));
            }
            if let Some(t) = self.users.get_mut(target) {
                t.owns_content |= owns;
            }
        } else if owns {
            // Okta's connector documents this outcome: the user is left Unlicensed and the call
            // answers 409 (tableau-rest.md section 2.6).
            if let Some(u) = self.users.get_mut(id) {
                u.user.site_role = SiteRole::Unlicensed.as_str().into();
            }
            return Err(api_error(409, "409003", "Conflict", "The user owns content and could not be removed; their site role is now Unlicensed. Transfer the content or give mapAssetsTo."));
        }
        if let Some(gone) = self.users.remove(id) {
            self.names.remove(gone.user.name.to_lowercase().as_str());
        }
        for g in self.groups.values_mut() {
            g.members.remove(id);
        }
        self.sessions.retain(|_, s| s.user_id != id);
        Ok(())
    }

    /// Users sorted by name.
    pub fn users_sorted(&self) -> Vec<&User> {
        let mut v: Vec<&User> = self.users.values().map(|u| &u.user).collect();
        v.sort_by_cached_key(|x| x.name.to_lowercase());
        v
    }
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}
