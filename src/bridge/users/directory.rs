//! Tableau Server on Active Directory or LDAP (docs/tableau-server-ad.md). Such a server adds
//! only the directory's users and stores them under the directory's account name
//! (`jsmith`), while an IdP names them by UPN (`jsmith@corp.example.com`) or `CORP\jsmith`; and
//! groups imported from the directory are the directory's: Tableau or its next synchronisation
//! would undo a change made through REST. Here: finding a user by the IdP's name in either form,
//! and refusing what the directory owns.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::bridge::error::BridgeResult;
use crate::bridge::tenant::Tenant;
use crate::scim::ScimError;
use crate::tableau::directory_names::{account_of, in_directory, names_directory_user};
use crate::tableau::model::{Group, User};
use crate::tableau::{Deployment, NameMatch};

/// Why a SCIM change of `what` ("members", "name") of a group imported from a directory is
/// refused, or `None` for a group of Tableau's own (`local`) identity store. Pure.
pub fn directory_group_refusal(group: &Group, what: &str) -> Option<ScimError> {
    let domain = group
        .domain
        .as_deref()
        .filter(|d| crate::tableau::directory_names::is_directory_domain(d))?;
    Some(ScimError::Mutability(format!(
        "'{}' is a group of the {domain} directory: its {what} are managed in the directory, and Tableau Server's next synchronisation would undo a change made here (Tableau Server help, users_add_group.htm, groups_create_ad.htm). Change it in the directory, or provision a local group",
        group.name
    )))
}

/// The refusal of an Add User that named no user of the directory (Tableau: 404002).
pub fn not_in_directory(user_name: &str) -> ScimError {
    ScimError::InvalidValue(format!(
        "'{user_name}' is not a user of the Active Directory this Tableau Server signs users in with (Tableau answered 404002): only the directory's users can be added; check the name the IdP sends (an account, DOMAIN\\account or a UPN)"
    ))
}

impl Tenant {
    /// Note what a user read from Tableau says of the identity store.
    pub(crate) fn learn_identity_store(&self, user: &User) {
        if in_directory(user) {
            self.on_directory.store(true, Ordering::Relaxed);
        }
    }

    /// Whether the IdP's `name` may name a directory user in another form, to be looked for
    /// beyond an exact match: on a Tableau Server seen to hold directory users, a UPN or a
    /// domain-qualified account.
    fn may_be_directory_name(&self, name: &str) -> bool {
        self.policy().deployment == Deployment::Server
            && self.on_directory.load(Ordering::Relaxed)
            && account_of(name).is_some()
    }

    /// The directory user the IdP's `name` names when no Tableau user has that exact name: the
    /// user whose row holds it (created through tableau-scim: the store keeps the IdP's form),
    /// else the account it names, when that is the user ([`names_directory_user`]). `None`
    /// off a directory site. Costs no call with a fresh name index; one lookup otherwise.
    pub(crate) async fn directory_user(&self, name: &str) -> BridgeResult<Option<Arc<User>>> {
        if !self.may_be_directory_name(name) {
            return Ok(None);
        }
        for id in self.store.user_ids_by_user_name(&self.id, name).await? {
            if let Some((u, _)) = self.load_user(&id).await? {
                return Ok(Some(u));
            }
        }
        self.directory_account(name).await
    }

    /// The Tableau user of the account the IdP's `name` holds, when `name` names it.
    pub(crate) async fn directory_account(&self, name: &str) -> BridgeResult<Option<Arc<User>>> {
        let Some((account, _)) = account_of(name).filter(|_| self.may_be_directory_name(name))
        else {
            return Ok(None);
        };
        let found = match self.caches.names.lookup(account, std::time::Instant::now()) {
            crate::bridge::cache::names::Answer::Present(u) => Some(u),
            crate::bridge::cache::names::Answer::Absent => None,
            crate::bridge::cache::names::Answer::Unknown => self
                .client
                .find_user_by_name(account, NameMatch::CaseInsensitive)
                .await?
                .map(Arc::new),
        };
        Ok(found.filter(|u| names_directory_user(name, u)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_owns_its_groups_and_tableau_local_ones_are_ours() {
        let ad = Group {
            id: "g".into(),
            name: "Finance".into(),
            domain: Some("corp.example.com".into()),
            ..Group::default()
        };
        let refusal = directory_group_refusal(&ad, "members");
        assert!(matches!(&refusal, Some(ScimError::Mutability(m))
            if m.contains("'Finance'") && m.contains("corp.example.com")));
        let local = Group {
            domain: Some("local".into()),
            ..ad.clone()
        };
        assert_eq!(directory_group_refusal(&local, "members"), None);
        assert!(
            matches!(not_in_directory("x@corp"), ScimError::InvalidValue(m) if m.contains("404002"))
        );
    }
}
