//! `/Users` on Tableau: every SCIM operation as the fewest correct Tableau calls.
//!
//! | SCIM | Tableau / store |
//! |---|---|
//! | `id` | user LUID |
//! | `userName` | `name` |
//! | `name.formatted`, `givenName`+`familyName`, `displayName` | `fullName` |
//! | primary (else first) `emails[].value` | `email` |
//! | `roles[].value` (and Tableau's `siteRoles`) | `siteRole`, through the role mapping |
//! | `active` | false: `Unlicensed`; true: the mapped role again |
//! | `groups` | the user's Tableau groups (on request: it costs a call) |
//! | everything else | the store |

use chrono::{SecondsFormat, Utc};
use std::sync::Arc;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::cache::{IdKey, UserPage};
use super::error::{BridgeError, BridgeResult};
use super::store::{AuditRow, UserRow};
use super::tenant::{Deprovision, OnLicenseExhausted, RejectedUser, Tenant};
use crate::backend::ListPage;
use crate::scim::filter::Filter;
use crate::scim::list::ListQuery;
use crate::scim::patch::{self, PatchRequest};
use crate::scim::projection::Projection;
use crate::scim::schema::{ResourceKind, SchemaRegistry};
use crate::scim::{urn, ScimError};
use crate::tableau::model::{NewUser, User, UserUpdate};
use crate::tableau::{NameMatch, SiteRole, TableauError};

pub(crate) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A weak ETag over the resource's content: it moves exactly when what a client can read moves.
pub(crate) fn version_of(resource: &Value) -> String {
    // The digest of the resource's compact JSON without `meta`, written straight into the
    // hash: cloning and printing the resource first was a tenth of a cached read's CPU.
    let mut h = HashWriter(Sha256::new());
    match resource {
        Value::Object(o) => {
            h.0.update(b"{");
            for (i, (k, v)) in o.iter().filter(|(k, _)| k.as_str() != "meta").enumerate() {
                if i > 0 {
                    h.0.update(b",");
                }
                h.json(k);
                h.0.update(b":");
                h.json(v);
            }
            h.0.update(b"}");
        }
        other => h.json(other),
    }
    let digest = h.0.finalize();
    format!("W/\"{}\"", hex::encode(&digest[..8]))
}

/// Feeds what serde_json prints into a SHA-256.
struct HashWriter(Sha256);

impl HashWriter {
    fn json<T: serde::Serialize + ?Sized>(&mut self, value: &T) {
        // Writing into a hash cannot fail, and a `Value` always serializes.
        let _ = serde_json::to_writer(&mut *self, value);
    }
}

impl std::io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(crate) fn check_if_match(
    current: &Value,
    if_match: Option<&str>,
    what: &str,
) -> BridgeResult<()> {
    let Some(wanted) = if_match else {
        return Ok(());
    };
    let version = current["meta"]["version"].as_str().unwrap_or_default();
    if wanted.trim() == "*" || wanted.split(',').any(|w| w.trim() == version) {
        Ok(())
    } else {
        Err(ScimError::PreconditionFailed(format!(
            "the {what} has changed: If-Match {wanted} is not the current version {version}"
        ))
        .into())
    }
}

/// Keys the store never keeps: Tableau holds them, or the server sets them.
const NOT_STORED: [&str; 6] = [
    "id",
    "meta",
    "userName",
    "externalId",
    "groups",
    urn::TABLEAU_SCIM_USER,
];

fn stored_attributes(resource: &Value) -> Value {
    let mut out = resource.clone();
    if let Some(o) = out.as_object_mut() {
        for k in NOT_STORED {
            o.remove(k);
        }
    }
    out
}

