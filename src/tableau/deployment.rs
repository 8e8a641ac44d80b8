//! Tableau Cloud or Tableau Server: where their REST APIs differ for users.

use serde::Deserialize;

use super::model::ApiVersion;

/// Which Tableau a tenant is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Deployment {
    /// Tableau Cloud: user names are the sign-in email; `fullName` cannot be changed; no
    /// `mapAssetsTo`.
    Cloud,
    /// Tableau Server.
    Server,
}

impl Deployment {
    /// Whether Update User may carry `fullName`. Tableau Cloud refuses it: "For Tableau Cloud,
    /// you can update the site role for a user, but you cannot update or change a user's
    /// password, user name (email address), or full name" (tableauserverclient,
    /// `server/endpoint/users_endpoint.py`, `update` docstring).
    pub fn updates_full_name(self) -> bool {
        self == Deployment::Server
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
    fn cloud_takes_email_on_add_from_3_26_and_never_a_full_name_on_update() {
        assert!(!Deployment::Cloud.updates_full_name());
        assert!(Deployment::Server.updates_full_name());
        assert!(Deployment::Cloud.adds_email(ApiVersion(3, 26)));
        assert!(!Deployment::Cloud.adds_email(ApiVersion(3, 25)));
        assert!(!Deployment::Server.adds_email(ApiVersion(3, 28)));
    }
}
