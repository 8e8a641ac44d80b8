//! `/Users` writes on Tableau. Each carries out a plan of [`crate::bridge::users::plan`]: take the
//! userName's lock, call Tableau, update the caches, write the store, audit.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use crate::backend::timestamp;
use crate::bridge::audit::{role_name, AuditEvent};
use crate::bridge::cache::names::Answer;
use crate::bridge::error::{BridgeError, BridgeResult};
use crate::bridge::mapping::text_checks::check_user_text;
use crate::bridge::mapping::{attribute_update, tombstone, user_row, user_to_scim};
use crate::bridge::offload::desired;
use crate::bridge::operation::Operation;
use crate::bridge::policy::{Deprovision, Rename};
use crate::bridge::safety::plan::{delta, grants_admin};
use crate::bridge::safety::Destructive;
use crate::bridge::tenant::Tenant;
use crate::bridge::users::custody::Custody;
use crate::bridge::users::directory::not_in_directory;
use crate::bridge::users::move_plan::rename_target;
use crate::bridge::users::plan::{
    activity, adopts_after_refusal, check_admin_protection, check_own_removal, check_own_role,
    check_update, deprovisioning, lowers_role, mapped_role, plan_create, plan_revive, plan_update,
    unlicense, Activity, Deprovisioning, UserChange,
};
use crate::bridge::users::tableau::gone_from_tableau;
use crate::scim::change::Change;
use crate::scim::schema::ResourceKind;
use crate::scim::version::check_if_match;
use crate::scim::ScimError;
use crate::store::UserRow;
use crate::tableau::model::User;
use crate::tableau::{NameMatch, SiteRole, TableauError};

impl Tenant {
    /// `POST /Users`: Add User, then Update User for what Add User cannot set (the full name
    /// on Tableau Server; the email where Add User cannot carry it).
    pub async fn create_user(&self, input: Value) -> BridgeResult<Value> {
        // One mapping and one set of policies for the whole request, whatever a reload does meanwhile.
        let roles = self.roles();
        let policy = self.policy();
        // Role and name errors are the IdP's to fix: refused before any Tableau call.
        check_user_text(&input, None, policy.deployment)?;
        let mapped = mapped_role(&roles, &input, &[])?;
        let plan = plan_create(&input, mapped, roles.default_role(), &policy);
        let user_name = plan.user.name.clone();
        let _serial = self.locks.lock(&user_name).await?;
        if policy.approve_admin_grants && grants_admin(None, Some(plan.requested)) {
            self.approval_gate(Destructive {
                kind: "NewUser",
                resource: user_name.clone(),
                name: user_name.clone(),
                op: Operation::CreateUser,
                summary: format!("create '{user_name}' as {}", plan.requested.as_str()),
                change: input.clone(),
                roles: (None, Some(plan.requested.as_str().to_string())),
                weight: 1,
            })
            .await?;
        }
        let absent_before = self.caches.names.lookup(&user_name, Instant::now()) == Answer::Absent;
        let (mut user, adopted) = match self.client.add_user(&plan.user).await {
            Ok(u) => (u, false),
            Err(e) if e.is_user_exists() => {
                return self
                    .revive_or_conflict(&user_name, input, plan.requested)
                    .await
            }
            // An Active Directory server adds only the directory's users.
            Err(e) if e.code() == Some("404002") => {
                self.audit(
                    AuditEvent::new(Operation::CreateUser, &user_name).outcome(e.to_string()),
                );
                return Err(not_in_directory(&user_name).into());
            }
            Err(e) => match self.created_despite(&e, &user_name, absent_before).await? {
                Some(u) => (u, true),
                None => {
                    self.audit(
                        AuditEvent::new(Operation::CreateUser, &user_name).outcome(e.to_string()),
                    );
                    return Err(e.into());
                }
            },
        };
        let upd = if adopted {
            // Tableau's answer said nothing of the role it gave: set what was asked.
            plan_revive(&user, &input, plan.requested, policy.deployment)
        } else {
            self.check_added_license(&user, plan.requested).await?;
            attribute_update(&input, &user, policy.deployment)
        };
        if !upd.is_empty() {
            if let Err(error) = self
                .update_in_tableau(&mut user, &upd, Operation::CreateUser)
                .await
            {
                self.audit(
                    AuditEvent::new(Operation::CreateUser, &user.id)
                        .roles(None, Some(&user.site_role))
                        .outcome(error.to_string()),
                );
                return Err(match error {
                    BridgeError::Tableau(error) => BridgeError::Partial {
                        done: format!("user {} was created", user.id),
                        error,
                    },
                    other => other,
                });
            }
        }
        let row = self.remember_created(&user, &input).await?;
        self.audit(
            AuditEvent::new(Operation::CreateUser, &user.id).roles(None, Some(&user.site_role)),
        );
        Ok(user_to_scim(&user, Some(&row), None))
    }

