//! Caches in front of Tableau, so that a call we can avoid is never made. Concurrent misses for
//! one key make one Tableau call ([`TtlCache::get_or_load`]); every write through the bridge
//! updates or invalidates the entries it touches. Users are held once, behind an `Arc`, however
//! many caches point at them (by id, in a listing page).

pub mod change;
pub mod names;
pub mod scim_users;
pub mod ttl;

use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use compact_str::CompactString;
use quick_cache::Equivalent;

use crate::bridge::cache::change::{CacheChange, Outbox};
use crate::bridge::cache::names::NameIndex;
use crate::bridge::cache::ttl::TtlCache;

use crate::bridge::error::BridgeResult;
use crate::store::UserRow;
use crate::tableau::model::{Group, User};
use crate::tableau::TableauError;

/// What a loader of something that may not exist returns: the value (cached), `Err(None)` when
/// Tableau has none, or `Err(Some(_))` when Tableau failed (neither is cached).
pub type Lookup<T> = Result<T, Option<TableauError>>;

/// The end of a [`Lookup`]: the value, `None` when Tableau has none, or the failure.
pub fn found<T>(lookup: Lookup<T>) -> BridgeResult<Option<T>> {
    match lookup {
        Ok(v) => Ok(Some(v)),
        Err(None) => Ok(None),
        Err(Some(e)) => Err(e.into()),
    }
}

/// Cache lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct CacheTtls {
    /// Users (by id and by name).
    pub users: Duration,
    /// Groups (by id and by name).
    pub groups: Duration,
    /// Group member lists.
    pub members: Duration,
    /// How often the site's user and group names are listed again ([`NameIndex`]); a listing
    /// is trusted for three of these. Zero: no index, every unknown name is asked of Tableau.
    pub names: Duration,
}

impl Default for CacheTtls {
    fn default() -> Self {
        CacheTtls {
            users: Duration::from_secs(300),
            groups: Duration::from_secs(300),
            members: Duration::from_secs(120),
            names: Duration::from_secs(300),
        }
    }
}

/// Hit and miss counts.
#[derive(Debug, Default)]
pub struct CacheCounters {
    /// Answered from the cache.
    pub hits: AtomicU64,
    /// Loaded from Tableau.
    pub misses: AtomicU64,
}

/// A user id as a cache key. Tableau LUIDs are UUIDs: one in canonical form (lower-case,
/// hyphenated, the only form Tableau writes) is kept as its 16 bytes instead of 36 characters
/// on the heap, which saves ~40 bytes per cached user (BENCHMARKS.md section 5). Any other id
/// is kept as it is, so two different strings are never the same key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdKey {
    /// A canonical UUID.
    Uuid(u128),
    /// Anything else.
    Text(CompactString),
}

impl IdKey {
    /// The key of `id`.
    pub fn of(id: &str) -> IdKey {
        let canonical = id.len() == 36
            && id.bytes().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => b == b'-',
                _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
            });
        match canonical.then(|| uuid::Uuid::try_parse(id)) {
            Some(Ok(u)) => IdKey::Uuid(u.as_u128()),
            _ => IdKey::Text(id.into()),
        }
    }
}

/// One Tableau page of users and the site's total.
#[derive(Debug, Default)]
pub struct UserPage {
    /// The page's users, shared with `user_by_id`.
    pub users: Vec<Arc<User>>,
    /// Users on the site.
    pub total: u64,
}

