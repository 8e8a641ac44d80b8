//! Carrying out one repair: the Tableau call, the caches, the store, the audit row (operation
//! `reconcile`, with the role before and after).

use std::collections::HashMap;

use serde_json::Value;

use super::findings::Repair;
use crate::bridge::audit::AuditEvent;
use crate::bridge::mapping::merge;
use crate::bridge::operation::Operation;
use crate::bridge::tenant::Tenant;
use crate::tableau::model::{User, UserUpdate};

impl Tenant {
    /// Carry out `repair`; `users` are the site's users as the run read them. The error says
    /// why it failed, in words for the report.
    pub(super) async fn repair(
        &self,
        repair: &Repair,
        users: &HashMap<String, User>,
    ) -> Result<(), String> {
        let (resource, before, after, done) = match repair {
            Repair::SetRole { user_id, from, to } => {
                let upd = UserUpdate {
                    site_role: Some(*to),
                    ..UserUpdate::default()
                };
                let done = self.client.update_user(user_id, &upd).await.map(|answer| {
                    if let Some(u) = users.get(user_id) {
                        let mut u = u.clone();
                        merge(&mut u, answer);
                        self.caches.put_user(&u);
                    }
                    String::from("ok")
                });
                (
                    user_id.clone(),
                    Some(from.clone()),
                    Some(to.as_str().to_string()),
                    done,
                )
            }
            Repair::AddMember { group_id, user_id } => {
                self.caches.group_members.invalidate(group_id);
                let done = self
                    .client
                    .add_members(group_id, std::slice::from_ref(user_id))
                    .await
                    .map(|()| format!("ok: member {user_id} added"));
                (group_id.clone(), None, None, done)
            }
            Repair::RemoveMember { group_id, user_id } => {
                self.caches.group_members.invalidate(group_id);
                let done = self
                    .client
                    .remove_members(group_id, std::slice::from_ref(user_id))
                    .await
                    .map(|()| format!("ok: member {user_id} removed"));
                (group_id.clone(), None, None, done)
            }
            Repair::Recreate { row, role } => {
                return self.recreate(row, *role).await;
            }
        };
        let outcome = match &done {
            Ok(o) => o.clone(),
            Err(e) => e.to_string(),
        };
        self.audit(
            AuditEvent::new(Operation::Reconcile, &resource)
                .roles(before.as_deref(), after.as_deref())
                .outcome(outcome),
        );
        done.map(drop).map_err(|e| e.to_string())
    }

    /// Add a missing user again as the IdP last described it, through the same path as a SCIM
    /// create (the license policy included). Tableau gives it a new LUID, so its row and the
    /// groups the IdP put it in move to the new id (the IdP's next request with the old id
    /// gets 404 and it provisions the user again, which finds this one).
    async fn recreate(
        &self,
        row: &crate::bridge::store::UserRow,
        role: crate::tableau::SiteRole,
    ) -> Result<(), String> {
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

    /// The asserted memberships of `old` become `new`'s, in the store and in Tableau; then
    /// `old`'s row goes. Returns how many groups.
    async fn move_memberships(&self, old: &str, new: &str) -> Result<usize, String> {
        let all = self
            .store
            .all_asserted_members(&self.id)
            .await
            .map_err(|e| e.to_string())?;
        let groups: Vec<&String> = all
            .iter()
            .filter(|(_, m)| m.iter().any(|u| u == old))
            .map(|(g, _)| g)
            .collect();
        for g in &groups {
            self.caches.group_members.invalidate(g.as_str());
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
        if self.roles.has_group_roles() {
            self.reevaluate_role(new).await.map_err(|e| e.to_string())?;
        }
        Ok(groups.len())
    }
}
