//! Every user name of the site, so that a lookup of a name Tableau does not have costs no call.
//! An IdP's first sync asks `userName eq` for every user before creating it; without the index
//! each of those lookups of a new user is a Tableau call.
//!
//! The index is filled from a full listing (one call per 1,000 users), refreshed in the
//! background, and written through by every read and write of the bridge. It answers "absent"
//! only while it is complete and fresh: before the first listing, or when the last one is too
//! old, an unknown name is looked up in Tableau as before. Writes made while a listing is under
//! way are replayed onto it before it replaces the index, so none is lost to the swap.
//!
//! Why this is safe when Tableau changes behind our back: a user created elsewhere and not yet
//! listed makes the IdP's create meet "already exists", which looks the user up and puts it in
//! the index, so the IdP's next lookup finds it; a user deleted elsewhere but still listed makes
//! the next write meet Tableau's 404, which drops it from the index and answers 404, so the IdP
//! creates it again.

use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use compact_str::CompactString;
use hashbrown::{DefaultHashBuilder, HashTable};

use crate::tableau::model::User;

/// What the index says about a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The user of that name.
    Present(Arc<User>),
    /// No user of that name: the index is complete and fresh.
    Absent,
    /// The index cannot say: ask Tableau.
    Unknown,
}

/// A change made while a listing was under way, to replay onto it.
#[derive(Debug, Clone)]
enum Change {
    Put(Arc<User>),
    Remove(CompactString),
}

/// The users by name, any case. A table of the users' `Arc`s, hashed and compared by the
/// lowercased name as it is read: 8 bytes an entry, where a map keyed by a lowercased copy of
/// each name took 32 (3 MB at 100,000 users).
#[derive(Default)]
struct ByName {
    table: HashTable<Arc<User>>,
    hasher: DefaultHashBuilder,
}

fn lowered(name: &str) -> impl Iterator<Item = char> + '_ {
    name.chars().flat_map(char::to_lowercase)
}

fn hash_of(hasher: &DefaultHashBuilder, name: &str) -> u64 {
    let mut h = hasher.build_hasher();
    for c in lowered(name) {
        h.write_u32(u32::from(c));
    }
    h.finish()
}

impl ByName {
    fn with_capacity(n: usize) -> ByName {
        let hasher = DefaultHashBuilder::default();
        ByName {
            table: HashTable::with_capacity(n),
            hasher,
        }
    }

    fn hash(&self, name: &str) -> u64 {
        hash_of(&self.hasher, name)
    }

    fn get(&self, name: &str) -> Option<&Arc<User>> {
        self.table
            .find(self.hash(name), |u| lowered(&u.name).eq(lowered(name)))
    }

    fn insert(&mut self, user: Arc<User>) {
        let hash = self.hash(&user.name);
        let hasher = &self.hasher;
        let rehash = |u: &Arc<User>| hash_of(hasher, &u.name);
        match self
            .table
            .entry(hash, |u| lowered(&u.name).eq(lowered(&user.name)), rehash)
        {
            hashbrown::hash_table::Entry::Occupied(mut e) => *e.get_mut() = user,
            hashbrown::hash_table::Entry::Vacant(e) => {
                e.insert(user);
            }
        }
    }

    fn remove(&mut self, name: &str) {
        if let Ok(e) = self
            .table
            .find_entry(self.hash(name), |u| lowered(&u.name).eq(lowered(name)))
        {
            e.remove();
        }
    }

    fn len(&self) -> usize {
        self.table.len()
    }
}

impl std::fmt::Debug for ByName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ByName({} users)", self.table.len())
    }
}

#[derive(Debug, Default)]
struct Names {
    users: ByName,
    /// When the listing the index was built from started; `None` until one completes.
    complete_since: Option<Instant>,
}

/// The index of one tenant.
#[derive(Debug)]
pub struct NameIndex {
    names: RwLock<Names>,
    /// `Some` while a listing is under way: the changes made since it started.
    journal: Mutex<Option<Vec<Change>>>,
    /// How old the last listing may be for "absent" to be trusted.
    max_age: Duration,
}

