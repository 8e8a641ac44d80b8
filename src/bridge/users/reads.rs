//! `/Users` reads on Tableau: users by id and by name through the caches (concurrent misses make
//! one Tableau call), their store rows, targeted lookups and listings cut from cached Tableau
//! pages.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use crate::backend::ListPage;
use crate::bridge::cache::change::CacheChange;
use crate::bridge::cache::names::Answer;
use crate::bridge::cache::{found, IdKey, Lookup, UserPage};
use crate::bridge::error::BridgeResult;
use crate::bridge::mapping::{user_groups, user_to_scim};
use crate::bridge::replicas::listing_diff::listing_changes;
use crate::bridge::tenant::{KeyGuard, Tenant};
use crate::bridge::users::names::{same_account, user_name_problem};
use crate::scim::filter::Filter;
use crate::scim::list::ListQuery;
use crate::scim::projection::Projection;
use crate::scim::schema::{ResourceKind, SchemaRegistry};
use crate::scim::stored::{Shared, Stored};
use crate::scim::{urn, ScimError};
use crate::store::UserRow;
use crate::tableau::directory_names::names_directory_user;
use crate::tableau::limits::is_luid;
use crate::tableau::model::User;
use crate::tableau::{NameMatch, TableauError};

/// A user as SCIM knows it: the Tableau user and our row of it.
pub(crate) type Known = (Arc<User>, Option<Arc<UserRow>>);

/// Tableau lists users in pages of at most 1000 (tableau-rest.md section 2.2).
const TABLEAU_PAGE: usize = 1000;

/// A Tableau user lookup as a cache load.
fn as_load(found: Result<Option<User>, TableauError>) -> Lookup<Arc<User>> {
    match found {
        Ok(Some(u)) => Ok(Arc::new(u)),
        Ok(None) => Err(None),
        Err(e) => Err(Some(e)),
    }
}

impl Tenant {
    /// A user by id, from the cache or one call; `None` if absent or deleted through SCIM, or
    /// if the id cannot be a Tableau LUID (no call then).
    pub(crate) async fn load_user(&self, id: &str) -> BridgeResult<Option<Known>> {
        if !is_luid(id) {
            return Ok(None);
        }
        let load = async { as_load(self.client.get_user(id).await) };
        let user = self
            .caches
            .get_or_load(&self.caches.user_by_id, &IdKey::of(id), load)
            .await;
        match found(user)? {
            Some(u) => self.visible(u).await,
            None => Ok(None),
        }
    }

    /// A user by name, case-insensitively: from the site's name index (no call, whether found
    /// or not, once the site has been listed), else one call. Pre-existing Tableau users are
    /// found too, so an IdP links them instead of creating (checklist 7).
    pub(crate) async fn find_by_name(&self, name: &str) -> BridgeResult<Option<Known>> {
        // No account has a name that is not in its canonical form (a look-alike such as
        // U+212A KELVIN SIGN for `K`, another normalisation form): nothing to look up.
        if user_name_problem(name).is_some() {
            return Ok(None);
        }
        match self.caches.names.lookup(name, Instant::now()) {
            Answer::Present(u) if same_account(&u.name, name) => {
                self.caches.record(true);
                self.visible(u).await
            }
            // Lower-cased alike, yet not one account under PRECIS's case mapping.
            Answer::Present(_) => Ok(None),
            Answer::Absent => {
                self.caches.record(true);
                self.visible_directory_user(name).await
            }
            Answer::Unknown => {
                self.caches.record(false);
                let found = self
                    .client
                    .find_user_by_name(name, NameMatch::CaseInsensitive)
                    .await?;
                match found.filter(|u| same_account(&u.name, name)) {
                    Some(u) => {
                        let u = Arc::new(u);
                        self.learn_identity_store(&u);
                        self.caches.remember_user(&u);
                        self.visible(u).await
                    }
                    None => self.visible_directory_user(name).await,
                }
            }
        }
    }

