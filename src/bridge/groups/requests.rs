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
use crate::bridge::groups::plan::{plan_group_create, reevaluates_members_on_delete};
use crate::bridge::mapping::text_checks::check_member_ids;
use crate::bridge::mapping::{group_row, group_to_scim};
use crate::bridge::operation::Operation;
use crate::bridge::tenant::Tenant;
use crate::scim::list::ListQuery;
use crate::scim::schema::{ResourceKind, SchemaRegistry};
use crate::scim::stored::Stored;
use crate::scim::version::check_if_match;
use crate::scim::{urn, ScimError};
use crate::store::GroupRow;
use crate::tableau::limits::is_luid;
use crate::tableau::model::Group;
use crate::tableau::TableauError;

/// A failure after some of a request's changes were applied in Tableau, said honestly.
pub(super) fn partial(done: &[String], e: BridgeError) -> BridgeError {
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
    pub(super) async fn existing_group(&self, id: &str) -> BridgeResult<Group> {
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
        let plan = plan_group_create(&input, &self.roles())?;
        check_member_ids(&plan.members)?;
        let _serial = self.locks.lock(&format!("group:{}", plan.name)).await?;
        // Its minimum site role grants a role at sign-in: deactivated members stay out.
        let grant = self
            .policy()
            .group_minimum_site_role
            .filter(|r| r.tier().is_some());
        let (add_now, kept_out) = self
            .keep_deactivated_out(&plan.name, grant, &plan.members)
            .await?;
        let g = match self
            .client
            .create_group(&plan.name, self.policy().group_minimum_site_role)
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
    pub(super) fn audit_kept_out(&self, op: Operation, group_id: &str, kept_out: &[String]) {
        if !kept_out.is_empty() {
            self.audit(AuditEvent::new(op, group_id).outcome(format!(
                "{} deactivated members kept out until reactivated (the group grants a site role at sign-in): {}",
                kept_out.len(),
                kept_out.join(", ")
            )));
        }
    }

    pub(super) async fn add_group_members(
        &self,
        group_id: &str,
        ids: &[String],
    ) -> BridgeResult<()> {
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
            resources.push(Stored::new(group_to_scim(
                g,
                row_of.get(g.id.as_str()).copied(),
                members.as_deref().map(Vec::as_slice),
            )));
        }
        Ok(ListPage {
            total: matches.len(),
            resources,
        })
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
        self.safety_gate(crate::bridge::safety::Destructive {
            kind: "Group",
            resource: id.into(),
            name: g.name.clone(),
            op: Operation::DeleteGroup,
            summary: format!("delete the group '{}'", g.name),
            change: serde_json::Value::Null,
            roles: (None, None),
            weight: 1,
        })
        .await?;
        let former = if reevaluates_members_on_delete(&g, &self.roles()) {
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