    /// Add User answered a refusal (`e`), yet Tableau may have created the user: it answered
    /// 400003 to Add Users that created them (tableauserverclient issues #1137, #636). The name
    /// is looked up (one call) before answering; a user found is this request's when
    /// [`adopts_after_refusal`] says so, and the create goes on with it. Otherwise the IdP would
    /// be told the create failed, and its retry would meet "already exists" for a user the
    /// store never learnt.
    async fn created_despite(
        &self,
        e: &TableauError,
        user_name: &str,
        absent_before: bool,
    ) -> BridgeResult<Option<User>> {
        if !matches!(
            e,
            TableauError::Api {
                status: 400..=499,
                ..
            }
        ) {
            return Ok(None);
        }
        let Some(found) = self
            .client
            .find_user_by_name(user_name, NameMatch::Exact)
            .await?
        else {
            return Ok(None);
        };
        if !adopts_after_refusal(&found, absent_before) {
            return Ok(None);
        }
        tracing::warn!(tenant.id = %self.id, user.id = %found.id, error = %e,
            "Add User answered an error but created the user; taken as created");
        self.audit(
            AuditEvent::new(Operation::CreateUser, &found.id).outcome(format!(
                "Tableau answered {} yet created the user",
                e.code().unwrap_or("an error")
            )),
        );
        Ok(Some(found))
    }

    /// Tableau already has this name. A user deleted through SCIM but kept in Tableau comes
    /// back; anyone else is a conflict the IdP should have found with a `userName eq` filter.
    async fn revive_or_conflict(
        &self,
        user_name: &str,
        input: Value,
        requested: SiteRole,
    ) -> BridgeResult<Value> {
        let conflict = || -> BridgeError {
            ScimError::Uniqueness(format!("a Tableau user named '{user_name}' already exists; find it with filter=userName eq \"{user_name}\"")).into()
        };
        let found = match self
            .client
            .find_user_by_name(user_name, NameMatch::CaseInsensitive)
            .await?
        {
            Some(u) => Some(u),
            // On a directory site the user may exist under its account name.
            None => self
                .directory_account(user_name)
                .await?
                .map(|u| User::clone(&u)),
        };
        let Some(existing) = found else {
            return Err(conflict());
        };
        // The index may not have listed this user yet: now it knows (and the other replicas
        // with it), and the IdP's next lookup finds it.
        self.caches.learn_user(&existing);
        let row = self.row_of(&existing.id).await?;
        if !row.as_ref().is_some_and(|r| r.deleted) {
            self.audit(AuditEvent::new(Operation::CreateUser, user_name).outcome("uniqueness"));
            return Err(conflict());
        }
        let upd = plan_revive(&existing, &input, requested, self.policy().deployment);
        let mut user = existing.clone();
        if !upd.is_empty() {
            self.update_in_tableau(&mut user, &upd, Operation::CreateUser)
                .await?;
        }
        // Back from a tombstone: a reactivation, into the granting groups the IdP asserted.
        if requested.tier().is_some() {
            self.rejoin_granting_groups(&user.id, Operation::CreateUser)
                .await?;
        }
        let row = self.remember_created(&user, &input).await?;
        self.audit(
            AuditEvent::new(Operation::CreateUser, &user.id)
                .roles(role_name(existing.role()), Some(&user.site_role))
                .outcome("revived"),
        );
        Ok(user_to_scim(&user, Some(&row), None))
    }

    /// Store and cache a user just created (or brought back) from `input`.
    async fn remember_created(&self, user: &User, input: &Value) -> BridgeResult<Arc<UserRow>> {
        // A directory server stores its account name for what the IdP sent (Add User's answer
        // says which name, not which domain): this request created or took the user, so the
        // IdP's form of the name is theirs whatever it holds.
        let idp_name = input["userName"].as_str().unwrap_or_default();
        let kept = if idp_name.eq_ignore_ascii_case(&user.name) {
            user.name.as_str()
        } else {
            idp_name
        };
        let row = UserRow {
            provisioned: true,
            ..user_row(&user.id, kept, input, None, None, &timestamp())
        };
        let row = self.put_row(row).await?;
        self.learn_identity_store(user);
        self.caches.put_user(user);
        Ok(row)
    }

