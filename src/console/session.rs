//! Console sessions, held by the server (the cookie carries only a random id): who signed in
//! (an admin token, or a person through the identity provider), which tenants they may see
//! and operate, the session's CSRF token, when it expires. Bounded per holder: past
//! `per_token` live sessions of one admin token or one person their own oldest goes, so no
//! holder's sign-ins can end another's sessions (one tenant's admin cannot sign every other
//! admin out); and at most [`MAX_SESSIONS`] in all, so sign-ins through the provider by ever
//! more people cannot grow memory without bound.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a session may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every tenant (a `[server] admin_token_hashes` token).
    All,
    /// These tenants (a tenant's `admin_token_hashes` token).
    Tenants(Vec<String>),
}

impl Scope {
    /// Whether the session may see `tenant`.
    pub fn allows(&self, tenant: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Tenants(ids) => ids.iter().any(|t| t == tenant),
        }
    }
}

/// Most sessions held at once, whoever holds them (a session is a few hundred bytes, with a
/// person's ID token a few KiB).
pub const MAX_SESSIONS: usize = 10_000;

/// Who opened a session.
#[derive(Debug, Clone)]
pub enum Holder {
    /// An admin token (its SHA-256, hex).
    Token(String),
    /// A person, through the identity provider.
    Person(crate::console::oidc::Person),
}

impl Holder {
    /// The key sessions are bounded by: one admin token, or one person.
    fn key(&self) -> String {
        match self {
            Holder::Token(digest) => format!("token:{digest}"),
            Holder::Person(p) => format!("oidc:{}", p.subject),
        }
    }
}

/// One signed-in admin.
#[derive(Debug, Clone)]
pub struct Session {
    /// What it may see.
    pub scope: Scope,
    /// What it may operate on (run a reconciliation, decide holds): a part of `scope`.
    pub operate: Scope,
    /// The token every form of the session carries.
    pub csrf: String,
    /// Who opened it.
    holder: Holder,
    created: Instant,
    expires: Instant,
}

impl Session {
    /// Who opened the session.
    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    /// Who the session is, for the page header.
    pub fn display_name(&self) -> String {
        match &self.holder {
            Holder::Token(digest) => format!("admin token {}", digest.get(..8).unwrap_or(digest)),
            Holder::Person(p) => p.name.clone(),
        }
    }

    /// Who the session is, for the audit trail and the log: the person as the identity
    /// provider names them, or the admin token's digest, shortened (never the token itself).
    pub fn who(&self) -> String {
        match &self.holder {
            Holder::Token(digest) => {
                format!("console admin token {}", digest.get(..12).unwrap_or(digest))
            }
            Holder::Person(p) => format!("console admin {} (OpenID subject {})", p.name, p.subject),
        }
    }
}

/// Every session.
#[derive(Debug)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    ttl: Duration,
    per_token: usize,
}

/// A random token: 32 bytes, hex.
pub fn random_token() -> String {
    use rand::Rng;
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

impl Sessions {
    /// Sessions that last `ttl`, at most `per_token` at once for one admin token.
    pub fn new(ttl: Duration, per_token: usize) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            ttl,
            per_token: per_token.max(1),
        }
    }

    /// How long a session opened with an admin token lasts.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A new session opened by `holder` at `now`, seeing `scope` and operating `operate`, for
    /// `ttl`; returns its id. Past the bounds, the holder's own oldest session goes, then the
    /// oldest of all.
    pub fn create(
        &self,
        holder: Holder,
        (scope, operate): (Scope, Scope),
        now: Instant,
        ttl: Duration,
    ) -> String {
        let id = random_token();
        let key = holder.key();
        let session = Session {
            scope,
            operate,
            csrf: random_token(),
            holder,
            created: now,
            expires: now + ttl,
        };
        if let Ok(mut map) = self.map.lock() {
            map.retain(|_, s| s.expires > now);
            let mut own: Vec<(Instant, String)> = map
                .iter()
                .filter(|(_, s)| s.holder.key() == key)
                .map(|(k, s)| (s.created, k.clone()))
                .collect();
            own.sort();
            let excess = (own.len() + 1).saturating_sub(self.per_token);
            for (_, k) in own.into_iter().take(excess) {
                map.remove(&k);
            }
            make_room(&mut map, MAX_SESSIONS, |s| s.created);
            map.insert(id.clone(), session);
        }
        id
    }

    /// The live session of `id` at `now`.
    pub fn get(&self, id: &str, now: Instant) -> Option<Session> {
        let map = self.map.lock().ok()?;
        map.get(id).filter(|s| s.expires > now).cloned()
    }

    /// End a session.
    pub fn remove(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(id);
        }
    }

    /// Live and expired sessions held.
    pub fn len(&self) -> usize {
        self.map.lock().map_or(0, |m| m.len())
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Drop the oldest entries of `map` (by `created`) until one more fits under `bound`: the
/// console's maps that anyone may add to (sessions, pending sign-ins) stay bounded.
pub(crate) fn make_room<V>(
    map: &mut HashMap<String, V>,
    bound: usize,
    created: impl Fn(&V) -> Instant,
) {
    while map.len() >= bound {
        let oldest = map
            .iter()
            .min_by_key(|(_, v)| created(v))
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => map.remove(&k),
            None => break,
        };
    }
}

/// Whether two tokens are equal, in time that does not depend on where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_end_and_stay_bounded_per_token() {
        let s = Sessions::new(Duration::from_secs(60), 3);
        let t0 = Instant::now();
        let ttl = Duration::from_secs(60);
        let token = |d: &str| Holder::Token(d.to_string());
        let a = s.create(token("all"), (Scope::All, Scope::All), t0, ttl);
        assert_eq!(s.get(&a, t0).map(|x| x.scope), Some(Scope::All));
        assert!(s.get(&a, t0 + Duration::from_secs(61)).is_none(), "expired");
        assert!(s.get("forged", t0).is_none());
        let ids: Vec<String> = (0..5)
            .map(|i| {
                let scope = Scope::Tenants(vec![format!("t{i}")]);
                s.create(
                    token("tenant-admin"),
                    (scope.clone(), scope),
                    t0 + Duration::from_secs(i),
                    ttl,
                )
            })
            .collect();
        let later = t0 + Duration::from_secs(5);
        assert_eq!(s.len(), 4, "three of the tenant admin's, and the other");
        assert!(s.get(&ids[0], later).is_none(), "its own oldest went");
        assert!(s.get(&ids[1], later).is_none());
        assert!(
            s.get(&a, later).is_some(),
            "another token's session outlives them all"
        );
        let last = s.get(&ids[4], later).expect("the newest stays");
        assert!(last.scope.allows("t4") && !last.scope.allows("t3"));
        assert_eq!(last.csrf.len(), 64);
        s.remove(&ids[4]);
        assert!(s.get(&ids[4], t0).is_none());
        let short = s.create(
            token("brief"),
            (Scope::All, Scope::Tenants(vec![])),
            t0,
            Duration::from_secs(5),
        );
        assert!(s.get(&short, t0 + Duration::from_secs(4)).is_some());
        assert!(
            s.get(&short, t0 + Duration::from_secs(6)).is_none(),
            "a session's own shorter life"
        );
        assert!(s
            .get(&a, t0)
            .is_some_and(|x| x.who().starts_with("console admin token all")));
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("abc", "ab"));
    }
}