/// The caches of one tenant.
pub struct Caches {
    /// Every user name of the site to the user, the same `Arc` as in `user_by_id`.
    pub names: NameIndex,
    /// User id to the Tableau user.
    pub user_by_id: TtlCache<IdKey, Arc<User>>,
    /// User id to its store row (`None`: none), so reads of cached users do no I/O. Written
    /// through by every store write of the bridge.
    pub user_rows: TtlCache<String, Option<Arc<UserRow>>>,
    /// Group id to the Tableau group.
    pub group_by_id: TtlCache<String, Group>,
    /// Every group of the site ("All Users" included), as one listing: what role-granting
    /// groups exist. Any group write through the bridge clears it.
    pub group_list: TtlCache<(), Arc<Vec<Group>>>,
    /// Group id to its member ids.
    pub group_members: TtlCache<String, Arc<Vec<String>>>,
    /// Group id to the very member list (the same `Arc` as in `group_members`) that holds
    /// what the IdP asserted for it: while `group_members` still holds that `Arc`, a PATCH
    /// knows the asserted members without reading 10,000 of them from the store.
    pub asserted_in_step: TtlCache<String, Arc<Vec<String>>>,
    /// Tableau user pages of 1000 (page number to users and the site's total), so that a SCIM
    /// import in pages of any size costs one Tableau call per 1000 users. Any user write clears
    /// them.
    pub user_pages: TtlCache<u32, Arc<UserPage>>,
    /// User id to its SCIM form, reused while its user and row are the ones held here.
    pub scim_users: scim_users::ScimUsers,
    /// Hits and misses over all caches.
    pub counters: CacheCounters,
    /// What the bridge's writes changed, for the other replicas (off without them).
    pub outbox: Outbox,
    /// The client's id aliases (identity moves), which another replica's move changes.
    pub aliases: Arc<crate::tableau::aliases::IdAliases>,
}

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caches")
            .field("counters", &self.counters)
            .finish()
    }
}

impl Caches {
    /// Caches with these lifetimes.
    pub fn new(ttl: CacheTtls) -> Caches {
        Caches {
            names: NameIndex::new(ttl.names * 3),
            user_by_id: TtlCache::new(ttl.users, 1_000_000),
            user_rows: TtlCache::new(ttl.users, 1_000_000),
            group_by_id: TtlCache::new(ttl.groups, 100_000),
            group_list: TtlCache::new(ttl.groups, 1),
            group_members: TtlCache::new(ttl.members, 100_000),
            asserted_in_step: TtlCache::new(ttl.members, 100_000),
            user_pages: TtlCache::new(Duration::from_secs(30).min(ttl.users), 1_000),
            scim_users: scim_users::ScimUsers::new(ttl.users),
            counters: CacheCounters::default(),
            outbox: Outbox::default(),
            aliases: Arc::default(),
        }
    }

    /// The value for `key`, loading it once however many tasks ask at the same time.
    pub async fn get_or_load<K, Q, V, E, F>(
        &self,
        cache: &TtlCache<K, V>,
        key: &Q,
        load: F,
    ) -> Result<V, E>
    where
        K: Hash + Eq + Clone,
        Q: Hash + Equivalent<K> + ToOwned<Owned = K> + ?Sized,
        V: Clone,
        F: Future<Output = Result<V, E>>,
    {
        let (value, loaded) = cache.get_or_load(key, load).await?;
        self.record(!loaded);
        Ok(value)
    }