    /// On a directory site, the user the IdP's `name` names in another form
    /// ([`Tenant::directory_user`]), unless deleted through SCIM.
    async fn visible_directory_user(&self, name: &str) -> BridgeResult<Option<Known>> {
        match self.directory_user(name).await? {
            Some(u) => self.visible(u).await,
            None => Ok(None),
        }
    }

    /// List the site's users and groups once: the name index, complete from this listing's
    /// start, and the group list. One call per 1,000 users and one per 1,000 groups.
    pub async fn list_names(&self) -> BridgeResult<()> {
        // With replicas, what the listing finds changed goes to the others, whose indexes then
        // need no listing of their own (only from an index that was complete: a first listing
        // finds everything "added").
        let before = (self.replicas.is_shared() && self.caches.names.has_listed())
            .then(|| self.caches.names.snapshot());
        let started = self.caches.names.begin_listing();
        let users: Vec<Arc<User>> = match self.client.all_users_as(|u| self.caches.shared(u)).await
        {
            Ok(u) => u,
            Err(e) => {
                self.caches.names.abandon_listing();
                return Err(e.into());
            }
        };
        for u in &users {
            self.learn_identity_store(u);
            self.caches.user_by_id.insert(IdKey::of(&u.id), u.clone());
        }
        let count = users.len();
        self.caches.names.finish_listing(users, started);
        if let Some(before) = before {
            self.publish_listing(&before, started).await;
        }
        let groups = self.client.all_groups().await?;
        for g in groups.iter().filter(|g| !g.is_all_users()) {
            self.caches.remember_group(g);
        }
        self.caches.group_list.insert((), Arc::new(groups));
        tracing::debug!(tenant.id = %self.id, users = count, "listed the site's names");
        Ok(())
    }

    /// Tell the other replicas what this listing found changed since `before`.
    async fn publish_listing(&self, before: &[Arc<User>], started: Instant) {
        /// Past this many differences the others are told to forget and list for themselves.
        const MOST: usize = 5_000;
        let changes = listing_changes(before, &self.caches.names.snapshot());
        let change = if changes.len() > MOST {
            CacheChange::All
        } else {
            CacheChange::Listed {
                age_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                changes,
            }
        };
        self.caches.outbox.push(change);
        if let Err(e) = self.replicas.publish().await {
            tracing::warn!(tenant.id = %self.id, error = %e, "the listing's changes are not yet published");
        }
    }

    /// Whether the name index is complete (the site has been listed recently enough).
    pub fn names_complete(&self) -> bool {
        self.caches.names.is_complete(Instant::now())
    }

    /// The user with its row, unless the row is a tombstone (deleted through SCIM).
    async fn visible(&self, user: Arc<User>) -> BridgeResult<Option<Known>> {
        let row = self.row_of(&user.id).await?;
        if row.as_ref().is_some_and(|r| r.deleted) {
            return Ok(None);
        }
        Ok(Some((user, row)))
    }

    /// Load a user, take the lock of its name, and load it again under the lock (the name is
    /// only known after a first load, and may have changed before the lock was taken).
    pub(crate) async fn lock_user(
        &self,
        id: &str,
    ) -> BridgeResult<(KeyGuard<'_>, Arc<User>, Option<Arc<UserRow>>)> {
        let not_found = || ScimError::NotFound(format!("no User with id '{id}'"));
        let (first, _) = self.load_user(id).await?.ok_or_else(not_found)?;
        let guard = self.locks.lock(&first.name).await?;
        let (cur, row) = self.load_user(id).await?.ok_or_else(not_found)?;
        Ok((guard, cur, row))
    }

