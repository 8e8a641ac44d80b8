//! Site roles granted by group membership (`group_roles`): which role-granting groups a user
//! is in, and giving the user the role they map to after a membership change.

use crate::bridge::audit::{role_name, AuditEvent};
use crate::bridge::error::BridgeResult;
use crate::bridge::mapping::active_now;
use crate::bridge::operation::Operation;
use crate::bridge::tenant::Tenant;
use crate::bridge::users::plan::plan_role_reevaluation;
use crate::tableau::model::{User, UserUpdate};

impl Tenant {
    /// The names of the role-granting groups that have `user_id` as a member. Costs nothing
    /// unless the tenant maps groups to roles; then the site's group list and the members of
    /// the granting groups, all cached.
    pub(crate) async fn granting_groups_of(&self, user_id: &str) -> BridgeResult<Vec<String>> {
        if !self.roles().has_group_roles() {
            return Ok(Vec::new());
        }
        let mut names = Vec::new();
        for g in self
            .site_groups()
            .await?
            .iter()
            .filter(|g| self.roles().group_grants(&g.name))
        {
            if self
                .group_member_ids(&g.id)
                .await?
                .iter()
                .any(|m| m == user_id)
            {
                names.push(g.name.clone());
            }
        }
        Ok(names)
    }

    /// Give a user the role their `roles` and role-granting groups map to now, if it differs
    /// (after a membership change in a role-granting group).
    pub(crate) async fn reevaluate_role(&self, user_id: &str) -> BridgeResult<()> {
        let Some((cur, row)) = self.load_user(user_id).await? else {
            return Ok(());
        };
        // An inactive user stays Unlicensed whatever the groups say: nothing to look up.
        if !active_now(&cur, row.as_deref()) {
            return Ok(());
        }
        let grants = self.granting_groups_of(user_id).await?;
        let Some(wanted) = plan_role_reevaluation(&cur, row.as_deref(), &grants, &self.roles())?
        else {
            return Ok(());
        };
        let upd = UserUpdate {
            site_role: Some(wanted),
            ..UserUpdate::default()
        };
        let mut user = User::clone(&cur);
        self.update_in_tableau(&mut user, &upd, Operation::GroupRole)
            .await?;
        self.caches.put_user(&user);
        self.audit(
            AuditEvent::new(Operation::GroupRole, user_id)
                .roles(role_name(cur.role()), role_name(user.role())),
        );
        Ok(())
    }
}
