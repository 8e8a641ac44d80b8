//! Writing a user to Tableau with Tableau's refusals said in SCIM terms: a role Tableau would not
//! give for want of a seat goes through the tenant's license policy, and a change of the
//! signed-in account's own role is a clear 400 instead of a 502.

use std::sync::atomic::Ordering;

use crate::bridge::audit::AuditEvent;
use crate::bridge::error::BridgeResult;
use crate::bridge::mapping::merge;
use crate::bridge::operation::Operation;
use crate::bridge::tenant::Tenant;
use crate::bridge::users::plan::{
    check_own_role, license_refusal, license_verdict, own_role_refusal, shortfall_verdict,
    LicenseLeft, LicenseVerdict,
};
use crate::scim::ScimError;
use crate::tableau::model::{User, UserUpdate};
use crate::tableau::{SiteRole, TableauError};

/// Whether Tableau said the user does not exist (404002, REST error tables).
pub(in crate::bridge) fn gone_from_tableau(e: &TableauError) -> bool {
    e.is_not_found() && e.code() == Some("404002")
}

/// Tableau's 403009 to an Update User that was not a change of one's own role: say what is
/// missing. On a multi-site Tableau Server, "a site administrator can edit an existing local
/// user account only if the administrator has access to all of the sites the user is a member
/// of" (Tableau Server help, `sites_addusers.htm`: full name, email, password).
pub(in crate::bridge) fn update_forbidden(
    user: &str,
    upd: &UserUpdate,
    e: &TableauError,
) -> ScimError {
    let why = if upd.full_name.is_some() || upd.email.is_some() {
        "a site administrator may change a user's full name or email only when administering every site the user is a member of (Tableau Server help, Add Users to a Site): give tableau-scim a server administrator's credentials, or leave the name and email to Tableau"
    } else {
        "the account tableau-scim signs in with may not update this user"
    };
    ScimError::Forbidden(format!("Tableau refused to update '{user}': {why} ({e})"))
}

impl Tenant {
    /// Update User, folding Tableau's answer into `user`. A role change of the account
    /// tableau-scim signs in with is refused before the call (Tableau answers 403009 to it); a
    /// role for which no seat is free (409014) is handled by [`Tenant::license_refused`].
    pub(in crate::bridge) async fn update_in_tableau(
        &self,
        user: &mut User,
        upd: &UserUpdate,
        op: Operation,
    ) -> BridgeResult<()> {
        // The account tableau-scim signs in with is read-only through SCIM: its own role Tableau
        // would refuse (403009), and an IdP changing its email or name would change the
        // account that holds the whole tenant's access.
        let me = self.client.session().await?;
        if let Err(e) = check_own_role(user, upd, &me.user_id) {
            self.counters
                .own_role_refusals
                .fetch_add(1, Ordering::Relaxed);
            return Err(e.into());
        }
        match self.client.update_user(&user.id, upd).await {
            Ok(after) => {
                merge(user, after);
                Ok(())
            }
            Err(e) if e.is_licensing_conflict() => self.license_refused(user, upd, op).await,
            Err(e) if gone_from_tableau(&e) => Err(self.vanished(user).into()),
            Err(e) if e.is_own_role_forbidden() => {
                self.counters
                    .own_role_refusals
                    .fetch_add(1, Ordering::Relaxed);
                Err(own_role_refusal(&user.name).into())
            }
            Err(e) if e.code() == Some("403009") => {
                Err(update_forbidden(&user.name, upd, &e).into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The user was deleted in Tableau behind our back (Tableau answered 404 to a write): forget
    /// it everywhere, the name index included, and say 404, so the IdP creates it again.
    pub(in crate::bridge) fn vanished(&self, user: &User) -> ScimError {
        self.caches.forget_user(user);
        tracing::warn!(tenant.id = %self.id, user.id = %user.id, "the user was deleted in Tableau; forgotten");
        ScimError::NotFound(format!(
            "User '{}' no longer exists in Tableau (it was deleted there); create it again",
            user.id
        ))
    }

    /// Update User was refused (409014): no seat of the requested role's tier is free, and the
    /// user still has the role they had. `downgrade`: accept that, apply the rest of the update;
    /// `reject`: 409 naming the tier.
    async fn license_refused(
        &self,
        user: &mut User,
        upd: &UserUpdate,
        op: Operation,
    ) -> BridgeResult<()> {
        let requested = upd.site_role.unwrap_or(SiteRole::Unlicensed);
        let had = user.role().unwrap_or(SiteRole::Unlicensed);
        self.note_license_shortfall(user, requested, had, op);
        if shortfall_verdict(&self.policy(), false) != LicenseVerdict::Downgraded {
            self.audit(
                AuditEvent::new(op, &user.id)
                    .roles(Some(had.as_str()), Some(had.as_str()))
                    .outcome("license exhausted"),
            );
            return Err(license_refusal(requested, LicenseLeft::Unchanged).into());
        }
        let rest = UserUpdate {
            site_role: None,
            ..upd.clone()
        };
        if !rest.is_empty() {
            merge(user, self.client.update_user(&user.id, &rest).await?);
        }
        Ok(())
    }

    /// Add User gave `user` a lower role than `requested` when no seat was free: apply the
    /// policy. Under `reject` the user this request created is left Unlicensed or removed
    /// again (`rejected_user`).
    pub(in crate::bridge) async fn check_added_license(
        &self,
        user: &User,
        requested: SiteRole,
    ) -> BridgeResult<()> {
        let granted = user.role().unwrap_or(SiteRole::Unlicensed);
        let verdict = license_verdict(requested, granted, &self.policy(), true);
        if verdict == LicenseVerdict::Granted {
            return Ok(());
        }
        self.note_license_shortfall(user, requested, granted, Operation::CreateUser);
        let LicenseVerdict::Refused { remove_user } = verdict else {
            return Ok(());
        };
        if remove_user {
            self.client.remove_user(&user.id, None).await?;
            self.caches.forget_user(user);
        }
        self.audit(
            AuditEvent::new(Operation::CreateUser, &user.id)
                .roles(None, Some(granted.as_str()))
                .outcome("license exhausted"),
        );
        let left = if remove_user {
            LicenseLeft::Removed
        } else {
            LicenseLeft::Unlicensed
        };
        Err(license_refusal(requested, left).into())
    }

    /// Count and log a role Tableau would not give.
    fn note_license_shortfall(
        &self,
        user: &User,
        requested: SiteRole,
        got: SiteRole,
        op: Operation,
    ) {
        self.counters
            .license_downgrades
            .fetch_add(1, Ordering::Relaxed);
        let tier = requested.tier().map_or("requested", |t| t.as_str());
        tracing::warn!(tenant.id = %self.id, scim.op = %op, user.id = %user.id, requested = %requested, granted = %got,
            "no {tier} license free in Tableau; the user has a lower site role than asked");
    }
}
