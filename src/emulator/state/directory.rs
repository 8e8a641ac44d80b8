//! A Tableau Server whose identity store is Active Directory (or LDAP): users can only be added
//! when the directory has them, names are stored as the directory's account names, and groups
//! imported from the directory are the directory's to change. The directory is read from a
//! JSON file (`tableau-scim emulator --active-directory FILE`):
//!
//! ```json
//! {"domain": "corp.example.com", "nickname": "CORP",
//!  "users": [{"account": "jsmith", "upn": "john.smith@corp.example.com",
//!             "fullName": "John Smith", "email": "john.smith@example.com"}],
//!  "groups": [{"name": "Finance", "members": ["jsmith"]}]}
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{api_error, luid, ApiError, EmuGroup, SiteState};
use crate::tableau::model::Group;
use crate::tableau::site_role::SiteRole;

/// The directory an Active Directory Tableau Server reads users and groups from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Directory {
    /// The domain's full name (`corp.example.com`), what users' and groups' `<domain name>`
    /// shows.
    pub domain: String,
    /// The domain's nickname (NetBIOS name, `CORP`), for `CORP\jsmith`.
    #[serde(default)]
    pub nickname: Option<String>,
    /// Its users.
    #[serde(default)]
    pub users: Vec<DirectoryUser>,
    /// Its groups.
    #[serde(default)]
    pub groups: Vec<DirectoryGroup>,
}

/// A user of the directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DirectoryUser {
    /// sAMAccountName.
    pub account: String,
    /// userPrincipalName, if it has one.
    #[serde(default)]
    pub upn: Option<String>,
    /// Display name.
    #[serde(default)]
    pub full_name: Option<String>,
    /// Mail.
    #[serde(default)]
    pub email: Option<String>,
}

/// A group of the directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DirectoryGroup {
    /// Its name.
    pub name: String,
    /// The accounts of its members.
    #[serde(default)]
    pub members: Vec<String>,
}

impl Directory {
    /// The directory user a name given to Add User names: its account (sAMAccountName), the
    /// account qualified by the domain (`CORP\jsmith`, `corp.example.com\jsmith`), or its UPN,
    /// any letter case ("User names are not case sensitive", Server help `sites_addusers.htm`).
    pub fn resolve(&self, name: &str) -> Option<&DirectoryUser> {
        let account = match name.split_once('\\') {
            Some((domain, account)) if self.is_domain(domain) => account,
            Some(_) => return None,
            None => name,
        };
        self.users.iter().find(|u| {
            u.account.eq_ignore_ascii_case(account)
                || u.upn
                    .as_deref()
                    .is_some_and(|upn| upn.eq_ignore_ascii_case(name))
        })
    }

    fn is_domain(&self, d: &str) -> bool {
        d.eq_ignore_ascii_case(&self.domain)
            || self
                .nickname
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(d))
    }
}

/// The answer to Add User of a name the directory does not have: 404002, "The server is
/// configured to use Active Directory for authentication, and the username specified in the
/// request body doesn't match an existing user in Active Directory." (REST reference, Add User
/// to Site errors; tableauserverclient's `users_endpoint.add` docstring).
pub fn not_in_directory() -> ApiError {
    api_error(
        404,
        "404002",
        "User not found",
        "The server is configured to use Active Directory for authentication, and the username specified in the request body doesn't match an existing user in Active Directory.",
    )
}

impl SiteState {
    /// The directory account Add User stores for `name` on an Active Directory server, with
    /// the directory's full name and email: "The user name that Tableau Server will import into
    /// the identity store will be the sAMAccountName value" (knowledge-base article "Importing
    /// UPN Prefix as Username in Non-Standard Scenarios with Active Directory"; its exceptions,
    /// UPN prefixes over 20 characters and `@` in the prefix, are not modelled). `None` without
    /// a directory.
    pub(super) fn directory_account(&self, name: &str) -> Option<Result<DirectoryUser, ApiError>> {
        let dir = self.directory.as_ref()?;
        Some(dir.resolve(name).cloned().ok_or_else(not_in_directory))
    }

    /// The domain a new user or group of this site shows: the directory's, else `local`.
    pub(super) fn user_domain(&self) -> String {
        self.directory
            .as_ref()
            .map_or_else(|| "local".to_string(), |d| d.domain.clone())
    }

    /// Import the directory's groups with their members, as an administrator's import does:
    /// members new to the site are added Unlicensed ("If you don't set a minimum site role,
    /// new users are added as Unlicensed by default", Server help `groups_create_adsync.htm`).
    pub fn import_directory(&mut self) -> Result<(), ApiError> {
        let Some(dir) = self.directory.clone() else {
            return Ok(());
        };
        for g in &dir.groups {
            let mut members = BTreeSet::new();
            for account in &g.members {
                let id = match self.names.get(&account.to_lowercase()) {
                    Some(id) => id.clone(),
                    None => {
                        let auth = Some(self.default_auth().to_string());
                        self.add_user(account, SiteRole::Unlicensed, auth, None, None)?
                            .id
                            .to_string()
                    }
                };
                members.insert(id);
            }
            let group = Group {
                id: luid(),
                name: g.name.clone(),
                minimum_site_role: None,
                user_count: None,
                domain: Some(dir.domain.clone()),
            };
            self.groups
                .insert(group.id.clone(), EmuGroup { group, members });
        }
        Ok(())
    }

    /// Membership and names of a group imported from the directory are the directory's:
    /// "If you're managing users with an External identity store, such as Active Directory,
    /// add users to a group through the external identity store itself" (Server help
    /// `users_add_group.htm`); "You cannot change the name of groups imported from Active
    /// Directory" (Server help `groups_create_ad.htm`). The code of the refusal is **assumed**
    /// (the reference names none): 400 `400000`.
    pub(super) fn check_local_group(&self, id: &str, what: &str) -> Result<(), ApiError> {
        let g = self.group(id)?;
        match g.group.domain.as_deref() {
            Some("local") | None => Ok(()),
            Some(domain) => Err(api_error(
                400,
                "400000",
                "Bad Request",
                format!(
                    "'{}' is a group of the {domain} directory: its {what} are managed in the directory",
                    g.group.name
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> Directory {
        Directory {
            domain: "corp.example.com".into(),
            nickname: Some("CORP".into()),
            users: vec![DirectoryUser {
                account: "jsmith".into(),
                upn: Some("john.smith@corp.example.com".into()),
                full_name: Some("John Smith".into()),
                email: None,
            }],
            groups: vec![],
        }
    }

    #[test]
    fn a_directory_user_is_named_by_account_qualified_account_or_upn() {
        let d = dir();
        for name in [
            "jsmith",
            "JSMITH",
            "CORP\\jsmith",
            "corp.example.com\\jsmith",
            "John.Smith@corp.example.com",
        ] {
            assert_eq!(
                d.resolve(name).map(|u| u.account.as_str()),
                Some("jsmith"),
                "{name}"
            );
        }
        for name in ["OTHER\\jsmith", "jsmith@corp.example.com", "jdoe"] {
            assert!(d.resolve(name).is_none(), "{name}");
        }
    }
}
