//! What a user change means in Tableau and in the store, decided without I/O: the role rules
//! (deactivate, reactivate, restore the role, group-granted roles), the license policy, renames,
//! creation and deprovisioning. [`crate::bridge::users`] only carries the plans out.

use serde_json::Value;

use crate::bridge::audit::{role_name, AuditEvent};
use crate::bridge::mapping::roles::RoleMapping;
use crate::bridge::mapping::{
    active_now, attribute_update, email, is_active, kept_user_name, role_values, user_row,
};
use crate::bridge::operation::Operation;
use crate::bridge::policy::{Deprovision, OnLicenseExhausted, Policy, RejectedUser};
use crate::scim::ScimError;
use crate::store::UserRow;
use crate::tableau::model::{NewUser, User, UserUpdate};
use crate::tableau::{Deployment, SiteRole};

/// The site role the `roles` of `resource` and the user's role-granting groups map to, or
/// `None` when neither says anything (then the role is left as it is). An unknown role value is
/// the IdP's to fix: 400 `invalidValue` before any Tableau call.
pub fn mapped_role(
    roles: &RoleMapping,
    resource: &Value,
    granting_groups: &[String],
) -> Result<Option<SiteRole>, ScimError> {
    let values = role_values(resource);
    if values.iter().all(|v| v.trim().is_empty()) && granting_groups.is_empty() {
        return Ok(None);
    }
    roles
        .resolve(
            values.iter().map(String::as_str),
            granting_groups.iter().map(String::as_str),
        )
        .map(Some)
        .map_err(|e| ScimError::InvalidValue(e.to_string()))
}

/// `POST /Users`: Add User, with the role it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePlan {
    /// The Add User request.
    pub user: NewUser,
    /// The role asked for (Tableau may give less when no seat is free).
    pub requested: SiteRole,
}

/// Plan a create: an inactive user is created Unlicensed; an active one gets the mapped role,
/// else the default.
pub fn plan_create(
    input: &Value,
    mapped: Option<SiteRole>,
    default_role: SiteRole,
    policy: &Policy,
) -> CreatePlan {
    let requested = if is_active(input) {
        mapped.unwrap_or(default_role)
    } else {
        SiteRole::Unlicensed
    };
    CreatePlan {
        user: NewUser {
            name: input["userName"].as_str().unwrap_or_default().to_string(),
            site_role: requested,
            auth_setting: policy.auth_setting.clone(),
            idp_configuration_id: policy.idp_configuration_id.clone(),
            email: email(input),
        },
        requested,
    }
}

/// Add User answered a refusal, and yet a user of the name asked for is in Tableau: it is the
/// one the request created when, before the call, the name index said the site had no such
/// user; when the index could not say, only if nobody ever signed in as it (a user someone
/// uses is not one created a moment ago, and binding the IdP to it would hand it another
/// person's account).
pub fn adopts_after_refusal(found: &User, absent_before: bool) -> bool {
    absent_before || found.last_login.is_none()
}

/// A create met a user deleted through SCIM but kept in Tableau: bring it back with the role
/// and attributes asked for, changing only what differs.
pub fn plan_revive(
    existing: &User,
    input: &Value,
    requested: SiteRole,
    deployment: Deployment,
) -> UserUpdate {
    UserUpdate {
        site_role: Some(requested).filter(|r| existing.role() != Some(*r)),
        ..attribute_update(input, existing, deployment)
    }
}

/// The refusals of a user change that need nothing from Tableau, checked before any Tableau
/// call: a rename, and role values the mapping does not know.
pub fn check_update(
    current: &User,
    row: Option<&UserRow>,
    desired: &Value,
    roles: &RoleMapping,
) -> Result<(), ScimError> {
    check_rename(current, row, desired)?;
    mapped_role(roles, desired, &[]).map(drop)
}