impl NameIndex {
    /// An empty, incomplete index whose listings are trusted for `max_age`.
    pub fn new(max_age: Duration) -> NameIndex {
        NameIndex {
            names: RwLock::new(Names::default()),
            journal: Mutex::new(None),
            max_age,
        }
    }

    /// What the index says about `name` (any case) at `now`.
    pub fn lookup(&self, name: &str, now: Instant) -> Answer {
        let Ok(names) = self.names.read() else {
            return Answer::Unknown;
        };
        if let Some(u) = names.users.get(name) {
            return Answer::Present(u.clone());
        }
        let fresh = names
            .complete_since
            .is_some_and(|t| now.saturating_duration_since(t) < self.max_age);
        if fresh {
            Answer::Absent
        } else {
            Answer::Unknown
        }
    }

    /// Whether a listing has completed and is still trusted at `now`.
    pub fn is_complete(&self, now: Instant) -> bool {
        self.names.read().is_ok_and(|n| {
            n.complete_since
                .is_some_and(|t| now.saturating_duration_since(t) < self.max_age)
        })
    }

    /// Every user of the site, when a listing has completed and is still trusted at `now`
    /// (the admin console's access view: no Tableau call).
    pub fn users(&self, now: Instant) -> Option<Vec<Arc<User>>> {
        let names = self.names.read().ok()?;
        let fresh = names
            .complete_since
            .is_some_and(|t| now.saturating_duration_since(t) < self.max_age);
        fresh.then(|| names.users.table.iter().cloned().collect())
    }

