//! An identity move, decided without I/O: whether a change is one, the job it starts, the
//! user Tableau is asked to add, and what its answer means.

use serde_json::Value;

use crate::bridge::mapping::{email, kept_user_name};
use crate::bridge::policy::Policy;
use crate::bridge::users::names::same_account;
use crate::scim::ScimError;
use crate::store::{MoveRow, MoveStep, UserRow};
use crate::tableau::model::{NewUser, User, UserUpdate};
use crate::tableau::{Deployment, SiteRole};

/// The new name, when `desired` renames `current`: another userName, not the same one in
/// another letter case (Tableau compares names case-insensitively and keeps its spelling) nor
/// another form of the same directory account (`jsmith@corp.example.com` for `jsmith`).
pub fn rename_target<'a>(
    current: &User,
    row: Option<&UserRow>,
    desired: &'a Value,
) -> Option<&'a str> {
    let new_name = desired["userName"].as_str().unwrap_or_default();
    if new_name.is_empty()
        || same_account(new_name, &current.name)
        || kept_user_name(new_name, current, row) != current.name.as_str()
    {
        return None;
    }
    Some(new_name)
}

/// The refusals of a move that need nothing but what is known: the account tableau-scim signs
/// in with cannot be removed (Tableau answers it 403), and a user with no site role we know
/// cannot be given the same one.
pub fn check_move(current: &User, my_luid: &str, current_luid: &str) -> Result<(), ScimError> {
    if current_luid == my_luid {
        return Err(ScimError::Mutability(format!(
            "'{}' is the account tableau-scim signs in to Tableau with: a userName change would remove it. Rename it in Tableau, or sign in with another account",
            current.name
        )));
    }
    match current.role() {
        Some(r) if r.is_assignable() => Ok(()),
        _ => Err(ScimError::Mutability(format!(
            "'{}' has the site role '{}', which a new user cannot be given: change the role first",
            current.name, current.site_role
        ))),
    }
}

/// The job of moving `current` (Tableau's LUID `current_luid`, SCIM id `id`) to `to_name`:
/// the same site role and sign-in method (the user's own, else the tenant's default), the
/// email the IdP sent (else the old one), the old full name.
pub fn plan_move(
    id: &str,
    current: &User,
    current_luid: &str,
    to_name: &str,
    desired: &Value,
    policy: &Policy,
    at: &str,
) -> MoveRow {
    let auth_setting = current
        .auth_setting
        .as_deref()
        .map(str::to_string)
        .or_else(|| policy.auth_setting.clone());
    // One of the two, never both (Tableau refuses a body with both: tableau-rest.md 2.3).
    let idp_configuration_id = match current.idp_configuration_id.as_deref() {
        Some(c) => Some(c.to_string()),
        None if current.auth_setting.is_none() => policy.idp_configuration_id.clone(),
        None => None,
    };
    let auth_setting = auth_setting.filter(|_| idp_configuration_id.is_none());
    MoveRow {
        id: id.into(),
        from_id: current_luid.into(),
        from_name: current.name.to_string(),
        to_name: to_name.into(),
        to_id: None,
        site_role: current.site_role.to_string(),
        auth_setting,
        idp_configuration_id,
        email: email(desired).or_else(|| current.email.as_deref().map(str::to_string)),
        full_name: current.full_name.as_deref().map(str::to_string),
        step: MoveStep::Add,
        moved: 0,
        items: 0,
        error: None,
        started: at.into(),
    }
}

/// The Add User of a move.
pub fn new_user(job: &MoveRow) -> NewUser {
    NewUser {
        name: job.to_name.clone(),
        site_role: job.site_role.parse().unwrap_or(SiteRole::Unlicensed),
        auth_setting: job.auth_setting.clone(),
        idp_configuration_id: job.idp_configuration_id.clone(),
        email: job.email.clone(),
    }
}

/// What Add User could not set on the new user: on Tableau Server the full name and the email
/// (Update User carries them there; on Cloud it carries neither, and Add User took the email).
pub fn completion(job: &MoveRow, added: &User, deployment: Deployment) -> UserUpdate {
    if !deployment.updates_names() {
        return UserUpdate::default();
    }
    let differs = |want: &Option<String>, has: &Option<compact_str::CompactString>| {
        want.as_deref()
            .filter(|w| has.as_deref() != Some(*w))
            .map(str::to_string)
    };
    UserUpdate {
        full_name: differs(&job.full_name, &added.full_name),
        email: differs(&job.email, &added.email),
        ..UserUpdate::default()
    }
}

/// Whether Add User gave the new user less than the old one had: no seat was free in the
/// tier. The move is then undone (the new user removed) and refused.
pub fn seat_refused(job: &MoveRow, added: &User) -> bool {
    let want = job.site_role.parse::<SiteRole>().ok();
    let got = added.role();
    match (want, got) {
        (Some(w), Some(g)) => g.privilege() < w.privilege(),
        (Some(_), None) => true,
        _ => false,
    }
}

/// The 409 of a move Tableau would not seat.
pub fn seat_refusal(job: &MoveRow) -> ScimError {
    ScimError::Conflict(format!(
        "userName cannot change from '{}' to '{}': the move needs a second {} seat while it runs, and that license tier is full. Free a seat, or lower the role first",
        job.from_name, job.to_name, job.site_role
    ))
}

/// The 409 of a move to a name Tableau already has.
pub fn name_taken(from: &str, to: &str) -> ScimError {
    ScimError::Uniqueness(format!(
        "userName cannot change from '{from}' to '{to}': a Tableau user named '{to}' already exists"
    ))
}

/// The step after `step`.
pub fn next_step(step: MoveStep) -> MoveStep {
    match step {
        MoveStep::Add => MoveStep::Groups,
        MoveStep::Groups => MoveStep::Content,
        MoveStep::Content => MoveStep::Remove,
        MoveStep::Remove | MoveStep::Switch => MoveStep::Switch,
    }
}

/// The groups the new user joins: every group of the old one but "All Users", which Tableau
/// keeps every user in by itself (tableau-rest.md 3.1).
pub fn groups_to_join(groups: &[crate::tableau::model::Group]) -> Vec<String> {
    groups
        .iter()
        .filter(|g| !g.is_all_users())
        .map(|g| g.id.clone())
        .collect()
}

#[cfg(test)]
#[path = "move_plan_tests.rs"]
mod tests;
