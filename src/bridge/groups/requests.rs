//! `/Groups` on Tableau local groups ("All Users" is Tableau's own and never shown). Writes
//! carry out a plan of [`crate::bridge::groups::plan`]: take the group's lock, call Tableau, update the
//! caches, re-evaluate group-granted roles, write the store, audit.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::backend::{timestamp, ListPage};
use crate::bridge::audit::AuditEvent;
use crate::bridge::cache::found;
use crate::bridge::error::{BridgeError, BridgeResult};
use crate::bridge::groups::asserted::{asserted_after, member_diff, same_set};
use crate::bridge::groups::plan::{
    plan_group_create, plan_group_update, reevaluates_members_on_delete, GroupChange,
};
use crate::bridge::mapping::grants::grant_of;
use crate::bridge::mapping::text_checks::check_member_ids;
use crate::bridge::mapping::{group_content, group_row, group_to_scim, member_ids};
use crate::bridge::offload::desired;
use crate::bridge::operation::Operation;
use crate::bridge::tenant::Tenant;
use crate::bridge::users::directory::directory_group_refusal;
use crate::scim::change::Change;
use crate::scim::list::ListQuery;
use crate::scim::schema::{ResourceKind, SchemaRegistry};
use crate::scim::version::check_if_match;
use crate::scim::{urn, ScimError};
use crate::store::GroupRow;
use crate::tableau::limits::is_luid;
use crate::tableau::model::Group;
use crate::tableau::TableauError;

/// A failure after some of a request's changes were applied in Tableau, said honestly.
fn partial(done: &[String], e: BridgeError) -> BridgeError {
    match e {
        BridgeError::Tableau(error) if !done.is_empty() => BridgeError::Partial {
            done: done.join(", "),
            error,
        },
        other => other,
    }
}

impl Tenant {
    /// Every group of the site ("All Users" included) from the cache, or one call per 1,000
    /// groups.
    pub(crate) async fn site_groups(&self) -> BridgeResult<Arc<Vec<Group>>> {
        self.caches
            .get_or_load(&self.caches.group_list, &(), async {
                let all = self.client.all_groups().await?;
                for g in all.iter().filter(|g| !g.is_all_users()) {
                    self.caches.remember_group(g);
                }
                Ok::<_, TableauError>(Arc::new(all))
            })
            .await
            .map_err(BridgeError::from)
    }

    /// A group by id. Tableau has no "get group" call: a miss lists the groups once (one call
    /// per 1,000 groups) and caches them all. An id that cannot be a LUID costs no call.
    async fn load_group(&self, id: &str) -> BridgeResult<Option<Group>> {
        if !is_luid(id) {
            return Ok(None);
        }
        let loaded = self
            .caches
            .get_or_load(&self.caches.group_by_id, id, async {
                let all = self.client.all_groups().await.map_err(Some)?;
                let mut hit = None;
                for g in all.iter().filter(|g| !g.is_all_users()) {
                    if g.id == id {
                        hit = Some(g.clone());
                    } else {
                        self.caches.remember_group(g);
                    }
                }
                self.caches.group_list.insert((), Arc::new(all));
                hit.ok_or(None::<TableauError>)
            })
            .await;
        found(loaded)
    }

    /// A group by id, or 404.
    async fn existing_group(&self, id: &str) -> BridgeResult<Group> {
        self.load_group(id)
            .await?
            .ok_or_else(|| ScimError::NotFound(format!("no Group with id '{id}'")).into())
    }

    /// Member ids of a group (cached).
    pub(crate) async fn group_member_ids(&self, id: &str) -> BridgeResult<Arc<Vec<String>>> {
        self.caches
            .get_or_load(&self.caches.group_members, id, async {
                self.client.group_members(id).await.map(|users| {
                    Arc::new(users.into_iter().map(|u| u.id.into()).collect::<Vec<_>>())
                })
            })
            .await
            .map_err(|e: TableauError| e.into())
    }

    /// `GET /Groups/{id}`; members only when wanted (`excludedAttributes=members` skips them).
    pub async fn get_group(&self, id: &str, want_members: bool) -> BridgeResult<Value> {
        let g = self.existing_group(id).await?;
        let row = self.store.group(&self.id, id).await?;
        let members = if want_members {
            Some(self.group_member_ids(id).await?)
        } else {
            None
        };
        Ok(group_to_scim(
            &g,
            row.as_ref(),
            members.as_deref().map(Vec::as_slice),
        ))
    }