/// A userName change is refused with 400 `mutability`: Tableau cannot rename a user through
/// REST, on Cloud (the name is the sign-in email) or on Server (Salesforce knowledge article
/// 001473865: delete the user and create them again). A change of letter case only is not a
/// rename: Tableau compares user names case-insensitively, and keeps its own spelling; nor is
/// another form of the same directory account (`jsmith@corp.example.com` for `jsmith`).
fn check_rename(current: &User, row: Option<&UserRow>, desired: &Value) -> Result<(), ScimError> {
    let Some(new_name) = crate::bridge::users::move_plan::rename_target(current, row, desired)
    else {
        return Ok(());
    };
    Err(ScimError::Mutability(format!(
        "userName cannot change from '{}' to '{new_name}': Tableau cannot rename a user (on Tableau Cloud the user name is the sign-in email; on Tableau Server the REST API has no rename), and this tenant has rename = \"refuse\". Deprovision the old user and provision a new one, or set rename = \"move\"",
        current.name
    )))
}

/// Whether the IdP may lower the site role of `current` (demote, deactivate) or delete them:
/// any user but a site or server administrator it did not provision through SCIM (no row, or
/// a row from linking a user Tableau had), unless the tenant allows it. A SCIM token is held by
/// an IdP cloud: one compromised or misconfigured tenant must not be able to lock the site's
/// own administrators out.
pub fn check_admin_protection(
    current: &User,
    row: Option<&UserRow>,
    allowed: bool,
) -> Result<(), ScimError> {
    let admin = matches!(
        current.role(),
        Some(
            SiteRole::SiteAdministratorCreator
                | SiteRole::SiteAdministratorExplorer
                | SiteRole::ServerAdministrator
        )
    );
    if allowed || !admin || row.is_some_and(|r| r.provisioned) {
        return Ok(());
    }
    Err(ScimError::Forbidden(format!(
        "'{}' is a {} tableau-scim did not provision: it does not demote, deactivate or delete administrators it did not create. Change them in Tableau, or set the tenant's manage_unprovisioned_admins = true",
        current.name, current.site_role
    )))
}

