//! moka caches in front of Tableau, so that a call we can avoid is never made. Concurrent misses
//! for one key make one Tableau call (`or_try_insert_with`); every write through the bridge
//! updates or invalidates the entries it touches.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;

use crate::bridge::store::UserRow;
use crate::tableau::model::{Group, User};

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

/// The caches of one tenant.
pub struct Caches {
    /// Lower-cased user name to user id.
    pub user_by_name: Cache<String, String>,
    /// User id to the Tableau user.
    pub user_by_id: Cache<String, User>,
    /// Lower-cased group name to group id.
    pub group_by_name: Cache<String, String>,
    /// User id to its store row (`None`: none), so reads of cached users do no I/O. Written
    /// through by every store write of the bridge.
    pub user_rows: Cache<String, Arc<Option<UserRow>>>,
    /// Group id to the Tableau group.
    pub group_by_id: Cache<String, Group>,
    /// Group id to its member ids.
    pub group_members: Cache<String, Arc<Vec<String>>>,
    /// Tableau user pages of 1000 (page number to users and the site's total), so that a SCIM
    /// import in pages of any size costs one Tableau call per 1000 users. Any user write clears
    /// them.
    pub user_pages: Cache<u32, Arc<(Vec<User>, u64)>>,
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

fn cache<K, V>(ttl: Duration, capacity: u64) -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder()
        .time_to_live(ttl)
        .max_capacity(capacity)
        .build()
}

impl Caches {
    /// Caches with these lifetimes.
    pub fn new(ttl: CacheTtls) -> Caches {
        Caches {
            user_by_name: cache(ttl.users, 1_000_000),
            user_by_id: cache(ttl.users, 1_000_000),
            user_rows: cache(ttl.users, 1_000_000),
            group_by_name: cache(ttl.groups, 100_000),
            group_by_id: cache(ttl.groups, 100_000),
            group_members: cache(ttl.members, 100_000),
            user_pages: cache(std::time::Duration::from_secs(30).min(ttl.users), 1_000),
            counters: CacheCounters::default(),
        }
    }

    /// The value for `key`, loading it once however many tasks ask at the same time.
    pub async fn get_or_load<K, V, E, F>(
        &self,
        cache: &Cache<K, V>,
        key: K,
        load: F,
    ) -> Result<V, Arc<E>>
    where
        K: std::hash::Hash + Eq + Send + Sync + Clone + 'static,
        V: Clone + Send + Sync + 'static,
        E: Send + Sync + 'static,
        F: Future<Output = Result<V, E>>,
    {
        let entry = cache.entry(key).or_try_insert_with(load).await?;
        let counter = if entry.is_fresh() {
            &self.counters.misses
        } else {
            &self.counters.hits
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(entry.into_value())
    }

    /// Remember a user read from Tableau.
    pub async fn remember_user(&self, u: &User) {
        self.user_by_name
            .insert(u.name.to_lowercase(), u.id.clone())
            .await;
        self.user_by_id.insert(u.id.clone(), u.clone()).await;
    }

    /// Remember a user we just wrote, and drop the cached listing pages, which are now stale.
    pub async fn put_user(&self, u: &User) {
        self.user_pages.invalidate_all();
        self.remember_user(u).await;
    }

    /// Forget a user.
    pub async fn forget_user(&self, u: &User) {
        self.user_pages.invalidate_all();
        self.user_by_name.invalidate(&u.name.to_lowercase()).await;
        self.user_by_id.invalidate(&u.id).await;
    }

    /// Remember a group under its id and name.
    pub async fn put_group(&self, g: &Group) {
        self.group_by_name
            .insert(g.name.to_lowercase(), g.id.clone())
            .await;
        self.group_by_id.insert(g.id.clone(), g.clone()).await;
    }

    /// Forget a group and its members.
    pub async fn forget_group(&self, g: &Group) {
        self.group_by_name.invalidate(&g.name.to_lowercase()).await;
        self.group_by_id.invalidate(&g.id).await;
        self.group_members.invalidate(&g.id).await;
    }

    /// (hits, misses).
    pub fn hit_miss(&self) -> (u64, u64) {
        (
            self.counters.hits.load(Ordering::Relaxed),
            self.counters.misses.load(Ordering::Relaxed),
        )
    }
}