    /// `PUT` or `PATCH /Users/{id}`: under the userName's lock, check `If-Match`, build the
    /// desired resource from the current one, refuse what needs no Tableau call to refuse,
    /// plan, and carry the plan out (Update User, license policy, store row, audit).
    pub async fn update_user(
        &self,
        id: &str,
        change: Change<'_>,
        op: Operation,
        if_match: Option<&str>,
    ) -> BridgeResult<Value> {
        // One mapping and one set of policies for the whole request, whatever a reload does meanwhile.
        let roles = self.roles();
        let policy = self.policy();
        let (_serial, cur, row) = self.lock_user(id).await?;
        let current = user_to_scim(&cur, row.as_deref(), None);
        check_if_match(&current, if_match, ResourceKind::User)?;
        let new = desired(change, ResourceKind::User, &current).await?;
        // A new userName is an identity move, when the tenant allows it: the rest of the
        // change then applies to the moved user (its name is the new one).
        let (cur, row) = match rename_target(&cur, row.as_deref(), &new) {
            Some(to) if policy.rename == Rename::Move => {
                // What the move cannot carry out is refused before it starts.
                mapped_role(&roles, &new, &[])?;
                check_user_text(&new, Some(&current), policy.deployment)?;
                self.move_user(id, &cur, to, &new).await?
            }
            _ => (cur, row),
        };
        let current = user_to_scim(&cur, row.as_deref(), None);
        check_update(&cur, row.as_deref(), &new, &roles)?;
        check_user_text(&new, Some(&current), policy.deployment)?;
        let grants = self.granting_groups_of(id).await?;
        let at = timestamp();
        let plan = plan_update(&UserChange {
            current: &cur,
            row: row.as_deref(),
            desired: &new,
            mapped: mapped_role(&roles, &new, &grants)?,
            default_role: roles.default_role(),
            deployment: policy.deployment,
            operation: op,
            at: &at,
        })?;
        if lowers_role(&cur, &plan.update) {
            // The account tableau-scim signs in with hears why it is read-only first.
            let me = self.client.session().await?;
            if let Err(e) = check_own_role(&cur, &plan.update, &me.user_id) {
                self.counters
                    .own_role_refusals
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Err(e.into());
            }
            check_admin_protection(&cur, row.as_deref(), policy.manage_unprovisioned_admins)?;
        }
        let activity = activity(&cur, row.as_deref(), &new);
        if policy.approve_admin_grants && grants_admin(cur.role(), plan.update.site_role) {
            let to = plan.update.site_role.map(|r| r.as_str().to_string());
            self.approval_gate(Destructive {
                kind: "User",
                resource: id.into(),
                name: cur.name.to_string(),
                op,
                summary: format!(
                    "make '{}' a {} (now {})",
                    cur.name,
                    to.as_deref().unwrap_or("?"),
                    cur.site_role
                ),
                change: delta(&current, &new),
                roles: (Some(cur.site_role.to_string()), to),
                weight: 1,
            })
            .await?;
        }
        // An active user wanted undoes a deactivation held for them (the admin fixed the
        // assignment in the IdP), whether or not Tableau saw it.
        if new["active"] != Value::Bool(false)
            && self
                .counters
                .holds_now
                .load(std::sync::atomic::Ordering::Relaxed)
                > 0
        {
            self.cancel_held(id).await?;
        }
        match activity {
            Activity::Reactivating => {}
            Activity::Deactivating => {
                self.safety_gate(user_destructive(&cur, op, &current, &new, "deactivate"))
                    .await?
            }
            Activity::Unchanged if lowers_role(&cur, &plan.update) => {
                self.safety_gate(user_destructive(&cur, op, &current, &new, "demote"))
                    .await?
            }
            Activity::Unchanged => {}
        }
        // Before any change: a deactivation the policy refuses changes nothing.
        let leave = match activity {
            Activity::Deactivating => self.granting_groups_to_leave(id, &cur.name).await?,
            _ => Vec::new(),
        };
        let mut user = User::clone(&cur);
        if !plan.update.is_empty() {
            if let Err(e) = self.update_in_tableau(&mut user, &plan.update, op).await {
                self.audit(
                    AuditEvent::new(op, id)
                        .roles(role_name(cur.role()), None)
                        .outcome(e.to_string()),
                );
                return Err(e);
            }
            self.caches.forget_user(&cur);
            self.caches.put_user(&user);
        }
        // Before the row: if this fails, the IdP's retry is the same deactivation or
        // reactivation again, and finishes it.
        match activity {
            Activity::Deactivating => {
                self.leave_granting_groups(id, &leave, op).await?;
                if policy.deprovision == Deprovision::Transfer && policy.custody_on_deactivation {
                    self.hand_over_on_deactivation(&user, row.as_deref(), op)
                        .await?;
                }
            }
            Activity::Reactivating => self.rejoin_granting_groups(id, op).await?,
            Activity::Unchanged => {}
        }
        let row = match plan.row {
            Some(next) => Some(self.put_row(next).await?),
            None => row,
        };
        if let Some(event) = plan.audit {
            let after = role_name(user.role());
            self.audit(AuditEvent {
                role_after: after.map(str::to_string),
                ..event
            });
        }
        Ok(user_to_scim(&user, row.as_deref(), None))
    }

