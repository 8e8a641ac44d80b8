//! An in-memory [`ResourceStore`]: the protocol's reference behaviour, used by the protocol tests
//! and by `tableau-scim protocol-demo`. Not durable.

use std::collections::BTreeMap;
use std::sync::RwLock;

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{timestamp, IfMatch, ListPage, ResourceStore};
use crate::scim::change::Change;
use crate::scim::list::ListQuery;
use crate::scim::projection::Projection;
use crate::scim::schema::{ResourceKind, SchemaRegistry};
use crate::scim::stored::{Shared, Stored};
use crate::scim::version::{check_if_match, set_meta};
use crate::scim::{ScimError, ScimResult};

#[derive(Debug, Default)]
struct Inner {
    users: BTreeMap<String, Value>,
    groups: BTreeMap<String, Value>,
}

impl Inner {
    fn table(&self, kind: ResourceKind) -> &BTreeMap<String, Value> {
        match kind {
            ResourceKind::User => &self.users,
            ResourceKind::Group => &self.groups,
        }
    }

    fn table_mut(&mut self, kind: ResourceKind) -> &mut BTreeMap<String, Value> {
        match kind {
            ResourceKind::User => &mut self.users,
            ResourceKind::Group => &mut self.groups,
        }
    }

    /// The resource as clients see it: users with their `groups`.
    fn view(&self, kind: ResourceKind, stored: &Value) -> Value {
        let mut v = stored.clone();
        let id = stored["id"].as_str().unwrap_or_default();
        match kind {
            ResourceKind::User => {
                let groups: Vec<Value> = self
                    .groups
                    .values()
                    .filter(|g| {
                        g["members"]
                            .as_array()
                            .is_some_and(|m| m.iter().any(|m| m["value"] == id))
                    })
                    .map(|g| json!({"value": g["id"], "display": g["displayName"], "type": "direct"}))
                    .collect();
                if let (false, Some(o)) = (groups.is_empty(), v.as_object_mut()) {
                    o.insert("groups".into(), Value::Array(groups));
                }
            }
            // Members are served as they were written (scim-idp.md checklist 3); a computed
            // `display` would differ from what the client sent.
            ResourceKind::Group => {}
        }
        v
    }

    fn unique_key(kind: ResourceKind) -> &'static str {
        match kind {
            ResourceKind::User => "userName",
            ResourceKind::Group => "displayName",
        }
    }

    /// `userName` and group `displayName` are unique, case-insensitively (checklist 4).
    fn check_unique(
        &self,
        kind: ResourceKind,
        resource: &Value,
        except: Option<&str>,
    ) -> ScimResult<()> {
        let key = Self::unique_key(kind);
        let wanted = resource[key].as_str().unwrap_or_default().to_lowercase();
        let taken = self.table(kind).values().any(|r| {
            r["id"].as_str() != except
                && r[key].as_str().is_some_and(|v| v.to_lowercase() == wanted)
        });
        if taken {
            return Err(ScimError::Uniqueness(format!(
                "a {} with {key} '{}' already exists",
                kind.name(),
                resource[key].as_str().unwrap_or_default()
            )));
        }
        Ok(())
    }

    fn check_members(&self, resource: &Value) -> ScimResult<()> {
        for m in resource["members"].as_array().into_iter().flatten() {
            let id = m["value"].as_str().unwrap_or_default();
            if !self.users.contains_key(id) && !self.groups.contains_key(id) {
                return Err(ScimError::InvalidValue(format!(
                    "member '{id}' is not the id of a known User or Group"
                )));
            }
        }
        Ok(())
    }

    fn existing(&self, kind: ResourceKind, id: &str, if_match: IfMatch<'_>) -> ScimResult<&Value> {
        let current = self
            .table(kind)
            .get(id)
            .ok_or_else(|| not_found(kind, id))?;
        check_if_match(current, if_match, kind)?;
        Ok(current)
    }

    /// Store `new` (canonical, without server attributes) over `current`, keeping `id` and
    /// `meta.created`; `lastModified` and `version` move only when something changed.
    fn commit(&mut self, kind: ResourceKind, current: &Value, mut new: Value) -> ScimResult<Value> {
        let id = current["id"].as_str().unwrap_or_default().to_string();
        strip_server_attributes(&mut new);
        let mut old = current.clone();
        strip_server_attributes(&mut old);
        if old == new {
            return Ok(current.clone());
        }
        self.check_unique(kind, &new, Some(&id))?;
        if kind == ResourceKind::Group {
            self.check_members(&new)?;
        }
        if let Some(o) = new.as_object_mut() {
            o.insert("id".into(), id.clone().into());
        }
        set_meta(
            &mut new,
            current["meta"]["created"].as_str(),
            Some(&timestamp()),
        );
        self.table_mut(kind).insert(id, new.clone());
        Ok(new)
    }
}

