//! Carrying out one repair: re-checked under the lock SCIM writes take, then the Tableau call,
//! the caches, the store, the audit row (operation `reconcile`, with the role before and
//! after).
//!
//! Why the re-check: the run read the store, then Tableau. A SCIM write that landed in between
//! (or since) shows in Tableau but not in what the run read of the store, and "repairing" it
//! would undo the IdP's own change. Under the user's or group's lock no SCIM write of it is
//! half done, so the store read again is the IdP's truth: when it no longer says what the
//! finding was made from, the repair is skipped and the next run looks again.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::findings::Repair;
use crate::bridge::audit::AuditEvent;
use crate::bridge::mapping::merge;
use crate::bridge::operation::Operation;
use crate::bridge::tenant::Tenant;
use crate::bridge::users::custody::Custody;
use crate::bridge::users::plan::{deprovisioning, Deprovisioning};
use crate::store::UserRow;
use crate::tableau::model::{User, UserUpdate};
use crate::tableau::SiteRole;

/// What the run read, for the re-check and the caches.
#[derive(Debug, Default)]
pub(super) struct ReadState {
    /// The site's users by id.
    pub users: HashMap<String, User>,
    /// The store's user rows by id.
    pub rows: HashMap<String, UserRow>,
    /// The groups each user is an asserted member of.
    pub groups_of: HashMap<String, BTreeSet<String>>,
}

/// What became of one repair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Repaired {
    /// Done.
    Done,
    /// Not attempted: the IdP changed the user or group through SCIM since the run read it.
    Changed,
}

const CHANGED: &str = "changed through SCIM since it was read";

impl Tenant {
    /// Re-check and carry out `repair`. The error says why it failed, in words for the report.
    pub(super) async fn repair(
        &self,
        repair: &Repair,
        read: &ReadState,
    ) -> Result<Repaired, String> {
        match repair {
            Repair::SetRole { user_id, from, to } => {
                self.repair_role(user_id, from, *to, &[], read).await
            }
            Repair::AddMember { group_id, user_id }
            | Repair::RemoveMember { group_id, user_id } => {
                let add = matches!(repair, Repair::AddMember { .. });
                let _serial = self
                    .locks
                    .lock(&format!("group-id:{group_id}"))
                    .await
                    .map_err(|e| e.to_string())?;
                let then = read
                    .groups_of
                    .get(user_id)
                    .is_some_and(|g| g.contains(group_id));
                let now = self
                    .store
                    .asserted_groups_of(&self.id, user_id)
                    .await
                    .map_err(|e| e.to_string())?
                    .contains(group_id);
                if now != then || now != add {
                    return Ok(self.skipped(group_id));
                }
                self.caches.members_changed(group_id);
                let ids = std::slice::from_ref(user_id);
                let done = if add {
                    self.client.add_members(group_id, ids).await
                } else {
                    self.client.remove_members(group_id, ids).await
                };
                let what = if add { "added" } else { "removed" };
                self.audited(
                    group_id,
                    None,
                    None,
                    done.map(|()| format!("ok: member {user_id} {what}")),
                )
            }
            Repair::Ungrant {
                user_id,
                from,
                groups,
            } => {
                self.repair_role(user_id, from, SiteRole::Unlicensed, groups, read)
                    .await
            }
            Repair::Custody { user_id } => self.finish_custody(user_id, read).await,
            Repair::Recreate { row, role } => {
                // The old id is gone from Tableau: SCIM must not serve it from a cache.
                self.caches.forget_user(&User {
                    id: row.id.as_str().into(),
                    name: row.user_name.as_str().into(),
                    ..User::default()
                });
                let same_name = read
                    .users
                    .values()
                    .find(|u| u.name.eq_ignore_ascii_case(&row.user_name) && u.id != row.id);
                match same_name {
                    Some(u) => self.relink(row, u, *role, read).await,
                    None => self.recreate(row, *role).await,
                }
                .map(|()| Repaired::Done)
            }
        }
    }