/// Whether `update` lowers a user's site role (a demotion, a deactivation).
pub fn lowers_role(current: &User, update: &UserUpdate) -> bool {
    match (update.site_role, current.role()) {
        (Some(to), Some(from)) => to.privilege() < from.privilege(),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// Tableau does not let a user change their own site role (REST error 403009, "Licensing
/// update on self forbidden"): refused before the call when the user is the account
/// tableau-scim signs in with, naming it, so an IdP demoting or deactivating that account
/// hears why instead of a 502.
pub fn check_own_role(
    current: &User,
    update: &UserUpdate,
    signed_in_as: &str,
) -> Result<(), ScimError> {
    if update.is_empty() || current.id != signed_in_as {
        return Ok(());
    }
    if update.site_role.is_some() {
        return Err(own_role_refusal(&current.name));
    }
    Err(ScimError::Mutability(format!(
        "'{}' is the account tableau-scim signs in to Tableau with, which is read-only through SCIM: its email and full name are changed in Tableau, by an administrator",
        current.name
    )))
}

/// The 400 of a site-role change of the account tableau-scim signs in with.
pub fn own_role_refusal(name: &str) -> ScimError {
    ScimError::Mutability(format!(
        "'{name}' is the account tableau-scim signs in to Tableau with, and Tableau does not let a user change their own site role. Change this user's role in Tableau as another administrator, or give tableau-scim another administrator's credentials"
    ))
}

/// A DELETE of the account tableau-scim signs in with is refused before any call: removing
/// it ends every session, and unlicensing it is a change of its own site role, which Tableau
/// refuses (403009).
pub fn check_own_removal(current: &User, signed_in_as: &str) -> Result<(), ScimError> {
    if current.id != signed_in_as {
        return Ok(());
    }
    Err(ScimError::Mutability(format!(
        "'{}' is the account tableau-scim signs in to Tableau with: it cannot deprovision itself (Tableau does not let a user change their own site role, and removing it would end provisioning). Deprovision it in Tableau as another administrator, or give tableau-scim another administrator's credentials first",
        current.name
    )))
}

/// Everything a PUT or PATCH of a user is about.
#[derive(Debug, Clone)]
pub struct UserChange<'a> {
    /// The user in Tableau now.
    pub current: &'a User,
    /// Its store row, if we wrote it before.
    pub row: Option<&'a UserRow>,
    /// The resource the IdP wants.
    pub desired: &'a Value,
    /// What [`mapped_role`] says for `desired` and the user's role-granting groups.
    pub mapped: Option<SiteRole>,
    /// The role of users who bring none.
    pub default_role: SiteRole,
    /// Tableau Cloud or Tableau Server (whether `fullName` can be sent).
    pub deployment: Deployment,
    /// The operation, for the audit trail.
    pub operation: Operation,
    /// Now, for `meta.lastModified`.
    pub at: &'a str,
}

/// What to do for a [`UserChange`].
#[derive(Debug, Clone, PartialEq)]
pub struct UserPlan {
    /// Update User with only what changes; empty: no Tableau call.
    pub update: UserUpdate,
    /// The store row to write, when anything the store or Tableau holds changes.
    pub row: Option<UserRow>,
    /// The audit event of the change (its `role_after` is what was asked; the caller puts in
    /// what Tableau gave); `None` when nothing changes.
    pub audit: Option<AuditEvent>,
}

/// Plan a user change. The role rules:
/// - `active: false` makes the user Unlicensed and remembers the role they had (unless they
///   were inactive or Unlicensed already);
/// - reactivation gives the role the IdP's roles map to, else the remembered role, else the
///   default;
/// - an active user keeps their role unless `roles` (or a role-granting group) says otherwise.
///
/// A userName change is refused (see `check_rename`). On Tableau Cloud the full name is kept
/// in the store only (Update User cannot carry it).
pub fn plan_update(c: &UserChange<'_>) -> Result<UserPlan, ScimError> {
    let cur = c.current;
    check_rename(cur, c.row, c.desired)?;
    let current_role = cur.role();
    let mut restore_role = c.row.and_then(|r| r.restore_role.clone());
    let was_active = active_now(cur, c.row);
    let target = if !is_active(c.desired) {
        if was_active && current_role != Some(SiteRole::Unlicensed) {
            restore_role = current_role.map(|r| r.as_str().to_string());
        }
        Some(SiteRole::Unlicensed)
    } else if !was_active {
        let stored = restore_role
            .as_deref()
            .and_then(|r| r.parse::<SiteRole>().ok())
            .filter(|r| r.is_assignable());
        Some(c.mapped.or(stored).unwrap_or(c.default_role))
    } else {
        c.mapped
    };
    let update = UserUpdate {
        site_role: target.filter(|t| Some(*t) != current_role),
        ..attribute_update(c.desired, cur, c.deployment)
    };
    let idp_name = c.desired["userName"].as_str().unwrap_or_default();
    let next = user_row(
        &cur.id,
        &kept_user_name(idp_name, cur, c.row),
        c.desired,
        c.row,
        restore_role,
        c.at,
    );
    let row_changed = c.row.is_none_or(|r| {
        r.attributes != next.attributes
            || r.external_id != next.external_id
            || r.restore_role != next.restore_role
            || r.user_name != next.user_name
    });
    let changed = row_changed || !update.is_empty();
    let role_after = update.site_role.or(current_role);
    Ok(UserPlan {
        audit: changed.then(|| {
            AuditEvent::new(c.operation, &cur.id)
                .roles(role_name(current_role), role_name(role_after))
        }),
        row: changed.then_some(next),
        update,
    })
}

/// Whether a change of a user deactivates or reactivates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Active before and after, or inactive before and after.
    Unchanged,
    /// Active as SCIM shows the user now, inactive as the IdP wants them.
    Deactivating,
    /// The other way round.
    Reactivating,
}

/// What `desired` does to the activity of the user as SCIM shows them now (`current` with its
/// `row`): the deactivations and reactivations whose groups that grant a role at sign-in are
/// left and rejoined ([`crate::bridge::users::sign_in_grants`]).
pub fn activity(current: &User, row: Option<&UserRow>, desired: &Value) -> Activity {
    match (active_now(current, row), is_active(desired)) {
        (true, false) => Activity::Deactivating,
        (false, true) => Activity::Reactivating,
        _ => Activity::Unchanged,
    }
}

/// After a change to a role-granting group: the role the user should now have, when it is not
/// the one they have. Inactive users are left alone (they stay Unlicensed).
pub fn plan_role_reevaluation(
    user: &User,
    row: Option<&UserRow>,
    granting_groups: &[String],
    roles: &RoleMapping,
) -> Result<Option<SiteRole>, ScimError> {
    if !active_now(user, row) {
        return Ok(None);
    }
    let asserted = row.map_or(&Value::Null, |r| &r.attributes);
    let wanted = mapped_role(roles, asserted, granting_groups)?.unwrap_or(roles.default_role());
    Ok(Some(wanted).filter(|w| user.role() != Some(*w)))
}

