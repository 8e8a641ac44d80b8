//! Caches in front of Tableau, so that a call we can avoid is never made. Concurrent misses for
//! one key make one Tableau call ([`TtlCache::get_or_load`]); every write through the bridge
//! updates or invalidates the entries it touches. Users are held once, behind an `Arc`, however
//! many caches point at them (by id, in a listing page).

use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use compact_str::CompactString;
use quick_cache::Equivalent;

use super::ttl_cache::TtlCache;

use super::error::BridgeResult;
use crate::bridge::store::UserRow;
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
}

impl Default for CacheTtls {
    fn default() -> Self {
        CacheTtls {
            users: Duration::from_secs(300),
            groups: Duration::from_secs(300),
            members: Duration::from_secs(120),
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
    /// Lower-cased user name to the user, the same `Arc` as in `user_by_id` (see
    /// [`Caches::user_named`]).
    pub user_by_name: TtlCache<CompactString, Arc<User>>,
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
    /// Tableau user pages of 1000 (page number to users and the site's total), so that a SCIM
    /// import in pages of any size costs one Tableau call per 1000 users. Any user write clears
    /// them.
    pub user_pages: TtlCache<u32, Arc<UserPage>>,
    /// Hits and misses over all caches.
    pub counters: CacheCounters,
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
            user_by_name: TtlCache::new(ttl.users, 1_000_000),
            user_by_id: TtlCache::new(ttl.users, 1_000_000),
            user_rows: TtlCache::new(ttl.users, 1_000_000),
            group_by_id: TtlCache::new(ttl.groups, 100_000),
            group_list: TtlCache::new(ttl.groups, 1),
            group_members: TtlCache::new(ttl.members, 100_000),
            user_pages: TtlCache::new(Duration::from_secs(30).min(ttl.users), 1_000),
            counters: CacheCounters::default(),
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

    /// Remember a user read from Tableau.
    pub fn remember_user(&self, u: &Arc<User>) {
        self.user_by_name.insert(u.name.to_lowercase(), u.clone());
        self.user_by_id.insert(IdKey::of(&u.id), u.clone());
    }

    /// The cached user named `name` (any case). A user renamed in Tableau and read again since
    /// leaves its old name pointing at its old record; only the record `user_by_id` holds now
    /// is current, so anything else is a miss.
    pub fn user_named(&self, name: &str) -> Option<Arc<User>> {
        let u = self.user_by_name.get(name.to_lowercase().as_str())?;
        let current = self.user_by_id.get(&IdKey::of(&u.id))?;
        Arc::ptr_eq(&u, &current).then_some(current)
    }

    /// The key of `name` in `user_by_name` (lower case), for a single-flight load. An entry
    /// that [`Caches::user_named`] would not answer (a stale name) is dropped first, so that
    /// the load goes to Tableau.
    pub fn name_key(&self, name: &str) -> CompactString {
        let key = CompactString::from(name.to_lowercase());
        if let Some(u) = self.user_by_name.get(key.as_str()) {
            let current = self.user_by_id.get(&IdKey::of(&u.id));
            if !current.is_some_and(|c| Arc::ptr_eq(&u, &c)) {
                self.user_by_name.invalidate(key.as_str());
            }
        }
        key
    }

    /// Remember a user we just wrote, and drop the cached listing pages, which are now stale.
    pub fn put_user(&self, u: &User) {
        self.user_pages.invalidate_all();
        self.remember_user(&Arc::new(u.clone()));
    }

    /// Forget a user.
    pub fn forget_user(&self, u: &User) {
        self.user_pages.invalidate_all();
        self.user_by_name.invalidate(u.name.to_lowercase().as_str());
        self.user_by_id.invalidate(&IdKey::of(&u.id));
    }

    /// Remember a group read from Tableau.
    pub fn remember_group(&self, g: &Group) {
        self.group_by_id.insert(g.id.clone(), g.clone());
    }

    /// Remember a group we just created or renamed; the site's group list is now stale.
    pub fn put_group(&self, g: &Group) {
        self.group_list.invalidate_all();
        self.remember_group(g);
    }

    /// Forget a group and its members; the site's group list is now stale.
    pub fn forget_group(&self, g: &Group) {
        self.group_list.invalidate_all();
        self.group_by_id.invalidate(g.id.as_str());
        self.group_members.invalidate(g.id.as_str());
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

    fn user(id: &str, name: &str) -> Arc<User> {
        Arc::new(User {
            id: id.into(),
            name: name.into(),
            site_role: "Viewer".into(),
            ..User::default()
        })
    }

    #[test]
    fn a_name_finds_the_user_until_a_newer_read_renames_them() {
        let c = Caches::new(CacheTtls::default());
        c.remember_user(&user("u1", "Ann@Example.com"));
        let found = c.user_named("ann@example.COM").expect("found by any case");
        assert_eq!(found.id, "u1");
        // Renamed in Tableau, read again (a listing page): the old name must not find the
        // user any more, the new one must.
        c.remember_user(&user("u1", "ann.smith@example.com"));
        assert!(c.user_named("ann@example.com").is_none());
        assert_eq!(
            c.user_named("ann.smith@example.com")
                .map(|u| u.name.to_string()),
            Some("ann.smith@example.com".to_string())
        );
        c.forget_user(&user("u1", "ann.smith@example.com"));
        assert!(c.user_named("ann.smith@example.com").is_none());
    }

    #[test]
    fn a_stale_name_is_dropped_before_a_load() {
        let c = Caches::new(CacheTtls::default());
        c.remember_user(&user("u1", "Ann@Example.com"));
        assert_eq!(c.name_key("ANN@example.com"), "ann@example.com");
        assert!(
            c.user_by_name.get("ann@example.com").is_some(),
            "a current name stays"
        );
        c.remember_user(&user("u1", "ann.smith@example.com"));
        let key = c.name_key("ann@example.com");
        assert!(
            c.user_by_name.get(key.as_str()).is_none(),
            "the old name is gone"
        );
        assert!(c.user_named("ann.smith@example.com").is_some());
    }

    #[test]
    fn group_writes_drop_the_site_group_list_and_reads_do_not() {
        let c = Caches::new(CacheTtls::default());
        let g = Group {
            id: "g1".into(),
            name: "Sales".into(),
            ..Group::default()
        };
        c.group_list.insert((), Arc::new(vec![g.clone()]));
        c.remember_group(&g);
        assert!(c.group_list.get(&()).is_some());
        c.put_group(&g);
        assert!(c.group_list.get(&()).is_none());
        c.group_list.insert((), Arc::new(vec![g.clone()]));
        c.forget_group(&g);
        assert!(c.group_list.get(&()).is_none() && c.group_by_id.get("g1").is_none());
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
        assert!(c.user_named("bob@example.com").is_some());
    }
}
