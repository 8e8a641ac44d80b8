//! A bounded cache whose entries expire, over `quick_cache`.
//!
//! Why not moka (the first choice): measured on this machine, a moka entry costs about 340 bytes
//! beyond its key and value (its deques, timer wheel and per-entry `Arc`s), a `quick_cache` entry
//! about 40. With 100,000 Tableau users known by id and by name that is the difference between
//! meeting the memory budget of BENCHMARKS.md section 5 and missing it by half. `quick_cache` has
//! no time-to-live, so each value carries its expiry and an expired value reads as absent.

use std::future::Future;
use std::hash::Hash;
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;
use quick_cache::Equivalent;

/// A value and when it stops being served, in milliseconds since the cache's epoch.
#[derive(Clone)]
struct Stamped<V> {
    value: V,
    expires_ms: u64,
}

/// A size-bounded cache with one time-to-live for all its entries. Concurrent loads of one key
/// make one load ([`TtlCache::get_or_load`]).
pub struct TtlCache<K, V> {
    inner: Cache<K, Stamped<V>>,
    ttl_ms: u64,
    epoch: Instant,
}

impl<K, V> TtlCache<K, V>
where
    K: Hash + Eq + Clone,
    V: Clone,
{
    /// A cache of at most `capacity` entries, each served for `ttl` after it was written.
    pub fn new(ttl: Duration, capacity: usize) -> TtlCache<K, V> {
        TtlCache {
            inner: Cache::new(capacity),
            ttl_ms: u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX),
            epoch: Instant::now(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn stamp(&self, value: V) -> Stamped<V> {
        Stamped {
            value,
            expires_ms: self.now_ms().saturating_add(self.ttl_ms),
        }
    }

    /// The live value for `key`; an expired one is dropped and reads as absent.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        let s = self.inner.get(key)?;
        if self.is_live(&s) {
            return Some(s.value);
        }
        self.drop_expired(key);
        None
    }

    fn is_live(&self, s: &Stamped<V>) -> bool {
        s.expires_ms > self.now_ms()
    }

    fn drop_expired<Q>(&self, key: &Q)
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.inner.remove_if(key, |s| !self.is_live(s));
    }

    /// Write `value` under `key`, live for the cache's time-to-live from now.
    pub fn insert(&self, key: K, value: V) {
        self.inner.insert(key, self.stamp(value));
    }

    /// Drop `key`.
    pub fn invalidate<Q>(&self, key: &Q)
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.inner.remove(key);
    }

    /// Drop everything.
    pub fn invalidate_all(&self) {
        self.inner.clear();
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The live value for `key`, or the result of `load`, which runs only if no live value is
    /// there; tasks asking for the same key meanwhile wait for it instead of loading again. A
    /// failed load is not cached: the error goes to this caller and a waiter loads afresh. The
    /// flag says whether this call loaded.
    pub async fn get_or_load<Q, E, F>(&self, key: &Q, load: F) -> Result<(V, bool), E>
    where
        Q: Hash + Equivalent<K> + ToOwned<Owned = K> + ?Sized,
        F: Future<Output = Result<V, E>>,
    {
        loop {
            match self.inner.get_value_or_guard_async(key).await {
                Ok(s) if self.is_live(&s) => return Ok((s.value, false)),
                Ok(_) => self.drop_expired(key),
                Err(guard) => {
                    let value = load.await?;
                    // Refused only if the entry was written meanwhile; the caller still gets
                    // what it loaded.
                    let _ = guard.insert(self.stamp(value.clone()));
                    return Ok((value, true));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn an_entry_expires_after_its_lifetime() {
        let c: TtlCache<String, u32> = TtlCache::new(Duration::from_millis(40), 10);
        c.insert("a".into(), 1);
        assert_eq!(c.get("a"), Some(1));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(c.get("a"), None);
        assert!(c.is_empty(), "an expired entry read once is dropped");
        let (v, loaded) = c
            .get_or_load("a", async { Ok::<_, ()>(2) })
            .await
            .expect("loads");
        assert_eq!((v, loaded), (2, true));
    }

    #[tokio::test]
    async fn concurrent_loads_of_one_key_load_once() {
        let c: Arc<TtlCache<String, u32>> = Arc::new(TtlCache::new(Duration::from_secs(60), 10));
        let loads = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (c, loads) = (c.clone(), loads.clone());
            tasks.push(tokio::spawn(async move {
                c.get_or_load("k", async {
                    loads.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok::<_, ()>(7)
                })
                .await
            }));
        }
        let mut loaded = 0;
        for t in tasks {
            let (v, fresh) = t.await.expect("task").expect("value");
            assert_eq!(v, 7);
            loaded += usize::from(fresh);
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        assert_eq!(loaded, 1, "exactly one caller reports the load");
    }

    #[tokio::test]
    async fn a_failed_load_is_not_cached() {
        let c: TtlCache<String, u32> = TtlCache::new(Duration::from_secs(60), 10);
        let err = c.get_or_load("k", async { Err::<u32, _>("down") }).await;
        assert_eq!(err.err(), Some("down"));
        assert_eq!(c.get("k"), None);
        let ok = c.get_or_load("k", async { Ok::<_, &str>(3) }).await;
        assert_eq!(ok, Ok((3, true)));
        c.invalidate("k");
        assert_eq!(c.get("k"), None);
    }
}