fn strip_server_attributes(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
        o.remove("meta");
        o.remove("groups");
    }
}

fn not_found(kind: ResourceKind, id: &str) -> ScimError {
    ScimError::NotFound(format!("no {} with id '{id}'", kind.name()))
}

/// An in-memory resource store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> ScimResult<std::sync::RwLockReadGuard<'_, Inner>> {
        self.inner
            .read()
            .map_err(|_| ScimError::Internal("memory store lock poisoned".into()))
    }

    fn write(&self) -> ScimResult<std::sync::RwLockWriteGuard<'_, Inner>> {
        self.inner
            .write()
            .map_err(|_| ScimError::Internal("memory store lock poisoned".into()))
    }
}

#[async_trait]
impl ResourceStore for MemoryStore {
    async fn create(&self, kind: ResourceKind, mut resource: Value) -> ScimResult<Value> {
        let mut inner = self.write()?;
        strip_server_attributes(&mut resource);
        inner.check_unique(kind, &resource, None)?;
        if kind == ResourceKind::Group {
            inner.check_members(&resource)?;
        }
        let id = uuid::Uuid::new_v4().to_string();
        let at = timestamp();
        let mut stored = Map::new();
        stored.insert("id".into(), id.clone().into());
        if let Value::Object(o) = resource {
            stored.extend(o);
        }
        let mut stored = Value::Object(stored);
        set_meta(&mut stored, Some(&at), Some(&at));
        inner.table_mut(kind).insert(id, stored.clone());
        Ok(inner.view(kind, &stored))
    }

    async fn get(
        &self,
        kind: ResourceKind,
        id: &str,
        _projection: &Projection,
    ) -> ScimResult<Shared> {
        let inner = self.read()?;
        let stored = inner
            .table(kind)
            .get(id)
            .ok_or_else(|| not_found(kind, id))?;
        Ok(Stored::new(inner.view(kind, stored)))
    }

    async fn list(&self, kind: ResourceKind, query: &ListQuery) -> ScimResult<ListPage> {
        let inner = self.read()?;
        let schema = SchemaRegistry::builtin().resource(kind);
        let matches: Vec<Shared> = inner
            .table(kind)
            .values()
            .map(|r| inner.view(kind, r))
            .filter(|r| query.filter.as_ref().is_none_or(|f| f.matches(r, &schema)))
            .map(Stored::new)
            .collect();
        Ok(query.page_of(matches))
    }

    async fn update(
        &self,
        kind: ResourceKind,
        id: &str,
        change: Change<'_>,
        if_match: IfMatch<'_>,
    ) -> ScimResult<Value> {
        let mut inner = self.write()?;
        let current = inner.existing(kind, id, if_match)?.clone();
        let new = change.desired(kind, &current)?;
        let stored = inner.commit(kind, &current, new)?;
        Ok(inner.view(kind, &stored))
    }

    async fn delete(&self, kind: ResourceKind, id: &str, if_match: IfMatch<'_>) -> ScimResult<()> {
        let mut inner = self.write()?;
        inner.existing(kind, id, if_match)?;
        inner.table_mut(kind).remove(id);
        // A deleted user or group leaves every group it was a member of.
        for g in inner.groups.values_mut() {
            if let Some(members) = g.get_mut("members").and_then(Value::as_array_mut) {
                members.retain(|m| m["value"] != id);
                if members.is_empty() {
                    if let Some(o) = g.as_object_mut() {
                        o.remove("members");
                    }
                }
            }
        }
        Ok(())
    }
}
