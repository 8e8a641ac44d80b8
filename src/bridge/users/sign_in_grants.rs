//! Roles Tableau grants at sign-in. A Tableau group with a minimum site role promotes its
//! members to that role when they sign in, and never demotes them ("Grant license on sign in
//! ... lets unlicensed users in specific groups become licensed when they sign into a Tableau
//! site", Cloud help `grant_role.htm`; "A user's site role can be promoted but never demoted
//! based on the minimum site role setting", Server help `groups_create_adsync.htm`). So a user
//! set Unlicensed while still in such a group is licensed again at their next sign-in: a
//! deactivation through SCIM takes the user out of those groups (policy `remove`), or is
//! refused naming them (`refuse`), and a reactivation puts the user back into the ones the IdP
//! asserted. The decisions are pure ([`crate::bridge::mapping::grants`]); this file only carries them out.

use crate::bridge::policy::OnSignInGrants;

use crate::bridge::audit::AuditEvent;
use crate::bridge::error::{BridgeError, BridgeResult};
use crate::bridge::mapping::grants::{deactivation_refusal, granting};
use crate::bridge::mapping::is_active;
use crate::bridge::operation::Operation;
use crate::bridge::tenant::Tenant;
use crate::scim::ScimError;
use crate::tableau::model::Group;
use crate::tableau::SiteRole;

impl Tenant {
    /// The groups of the site that grant a role at sign-in and have `user_id` as a member.
    /// No call when the site has no such group (the group list is cached); else one (Get
    /// Groups for User).
    pub(crate) async fn granting_groups_with(&self, user_id: &str) -> BridgeResult<Vec<Group>> {
        let site = self.site_groups().await?;
        if granting(&site).is_empty() {
            return Ok(Vec::new());
        }
        let mine = self.client.groups_of_user(user_id).await?;
        Ok(granting(&mine).into_iter().cloned().collect())
    }

    /// Before a deactivation of `user_id` (`user_name` for messages): under `refuse`, the
    /// refusal when the user is in granting groups; under `remove`, the groups to take them
    /// out of once the deactivation is made ([`Tenant::leave_granting_groups`]).
    pub(crate) async fn granting_groups_to_leave(
        &self,
        user_id: &str,
        user_name: &str,
    ) -> BridgeResult<Vec<Group>> {
        let groups = self.granting_groups_with(user_id).await?;
        if !groups.is_empty() && self.policy().on_sign_in_grants == OnSignInGrants::Refuse {
            let refs: Vec<&Group> = groups.iter().collect();
            return Err(deactivation_refusal(user_name, &refs).into());
        }
        Ok(groups)
    }

    /// Take a deactivated user out of `groups` (one call each), audited with the group names.
    pub(crate) async fn leave_granting_groups(
        &self,
        user_id: &str,
        groups: &[Group],
        op: Operation,
    ) -> BridgeResult<()> {
        let mut done = Vec::new();
        for g in groups {
            // The deactivation was made: a failure now is a partial change, said so.
            if let Err(error) = self
                .client
                .remove_members(&g.id, &[user_id.to_string()])
                .await
            {
                let left = if done.is_empty() {
                    String::new()
                } else {
                    format!(" and taken out of {}", done.join(", "))
                };
                return Err(BridgeError::Partial {
                    done: format!("the user was deactivated{left}"),
                    error,
                });
            }
            self.caches.members_changed(&g.id);
            done.push(format!("'{}'", g.name));
        }
        if !done.is_empty() {
            self.audit(AuditEvent::new(op, user_id).outcome(format!(
                "taken out of {} (they grant a site role at sign-in)",
                done.join(", ")
            )));
        }
        Ok(())
    }

    /// Of `ids` to add to a group that grants `grant` at sign-in (`None`: a group that grants
    /// nothing), those to add now and those the IdP deactivated: a sign-in would license them,
    /// so they are kept out until reactivated ([`Tenant::rejoin_granting_groups`] adds them
    /// then, as the IdP asserted), or under `refuse` the change is refused naming them.
    pub(crate) async fn keep_deactivated_out(
        &self,
        group: &str,
        grant: Option<SiteRole>,
        ids: &[String],
    ) -> BridgeResult<(Vec<String>, Vec<String>)> {
        if grant.is_none() {
            return Ok((ids.to_vec(), Vec::new()));
        }
        let (mut now, mut later) = (Vec::new(), Vec::new());
        for id in ids {
            let inactive = self
                .row_of(id)
                .await?
                .is_some_and(|r| r.deleted || !is_active(&r.attributes));
            if inactive {
                later.push(id.clone());
            } else {
                now.push(id.clone());
            }
        }
        if !later.is_empty() && self.policy().on_sign_in_grants == OnSignInGrants::Refuse {
            return Err(ScimError::Conflict(format!(
                "'{group}' grants {} at sign-in, and {} of the members to add are deactivated: Tableau would license them at their next sign-in. Reactivate them first, or set the tenant's on_sign_in_grants = \"remove\" to keep them out until then",
                grant.map_or("", SiteRole::as_str),
                later.len()
            ))
            .into());
        }
        Ok((now, later))
    }

    /// On reactivation, put the user back into the groups that grant a role at sign-in where
    /// the IdP asserted the user as a member (one call each); the groups an administrator
    /// managed in Tableau are not known to the store and stay as they are.
    pub(crate) async fn rejoin_granting_groups(
        &self,
        user_id: &str,
        op: Operation,
    ) -> BridgeResult<()> {
        let asserted = self.store.asserted_groups_of(&self.id, user_id).await?;
        if asserted.is_empty() {
            return Ok(());
        }
        let site = self.site_groups().await?;
        let mut rejoined = Vec::new();
        for g in granting(&site)
            .into_iter()
            .filter(|g| asserted.contains(&g.id))
        {
            self.client
                .add_members(&g.id, &[user_id.to_string()])
                .await?;
            self.caches.members_changed(&g.id);
            rejoined.push(format!("'{}'", g.name));
        }
        if !rejoined.is_empty() {
            self.audit(AuditEvent::new(op, user_id).outcome(format!(
                "back in {} (asserted by the IdP)",
                rejoined.join(", ")
            )));
        }
        Ok(())
    }
}
