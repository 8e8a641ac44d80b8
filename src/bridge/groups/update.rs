//! `PUT` and `PATCH /Groups/{id}` in named steps: read what is there, plan (pure, in
//! [`crate::bridge::groups::plan`]), record what the IdP asserts, change Tableau, then the
//! caches, the roles members hold through the group, and the store.

use serde_json::Value;

use crate::backend::timestamp;
use crate::bridge::audit::AuditEvent;
use crate::bridge::error::BridgeResult;
use crate::bridge::groups::asserted::{asserted_after, member_diff, same_set};
use crate::bridge::groups::plan::{plan_group_update, GroupChange, GroupPlan};
use crate::bridge::groups::requests::partial;
use crate::bridge::mapping::grants::grant_of;
use crate::bridge::mapping::text_checks::check_member_ids;
use crate::bridge::mapping::{group_content, group_to_scim, member_ids};
use crate::bridge::offload::desired;
use crate::bridge::operation::Operation;
use crate::bridge::safety::plan::{removal_weight, GROUP_MEMBERS};
use crate::bridge::safety::Destructive;
use crate::bridge::tenant::Tenant;
use crate::bridge::users::directory::directory_group_refusal;
use crate::scim::change::Change;
use crate::scim::schema::ResourceKind;
use crate::scim::version::check_if_match;
use crate::scim::ScimError;
use crate::store::GroupRow;
use crate::tableau::model::Group;

/// The group as it stands before a change: Tableau's group, our row, Tableau's members.
struct Before {
    group: Group,
    row: Option<GroupRow>,
    members: std::sync::Arc<Vec<String>>,
}

/// What the asserted members need written, and whether they then equal Tableau's members.
struct AssertedChange {
    added: Vec<String>,
    removed: Vec<String>,
    must_write: bool,
    in_step: bool,
}

/// A group imported from a directory is the directory's: a rename or a member change of one
/// is refused before anything is recorded or sent.
fn refuse_directory_changes(group: &Group, plan: &GroupPlan) -> Result<(), ScimError> {
    let members_change = !plan.added.is_empty() || !plan.removed.is_empty();
    for (changes, what) in [(plan.rename.is_some(), "name"), (members_change, "members")] {
        if let Some(refusal) = directory_group_refusal(group, what).filter(|_| changes) {
            return Err(refusal);
        }
    }
    Ok(())
}

impl Tenant {
    /// `PUT` (exactly the given members) or `PATCH /Groups/{id}`: under the group's lock, check
    /// `If-Match`, build the desired resource, plan, and carry the plan out; a failure after a
    /// change landed says what landed.
    pub async fn update_group(
        &self,
        id: &str,
        change: Change<'_>,
        op: Operation,
        if_match: Option<&str>,
    ) -> BridgeResult<Value> {
        let _serial = self.locks.lock(&format!("group-id:{id}")).await?;
        let before = Before {
            group: self.existing_group(id).await?,
            row: self.store.group(&self.id, id).await?,
            members: self.group_member_ids(id).await?,
        };
        let current = match if_match {
            Some(_) => group_to_scim(&before.group, before.row.as_ref(), Some(&before.members)),
            None => group_content(&before.group, before.row.as_ref(), Some(&before.members)),
        };
        check_if_match(&current, if_match, ResourceKind::Group)?;
        // The asserted members: known without the store while the cached members are the
        // list our last write left in step with them (a burst of PATCHes to a large group).
        let in_step = self.caches.members_in_step(id, &before.members);
        let asserted = if in_step {
            None
        } else {
            self.store.asserted_members(&self.id, id).await?
        };
        let reapply = change.is_patch().then(|| change.clone());
        let new = desired(change, ResourceKind::Group, &current).await?;
        let at = timestamp();
        let plan = plan_group_update(&GroupChange {
            current: &before.group,
            row: before.row.as_ref(),
            members: &before.members,
            desired: &new,
            roles: &self.roles(),
            at: &at,
        })?;
        check_member_ids(&plan.added)?;
        refuse_directory_changes(&before.group, &plan)?;
        self.gate_removals(id, op, &before.group, &plan).await?;
        let (add_now, kept_out) = self
            .keep_deactivated_out(&before.group.name, grant_of(&before.group), &plan.added)
            .await?;
        // What the IdP asserts is recorded before Tableau is changed: a reconciliation that
        // reads the store and then Tableau while this runs never takes this change for drift
        // made behind the IdP's back (bridge/reconcile/repair.rs).
        let next = if in_step {
            // What the IdP asserted was Tableau's members: its change is the plan's.
            AssertedChange {
                added: plan.added.clone(),
                removed: plan.removed.clone(),
                must_write: !plan.added.is_empty() || !plan.removed.is_empty(),
                in_step: true,
            }
        } else {
            asserted_change(&before, asserted.as_deref(), &plan, reapply)
        };
        let asserted_in_step = next.in_step;
        if next.must_write {
            self.store
                .change_asserted_members(&self.id, id, next.added, next.removed)
                .await?;
        }
        let mut done = Vec::new();
        let group = self
            .change_group_in_tableau(id, op, &before.group, &plan, &add_now, &mut done)
            .await?;
        let in_tableau: Vec<String> = plan
            .members
            .iter()
            .filter(|m| !kept_out.contains(m))
            .cloned()
            .collect();
        self.caches
            .put_members(id, in_tableau, asserted_in_step && kept_out.is_empty());
        self.audit_kept_out(op, id, &kept_out);
        for uid in &plan.reevaluate {
            if let Err(e) = self.reevaluate_role(uid).await {
                return Err(partial(&done, e));
            }
        }
        let row = match plan.row {
            Some(next) => {
                self.store.put_group(&self.id, next.clone()).await?;
                self.audit(AuditEvent::new(op, id));
                Some(next)
            }
            None => before.row,
        };
        // Served from what this request wrote, not a fresh listing (checklist 3).
        Ok(group_to_scim(&group, row.as_ref(), Some(&plan.members)))
    }