    /// `DELETE /Users/{id}`: remove the user, or keep them Unlicensed (policy, or Tableau keeps a
    /// content owner), hidden from SCIM as a tombstone.
    pub async fn delete_user(&self, id: &str, if_match: Option<&str>) -> BridgeResult<()> {
        // One set of policies for the whole request, whatever a reload does meanwhile.
        let policy = self.policy();
        let (_serial, cur, row) = match self.lock_user(id).await {
            Ok(found) => found,
            // The IdP's retry of a DELETE the breaker held and an administrator released.
            Err(e) if e.is_not_found() && self.released_delete(id).await? => return Ok(()),
            Err(e) => return Err(e),
        };
        check_if_match(
            &user_to_scim(&cur, row.as_deref(), None),
            if_match,
            ResourceKind::User,
        )?;
        let me = self.client.session().await?;
        if let Err(e) = check_own_removal(&cur, &me.user_id) {
            self.counters
                .own_role_refusals
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Err(e.into());
        }
        check_admin_protection(&cur, row.as_deref(), policy.manage_unprovisioned_admins)?;
        let before = cur.role();
        self.safety_gate(Destructive {
            kind: "User",
            resource: id.into(),
            name: cur.name.to_string(),
            op: Operation::DeleteUser,
            summary: format!("delete '{}' ({})", cur.name, cur.site_role),
            change: Value::Null,
            roles: (Some(cur.site_role.to_string()), None),
            weight: 1,
        })
        .await?;
        let mut cur = cur;
        if let Deprovisioning::Transfer {
            custodian,
            to_manager,
        } = deprovisioning(&policy)
        {
            let done = self
                .transfer_and_remove(&cur, row.as_deref(), custodian.as_deref(), to_manager)
                .await?;
            match done {
                Custody::Removed => return self.forget_removed(&cur, before).await,
                // The custody made the user Unlicensed before it handed anything over: the
                // tombstone below must not send that Update User a second time.
                Custody::Kept => {
                    cur = Arc::new(User {
                        site_role: SiteRole::Unlicensed.as_str().into(),
                        ..(*cur).clone()
                    })
                }
            }
        }
        if let Deprovisioning::Remove { map_assets_to } = deprovisioning(&policy) {
            match self.client.remove_user(id, map_assets_to.as_deref()).await {
                Ok(_) => return self.forget_removed(&cur, before).await,
                // Tableau keeps a user who owns content (tableau-rest.md section 2.6).
                Err(TableauError::Api { status: 409, .. }) => {
                    tracing::warn!(tenant.id = %self.id, user.id = %id,
                        "the user owns content and no map_assets_to owner is configured: left in Tableau as Unlicensed");
                }
                Err(e) => return Err(e.into()),
            }
        }
        // Kept Unlicensed (policy, or a content owner Tableau kept), the user leaves the groups
        // that would license them again at sign-in; a refusal under the policy comes before
        // tableau-scim changes anything more.
        let leave = self.granting_groups_to_leave(id, &cur.name).await?;
        let upd = unlicense(&cur);
        if !upd.is_empty() {
            match self.client.update_user(id, &upd).await {
                Ok(_) => {}
                Err(e) if gone_from_tableau(&e) => return Err(self.vanished(&cur).into()),
                Err(e) => return Err(e.into()),
            }
        }
        self.leave_granting_groups(id, &leave, Operation::DeleteUser)
            .await?;
        self.put_row(tombstone(&cur, row.as_deref(), before, &timestamp()))
            .await?;
        self.caches.forget_user(&cur);
        self.audit(
            AuditEvent::new(Operation::DeleteUser, id)
                .roles(role_name(before), Some(SiteRole::Unlicensed.as_str()))
                .outcome("kept Unlicensed in Tableau"),
        );
        Ok(())
    }

    /// After Remove User: the store, the caches and the audit forget the user.
    pub(crate) async fn forget_removed(
        &self,
        cur: &User,
        before: Option<SiteRole>,
    ) -> BridgeResult<()> {
        let id = cur.id.as_ref();
        self.store.delete_user(&self.id, id).await?;
        self.caches.put_row(id, None);
        self.caches.forget_user(cur);
        self.audit(
            AuditEvent::new(Operation::DeleteUser, id)
                .roles(role_name(before), None)
                .outcome("removed"),
        );
        Ok(())
    }
}

/// A deactivation or demotion of `cur` (`what`), as the breaker sees it: the attributes the
/// change sets, and the role it leaves.
fn user_destructive(
    cur: &User,
    op: Operation,
    current: &Value,
    desired: &Value,
    what: &str,
) -> Destructive {
    Destructive {
        kind: "User",
        resource: cur.id.to_string(),
        name: cur.name.to_string(),
        op,
        summary: format!("{what} '{}' ({})", cur.name, cur.site_role),
        change: delta(current, desired),
        roles: (Some(cur.site_role.to_string()), None),
        weight: 1,
    }
}
