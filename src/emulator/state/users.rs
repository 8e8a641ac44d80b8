//! User rules: Add User, Update User, Remove User, and the license tiers.

use compact_str::CompactString;

use super::{api_error, luid, ApiError, EmuUser, Flavor, SiteState};

/// What an Update User body asks to change. There is no user name: Tableau cannot rename a
/// user through REST, and the handler refuses a body that tries.
#[derive(Debug, Clone, Default)]
pub struct UserEdit {
    /// `fullName`.
    pub full_name: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `siteRole`.
    pub site_role: Option<SiteRole>,
    /// `authSetting`.
    pub auth_setting: Option<String>,
    /// `idpConfigurationId`.
    pub idp_configuration_id: Option<String>,
    /// Whether a `password` came.
    pub password: bool,
}
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
        if role == SiteRole::Guest {
            // REST reference, Add User to Site errors: 409005 "Guest user conflict".
            return Err(api_error(
                409,
                "409005",
                "Guest user conflict",
                "The Tableau Server API doesn't allow adding a user with the guest role to a site.",
            ));
        }
        Self::check_role(role)?;
        if name.trim().is_empty() {
            return Err(api_error(
                400,
                "400000",
                "Bad Request",
                "The user name is missing",
            ));
        }
        // "Characters not allowed in user names include the semi-colon (;) and colon (,)"
        // (Tableau Server help, "Add Users to a Site"; the page shows a comma). The code is
        // assumed: the reference's Add User errors name none for it.
        if let Some(c) = name.chars().find(|c| matches!(c, ';' | ',')) {
            return Err(api_error(
                400,
                "400000",
                "Bad Request",
                format!("The user name '{name}' holds '{c}', which user names cannot hold"),
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
        let (sign_in, resolved_idp) =
            self.settle_sign_in(auth_setting.as_deref(), idp_configuration_id.as_deref())?;
        // On an Active Directory server only the directory's users can be added, under its
        // account names, with its full names and emails.
        let (name, directory_full_name, email) = match self.directory_account(name) {
            Some(found) => {
                let account = found?;
                (account.account, account.full_name, account.email.or(email))
            }
            None => (name.to_string(), None, email),
        };
        let name = name.as_str();
        if self.name_taken(name, None) {
            return Err(api_error(
                409,
                self.user_exists_code,
                "Conflict",
                format!("User '{name}' already exists on the site"),
            ));
        }
        // With no seat free in the tier, Add User succeeds and the user is Unlicensed (Okta
        // Workflows' Tableau Cloud connector reference, Add User; tableau-rest.md 2.4).
        let granted = match self.seat_for(role, None) {
            Ok(()) => role,
            Err(_) => SiteRole::Unlicensed,
        };
        // A user with an identity-provider configuration still shows an authSetting (TSC's
        // recorded `user_get_all_fields.xml`: TableauIDWithMFA beside idpConfigurationId).
        let auth = auth_setting.unwrap_or_else(|| self.default_auth().to_string());
        let user = User {
            id: luid().into(),
            name: name.into(),
            site_role: granted.as_str().into(),
            auth_setting: Some(CompactString::from(auth)),
            idp_configuration_id: resolved_idp.map(CompactString::from),
            email: email.map(CompactString::from),
            full_name: directory_full_name.map(CompactString::from),
            domain: Some(self.user_domain().into()),
            ..User::default()
        };
        self.names
            .insert(user.name.as_str().to_lowercase(), user.id.to_string());
        self.users.insert(
            user.id.to_string(),
            EmuUser {
                user: user.clone(),
                owns_content: false,
                sign_in,
                other_sites: false,
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

    /// Update User, as the user `caller` (the session's). Rules, from the REST reference's
    /// Update User error table unless said otherwise: a user cannot change their own site role
    /// (403009 "Licensing update on self forbidden"); a role whose tier has no free seat is
    /// 409014 "Licensing conflict", and nothing changes. On Tableau Cloud neither `fullName`
    /// nor `email` can be changed: "Tableau Cloud only allows for updating siteRole and
    /// authSetting" (Tableau's Postman collection, Update User), "you cannot update ... full
    /// name" (tableauserverclient's `users_endpoint.update` docstring). The code of that
    /// refusal is assumed: the 403009 "User ... is unauthorized to update user ..." a site
    /// administrator met on Tableau Online with Update User (community.tableau.com thread
    /// 278217, a role change whose body was not shown; the reference's example body then
    /// carried fullName, email and password).
    pub fn update_user(
        &mut self,
        id: &str,
        caller: &str,
        edit: UserEdit,
    ) -> Result<User, ApiError> {
        let current = self.user(id)?.user.clone();
        if let Some(r) = edit.site_role {
            Self::check_role(r)?;
            if id == caller {
                return Err(api_error(
                    403,
                    "403009",
                    "Licensing update on self forbidden",
                    "A user cannot update their own licensing role.",
                ));
            }
            if let Err((tier, cap)) = self.seat_for(r, current.role()) {
                return Err(api_error(
                    409,
                    "409014",
                    "Licensing conflict",
                    format!(
                        "The request is attempting to update the user to a licensing role that has insufficient capacity ({} seats: {cap} in use).",
                        tier.as_str()
                    ),
                ));
            }
        }
        if self.flavor == Flavor::Cloud && (edit.full_name.is_some() || edit.email.is_some()) {
            return Err(api_error(
                403,
                "403009",
                "Forbidden",
                format!("User '{caller}' is unauthorized to update user '{id}'."),
            ));
        }
        // "A site administrator can edit an existing local user account only if the
        // administrator has access to all of the sites the user is a member of ... an
        // administrator of only site B cannot edit User1's full name or reset the password"
        // (Tableau Server help, `sites_addusers.htm`); the same reference text, quoted in
        // community thread 278217, names email and password. The code is assumed from that
        // thread's 403009 "User ... is unauthorized to update user ...".
        let names = edit.full_name.is_some() || edit.email.is_some() || edit.password;
        if names
            && self.users.get(id).is_some_and(|u| u.other_sites)
            && self.role_of_id(caller) != Some(SiteRole::ServerAdministrator)
        {
            return Err(api_error(
                403,
                "403009",
                "Forbidden",
                format!("User '{caller}' is unauthorized to update user '{id}'."),
            ));
        }
        let Some(entry) = self.users.get_mut(id) else {
            return Err(api_error(404, "404002", "User not found", id.to_string()));
        };
        let u = &mut entry.user;
        if let Some(f) = edit.full_name {
            u.full_name = Some(f.into()).filter(|f: &CompactString| !f.is_empty());
        }
        if let Some(e) = edit.email {
            u.email = Some(e.into()).filter(|e: &CompactString| !e.is_empty());
        }
        if let Some(r) = edit.site_role {
            u.site_role = r.as_str().into();
        }
        if let Some(a) = edit.auth_setting {
            u.auth_setting = Some(a.into());
            u.idp_configuration_id = None;
        }
        if let Some(i) = edit.idp_configuration_id {
            u.idp_configuration_id = Some(i.into());
        }
        Ok(u.clone())
    }

    /// Remove User from Site, as a session whose user has `caller_role`. `mapAssetsTo` is for
    /// server administrators only (REST reference, Remove User from Site; tableauserverclient
    /// issue #1020); Tableau Cloud has none. The code of that refusal is not documented: 403
    /// with 403000 is assumed. A user who owns content and has no new owner is left
    /// Unlicensed and the call answers 409003 (REST reference error table; Okta Workflows'
    /// Tableau Cloud connector, Remove User from Site).
    pub fn remove_user(
        &mut self,
        id: &str,
        map_assets_to: Option<&str>,
        caller_role: Option<SiteRole>,
    ) -> Result<(), ApiError> {
        self.user(id)?;
        let owns = self.owns_anything(id);
        if let Some(target) = map_assets_to {
            if caller_role != Some(SiteRole::ServerAdministrator) {
                return Err(api_error(
                    403,
                    "403000",
                    "Forbidden",
                    "Only a server administrator can transfer content with mapAssetsTo",
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
            let flagged = self.users.get(id).is_some_and(|u| u.owns_content);
            if let Some(t) = self.users.get_mut(target) {
                t.owns_content |= flagged;
            }
            self.map_assets(id, target);
        } else if owns {
            if let Some(u) = self.users.get_mut(id) {
                u.user.site_role = SiteRole::Unlicensed.as_str().into();
            }
            return Err(api_error(409, "409003", "User asset conflict", "The specified user still owns content and cannot be deleted; their site role is now Unlicensed. Transfer the content or give mapAssetsTo."));
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

    /// A signed-in user's site role.
    pub fn role_of_id(&self, id: &str) -> Option<SiteRole> {
        self.users.get(id).and_then(|u| u.user.role())
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
