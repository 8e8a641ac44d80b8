//! Tableau Cloud or Tableau Server: where their REST APIs differ for users.

use serde::Deserialize;

use super::api_version::ApiVersion;

/// Which Tableau a tenant is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Deployment {
    /// Tableau Cloud: user names are the sign-in email; neither `fullName` nor `email` can be
    /// changed; no `mapAssetsTo`.
    Cloud,
    /// Tableau Server.
    Server,
}

impl Deployment {
    /// Whether Update User may carry `fullName` and `email`. Tableau Cloud takes neither:
    /// "Tableau Cloud only allows for updating siteRole and authSetting" (Tableau's Postman
    /// collection, Update User, `tableau/tableau-postman` 7961ec7f); "For Tableau Cloud, you can
    /// update the site role for a user, but you cannot update or change a user's password, user
    /// name (email address), or full name" (tableauserverclient, `users_endpoint.update`
    /// docstring). There the IdP's values stay in tableau-scim's store.
    pub fn updates_names(self) -> bool {
        self == Deployment::Server
    }

    /// Whether a user name must be an email address: on Tableau Cloud it is the sign-in email
    /// (Okta Workflows' Tableau Cloud connector, Add User to Site; the knowledge-base article
    /// "unable to provision user e-mail changes to Tableau Cloud through SCIM").
    pub fn names_are_emails(self) -> bool {
        self == Deployment::Cloud
    }

    /// Whether Add User may carry `email`: Tableau Cloud from REST API 3.26 (REST reference,
    /// Add User to Site). Elsewhere the email is set by Update User.
    pub fn adds_email(self, version: ApiVersion) -> bool {
        self == Deployment::Cloud && version >= ApiVersion::EMAIL_ON_ADD_USER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_takes_email_on_add_from_3_26_and_never_a_full_name_or_email_on_update() {
        assert!(!Deployment::Cloud.updates_names());
        assert!(Deployment::Server.updates_names());
        assert!(Deployment::Cloud.names_are_emails() && !Deployment::Server.names_are_emails());
        assert!(Deployment::Cloud.adds_email(ApiVersion(3, 26)));
        assert!(!Deployment::Cloud.adds_email(ApiVersion(3, 25)));
        assert!(!Deployment::Server.adds_email(ApiVersion(3, 28)));
    }
}