    /// Finish a custody: under the user's lock, if the store still holds them as deleted
    /// through SCIM, hand their content over and remove them
    /// ([`Tenant::transfer_and_remove`]). Tableau keeping them again is a failure the audit
    /// explains.
    async fn finish_custody(&self, user_id: &str, read: &ReadState) -> Result<Repaired, String> {
        let Some(user) = read.users.get(user_id) else {
            return Err("the user was not read".into());
        };
        let _serial = self
            .locks
            .lock(&user.name)
            .await
            .map_err(|e| e.to_string())?;
        let row = self
            .store
            .user(&self.id, user_id)
            .await
            .map_err(|e| e.to_string())?;
        let Some(row) = row.filter(|r| r.deleted) else {
            return Ok(self.skipped(user_id));
        };
        let Deprovisioning::Transfer {
            custodian,
            to_manager,
        } = deprovisioning(&self.policy())
        else {
            return Err("deprovision is not \"transfer\"".into());
        };
        let done = self
            .transfer_and_remove(user, Some(&row), custodian.as_deref(), to_manager)
            .await
            .map_err(|e| e.to_string())?;
        match done {
            Custody::Removed => {
                self.forget_removed(user, user.role())
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(Repaired::Done)
            }
            Custody::Kept => Err("Tableau keeps the user: they own content it does not hand over (the audit names it)".into()),
        }
    }

    /// Give a user the site role `to` (from `from`), re-checked under the user's lock, after
    /// taking them out of `leave` (groups, id and name, that would grant a role at sign-in).
    async fn repair_role(
        &self,
        user_id: &str,
        from: &str,
        to: SiteRole,
        leave: &[(String, String)],
        read: &ReadState,
    ) -> Result<Repaired, String> {
        let name = read.users.get(user_id).map_or(user_id, |u| u.name.as_str());
        let _serial = self.locks.lock(name).await.map_err(|e| e.to_string())?;
        if !self.user_unchanged(user_id, read).await? {
            return Ok(self.skipped(user_id));
        }
        let ids = [user_id.to_string()];
        for (group_id, _) in leave {
            self.caches.members_changed(group_id);
            if let Err(e) = self.client.remove_members(group_id, &ids).await {
                return self.audited(user_id, Some(from), None, Err(e));
            }
        }
        let upd = UserUpdate {
            site_role: Some(to),
            ..UserUpdate::default()
        };
        let done = self.client.update_user(user_id, &upd).await;
        if let (Ok(answer), Some(u)) = (&done, read.users.get(user_id)) {
            let mut u = u.clone();
            merge(&mut u, answer.clone());
            self.caches.put_user(&u);
        }
        let left: Vec<&str> = leave.iter().map(|(_, n)| n.as_str()).collect();
        let outcome = if left.is_empty() {
            "ok".to_string()
        } else {
            format!("ok: taken out of {}", left.join(", "))
        };
        self.audited(
            user_id,
            Some(from),
            Some(to.as_str()),
            done.map(|_| outcome),
        )
    }

    /// Whether the user's row and asserted groups are still what the run read.
    async fn user_unchanged(&self, user_id: &str, read: &ReadState) -> Result<bool, String> {
        let row = self
            .store
            .user(&self.id, user_id)
            .await
            .map_err(|e| e.to_string())?;
        let groups: BTreeSet<String> = self
            .store
            .asserted_groups_of(&self.id, user_id)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .collect();
        let groups_then = read.groups_of.get(user_id).cloned().unwrap_or_default();
        Ok(row.as_ref() == read.rows.get(user_id) && groups == groups_then)
    }

    fn skipped(&self, resource: &str) -> Repaired {
        self.audit(
            AuditEvent::new(Operation::Reconcile, resource).outcome(format!("skipped: {CHANGED}")),
        );
        Repaired::Changed
    }

    fn audited(
        &self,
        resource: &str,
        before: Option<&str>,
        after: Option<&str>,
        done: Result<String, crate::tableau::TableauError>,
    ) -> Result<Repaired, String> {
        let outcome = match &done {
            Ok(o) => o.clone(),
            Err(e) => e.to_string(),
        };
        self.audit(
            AuditEvent::new(Operation::Reconcile, resource)
                .roles(before, after)
                .outcome(outcome),
        );
        done.map(|_| Repaired::Done).map_err(|e| e.to_string())
    }