    /// A user's store row, from the row cache or the store.
    pub(crate) async fn row_of(&self, id: &str) -> BridgeResult<Option<Arc<UserRow>>> {
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
    pub(crate) async fn put_row(&self, row: UserRow) -> BridgeResult<Arc<UserRow>> {
        let id = row.id.clone();
        self.store.put_user(&self.id, row.clone()).await?;
        let row = Arc::new(row);
        self.caches.put_row(&id, Some(row.clone()));
        Ok(row)
    }

    /// `GET /Users/{id}`; the user's groups cost a call and come only when asked for.
    pub async fn get_user(&self, id: &str, projection: &Projection) -> BridgeResult<Shared> {
        let (u, row) = self
            .load_user(id)
            .await?
            .ok_or_else(|| ScimError::NotFound(format!("no User with id '{id}'")))?;
        if projection.requests("groups") {
            let groups = user_groups(self.client.groups_of_user(id).await?);
            return Ok(Stored::new(user_to_scim(&u, row.as_deref(), Some(groups))));
        }
        Ok(self.scim_user(&u, row.as_ref()))
    }

    /// A user's SCIM form without its groups: the one built before while the caches hold the
    /// same user and row, else built now ([`ScimUsers`](crate::bridge::cache::scim_users)).
    fn scim_user(&self, user: &Arc<User>, row: Option<&Arc<UserRow>>) -> Shared {
        self.caches.scim_users.get_or_build(user, row, || {
            Stored::new(user_to_scim(user, row.map(Arc::as_ref), None))
        })
    }

    /// `GET /Users` with paging and filters. Tableau calls are bounded by the page, not the
    /// site: a lone `eq` is one lookup; an unfiltered page reads the Tableau pages it covers
    /// (pages of 1000 kept for the users' lifetime, shared by every request: single-flight),
    /// all of them when tombstones must be left out; any other filter reads the site's users
    /// from the name index (no call while it is complete) or those kept pages. The store
    /// serves an unfiltered page its own rows only.
    pub async fn list_users(&self, query: &ListQuery) -> BridgeResult<ListPage> {
        let schema = SchemaRegistry::builtin().resource(ResourceKind::User);
        if let Some(f) = &query.filter {
            if let Some(hit) = self.targeted_lookup(f).await? {
                let matches: Vec<Shared> =
                    hit.into_iter().filter(|r| f.matches(r, &schema)).collect();
                return Ok(query.page_of(matches));
            }
        }
        let deleted: HashSet<String> = self
            .store
            .deleted_user_ids(&self.id)
            .await?
            .into_iter()
            .collect();
        if query.filter.is_none() && deleted.is_empty() {
            return self.list_users_paged(query).await;
        }
        // Unfiltered, Tableau's pages as they are (an import sees users added in Tableau
        // directly); filtered, the name index while it is complete.
        let listed = query
            .filter
            .as_ref()
            .and_then(|_| self.caches.names.users(Instant::now()));
        let mut users: Vec<Arc<User>> = match listed {
            Some(u) => u,
            None => self.cached_site_users().await?,
        };
        users.retain(|u| !deleted.contains(u.id.as_str()));
        users.sort_by_cached_key(|u| (u.name.to_lowercase(), u.id.clone()));
        let Some(f) = &query.filter else {
            let range = query.page_range(users.len());
            let page = &users[range];
            let rows = self.rows_of_page(page).await?;
            return Ok(ListPage {
                total: users.len(),
                resources: page
                    .iter()
                    .map(|u| Stored::new(user_to_scim(u, rows.get(u.id.as_str()), None)))
                    .collect(),
            });
        };
        // A filter may read any attribute: every row, from the store (no Tableau call).
        let rows = self.store.users(&self.id).await?;
        let by_id: HashMap<&str, &UserRow> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
        let matches: Vec<Shared> = users
            .iter()
            .map(|u| user_to_scim(u, by_id.get(u.id.as_str()).copied(), None))
            .filter(|r| f.matches(r, &schema))
            .map(Stored::new)
            .collect();
        Ok(query.page_of(matches))
    }

    /// The store rows of a page's users, by id.
    async fn rows_of_page(&self, page: &[Arc<User>]) -> BridgeResult<HashMap<String, UserRow>> {
        let ids: Vec<String> = page.iter().map(|u| u.id.to_string()).collect();
        Ok(self
            .store
            .user_rows(&self.id, &ids)
            .await?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect())
    }

    /// Every user of the site from Tableau's pages of 1000 as the cache keeps them (one call
    /// per page the cache does not hold; concurrent requests share a load).
    async fn cached_site_users(&self) -> BridgeResult<Vec<Arc<User>>> {
        let first = self.user_page(1).await?;
        let total = usize::try_from(first.total).unwrap_or(usize::MAX);
        let mut users = first.users.clone();
        let pages = total.div_ceil(TABLEAU_PAGE);
        for number in 2..=pages {
            let n = u32::try_from(number).unwrap_or(u32::MAX);
            users.extend(self.user_page(n).await?.users.iter().cloned());
        }
        for u in &users {
            self.caches.remember_user(u);
        }
        Ok(users)
    }

    /// No filter, no tombstone: a SCIM page is cut from Tableau pages of
    /// 1000, each fetched once and kept briefly, so an import of 10,000 users costs 10 calls
    /// whatever `count` the IdP uses, and `count=0` (totals only) costs one.
    async fn list_users_paged(&self, query: &ListQuery) -> BridgeResult<ListPage> {
        let start = query.start_index - 1;
        let first = self.user_page(1).await?;
        let total = usize::try_from(first.total).unwrap_or(usize::MAX);
        let end = start.saturating_add(query.count).min(total);
        let mut page_users: Vec<Arc<User>> = Vec::new();
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
            let slice: Vec<Arc<User>> =
                page.users.iter().skip(offset).take(take).cloned().collect();
            if slice.is_empty() {
                break;
            }
            at += slice.len();
            page_users.extend(slice);
        }
        let rows = self.rows_of_page(&page_users).await?;
        let mut resources = Vec::with_capacity(page_users.len());
        for u in &page_users {
            self.caches.remember_user(u);
            resources.push(Stored::new(user_to_scim(u, rows.get(u.id.as_str()), None)));
        }
        Ok(ListPage { total, resources })
    }

