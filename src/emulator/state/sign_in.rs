//! How users sign in to the emulated site: the site's authentication configurations (Tableau
//! Cloud), which of them a new user gets, and what a sign-in does to a user's site role
//! (grant role on sign-in).

use super::{api_error, ApiError, Flavor, SiteState};
use crate::tableau::auth_config::{AuthConfiguration, TABLEAU_ID_WITH_MFA};
use crate::tableau::model::User;
use crate::tableau::site_role::SiteRole;

/// How a new user will sign in, as Add User settled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMethod {
    /// Tableau's own (Tableau with MFA on Cloud, the server's own on Server), or the one
    /// configuration of the kind asked for.
    Resolved,
    /// `authSetting` named a kind of which the site has several configurations (or none): the
    /// user shows as "Unspecified" and cannot sign in until an administrator picks one
    /// (tableauserverclient issue #1598: "the user auth method will list as Unspecified",
    /// "User will be unable to log in with SP-initiated SAML").
    Unspecified,
}

impl SiteState {
    /// Settle how a user added on this site signs in, as Add User does on Tableau Cloud:
    /// `idpConfigurationId` must be an enabled configuration of the site (the code of the
    /// refusal is **assumed**); `authSetting` of SAML or OpenID gets the one configuration of
    /// that kind, or is [`SignInMethod::Unspecified`] with several (TSC issue #1598) or none.
    /// Returns the method and the configuration id the user gets, if any.
    pub(super) fn settle_sign_in(
        &self,
        auth_setting: Option<&str>,
        idp_configuration_id: Option<&str>,
    ) -> Result<(SignInMethod, Option<String>), ApiError> {
        let enabled = || self.auth_configurations.iter().filter(|c| c.enabled);
        if let Some(id) = idp_configuration_id {
            return match enabled().find(|c| c.id.eq_ignore_ascii_case(id)) {
                Some(c) => Ok((SignInMethod::Resolved, Some(c.id.clone()))),
                None => Err(api_error(
                    400,
                    "400000",
                    "Bad Request",
                    format!("'{id}' is not an authentication configuration of this site"),
                )),
            };
        }
        let kind = match auth_setting {
            Some(k)
                if self.flavor == Flavor::Cloud && !k.eq_ignore_ascii_case(TABLEAU_ID_WITH_MFA) =>
            {
                k
            }
            _ => return Ok((SignInMethod::Resolved, None)),
        };
        let matching: Vec<&AuthConfiguration> = enabled().filter(|c| c.is_kind(kind)).collect();
        Ok(match matching.as_slice() {
            [one] => (SignInMethod::Resolved, Some(one.id.clone())),
            _ => (SignInMethod::Unspecified, None),
        })
    }

    /// A user signs in (the control call `POST /_emulator/users/{name}/sign-in`): a user whose
    /// sign-in method is unspecified is refused with the error TSC issue #1598 reports ("Remote
    /// IdP entity descriptor is not configured"); anyone else gets `lastLogin`, and the site
    /// role of grant role on sign-in ([`SiteState::granted_role`]).
    pub fn sign_in_user(&mut self, name: &str, at: &str) -> Result<User, ApiError> {
        let id = self
            .names
            .get(&name.to_lowercase())
            .cloned()
            .ok_or_else(|| api_error(404, "404002", "User not found", name.to_string()))?;
        if self
            .users
            .get(&id)
            .is_some_and(|u| u.sign_in == SignInMethod::Unspecified)
        {
            return Err(api_error(
                401,
                "401001",
                "Signin Error",
                "Remote IdP entity descriptor is not configured",
            ));
        }
        let granted = self.granted_role(&id);
        let Some(entry) = self.users.get_mut(&id) else {
            return Err(api_error(404, "404002", "User not found", name.to_string()));
        };
        entry.user.last_login = Some(at.into());
        if let Some(role) = granted {
            entry.user.site_role = role.as_str().into();
        }
        Ok(entry.user.clone())
    }

    /// The site role a sign-in gives user `id`, if it changes theirs: the most privileged
    /// minimum site role of their groups, when it is more than they have and its tier has a
    /// seat. "Grant license on sign in (Grant role on sign in) lets unlicensed users in
    /// specific groups become licensed when they sign into a Tableau site" (Cloud help
    /// `grant_role.htm`); "A user's site role can be promoted but never demoted based on the
    /// minimum site role setting" (Server help `groups_create_adsync.htm`). A local group's
    /// `minimumSiteRole` is its grant on sign-in (**assumed**: the REST body of a local group
    /// carries `minimumSiteRole` alone, TSC `create_local_req`, the migration SDK's
    /// `CreateLocalGroupRequest`; `grantLicenseMode` exists only inside `<import>`,
    /// `ts-api_3_29.xsd`). So a member set Unlicensed is licensed again at their next sign-in.
    pub fn granted_role(&self, id: &str) -> Option<SiteRole> {
        let current = self
            .users
            .get(id)?
            .user
            .role()
            .unwrap_or(SiteRole::Unlicensed);
        let grant = SiteRole::most_privileged(
            self.groups
                .values()
                .filter(|g| g.members.contains(id))
                .filter_map(|g| g.group.minimum_site_role.as_deref())
                .filter_map(|r| r.parse::<SiteRole>().ok()),
        )?;
        (grant.privilege() > current.privilege() && self.seat_for(grant, Some(current)).is_ok())
            .then_some(grant)
    }
}
