//! `/Groups` on Tableau local groups. "All Users" is Tableau's own and never shown.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::error::{BridgeError, BridgeResult};
use super::store::{AuditRow, GroupRow};
use super::tenant::Tenant;
use super::users::{check_if_match, now, page_of, version_of};
use crate::backend::ListPage;
use crate::scim::list::ListQuery;
use crate::scim::patch::{self, PatchRequest};
use crate::scim::schema::{ResourceKind, SchemaRegistry};
use crate::scim::{urn, ScimError};
use crate::tableau::model::Group;
use crate::tableau::TableauError;

fn member_ids(r: &Value) -> BridgeResult<Vec<String>> {
    let mut out = Vec::new();
    for m in r["members"].as_array().into_iter().flatten() {
        if m["type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("Group"))
        {
            return Err(ScimError::InvalidValue(format!(
                "member '{}' is a Group; Tableau groups cannot contain groups",
                m["value"].as_str().unwrap_or_default()
            ))
            .into());
        }
        if let Some(v) = m["value"].as_str() {
            if !out.iter().any(|x| x == v) {
                out.push(v.to_string());
            }
        }
    }
    Ok(out)
}

impl Tenant {
    fn group_to_scim(
        &self,
        g: &Group,
        row: Option<&GroupRow>,
        members: Option<&[String]>,
    ) -> Value {
        let mut r = Map::new();
        r.insert("id".into(), g.id.clone().into());
        r.insert("displayName".into(), g.name.clone().into());
        if let Some(ext) = row.and_then(|r| r.external_id.clone()) {
            r.insert("externalId".into(), ext.into());
        }
        if let Some(m) = members {
            if !m.is_empty() {
                let list: Vec<Value> = m
                    .iter()
                    .map(|id| json!({"value": id, "type": "User"}))
                    .collect();
                r.insert("members".into(), Value::Array(list));
            }
        }
        let mut resource = Value::Object(r);
        let mut meta = Map::new();
        if let Some(row) = row {
            meta.insert("created".into(), row.created.clone().into());
            meta.insert("lastModified".into(), row.last_modified.clone().into());
        }
        meta.insert("version".into(), version_of(&resource).into());
        if let Some(o) = resource.as_object_mut() {
            o.insert("meta".into(), Value::Object(meta));
        }
        resource
    }

    /// A group by id. Tableau has no "get group" call: a miss lists the groups once (one call
    /// per 1,000 groups) and caches them all.
    async fn load_group(&self, id: &str) -> BridgeResult<Option<Group>> {
        let cached = self.caches.group_by_id.get(id);
        self.caches.record(cached.is_some());
        if cached.is_some() {
            return Ok(cached);
        }
        let all = self.client.all_groups().await?;
        let mut found = None;
        for g in all.into_iter().filter(|g| !g.is_all_users()) {
            if g.id == id {
                found = Some(g.clone());
            }
            self.caches.put_group(&g);
        }
        Ok(found)
    }

    /// The groups whose names grant a site role (`group_roles`), from Tableau's group list.
    pub(crate) async fn granting_groups(&self) -> BridgeResult<Vec<Group>> {
        let all = self.client.all_groups().await?;
        Ok(all
            .into_iter()
            .filter(|g| self.roles.group_grants(&g.name))
            .collect())
    }

    /// Member ids of a group (cached).
    pub(crate) async fn group_member_ids(&self, id: &str) -> BridgeResult<Arc<Vec<String>>> {
        self.members_of(id).await
    }

    async fn members_of(&self, id: &str) -> BridgeResult<Arc<Vec<String>>> {
        self.caches
            .get_or_load(&self.caches.group_members, id, async {
                self.client.group_members(id).await.map(|users| {
                    Arc::new(users.into_iter().map(|u| u.id.into()).collect::<Vec<_>>())
                })
            })
            .await
            .map_err(|e: TableauError| e.into())
    }

    fn group_audit(&self, operation: &str, resource: &str, outcome: &str) {
        let row = AuditRow {
            operation: operation.into(),
            resource: resource.into(),
            tableau_calls: crate::tableau::stats::calls_in_scope(),
            role_before: None,
            role_after: None,
            outcome: outcome.into(),
        };
        if let Err(e) = self.store.audit(&self.id, &now(), row) {
            tracing::error!(error = %e, "audit row not written");
        }
    }

    /// `GET /Groups/{id}`; members only when wanted (`excludedAttributes=members` skips them).
    pub async fn get_group(&self, id: &str, want_members: bool) -> BridgeResult<Value> {
        let g = self
            .load_group(id)
            .await?
            .ok_or_else(|| ScimError::NotFound(format!("no Group with id '{id}'")))?;
        let row = self.store.group(&self.id, id).await?;
        let members = if want_members {
            Some(self.members_of(id).await?)
        } else {
            None
        };
        Ok(self.group_to_scim(&g, row.as_ref(), members.as_deref().map(Vec::as_slice)))
    }

    /// `POST /Groups`.
    pub async fn create_group(&self, input: Value) -> BridgeResult<Value> {
        let name = input["displayName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let members = member_ids(&input)?;
        let _serial = self.locks.lock(&format!("group:{name}")).await;
        let g = match self
            .client
            .create_group(&name, self.policy.group_minimum_site_role)
            .await
        {
            Ok(g) => g,
            Err(e) if e.is_group_exists() => {
                return Err(ScimError::Uniqueness(format!(
                    "a Tableau group named '{name}' already exists"
                ))
                .into())
            }
            Err(e) => return Err(e.into()),
        };
        self.caches.put_group(&g);
        if let Err(error) = self.add_group_members(&g.id, &members).await {
            self.group_audit("create_group", &g.id, "members failed");
            return Err(match error {
                BridgeError::Tableau(error) => BridgeError::Partial {
                    done: format!("group {} was created", g.id),
                    error,
                },
                other => other,
            });
        }
        let at = now();
        let row = GroupRow {
            id: g.id.clone(),
            display_name: g.name.clone(),
            external_id: input["externalId"].as_str().map(str::to_string),
            created: at.clone(),
            last_modified: at,
        };
        self.store.put_group(&self.id, row.clone()).await?;
        self.caches
            .group_members
            .insert(g.id.clone(), Arc::new(members.clone()));
        if self.roles.group_grants(&g.name) {
            for uid in &members {
                self.reevaluate_role(uid).await?;
            }
        }
        self.group_audit("create_group", &g.id, "ok");
        Ok(self.group_to_scim(&g, Some(&row), Some(&members)))
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
        let row_of = |id: &str| rows.iter().find(|r| r.id == id);
        let simple = query
            .filter
            .as_ref()
            .and_then(|f| f.as_simple_eq())
            .filter(|(p, _)| {
                p.name.eq_ignore_ascii_case("displayName")
                    && p.urn.as_deref().is_none_or(|u| u == urn::GROUP)
            });
        let groups: Vec<Group> = match simple {
            Some((_, name)) => match self.client.find_group_by_name(name).await? {
                Some(g) => vec![g],
                // Tableau's name:eq is exact; SCIM's displayName is not case-sensitive.
                None => self
                    .client
                    .all_groups()
                    .await?
                    .into_iter()
                    .filter(|g| g.name.eq_ignore_ascii_case(name))
                    .collect(),
            },
            None => self.client.all_groups().await?,
        };
        let mut matches = Vec::new();
        for g in groups.into_iter().filter(|g| !g.is_all_users()) {
            self.caches.put_group(&g);
            let members = if want_members {
                Some(self.members_of(&g.id).await?)
            } else {
                None
            };
            let r = self.group_to_scim(&g, row_of(&g.id), members.as_deref().map(Vec::as_slice));
            if query.filter.as_ref().is_none_or(|f| f.matches(&r, &schema)) {
                matches.push(r);
            }
        }
        Ok(page_of(matches, query))
    }

    /// `PUT /Groups/{id}`: exactly the given members.
    pub async fn replace_group(
        &self,
        id: &str,
        input: Value,
        if_match: Option<&str>,
    ) -> BridgeResult<Value> {
        self.update_group_with(id, if_match, "replace_group", |_| Ok(input))
            .await
    }

    /// `PATCH /Groups/{id}`.
    pub async fn patch_group(
        &self,
        id: &str,
        req: &PatchRequest,
        if_match: Option<&str>,
    ) -> BridgeResult<Value> {
        let schema = SchemaRegistry::builtin().resource(ResourceKind::Group);
        self.update_group_with(id, if_match, "patch_group", |current| {
            Ok(patch::apply(&schema, current, req)?)
        })
        .await
    }

    async fn update_group_with(
        &self,
        id: &str,
        if_match: Option<&str>,
        op: &str,
        desired: impl FnOnce(&Value) -> BridgeResult<Value>,
    ) -> BridgeResult<Value> {
        let _serial = self.locks.lock(&format!("group-id:{id}")).await;
        let g = self
            .load_group(id)
            .await?
            .ok_or_else(|| ScimError::NotFound(format!("no Group with id '{id}'")))?;
        let row = self.store.group(&self.id, id).await?;
        let old_members = self.members_of(id).await?;
        let current = self.group_to_scim(&g, row.as_ref(), Some(&old_members));
        check_if_match(&current, if_match, "Group")?;
        let new = desired(&current)?;
        let new_name = new["displayName"].as_str().unwrap_or_default().to_string();
        let new_members = member_ids(&new)?;
        let added: Vec<String> = new_members
            .iter()
            .filter(|m| !old_members.contains(m))
            .cloned()
            .collect();
        let removed: Vec<String> = old_members
            .iter()
            .filter(|m| !new_members.contains(m))
            .cloned()
            .collect();
        let mut group = g.clone();
        let mut done = Vec::new();
        if new_name != g.name {
            group = match self.client.update_group(id, &new_name, None).await {
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
        let partial = |done: &[String], e: BridgeError| -> BridgeError {
            match e {
                BridgeError::Tableau(error) if !done.is_empty() => BridgeError::Partial {
                    done: done.join(", "),
                    error,
                },
                other => other,
            }
        };
        if !removed.is_empty() {
            self.caches.group_members.invalidate(id);
            if let Err(e) = self.client.remove_members(id, &removed).await {
                self.group_audit(op, id, &e.to_string());
                return Err(partial(&done, e.into()));
            }
            done.push(format!("{} members removed", removed.len()));
        }
        if !added.is_empty() {
            self.caches.group_members.invalidate(id);
            if let Err(e) = self.add_group_members(id, &added).await {
                self.group_audit(op, id, &e.to_string());
                return Err(partial(&done, e));
            }
            done.push(format!("{} members added", added.len()));
        }
        self.caches
            .group_members
            .insert(id.to_string(), Arc::new(new_members.clone()));
        // Membership of a role-granting group (or a rename into or out of one) changes roles.
        if self.roles.group_grants(&group.name) || self.roles.group_grants(&g.name) {
            let affected: Vec<String> = if group.name != g.name {
                old_members
                    .iter()
                    .chain(new_members.iter())
                    .cloned()
                    .collect()
            } else {
                added.iter().chain(removed.iter()).cloned().collect()
            };
            for uid in affected {
                if let Err(e) = self.reevaluate_role(&uid).await {
                    return Err(partial(&done, e));
                }
            }
        }
        let external_id = new["externalId"].as_str().map(str::to_string);
        let row_changed = row
            .as_ref()
            .is_none_or(|r| r.external_id != external_id || r.display_name != group.name);
        let row = if row_changed || !done.is_empty() {
            let at = now();
            let r = GroupRow {
                id: id.to_string(),
                display_name: group.name.clone(),
                external_id,
                created: row
                    .as_ref()
                    .map_or_else(|| at.clone(), |r| r.created.clone()),
                last_modified: at,
            };
            self.store.put_group(&self.id, r.clone()).await?;
            self.group_audit(op, id, "ok");
            Some(r)
        } else {
            row
        };
        // Served from what this request wrote, not a fresh listing (checklist 3).
        Ok(self.group_to_scim(&group, row.as_ref(), Some(&new_members)))
    }

    /// `DELETE /Groups/{id}`.
    pub async fn delete_group(&self, id: &str, if_match: Option<&str>) -> BridgeResult<()> {
        let _serial = self.locks.lock(&format!("group-id:{id}")).await;
        let g = self
            .load_group(id)
            .await?
            .ok_or_else(|| ScimError::NotFound(format!("no Group with id '{id}'")))?;
        if if_match.is_some() {
            let row = self.store.group(&self.id, id).await?;
            let members = self.members_of(id).await?;
            check_if_match(
                &self.group_to_scim(&g, row.as_ref(), Some(&members)),
                if_match,
                "Group",
            )?;
        }
        let former = if self.roles.group_grants(&g.name) {
            Some(self.members_of(id).await?)
        } else {
            None
        };
        self.client.delete_group(id).await?;
        self.store.delete_group(&self.id, id).await?;
        self.caches.forget_group(&g);
        for uid in former.iter().flat_map(|m| m.iter()) {
            self.reevaluate_role(uid).await?;
        }
        self.group_audit("delete_group", id, "ok");
        Ok(())
    }
}
