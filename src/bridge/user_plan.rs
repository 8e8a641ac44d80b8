//! What a user change means in Tableau and in the store, decided without I/O: the role rules
//! (deactivate, reactivate, restore the role, group-granted roles), the license policy, renames,
//! creation and deprovisioning. [`super::users`] only carries the plans out.

use serde_json::Value;

use super::audit::{role_name, AuditEvent};
use super::mapping::{active_now, attribute_update, email, is_active, role_values, user_row};
use super::operation::Operation;
use super::roles::RoleMapping;
use super::store::UserRow;
use super::tenant::{Deprovision, OnLicenseExhausted, Policy, RejectedUser};
use crate::scim::ScimError;
use crate::tableau::model::{NewUser, User, UserUpdate};
use crate::tableau::SiteRole;

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

/// A create met a user deleted through SCIM but kept in Tableau: bring it back with the role
/// and attributes asked for, changing only what differs.
pub fn plan_revive(existing: &User, input: &Value, requested: SiteRole) -> UserUpdate {
    UserUpdate {
        site_role: Some(requested).filter(|r| existing.role() != Some(*r)),
        ..attribute_update(input, existing)
    }
}

/// The refusals of a user change that need nothing from Tableau, checked before any Tableau
/// call: a rename where Tableau cannot rename, and role values the mapping does not know.
pub fn check_update(
    current: &User,
    desired: &Value,
    roles: &RoleMapping,
    can_rename: bool,
) -> Result<(), ScimError> {
    check_rename(current, desired, can_rename)?;
    mapped_role(roles, desired, &[]).map(drop)
}

/// A userName change is a rename where Tableau allows it, 400 `mutability` elsewhere.
fn check_rename(current: &User, desired: &Value, can_rename: bool) -> Result<(), ScimError> {
    let new_name = desired["userName"].as_str().unwrap_or_default();
    if new_name == current.name || can_rename {
        return Ok(());
    }
    Err(ScimError::Mutability(format!(
        "userName cannot change from '{}' to '{new_name}': Tableau Cloud user names are the sign-in email and cannot be renamed; deprovision the old user and provision a new one",
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
    /// Whether Tableau can rename users.
    pub can_rename: bool,
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
    /// The role the user had, to give back if the license policy refuses the new one.
    pub previous_role: Option<SiteRole>,
}

/// Plan a user change. The role rules:
/// - `active: false` makes the user Unlicensed and remembers the role they had (unless they
///   were inactive or Unlicensed already);
/// - reactivation gives the role the IdP's roles map to, else the remembered role, else the
///   default;
/// - an active user keeps their role unless `roles` (or a role-granting group) says otherwise.
///
/// A userName change is a rename where Tableau allows it, 400 `mutability` elsewhere.
pub fn plan_update(c: &UserChange<'_>) -> Result<UserPlan, ScimError> {
    let cur = c.current;
    check_rename(cur, c.desired, c.can_rename)?;
    let new_name = c.desired["userName"].as_str().unwrap_or_default();
    let rename = new_name != cur.name;
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
        name: rename.then(|| new_name.to_string()),
        site_role: target.filter(|t| Some(*t) != current_role),
        ..attribute_update(c.desired, cur)
    };
    let name_after = if rename { new_name } else { cur.name.as_str() };
    let next = user_row(&cur.id, name_after, c.desired, c.row, restore_role, c.at);
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
        previous_role: current_role.filter(|r| r.is_assignable()),
        update,
    })
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

/// What the license policy makes of the role Tableau gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LicenseVerdict {
    /// The role asked for (or a better one) was given.
    Granted,
    /// A lower role, accepted (`on_license_exhausted = "downgrade"`): counted and logged.
    Downgraded,
    /// A lower role, refused (`reject`): the request fails with 409; `remove_user` says whether
    /// the user just created is removed again (`rejected_user = "remove"`).
    Refused {
        /// Remove the new user.
        remove_user: bool,
    },
}

/// Tableau gives a lower role than asked when no seat of the tier is free: judge that under the
/// tenant's policy.
pub fn license_verdict(
    requested: SiteRole,
    granted: SiteRole,
    policy: &Policy,
    operation: Operation,
) -> LicenseVerdict {
    if granted.privilege() >= requested.privilege() {
        return LicenseVerdict::Granted;
    }
    if policy.on_license_exhausted == OnLicenseExhausted::Downgrade {
        return LicenseVerdict::Downgraded;
    }
    LicenseVerdict::Refused {
        remove_user: operation == Operation::CreateUser
            && policy.rejected_user == RejectedUser::Remove,
    }
}

/// The 409 of a refused license, naming the tier and what was left in Tableau.
pub fn license_refusal(requested: SiteRole, removed: bool) -> ScimError {
    let tier = requested.tier().map_or("requested", |t| t.as_str());
    let left = if removed {
        "the user was removed again"
    } else {
        "the user is Unlicensed in Tableau until a seat is free"
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
}

/// The tenant's deprovisioning.
pub fn deprovisioning(policy: &Policy) -> Deprovisioning {
    match policy.deprovision {
        Deprovision::Remove => Deprovisioning::Remove {
            map_assets_to: policy.map_assets_to.clone(),
        },
        Deprovision::Unlicense => Deprovisioning::Unlicense,
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
#[path = "user_plan_tests.rs"]
mod tests;