    /// `POST /Groups`: Create Group, then one bulk add of its members.
    pub async fn create_group(&self, input: Value) -> BridgeResult<Value> {
        let plan = plan_group_create(&input, &self.roles)?;
        check_member_ids(&plan.members)?;
        let _serial = self.locks.lock(&format!("group:{}", plan.name)).await?;
        // Its minimum site role grants a role at sign-in: deactivated members stay out.
        let grant = self
            .policy
            .group_minimum_site_role
            .filter(|r| r.tier().is_some());
        let (add_now, kept_out) = self
            .keep_deactivated_out(&plan.name, grant, &plan.members)
            .await?;
        let g = match self
            .client
            .create_group(&plan.name, self.policy.group_minimum_site_role)
            .await
        {
            Ok(g) => g,
            Err(e) if e.is_group_exists() => {
                return Err(ScimError::Uniqueness(format!(
                    "a Tableau group named '{}' already exists",
                    plan.name
                ))
                .into())
            }
            Err(e) => return Err(e.into()),
        };
        self.caches.put_group(&g);
        // The members asserted are recorded before they are added (see `update_group`).
        self.store
            .change_asserted_members(&self.id, &g.id, plan.members.clone(), Vec::new())
            .await?;
        if let Err(error) = self.add_group_members(&g.id, &add_now).await {
            self.audit(AuditEvent::new(Operation::CreateGroup, &g.id).outcome("members failed"));
            return Err(partial(&[format!("group {} was created", g.id)], error));
        }
        let external_id = input["externalId"].as_str().map(str::to_string);
        let row = group_row(&g, external_id, None, &timestamp());
        self.store.put_group(&self.id, row.clone()).await?;
        self.caches.put_members(&g.id, add_now, kept_out.is_empty());
        self.audit_kept_out(Operation::CreateGroup, &g.id, &kept_out);
        for uid in &plan.reevaluate {
            self.reevaluate_role(uid).await?;
        }
        self.audit(AuditEvent::new(Operation::CreateGroup, &g.id));
        Ok(group_to_scim(&g, Some(&row), Some(&plan.members)))
    }

    /// Audit the deactivated members kept out of a group that grants a role at sign-in.
    fn audit_kept_out(&self, op: Operation, group_id: &str, kept_out: &[String]) {
        if !kept_out.is_empty() {
            self.audit(AuditEvent::new(op, group_id).outcome(format!(
                "{} deactivated members kept out until reactivated (the group grants a site role at sign-in): {}",
                kept_out.len(),
                kept_out.join(", ")
            )));
        }
    }