    /// Add a missing user again as the IdP last described it, through the same path as a SCIM
    /// create (the license policy included). Tableau gives it a new LUID, so its row and the
    /// groups the IdP put it in move to the new id (the IdP's next request with the old id
    /// gets 404 and it provisions the user again, which finds this one).
    async fn recreate(&self, row: &UserRow, role: SiteRole) -> Result<(), String> {
        let mut input = match &row.attributes {
            Value::Object(o) => o.clone(),
            _ => serde_json::Map::new(),
        };
        input.insert("userName".into(), row.user_name.clone().into());
        if let Some(ext) = &row.external_id {
            input.insert("externalId".into(), ext.clone().into());
        }
        let created = self
            .create_user(Value::Object(input))
            .await
            .map_err(|e| e.to_string())?;
        let new_id = created["id"].as_str().unwrap_or_default().to_string();
        let moved = self.move_memberships(&row.id, &new_id).await;
        let outcome = match &moved {
            Ok(n) => format!("ok: re-created as {new_id}, {n} group memberships restored"),
            Err(e) => format!("re-created as {new_id}; {e}"),
        };
        self.audit(
            AuditEvent::new(Operation::Reconcile, &row.id)
                .roles(None, Some(role.as_str()))
                .outcome(outcome),
        );
        moved.map(drop)
    }

    /// The missing user's name is in Tableau under another id (made again by hand, or by a
    /// re-creation whose answer was lost): when no other row holds it, the row and the asserted
    /// memberships move to it and it gets the asserted role, instead of a second Add User that
    /// Tableau would refuse.
    async fn relink(
        &self,
        row: &UserRow,
        found: &User,
        role: SiteRole,
        read: &ReadState,
    ) -> Result<(), String> {
        if read.rows.contains_key(found.id.as_str()) {
            return Err(format!(
                "the name '{}' is held by another user the IdP provisioned ({})",
                found.name, found.id
            ));
        }
        let _serial = self
            .locks
            .lock(&row.user_name)
            .await
            .map_err(|e| e.to_string())?;
        let mut user = found.clone();
        if found.role() != Some(role) {
            let upd = UserUpdate {
                site_role: Some(role),
                ..UserUpdate::default()
            };
            let answer = self
                .client
                .update_user(&found.id, &upd)
                .await
                .map_err(|e| e.to_string())?;
            merge(&mut user, answer);
        }
        let moved = UserRow {
            id: found.id.to_string(),
            last_modified: crate::backend::timestamp(),
            ..row.clone()
        };
        self.store
            .put_user(&self.id, moved)
            .await
            .map_err(|e| e.to_string())?;
        self.caches.put_user(&user);
        let n = self.move_memberships(&row.id, &found.id).await?;
        self.audit(
            AuditEvent::new(Operation::Reconcile, &row.id)
                .roles(Some(&found.site_role), Some(&user.site_role))
                .outcome(format!(
                    "ok: linked to {} found under the same name, {n} group memberships restored",
                    found.id
                )),
        );
        Ok(())
    }

    /// The asserted memberships of `old` become `new`'s, in the store and in Tableau; then
    /// `old`'s row goes. Returns how many groups.
    async fn move_memberships(&self, old: &str, new: &str) -> Result<usize, String> {
        let groups = self
            .store
            .asserted_groups_of(&self.id, old)
            .await
            .map_err(|e| e.to_string())?;
        for g in &groups {
            self.caches.members_changed(g);
            self.client
                .add_members(g, &[new.to_string()])
                .await
                .map_err(|e| format!("adding to group {g}: {e}"))?;
            self.store
                .change_asserted_members(&self.id, g, vec![new.to_string()], vec![old.to_string()])
                .await
                .map_err(|e| e.to_string())?;
        }
        self.store
            .delete_user(&self.id, old)
            .await
            .map_err(|e| e.to_string())?;
        if self.roles().has_group_roles() {
            self.reevaluate_role(new).await.map_err(|e| e.to_string())?;
        }
        Ok(groups.len())
    }
}