    /// Count a lookup answered from a cache (`hit`) or from Tableau or the store.
    pub fn record(&self, hit: bool) {
        let counter = if hit {
            &self.counters.hits
        } else {
            &self.counters.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A user read from Tableau, as the `Arc` already held when nothing of it changed: a
    /// listing then replaces no cached user with a copy, so the old copies are not garbage at
    /// once (at 100,000 users, each listing would otherwise leave ~20 MB to free).
    pub fn shared(&self, u: User) -> Arc<User> {
        match self.user_by_id.get(&IdKey::of(&u.id)) {
            Some(held) if *held == u => held,
            _ => Arc::new(u),
        }
    }

    /// Remember a user read from Tableau.
    pub fn remember_user(&self, u: &Arc<User>) {
        self.names.put(u);
        self.user_by_id.insert(IdKey::of(&u.id), u.clone());
    }

    /// A user found in Tableau after Tableau said the name is taken (made elsewhere, or by a
    /// replica that died before it told the others): remembered, and told to the other
    /// replicas, whose indexes may answer "absent" for it otherwise.
    pub fn learn_user(&self, u: &User) {
        self.publish_user(u, true);
        self.remember_user(&Arc::new(u.clone()));
    }

    /// Remember a user we just wrote, and drop the cached listing pages, which are now stale.
    /// (A rename forgets the user under its old name first, which tells the other replicas.)
    pub fn put_user(&self, u: &User) {
        self.publish_user(u, true);
        self.user_pages.invalidate_all();
        self.remember_user(&Arc::new(u.clone()));
    }

    /// Forget a user (removed from Tableau, or hidden from SCIM as a tombstone).
    pub fn forget_user(&self, u: &User) {
        self.publish_user(u, false);
        self.drop_user(&u.id, &u.name);
    }

    /// Tell the other replicas of `u`, as it now is (`present`) or gone.
    fn publish_user(&self, u: &User, present: bool) {
        self.outbox.push(CacheChange::User {
            id: u.id.to_string(),
            name: u.name.to_string(),
            user: present.then(|| u.clone()),
        });
    }

    pub(in crate::bridge) fn drop_user(&self, id: &str, name: &str) {
        self.user_pages.invalidate_all();
        self.names.remove(name);
        self.user_by_id.invalidate(&IdKey::of(id));
    }

    /// A user's store row as just written (`None`: it has none now).
    pub fn put_row(&self, id: &str, row: Option<Arc<UserRow>>) {
        self.outbox.push(CacheChange::Row { id: id.to_string() });
        self.user_rows.insert(id.to_string(), row);
    }

    /// A group's members are being changed: forget the cached list.
    pub fn members_changed(&self, group_id: &str) {
        self.outbox.push(CacheChange::Members {
            group_id: group_id.to_string(),
        });
        self.group_members.invalidate(group_id);
    }

    /// Remember a group read from Tableau.
    pub fn remember_group(&self, g: &Group) {
        self.group_by_id.insert(g.id.clone(), g.clone());
    }

    /// Remember a group we just created or renamed, in the site's group list too.
    pub fn put_group(&self, g: &Group) {
        self.outbox.push(CacheChange::Group {
            id: g.id.clone(),
            group: Some(g.clone()),
        });
        self.keep_group(g);
    }

    pub(in crate::bridge) fn keep_group(&self, g: &Group) {
        self.edit_group_list(|list| {
            list.retain(|x| x.id != g.id);
            list.push(g.clone());
        });
        self.remember_group(g);
    }

    /// Forget a group and its members, in the site's group list too.
    pub fn forget_group(&self, g: &Group) {
        self.outbox.push(CacheChange::Group {
            id: g.id.clone(),
            group: None,
        });
        self.drop_group(&g.id);
    }

    pub(in crate::bridge) fn drop_group(&self, id: &str) {
        self.edit_group_list(|list| list.retain(|x| x.id != id));
        self.group_by_id.invalidate(id);
        self.group_members.invalidate(id);
        self.asserted_in_step.invalidate(id);
    }

    /// A group's members as we just wrote them; `asserted`: they are also what the IdP
    /// asserted.
    pub fn put_members(&self, group_id: &str, members: Vec<String>, asserted: bool) {
        self.outbox.push(CacheChange::Members {
            group_id: group_id.to_string(),
        });
        let members = Arc::new(members);
        if asserted {
            self.asserted_in_step
                .insert(group_id.to_string(), members.clone());
        } else {
            self.asserted_in_step.invalidate(group_id);
        }
        self.group_members.insert(group_id.to_string(), members);
    }

    /// Whether `members` (read from `group_members`) is the list known to hold what the IdP
    /// asserted for the group.
    pub fn members_in_step(&self, group_id: &str, members: &Arc<Vec<String>>) -> bool {
        self.asserted_in_step
            .get(group_id)
            .is_some_and(|a| Arc::ptr_eq(&a, members))
    }

    /// Change the cached group list, if there is one (a copy: groups are few, and readers hold
    /// the old one).
    fn edit_group_list(&self, edit: impl FnOnce(&mut Vec<Group>)) {
        if let Some(list) = self.group_list.get(&()) {
            let mut changed = Vec::clone(&list);
            edit(&mut changed);
            self.group_list.insert((), Arc::new(changed));
        }
    }

    /// (hits, misses).
    pub fn hit_miss(&self) -> (u64, u64) {
        (
            self.counters.hits.load(Ordering::Relaxed),
            self.counters.misses.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::cache::names::tests::user;

    #[test]
    fn reads_and_writes_keep_the_name_index() {
        use crate::bridge::cache::names::Answer;
        let c = Caches::new(CacheTtls::default());
        let now = std::time::Instant::now();
        c.remember_user(&user("u1", "Ann@Example.com"));
        assert!(
            matches!(c.names.lookup("ann@example.COM", now), Answer::Present(u) if u.id == "u1")
        );
        c.forget_user(&user("u1", "Ann@Example.com"));
        assert_eq!(c.names.lookup("ann@example.com", now), Answer::Unknown);
    }

    #[test]
    fn group_writes_keep_the_site_group_list() {
        let c = Caches::new(CacheTtls::default());
        let g = Group {
            id: "g1".into(),
            name: "Sales".into(),
            ..Group::default()
        };
        let names = |c: &Caches| -> Vec<String> {
            c.group_list
                .get(&())
                .map(|l| l.iter().map(|g| g.name.clone()).collect())
                .unwrap_or_default()
        };
        c.put_group(&g);
        assert!(c.group_list.get(&()).is_none(), "no list to keep yet");
        c.group_list.insert((), Arc::new(vec![g.clone()]));
        let renamed = Group {
            name: "Sales EMEA".into(),
            ..g.clone()
        };
        c.put_group(&renamed);
        assert_eq!(names(&c), vec!["Sales EMEA"]);
        c.put_group(&Group {
            id: "g2".into(),
            name: "Finance".into(),
            ..Group::default()
        });
        assert_eq!(names(&c), vec!["Sales EMEA", "Finance"]);
        c.forget_group(&renamed);
        assert_eq!(names(&c), vec!["Finance"]);
        assert!(c.group_by_id.get("g1").is_none());
    }

    #[test]
    fn only_canonical_uuids_become_compact_keys_and_no_two_ids_share_one() {
        let luid = "9f9e9d9c-1234-4abc-8def-0123456789ab";
        assert!(matches!(IdKey::of(luid), IdKey::Uuid(_)));
        for other in [
            "9F9E9D9C-1234-4ABC-8DEF-0123456789AB",
            "9f9e9d9c12344abc8def0123456789ab",
            "{9f9e9d9c-1234-4abc-8def-0123456789ab}",
            "u1",
            "",
        ] {
            assert_eq!(IdKey::of(other), IdKey::Text(other.into()), "{other}");
            assert_ne!(IdKey::of(other), IdKey::of(luid));
        }
        let c = Caches::new(CacheTtls::default());
        c.remember_user(&user(luid, "x@example.com"));
        assert!(c.user_by_id.get(&IdKey::of(luid)).is_some());
        assert!(c
            .user_by_id
            .get(&IdKey::of("9F9E9D9C-1234-4ABC-8DEF-0123456789AB"))
            .is_none());
    }

    #[test]
    fn a_write_drops_the_listing_pages() {
        let c = Caches::new(CacheTtls::default());
        c.user_pages.insert(1, Arc::default());
        c.put_user(&user("u2", "bob@example.com"));
        assert!(c.user_pages.is_empty());
        assert!(matches!(
            c.names.lookup("bob@example.com", std::time::Instant::now()),
            crate::bridge::cache::names::Answer::Present(_)
        ));
    }
}