    async fn add_group_members(&self, group_id: &str, ids: &[String]) -> BridgeResult<()> {
        match self.client.add_members(group_id, ids).await {
            Ok(()) => Ok(()),
            Err(e) if e.code() == Some("404002") => Err(ScimError::InvalidValue(format!(
                "a member is not a user of the Tableau site ({e}); members must be ids of /Users"
            ))
            .into()),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /Groups`: `displayName eq` is one lookup; anything else lists the groups.
    pub async fn list_groups(
        &self,
        query: &ListQuery,
        want_members: bool,
    ) -> BridgeResult<ListPage> {
        let schema = SchemaRegistry::builtin().resource(ResourceKind::Group);
        let rows = self.store.groups(&self.id).await?;
        let row_of: HashMap<&str, &GroupRow> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
        let simple = query
            .filter
            .as_ref()
            .and_then(|f| f.as_simple_eq())
            .filter(|(p, _)| {
                p.name.eq_ignore_ascii_case("displayName")
                    && p.urn.as_deref().is_none_or(|u| u == urn::GROUP)
            });
        // The site's group list (one call per 1,000 groups, kept by the name listing and by
        // every group write) answers a `displayName eq` as well as a full listing. SCIM's
        // displayName is not case-sensitive.
        let all = self.site_groups().await?;
        let groups: Vec<&Group> = all
            .iter()
            .filter(|g| !g.is_all_users())
            .filter(|g| simple.is_none_or(|(_, name)| g.name.eq_ignore_ascii_case(name)))
            .collect();
        // Members cost a call per group (per 1,000 members) when not cached: read only for the
        // groups on the page, unless the filter itself reads them.
        let filter_reads_members = query.filter.as_ref().is_some_and(|f| f.mentions("members"));
        let mut matches: Vec<&Group> = Vec::new();
        for g in groups {
            self.caches.remember_group(g);
            let keep = match &query.filter {
                None => true,
                Some(f) => {
                    let members = if filter_reads_members {
                        Some(self.group_member_ids(&g.id).await?)
                    } else {
                        None
                    };
                    let r = group_to_scim(
                        g,
                        row_of.get(g.id.as_str()).copied(),
                        members.as_deref().map(Vec::as_slice),
                    );
                    f.matches(&r, &schema)
                }
            };
            if keep {
                matches.push(g);
            }
        }
        let range = query.page_range(matches.len());
        let mut resources = Vec::with_capacity(range.len());
        for g in &matches[range] {
            let members = if want_members {
                Some(self.group_member_ids(&g.id).await?)
            } else {
                None
            };
            resources.push(group_to_scim(
                g,
                row_of.get(g.id.as_str()).copied(),
                members.as_deref().map(Vec::as_slice),
            ));
        }
        Ok(ListPage {
            total: matches.len(),
            resources,
        })
    }

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
        let g = self.existing_group(id).await?;
        let row = self.store.group(&self.id, id).await?;
        let old_members = self.group_member_ids(id).await?;
        let current = match if_match {
            Some(_) => group_to_scim(&g, row.as_ref(), Some(&old_members)),
            None => group_content(&g, row.as_ref(), Some(&old_members)),
        };
        check_if_match(&current, if_match, ResourceKind::Group)?;
        // The asserted members: known without the store while the cached members are the
        // list our last write left in step with them (a burst of PATCHes to a large group).
        let in_step = self.caches.members_in_step(id, &old_members);
        let asserted = if in_step {
            None
        } else {
            self.store.asserted_members(&self.id, id).await?
        };
        let reapply = change.is_patch().then(|| change.clone());
        let new = desired(change, ResourceKind::Group, &current).await?;
        let at = timestamp();
        let plan = plan_group_update(&GroupChange {
            current: &g,
            row: row.as_ref(),
            members: &old_members,
            desired: &new,
            roles: &self.roles,
            at: &at,
        })?;
        check_member_ids(&plan.added)?;
        // A group imported from a directory is the directory's: refused before anything is
        // recorded or sent.
        let members_change = !plan.added.is_empty() || !plan.removed.is_empty();
        for (changes, what) in [(plan.rename.is_some(), "name"), (members_change, "members")] {
            if let Some(refusal) = directory_group_refusal(&g, what).filter(|_| changes) {
                return Err(refusal.into());
            }
        }
        let (add_now, kept_out) = self
            .keep_deactivated_out(&g.name, grant_of(&g), &plan.added)
            .await?;
        // What the IdP asserts is recorded before Tableau is changed: a reconciliation that
        // reads the store and then Tableau while this runs never takes this change for drift
        // made behind the IdP's back (bridge/reconcile/repair.rs).
        let (added, removed, must_write, asserted_in_step) = if in_step {
            // What the IdP asserted was Tableau's members: its change is the plan's.
            let changed = !plan.added.is_empty() || !plan.removed.is_empty();
            (plan.added.clone(), plan.removed.clone(), changed, true)
        } else {
            let before = asserted.as_deref();
            let next = asserted_after(
                before,
                &old_members,
                &plan.members,
                reapply.map(|patch| {
                    let (g, base) = (&g, row.as_ref());
                    move |a: &[String]| {
                        let from = group_content(g, base, Some(a));
                        member_ids(&patch.desired(ResourceKind::Group, &from)?)
                    }
                }),
            );
            let (added, removed) = member_diff(before.unwrap_or_default(), &next);
            let must = before.is_none() || !added.is_empty() || !removed.is_empty();
            let step = same_set(&next, &plan.members);
            (added, removed, must, step)
        };
        if must_write {
            self.store
                .change_asserted_members(&self.id, id, added, removed)
                .await?;
        }
        let mut group = g.clone();
        let mut done = Vec::new();
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
            self.caches.forget_group(&g);
            self.caches.put_group(&group);
            done.push(format!("renamed to '{new_name}'"));
        }
        if !plan.removed.is_empty() {
            self.caches.members_changed(id);
            if let Err(e) = self.client.remove_members(id, &plan.removed).await {
                self.audit(AuditEvent::new(op, id).outcome(e.to_string()));
                return Err(partial(&done, e.into()));
            }
            done.push(format!("{} members removed", plan.removed.len()));
        }
        if !add_now.is_empty() {
            self.caches.members_changed(id);
            if let Err(e) = self.add_group_members(id, &add_now).await {
                self.audit(AuditEvent::new(op, id).outcome(e.to_string()));
                return Err(partial(&done, e));
            }
            done.push(format!("{} members added", add_now.len()));
        }
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
            None => row,
        };
        // Served from what this request wrote, not a fresh listing (checklist 3).
        Ok(group_to_scim(&group, row.as_ref(), Some(&plan.members)))
    }

    /// `DELETE /Groups/{id}`.
    pub async fn delete_group(&self, id: &str, if_match: Option<&str>) -> BridgeResult<()> {
        let _serial = self.locks.lock(&format!("group-id:{id}")).await?;
        let g = self.existing_group(id).await?;
        if if_match.is_some() {
            let row = self.store.group(&self.id, id).await?;
            let members = self.group_member_ids(id).await?;
            check_if_match(
                &group_to_scim(&g, row.as_ref(), Some(&members)),
                if_match,
                ResourceKind::Group,
            )?;
        }
        let former = if reevaluates_members_on_delete(&g, &self.roles) {
            Some(self.group_member_ids(id).await?)
        } else {
            None
        };
        self.client.delete_group(id).await?;
        self.store.delete_group(&self.id, id).await?;
        self.caches.forget_group(&g);
        for uid in former.iter().flat_map(|m| m.iter()) {
            self.reevaluate_role(uid).await?;
        }
        self.audit(AuditEvent::new(Operation::DeleteGroup, id));
        Ok(())
    }
}