/// What the license policy makes of a role Tableau would not give for want of a seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LicenseVerdict {
    /// The role asked for (or a better one) was given.
    Granted,
    /// A lower role, accepted (`on_license_exhausted = "downgrade"`): counted and logged.
    Downgraded,
    /// A lower role, refused (`reject`): the request fails with 409; `remove_user` says whether
    /// the user this request created is removed again (`rejected_user = "remove"`).
    Refused {
        /// Remove the new user.
        remove_user: bool,
    },
}

/// Judge under the tenant's policy the role Tableau gave (`granted`) against the one asked for.
/// Tableau gives less when no seat of the tier is free: Add User succeeds with the user
/// Unlicensed (Okta Workflows' Tableau Cloud "Add User to Site" card), and Update User is
/// refused with 409014 "Licensing conflict" (REST reference error table), leaving the role the
/// user had. Only a user this very request created (`new_user`) may be removed again.
pub fn license_verdict(
    requested: SiteRole,
    granted: SiteRole,
    policy: &Policy,
    new_user: bool,
) -> LicenseVerdict {
    if granted.privilege() >= requested.privilege() {
        return LicenseVerdict::Granted;
    }
    shortfall_verdict(policy, new_user)
}

/// No seat is free for the role asked: what the policy makes of it (for Update User's 409014
/// the user keeps whatever role they had, which may even be a more privileged one).
pub fn shortfall_verdict(policy: &Policy, new_user: bool) -> LicenseVerdict {
    match policy.on_license_exhausted {
        OnLicenseExhausted::Downgrade => LicenseVerdict::Downgraded,
        OnLicenseExhausted::Reject => LicenseVerdict::Refused {
            remove_user: new_user && policy.rejected_user == RejectedUser::Remove,
        },
    }
}

/// What a refused license left in Tableau, for the 409's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LicenseLeft {
    /// The new user was removed again.
    Removed,
    /// The new user exists, Unlicensed.
    Unlicensed,
    /// Update User changed nothing: the user keeps the role they had.
    Unchanged,
}

/// The 409 of a refused license, naming the tier and what was left in Tableau.
pub fn license_refusal(requested: SiteRole, left: LicenseLeft) -> ScimError {
    let tier = requested.tier().map_or("requested", |t| t.as_str());
    let left = match left {
        LicenseLeft::Removed => "the user was removed again",
        LicenseLeft::Unlicensed => "the user is Unlicensed in Tableau until a seat is free",
        LicenseLeft::Unchanged => "the user keeps the site role they had",
    };
    ScimError::Conflict(format!(
        "no {tier} license is free on the Tableau site, so {requested} could not be given; {left}"
    ))
}

/// How `DELETE /Users` deprovisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deprovisioning {
    /// Remove User from Site, handing content to this owner (if set). Tableau keeps a user who
    /// owns content when no owner is given; the user is then kept Unlicensed instead.
    Remove {
        /// `mapAssetsTo`.
        map_assets_to: Option<String>,
    },
    /// Keep the user, Unlicensed, as a tombstone.
    Unlicense,
    /// Hand the content to the manager or the custodian, then remove the user
    /// ([`crate::bridge::users::custody_plan`]).
    Transfer {
        /// The custodian's Tableau user name.
        custodian: Option<String>,
        /// Whether the manager comes first.
        to_manager: bool,
    },
}

/// The tenant's deprovisioning.
pub fn deprovisioning(policy: &Policy) -> Deprovisioning {
    match policy.deprovision {
        Deprovision::Remove => Deprovisioning::Remove {
            map_assets_to: policy.map_assets_to.clone(),
        },
        Deprovision::Unlicense => Deprovisioning::Unlicense,
        Deprovision::Transfer => Deprovisioning::Transfer {
            custodian: policy.custodian.clone(),
            to_manager: policy.custody_to_manager,
        },
    }
}

/// The Update User that makes a user Unlicensed, if they are not already.
pub fn unlicense(user: &User) -> UserUpdate {
    UserUpdate {
        site_role: Some(SiteRole::Unlicensed).filter(|r| user.role() != Some(*r)),
        ..UserUpdate::default()
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