    /// Members leaving a role-granting group lose the role it grants: the breaker counts
    /// them, one change each, before anything is recorded or sent.
    async fn gate_removals(
        &self,
        id: &str,
        op: Operation,
        group: &Group,
        plan: &GroupPlan,
    ) -> BridgeResult<()> {
        let grants = self.roles().group_grants(&group.name) || grant_of(group).is_some();
        let weight = removal_weight(grants, plan.removed.len());
        if weight == 0 {
            return Ok(());
        }
        let mut removed = plan.removed.clone();
        removed.sort();
        self.safety_gate(Destructive {
            kind: GROUP_MEMBERS,
            resource: id.into(),
            name: group.name.clone(),
            op,
            summary: format!(
                "remove {weight} members from '{}', which grants a site role",
                group.name
            ),
            change: serde_json::json!({ "members_removed": removed }),
            roles: (None, None),
            weight,
        })
        .await
    }

    /// The plan's Tableau calls in order (rename, removals, additions), each noted in `done`
    /// as it lands so a later failure can say what did. Returns the group as Tableau now names
    /// it.
    async fn change_group_in_tableau(
        &self,
        id: &str,
        op: Operation,
        old: &Group,
        plan: &GroupPlan,
        add_now: &[String],
        done: &mut Vec<String>,
    ) -> BridgeResult<Group> {
        let mut group = old.clone();
        if let Some(new_name) = &plan.rename {
            group = match self.client.update_group(id, new_name, None).await {
                Ok(updated) => updated,
                Err(e) if e.is_group_exists() => {
                    return Err(ScimError::Uniqueness(format!(
                        "a Tableau group named '{new_name}' already exists"
                    ))
                    .into())
                }
                Err(e) => return Err(e.into()),
            };
            self.caches.forget_group(old);
            self.caches.put_group(&group);
            done.push(format!("renamed to '{new_name}'"));
        }
        if !plan.removed.is_empty() {
            self.caches.members_changed(id);
            if let Err(e) = self.client.remove_members(id, &plan.removed).await {
                self.audit(AuditEvent::new(op, id).outcome(e.to_string()));
                return Err(partial(done, e.into()));
            }
            done.push(format!("{} members removed", plan.removed.len()));
        }
        if !add_now.is_empty() {
            self.caches.members_changed(id);
            if let Err(e) = self.add_group_members(id, add_now).await {
                self.audit(AuditEvent::new(op, id).outcome(e.to_string()));
                return Err(partial(done, e));
            }
            done.push(format!("{} members added", add_now.len()));
        }
        Ok(group)
    }
}

/// The asserted members after a change when they may differ from Tableau's: a PATCH's
/// operations applied again to what was asserted before (see
/// [`crate::bridge::groups::asserted`]), and what to write for it.
fn asserted_change(
    before: &Before,
    asserted: Option<&[String]>,
    plan: &GroupPlan,
    reapply: Option<Change<'_>>,
) -> AssertedChange {
    let next = asserted_after(
        asserted,
        &before.members,
        &plan.members,
        reapply.map(|patch| {
            let (g, base) = (&before.group, before.row.as_ref());
            move |a: &[String]| {
                let from = group_content(g, base, Some(a));
                member_ids(&patch.desired(ResourceKind::Group, &from)?)
            }
        }),
    );
    let (added, removed) = member_diff(asserted.unwrap_or_default(), &next);
    AssertedChange {
        must_write: asserted.is_none() || !added.is_empty() || !removed.is_empty(),
        in_step: same_set(&next, &plan.members),
        added,
        removed,
    }
}