fn full_name(r: &Value) -> Option<String> {
    let name = &r["name"];
    if let Some(f) = name["formatted"].as_str().filter(|s| !s.trim().is_empty()) {
        return Some(f.to_string());
    }
    let parts: Vec<&str> = [&name["givenName"], &name["familyName"]]
        .iter()
        .filter_map(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .collect();
    if !parts.is_empty() {
        return Some(parts.join(" "));
    }
    r["displayName"]
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
}

fn email(r: &Value) -> Option<String> {
    let emails = r["emails"].as_array()?;
    emails
        .iter()
        .find(|e| e["primary"] == true)
        .or_else(|| emails.first())
        .and_then(|e| e["value"].as_str())
        .map(str::to_string)
}

fn role_values(r: &Value) -> Option<Vec<String>> {
    let roles = r["roles"].as_array()?;
    Some(
        roles
            .iter()
            .filter_map(|x| x["value"].as_str().map(str::to_string))
            .collect(),
    )
}

fn is_active(r: &Value) -> bool {
    r["active"] != false
}

impl Tenant {
    /// The mapped role of a resource's `roles` and of the role-granting groups the user is in,
    /// or `None` when neither says anything.
    fn mapped_role(&self, r: &Value, granting_groups: &[String]) -> BridgeResult<Option<SiteRole>> {
        let values = role_values(r).unwrap_or_default();
        if values.iter().all(|v| v.trim().is_empty()) && granting_groups.is_empty() {
            return Ok(None);
        }
        self.roles
            .resolve(
                values.iter().map(String::as_str),
                granting_groups.iter().map(String::as_str),
            )
            .map(Some)
            .map_err(|e| ScimError::InvalidValue(e.to_string()).into())
    }

    /// The names of the role-granting groups (`group_roles`) that have `user_id` as a member.
    /// Costs nothing unless the tenant maps groups to roles.
    pub(crate) async fn granting_groups_of(&self, user_id: &str) -> BridgeResult<Vec<String>> {
        if !self.roles.has_group_roles() {
            return Ok(Vec::new());
        }
        let mut names = Vec::new();
        for g in self.granting_groups().await? {
            if self
                .group_member_ids(&g.id)
                .await?
                .iter()
                .any(|m| m == user_id)
            {
                names.push(g.name);
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
        let current = self.user_to_scim(&cur, row.as_deref(), None);
        if !is_active(&current) {
            return Ok(());
        }
        let grants = self.granting_groups_of(user_id).await?;
        let wanted = self
            .mapped_role(&current, &grants)?
            .unwrap_or(self.roles.default_role());
        if cur.role() == Some(wanted) {
            return Ok(());
        }
        let upd = UserUpdate {
            site_role: Some(wanted),
            ..UserUpdate::default()
        };
        let mut user = User::clone(&cur);
        merge(&mut user, self.client.update_user(user_id, &upd).await?);
        self.caches.put_user(&user);
        self.check_license(&user, wanted, "group_role").await?;
        self.audit(
            "group_role",
            user_id,
            cur.role().map(SiteRole::as_str),
            user.role().map(SiteRole::as_str),
            "ok",
        );
        Ok(())
    }

    /// The SCIM form of a Tableau user and its store row.
    pub(crate) fn user_to_scim(
        &self,
        u: &User,
        row: Option<&UserRow>,
        groups: Option<Vec<Value>>,
    ) -> Value {
        let mut r = match row.map(|r| &r.attributes) {
            Some(Value::Object(o)) => o.clone(),
            _ => Map::new(),
        };
        r.insert("id".into(), u.id.as_str().into());
        r.insert("userName".into(), u.name.as_str().into());
        if let Some(ext) = row.and_then(|r| r.external_id.clone()) {
            r.insert("externalId".into(), ext.into());
        }
        // A user we never wrote (pre-existing in Tableau) is described from Tableau; for one we
        // wrote, the attributes the IdP sent are the answer, removals included.
        if row.is_none() {
            if let Some(e) = &u.email {
                r.insert("emails".into(), json!([{"value": e, "primary": true}]));
            }
            if let Some(f) = &u.full_name {
                r.insert("displayName".into(), f.as_str().into());
            }
            r.insert(
                "active".into(),
                (u.role() != Some(SiteRole::Unlicensed)).into(),
            );
        }
        if let Some(g) = groups {
            if !g.is_empty() {
                r.insert("groups".into(), Value::Array(g));
            }
        }
        let mut ext = Map::new();
        ext.insert("siteRole".into(), u.site_role.as_str().into());
        if let Some(a) = &u.auth_setting {
            ext.insert("authSetting".into(), a.as_str().into());
        }
        if let Some(l) = &u.last_login {
            ext.insert("lastLogin".into(), l.as_str().into());
        }
        r.insert(urn::TABLEAU_SCIM_USER.into(), Value::Object(ext));
        let mut resource = Value::Object(r);
        let version = version_of(&resource);
        let mut meta = Map::new();
        if let Some(row) = row {
            meta.insert("created".into(), row.created.clone().into());
            meta.insert("lastModified".into(), row.last_modified.clone().into());
        }
        meta.insert("version".into(), version.into());
        if let Some(o) = resource.as_object_mut() {
            o.insert("meta".into(), Value::Object(meta));
        }
        resource
    }

    /// A Tableau user by id, from the cache or one call; `None` if absent or deleted via SCIM.
    pub(crate) async fn load_user(
        &self,
        id: &str,
    ) -> BridgeResult<Option<(Arc<User>, Option<Arc<UserRow>>)>> {
        let loaded = self
            .caches
            .get_or_load(&self.caches.user_by_id, &IdKey::of(id), async {
                match self.client.get_user(id).await {
                    Ok(Some(u)) => Ok(Arc::new(u)),
                    Ok(None) => Err(None),
                    Err(e) => Err(Some(e)),
                }
            })
            .await;
        let user = match loaded {
            Ok(u) => u,
            Err(None) => return Ok(None),
            Err(Some(err)) => return Err(err.into()),
        };
        let row = self.row_of(id).await?;
        if row.as_ref().is_some_and(|r| r.deleted) {
            return Ok(None);
        }
        Ok(Some((user, row)))
    }

    async fn user_groups(&self, id: &str) -> BridgeResult<Vec<Value>> {
        let groups = self.client.groups_of_user(id).await?;
        Ok(groups
            .into_iter()
            .filter(|g| !g.is_all_users())
            .map(|g| json!({"value": g.id, "display": g.name, "type": "direct"}))
            .collect())
    }

    fn audit(
        &self,
        operation: &str,
        resource: &str,
        before: Option<&str>,
        after: Option<&str>,
        outcome: &str,
    ) {
        let row = AuditRow {
            operation: operation.into(),
            resource: resource.into(),
            tableau_calls: crate::tableau::stats::calls_in_scope(),
            role_before: before.map(str::to_string),
            role_after: after.map(str::to_string),
            outcome: outcome.into(),
        };
        if let Err(e) = self.store.audit(&self.id, &now(), row) {
            tracing::error!(error = %e, "audit row not written");
        }
    }

    /// `GET /Users/{id}`.
    pub async fn get_user(&self, id: &str, projection: &Projection) -> BridgeResult<Value> {
        let (u, row) = self
            .load_user(id)
            .await?
            .ok_or_else(|| ScimError::NotFound(format!("no User with id '{id}'")))?;
        let groups = if projection.requests("groups") {
            Some(self.user_groups(id).await?)
        } else {
            None
        };
        Ok(self.user_to_scim(&u, row.as_deref(), groups))
    }

    /// `POST /Users`.
    pub async fn create_user(&self, input: Value) -> BridgeResult<Value> {
        let user_name = input["userName"].as_str().unwrap_or_default().to_string();
        // Role errors are the IdP's to fix: refused before any Tableau call.
        let mapped = self
            .mapped_role(&input, &[])?
            .unwrap_or(self.roles.default_role());
        let requested = if is_active(&input) {
            mapped
        } else {
            SiteRole::Unlicensed
        };
        let _serial = self.locks.lock(&user_name).await;
        let wanted_name = full_name(&input);
        let wanted_email = email(&input);
        let new = NewUser {
            name: user_name.clone(),
            site_role: requested,
            auth_setting: self.policy.auth_setting.clone(),
            idp_configuration_id: self.policy.idp_configuration_id.clone(),
            email: wanted_email.clone(),
        };
        let mut user = match self.client.add_user(&new).await {
            Ok(u) => u,
            Err(e) if e.is_user_exists() => {
                return self.revive_or_conflict(&user_name, input, requested).await
            }
            Err(e) => {
                self.audit("create_user", &user_name, None, None, &e.to_string());
                return Err(e.into());
            }
        };
        self.check_license(&user, requested, "create_user").await?;
        let upd = UserUpdate {
            full_name: wanted_name.filter(|f| user.full_name.as_deref() != Some(f.as_str())),
            email: wanted_email.filter(|e| user.email.as_deref() != Some(e.as_str())),
            ..UserUpdate::default()
        };
        if !upd.is_empty() {
            match self.client.update_user(&user.id, &upd).await {
                Ok(after) => merge(&mut user, after),
                Err(error) => {
                    self.audit(
                        "create_user",
                        &user.id,
                        None,
                        Some(&user.site_role),
                        &error.to_string(),
                    );
                    return Err(BridgeError::Partial {
                        done: format!("user {} was created", user.id),
                        error,
                    });
                }
            }
        }
        let row = self.remember_created(&user, &input).await?;
        self.audit("create_user", &user.id, None, Some(&user.site_role), "ok");
        Ok(self.user_to_scim(&user, Some(&row), None))
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
        let Some(existing) = self
            .client
            .find_user_by_name(user_name, NameMatch::CaseInsensitive)
            .await?
        else {
            return Err(conflict());
        };
        let row = self.row_of(&existing.id).await?;
        if !row.as_ref().is_some_and(|r| r.deleted) {
            self.audit("create_user", user_name, None, None, "uniqueness");
            return Err(conflict());
        }
        let upd = UserUpdate {
            site_role: Some(requested).filter(|r| existing.role() != Some(*r)),
            full_name: full_name(&input)
                .filter(|f| existing.full_name.as_deref() != Some(f.as_str())),
            email: email(&input).filter(|e| existing.email.as_deref() != Some(e.as_str())),
            ..UserUpdate::default()
        };
        let mut user = existing.clone();
        if !upd.is_empty() {
            merge(
                &mut user,
                self.client.update_user(&existing.id, &upd).await?,
            );
        }
        self.check_license(&user, requested, "create_user").await?;
        let row = self.remember_created(&user, &input).await?;
        self.audit(
            "create_user",
            &user.id,
            existing.role().map(SiteRole::as_str),
            Some(&user.site_role),
            "revived",
        );
        Ok(self.user_to_scim(&user, Some(&row), None))
    }

    /// A user's store row, from the row cache or the store.
    async fn row_of(&self, id: &str) -> BridgeResult<Option<Arc<UserRow>>> {
        Ok(self
            .caches
            .get_or_load(&self.caches.user_rows, id, async {
                self.store
                    .user(&self.id, id)
                    .await
                    .map(|row| row.map(Arc::new))
            })
            .await?)
    }

    /// Write a user's store row, and the row cache with it.
    async fn put_row(&self, row: UserRow) -> BridgeResult<Arc<UserRow>> {
        let id = row.id.clone();
        self.store.put_user(&self.id, row.clone()).await?;
        let row = Arc::new(row);
        self.caches.user_rows.insert(id, Some(row.clone()));
        Ok(row)
    }

    /// Store and cache a user just created (or brought back) from `input`.
    async fn remember_created(&self, user: &User, input: &Value) -> BridgeResult<UserRow> {
        let at = now();
        let row = UserRow {
            id: user.id.to_string(),
            user_name: user.name.to_string(),
            external_id: input["externalId"].as_str().map(str::to_string),
            attributes: stored_attributes(input),
            created: at.clone(),
            last_modified: at,
            restore_role: None,
            deleted: false,
        };
        self.put_row(row.clone()).await?;
        self.caches.put_user(user);
        Ok(row)
    }

    /// Tableau gave a lower role than asked: no seat was free in that tier.
    async fn check_license(&self, user: &User, requested: SiteRole, op: &str) -> BridgeResult<()> {
        let granted = user.role().unwrap_or(SiteRole::Unlicensed);
        if granted.privilege() >= requested.privilege() {
            return Ok(());
        }
        self.counters
            .license_downgrades
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tier = requested.tier().map_or("requested", |t| t.as_str());
        tracing::warn!(tenant.id = %self.id, scim.op = op, user.id = %user.id, requested = %requested, granted = %granted,
            "no {tier} license free in Tableau; the user got a lower site role");
        if self.policy.on_license_exhausted == OnLicenseExhausted::Downgrade {
            return Ok(());
        }
        let left = if op == "create_user" && self.policy.rejected_user == RejectedUser::Remove {
            self.client.remove_user(&user.id, None).await?;
            self.caches.forget_user(user);
            "the user was removed again"
        } else {
            "the user is Unlicensed in Tableau until a seat is free"
        };
        self.audit(
            op,
            &user.id,
            None,
            Some(granted.as_str()),
            "license exhausted",
        );
        Err(ScimError::Conflict(format!(
            "no {tier} license is free on the Tableau site, so {requested} could not be given; {left}"
        ))
        .into())
    }

    /// `GET /Users` with paging and filters.
    pub async fn list_users(&self, query: &ListQuery) -> BridgeResult<ListPage> {
        let schema = SchemaRegistry::builtin().resource(ResourceKind::User);
        if let Some(f) = &query.filter {
            if let Some(hit) = self.targeted_lookup(f).await? {
                let matches: Vec<Value> =
                    hit.into_iter().filter(|r| f.matches(r, &schema)).collect();
                return Ok(page_of(matches, query));
            }
        }
        let rows = self.store.users(&self.id).await?;
        let deleted = rows.iter().filter(|r| r.deleted).count();
        if query.filter.is_none() && deleted == 0 {
            return self.list_users_paged(query, &rows).await;
        }
        let users: Vec<Arc<User>> = self
            .client
            .all_users()
            .await?
            .into_iter()
            .map(Arc::new)
            .collect();
        for u in &users {
            self.caches.remember_user(u);
        }
        let by_id: std::collections::HashMap<&str, &UserRow> =
            rows.iter().map(|r| (r.id.as_str(), r)).collect();
        let matches: Vec<Value> = users
            .iter()
            .filter(|u| !by_id.get(u.id.as_str()).is_some_and(|r| r.deleted))
            .map(|u| self.user_to_scim(u, by_id.get(u.id.as_str()).copied(), None))
            .filter(|r| query.filter.as_ref().is_none_or(|f| f.matches(r, &schema)))
            .collect();
        Ok(page_of(matches, query))
    }

    /// No filter: a SCIM page is cut from Tableau pages of 1000, each fetched once and kept
    /// briefly, so an import of 10,000 users costs 10 calls whatever `count` the IdP uses, and
    /// `count=0` (totals only) costs one.
    async fn list_users_paged(
        &self,
        query: &ListQuery,
        rows: &[UserRow],
    ) -> BridgeResult<ListPage> {
        const TABLEAU_PAGE: usize = 1000;
        let by_id: std::collections::HashMap<&str, &UserRow> =
            rows.iter().map(|r| (r.id.as_str(), r)).collect();
        let start = query.start_index - 1;
        let first = self.user_page(1).await?;
        let total = usize::try_from(first.total).unwrap_or(usize::MAX);
        let end = start.saturating_add(query.count).min(total);
        let mut resources = Vec::new();
        let mut at = start;
        while at < end {
            let number = u32::try_from(at / TABLEAU_PAGE + 1).unwrap_or(u32::MAX);
            let page = if number == 1 {
                first.clone()
            } else {
                self.user_page(number).await?
            };
            let offset = at % TABLEAU_PAGE;
            let take = (end - at).min(TABLEAU_PAGE - offset);
            let slice: Vec<&Arc<User>> = page.users.iter().skip(offset).take(take).collect();
            if slice.is_empty() {
                break;
            }
            for u in &slice {
                self.caches.remember_user(u);
                resources.push(self.user_to_scim(u, by_id.get(u.id.as_str()).copied(), None));
            }
            at += slice.len();
        }
        Ok(ListPage { total, resources })
    }

    /// One Tableau page of 1000 users, from the cache or one call.
    async fn user_page(&self, number: u32) -> BridgeResult<Arc<UserPage>> {
        self.caches
            .get_or_load(&self.caches.user_pages, &number, async {
                match self.client.query_users(number, 1000, None).await {
                    Ok(p) => Ok(Arc::new(UserPage {
                        users: p.items.into_iter().map(Arc::new).collect(),
                        total: p.pagination.total_available,
                    })),
                    // Past the end Tableau answers 400006; for SCIM that is an empty page.
                    Err(e) if e.code() == Some("400006") => Ok(Arc::default()),
                    Err(e) => Err(e),
                }
            })
            .await
            .map_err(|e: TableauError| e.into())
    }

    /// `userName eq`, `id eq` and `externalId eq` (alone) are one lookup, not a listing.
    async fn targeted_lookup(&self, f: &Filter) -> BridgeResult<Option<Vec<Value>>> {
        let Some((path, value)) = f.as_simple_eq() else {
            return Ok(None);
        };
        if path.urn.as_deref().is_some_and(|u| u != urn::USER) {
            return Ok(None);
        }
        let found = if path.name.eq_ignore_ascii_case("userName") {
            self.find_by_name(value).await?.into_iter().collect()
        } else if path.name.eq_ignore_ascii_case("id") {
            self.load_user(value).await?.into_iter().collect()
        } else if path.name.eq_ignore_ascii_case("externalId") {
            let mut out = Vec::new();
            for id in self.store.user_ids_by_external_id(&self.id, value).await? {
                out.extend(self.load_user(&id).await?);
            }
            out
        } else {
            return Ok(None);
        };
        Ok(Some(
            found
                .iter()
                .map(|(u, row)| self.user_to_scim(u, row.as_deref(), None))
                .collect(),
        ))
    }

    /// A user by name, case-insensitively, from the cache or one call. Pre-existing Tableau
    /// users are found too, so an IdP links them instead of creating (checklist 7).
    async fn find_by_name(
        &self,
        name: &str,
    ) -> BridgeResult<Option<(Arc<User>, Option<Arc<UserRow>>)>> {
        let cached = self.caches.user_named(name);
        self.caches.record(cached.is_some());
        let u = match cached {
            Some(u) => u,
            None => {
                let Some(u) = self
                    .client
                    .find_user_by_name(name, NameMatch::CaseInsensitive)
                    .await?
                else {
                    return Ok(None);
                };
                let u = Arc::new(u);
                self.caches.remember_user(&u);
                u
            }
        };
        let row = self.row_of(&u.id).await?;
        Ok(if row.as_ref().is_some_and(|r| r.deleted) {
            None
        } else {
            Some((u, row))
        })
    }

    /// Load a user, take the lock of its name, and load it again under the lock (the name is
    /// only known after a first load, and may have changed before the lock was taken).
    async fn lock_user(
        &self,
        id: &str,
    ) -> BridgeResult<(
        tokio::sync::MutexGuard<'_, ()>,
        Arc<User>,
        Option<Arc<UserRow>>,
    )> {
        let not_found = || ScimError::NotFound(format!("no User with id '{id}'"));
        let (first, _) = self.load_user(id).await?.ok_or_else(not_found)?;
        let guard = self.locks.lock(&first.name).await;
        let (cur, row) = self.load_user(id).await?.ok_or_else(not_found)?;
        Ok((guard, cur, row))
    }

    /// `PUT /Users/{id}`.
    pub async fn replace_user(
        &self,
        id: &str,
        input: Value,
        if_match: Option<&str>,
    ) -> BridgeResult<Value> {
        self.update_user_with(id, if_match, "replace_user", |_current| Ok(input))
            .await
    }

    /// `PATCH /Users/{id}`.
    pub async fn patch_user(
        &self,
        id: &str,
        req: &PatchRequest,
        if_match: Option<&str>,
    ) -> BridgeResult<Value> {
        let schema = SchemaRegistry::builtin().resource(ResourceKind::User);
        self.update_user_with(id, if_match, "patch_user", |current| {
            Ok(patch::apply(&schema, current, req)?)
        })
        .await
    }

    async fn update_user_with(
        &self,
        id: &str,
        if_match: Option<&str>,
        op: &str,
        desired: impl FnOnce(&Value) -> BridgeResult<Value>,
    ) -> BridgeResult<Value> {
        let (_serial, cur, row) = self.lock_user(id).await?;
        let current = self.user_to_scim(&cur, row.as_deref(), None);
        check_if_match(&current, if_match, "User")?;
        let new = desired(&current)?;
        let new_name = new["userName"].as_str().unwrap_or_default().to_string();
        let mut upd = UserUpdate::default();
        if new_name != cur.name {
            if !self.policy.can_rename {
                return Err(ScimError::Mutability(format!(
                    "userName cannot change from '{}' to '{new_name}': Tableau Cloud user names are the sign-in email and cannot be renamed; deprovision the old user and provision a new one",
                    cur.name
                ))
                .into());
            }
            upd.name = Some(new_name.clone());
        }
        upd.full_name = full_name(&new).filter(|f| cur.full_name.as_deref() != Some(f.as_str()));
        upd.email = email(&new).filter(|e| cur.email.as_deref() != Some(e.as_str()));
        let was_active = is_active(&current);
        let now_active = is_active(&new);
        let grants = self.granting_groups_of(id).await?;
        let mapped = self.mapped_role(&new, &grants)?;
        let current_role = cur.role();
        let mut restore_role = row.as_ref().and_then(|r| r.restore_role.clone());
        let target = if !now_active {
            if was_active && current_role != Some(SiteRole::Unlicensed) {
                restore_role = current_role.map(|r| r.as_str().to_string());
            }
            Some(SiteRole::Unlicensed)
        } else if !was_active {
            // Reactivation: the role the IdP's roles map to now, or the stored one, or the default.
            let stored = restore_role
                .as_deref()
                .and_then(|r| r.parse::<SiteRole>().ok())
                .filter(|r| r.is_assignable());
            Some(mapped.or(stored).unwrap_or(self.roles.default_role()))
        } else {
            // Without `roles` the IdP says nothing about the role: leave Tableau's alone.
            mapped
        };
        upd.site_role = target.filter(|t| Some(*t) != current_role);
        let mut user = User::clone(&cur);
        if !upd.is_empty() {
            match self.client.update_user(id, &upd).await {
                Ok(after) => merge(&mut user, after),
                Err(e) if e.is_user_exists() => {
                    return Err(ScimError::Uniqueness(format!(
                        "a Tableau user named '{new_name}' already exists"
                    ))
                    .into())
                }
                Err(e) => {
                    self.audit(
                        op,
                        id,
                        current_role.map(SiteRole::as_str),
                        None,
                        &e.to_string(),
                    );
                    return Err(e.into());
                }
            }
            self.caches.forget_user(&cur);
            self.caches.put_user(&user);
            if let Some(wanted) = upd.site_role {
                if let Err(e) = self.check_license(&user, wanted, op).await {
                    // Reject policy: put the previous role back rather than leave a downgrade.
                    if let Some(prev) = current_role.filter(|r| r.is_assignable()) {
                        let back = UserUpdate {
                            site_role: Some(prev),
                            ..UserUpdate::default()
                        };
                        if let Ok(after) = self.client.update_user(id, &back).await {
                            merge(&mut user, after);
                            self.caches.put_user(&user);
                        }
                    }
                    return Err(e);
                }
            }
        }
        let attributes = stored_attributes(&new);
        let external_id = new["externalId"].as_str().map(str::to_string);
        let changed_row = row.as_ref().is_none_or(|r| {
            r.attributes != attributes
                || r.external_id != external_id
                || r.restore_role != restore_role
                || r.user_name != user.name
        });
        let row = if changed_row || !upd.is_empty() {
            let at = now();
            let r = UserRow {
                id: id.to_string(),
                user_name: user.name.to_string(),
                external_id,
                attributes,
                created: row
                    .as_ref()
                    .map_or_else(|| at.clone(), |r| r.created.clone()),
                last_modified: at,
                restore_role,
                deleted: false,
            };
            Some(self.put_row(r).await?)
        } else {
            row
        };
        if !upd.is_empty() || changed_row {
            self.audit(
                op,
                id,
                current_role.map(SiteRole::as_str),
                user.role().map(SiteRole::as_str),
                "ok",
            );
        }
        Ok(self.user_to_scim(&user, row.as_deref(), None))
    }

    /// `DELETE /Users/{id}`.
    pub async fn delete_user(&self, id: &str, if_match: Option<&str>) -> BridgeResult<()> {
        let (_serial, cur, row) = self.lock_user(id).await?;
        check_if_match(
            &self.user_to_scim(&cur, row.as_deref(), None),
            if_match,
            "User",
        )?;
        let before = cur.role().map(SiteRole::as_str);
        let unlicense = match self.policy.deprovision {
            Deprovision::Unlicense => true,
            Deprovision::Remove => match self
                .client
                .remove_user(id, self.policy.map_assets_to.as_deref())
                .await
            {
                Ok(_) => {
                    self.store.delete_user(&self.id, id).await?;
                    self.caches.user_rows.insert(id.to_string(), None);
                    self.caches.forget_user(&cur);
                    self.audit("delete_user", id, before, None, "removed");
                    return Ok(());
                }
                // Tableau keeps a user who owns content (tableau-rest.md section 2.6).
                Err(TableauError::Api { status: 409, .. }) => {
                    tracing::warn!(tenant.id = %self.id, user.id = %id,
                        "the user owns content and no map_assets_to owner is configured: left in Tableau as Unlicensed");
                    true
                }
                Err(e) => return Err(e.into()),
            },
        };
        if unlicense {
            let mut user = User::clone(&cur);
            if cur.role() != Some(SiteRole::Unlicensed) {
                let upd = UserUpdate {
                    site_role: Some(SiteRole::Unlicensed),
                    ..UserUpdate::default()
                };
                merge(&mut user, self.client.update_user(id, &upd).await?);
            }
            let at = now();
            let tomb = UserRow {
                id: id.to_string(),
                user_name: cur.name.to_string(),
                external_id: row.as_ref().and_then(|r| r.external_id.clone()),
                attributes: row.as_ref().map_or(json!({}), |r| r.attributes.clone()),
                created: row
                    .as_ref()
                    .map_or_else(|| at.clone(), |r| r.created.clone()),
                last_modified: at,
                restore_role: before.map(str::to_string),
                deleted: true,
            };
            self.put_row(tomb).await?;
            self.caches.forget_user(&cur);
            self.audit(
                "delete_user",
                id,
                before,
                Some("Unlicensed"),
                "kept Unlicensed in Tableau",
            );
        }
        Ok(())
    }
}

/// Update User answers with the changed attributes only; fold them into what we know.
fn merge(user: &mut User, after: User) {
    if !after.name.is_empty() {
        user.name = after.name;
    }
    if !after.site_role.is_empty() {
        user.site_role = after.site_role;
    }
    if after.full_name.is_some() {
        user.full_name = after.full_name;
    }
    if after.email.is_some() {
        user.email = after.email;
    }
    if after.auth_setting.is_some() {
        user.auth_setting = after.auth_setting;
    }
}

pub(crate) fn page_of(all: Vec<Value>, query: &ListQuery) -> ListPage {
    let total = all.len();
    let range = query.page_range(total);
    ListPage {
        total,
        resources: all
            .into_iter()
            .skip(range.start)
            .take(range.len())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_the_digest_of_the_resource_without_meta() {
        let r = json!({"schemas": [urn::USER], "id": "u1", "userName": "a\"b@example.com",
                       "meta": {"lastModified": "2026-01-01T00:00:00Z"}, "active": true});
        let mut without = r.clone();
        if let Some(o) = without.as_object_mut() {
            o.remove("meta");
        }
        let digest = Sha256::digest(without.to_string().as_bytes());
        assert_eq!(
            version_of(&r),
            format!("W/\"{}\"", hex::encode(&digest[..8]))
        );
        let mut changed = r.clone();
        changed["active"] = false.into();
        assert_ne!(version_of(&r), version_of(&changed));
        changed["active"] = true.into();
        changed["meta"] = json!({"lastModified": "2027-01-01T00:00:00Z"});
        assert_eq!(version_of(&r), version_of(&changed), "meta is not content");
    }
}