    /// Every user in the index, complete or not (to compare two listings).
    pub fn snapshot(&self) -> Vec<Arc<User>> {
        self.names
            .read()
            .map(|n| n.users.table.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether a listing has completed since the index was made or last forgotten.
    pub fn has_listed(&self) -> bool {
        self.names.read().is_ok_and(|n| n.complete_since.is_some())
    }

    /// Another replica listed the site from `started` on, and its differences have been
    /// applied here: the index is complete from then on, if it was complete before (an index
    /// that never listed, or forgot its listing, lists for itself).
    pub fn listed_elsewhere(&self, started: Instant) {
        if let Ok(mut names) = self.names.write() {
            if names.complete_since.is_some_and(|t| t < started) {
                names.complete_since = Some(started);
            }
        }
    }

    /// Users in the index.
    pub fn len(&self) -> usize {
        self.names.read().map_or(0, |n| n.users.len())
    }

    /// Whether the index holds no user.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn journal(&self, change: Change) {
        if let Ok(mut j) = self.journal.lock() {
            if let Some(changes) = j.as_mut() {
                changes.push(change);
            }
        }
    }

    /// A user as Tableau has it now (read or written).
    pub fn put(&self, user: &Arc<User>) {
        if let Ok(mut names) = self.names.write() {
            names.users.insert(user.clone());
        }
        self.journal(Change::Put(user.clone()));
    }

    /// A user Tableau no longer has.
    pub fn remove(&self, name: &str) {
        if let Ok(mut names) = self.names.write() {
            names.users.remove(name);
        }
        self.journal(Change::Remove(CompactString::from(name)));
    }

    /// A listing starts: changes from now on are kept to be replayed onto it. Returns when it
    /// started.
    pub fn begin_listing(&self) -> Instant {
        if let Ok(mut j) = self.journal.lock() {
            *j = Some(Vec::new());
        }
        Instant::now()
    }

    /// A listing that started at `started` completed with `users`: they, with the changes
    /// made since, replace the index, which is complete from `started` on.
    pub fn finish_listing(&self, users: Vec<Arc<User>>, started: Instant) {
        let mut fresh = ByName::with_capacity(users.len());
        for u in users {
            fresh.insert(u);
        }
        // The journal is taken while the index is write-locked, so no change falls between.
        let Ok(mut names) = self.names.write() else {
            return;
        };
        let changes = self
            .journal
            .lock()
            .ok()
            .and_then(|mut j| j.take())
            .unwrap_or_default();
        for c in changes {
            match c {
                Change::Put(u) => fresh.insert(u),
                Change::Remove(name) => fresh.remove(&name),
            }
        }
        names.users = fresh;
        names.complete_since = Some(started);
    }

    /// Trust no "absent" until the next complete listing (changes may have been missed).
    pub fn forget_listing(&self) {
        if let Ok(mut names) = self.names.write() {
            names.complete_since = None;
        }
    }

    /// A listing failed: the index stays as it was.
    pub fn abandon_listing(&self) {
        if let Ok(mut j) = self.journal.lock() {
            *j = None;
        }
    }
}

/// When a tenant's next listing is due after one at `last`: every `every`, shifted by a fixed
/// share of it that depends on the tenant id, so that tenants do not all list at once.
pub fn next_listing(last: Instant, every: Duration, tenant: &str) -> Instant {
    let spread = tenant
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
        % 1000;
    let shift = every.mul_f64(spread as f64 / 5000.0);
    last + every + shift
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A Viewer named `name` (shared with the cache's tests).
    pub(crate) fn user(id: &str, name: &str) -> Arc<User> {
        Arc::new(User {
            id: id.into(),
            name: name.into(),
            site_role: "Viewer".into(),
            ..User::default()
        })
    }

    #[test]
    fn unknown_until_a_listing_completes_then_absent_until_it_is_too_old() {
        let idx = NameIndex::new(Duration::from_secs(900));
        let t0 = Instant::now();
        assert_eq!(idx.lookup("ann@example.com", t0), Answer::Unknown);
        idx.put(&user("1", "Ann@Example.com"));
        assert!(matches!(
            idx.lookup("ANN@example.com", t0),
            Answer::Present(_)
        ));
        let started = idx.begin_listing();
        idx.finish_listing(vec![user("1", "ann@example.com")], started);
        assert_eq!(idx.lookup("bob@example.com", started), Answer::Absent);
        assert_eq!(
            idx.lookup("bob@example.com", started + Duration::from_secs(901)),
            Answer::Unknown,
            "a listing too old is not trusted for absence"
        );
        assert!(matches!(
            idx.lookup("ann@example.com", started + Duration::from_secs(901)),
            Answer::Present(_)
        ));
    }

    #[test]
    fn writes_during_a_listing_survive_the_swap() {
        let idx = NameIndex::new(Duration::from_secs(900));
        let started = idx.begin_listing();
        // While pages come in: one user is created, one deleted.
        idx.put(&user("9", "new@example.com"));
        idx.remove("gone@example.com");
        idx.finish_listing(
            vec![user("1", "ann@example.com"), user("2", "gone@example.com")],
            started,
        );
        let now = Instant::now();
        assert!(matches!(
            idx.lookup("new@example.com", now),
            Answer::Present(_)
        ));
        assert_eq!(idx.lookup("gone@example.com", now), Answer::Absent);
        assert!(matches!(
            idx.lookup("ann@example.com", now),
            Answer::Present(_)
        ));
        assert_eq!(idx.len(), 2);
        // The next listing does not replay this one's changes.
        let again = idx.begin_listing();
        idx.finish_listing(vec![user("1", "ann@example.com")], again);
        assert_eq!(
            idx.lookup("new@example.com", Instant::now()),
            Answer::Absent
        );
    }

    #[test]
    fn an_abandoned_listing_leaves_the_index_as_it_was() {
        let idx = NameIndex::new(Duration::from_secs(900));
        let started = idx.begin_listing();
        idx.finish_listing(vec![user("1", "ann@example.com")], started);
        idx.begin_listing();
        idx.put(&user("2", "bob@example.com"));
        idx.abandon_listing();
        let now = Instant::now();
        assert!(matches!(
            idx.lookup("bob@example.com", now),
            Answer::Present(_)
        ));
        assert!(idx.is_complete(now));
    }

    #[test]
    fn tenants_list_at_shifted_times_within_a_fifth_of_the_interval() {
        let t0 = Instant::now();
        let every = Duration::from_secs(300);
        let a = next_listing(t0, every, "acme");
        let b = next_listing(t0, every, "globex");
        assert_ne!(a, b);
        for t in [a, b] {
            let d = t.duration_since(t0);
            assert!(d >= every && d < every + every / 5, "{d:?}");
        }
        assert_eq!(next_listing(t0, every, "acme"), a, "stable per tenant");
    }
}