    /// One Tableau page of 1000 users, from the cache or one call.
    async fn user_page(&self, number: u32) -> BridgeResult<Arc<UserPage>> {
        self.caches
            .get_or_load(&self.caches.user_pages, &number, async {
                let size = u32::try_from(TABLEAU_PAGE).unwrap_or(u32::MAX);
                match self.client.query_users(number, size, None).await {
                    Ok(p) => Ok(Arc::new(UserPage {
                        users: p.items.into_iter().map(|u| self.caches.shared(u)).collect(),
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
    async fn targeted_lookup(&self, f: &Filter) -> BridgeResult<Option<Vec<Shared>>> {
        let Some((path, value)) = f.as_simple_eq() else {
            return Ok(None);
        };
        if path.urn.as_deref().is_some_and(|u| u != urn::USER) {
            return Ok(None);
        }
        let found: Vec<Known> = if path.name.eq_ignore_ascii_case("userName") {
            let found: Vec<Known> = self.find_by_name(value).await?.into_iter().collect();
            // A directory user found by another form of its name is shown by the name asked
            // for: the form the IdP knows it by, and keeps from its next write on.
            return Ok(Some(
                found
                    .iter()
                    .map(|(u, row)| {
                        if names_directory_user(value, u) && row.is_none() {
                            let mut r = user_to_scim(u, None, None);
                            r["userName"] = value.into();
                            return Stored::new(r);
                        }
                        self.scim_user(u, row.as_ref())
                    })
                    .collect(),
            ));
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
                .map(|(u, row)| self.scim_user(u, row.as_ref()))
                .collect(),
        ))
    }
}
