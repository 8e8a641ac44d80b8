//! Console sessions, held by the server (the cookie carries only a random id): which tenants
//! the admin may see, the session's CSRF token, when it expires. Bounded per admin token: past
//! `per_token` live sessions of one token its own oldest goes, so sign-ins cannot grow memory
//! beyond `per_token` × the tokens configured, and no token's sign-ins can end another's
//! sessions (one tenant's admin cannot sign every other admin out).

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

/// One signed-in admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// What it may see.
    pub scope: Scope,
    /// The token every form of the session carries.
    pub csrf: String,
    /// The admin token it was opened with (its SHA-256, hex).
    holder: String,
    created: Instant,
    expires: Instant,
}

impl Session {
    /// The digest (hex) of the admin token the session was opened with.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Who the session is, for the audit trail: the admin token's digest, shortened (never the
    /// token itself).
    pub fn who(&self) -> String {
        format!(
            "console admin token {}",
            self.holder.get(..12).unwrap_or(&self.holder)
        )
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

    /// How long a session lasts.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A new session for `scope`, opened with the admin token whose digest is `holder`, at
    /// `now`; returns its id. Past the bound, the holder's own oldest session goes.
    pub fn create(&self, holder: &str, scope: Scope, now: Instant) -> String {
        let id = random_token();
        let session = Session {
            scope,
            csrf: random_token(),
            holder: holder.to_string(),
            created: now,
            expires: now + self.ttl,
        };
        if let Ok(mut map) = self.map.lock() {
            map.retain(|_, s| s.expires > now);
            let mut own: Vec<(Instant, String)> = map
                .iter()
                .filter(|(_, s)| s.holder == holder)
                .map(|(k, s)| (s.created, k.clone()))
                .collect();
            own.sort();
            let excess = (own.len() + 1).saturating_sub(self.per_token);
            for (_, k) in own.into_iter().take(excess) {
                map.remove(&k);
            }
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
        let a = s.create("all", Scope::All, t0);
        assert_eq!(s.get(&a, t0).map(|x| x.scope), Some(Scope::All));
        assert_eq!(s.get(&a, t0 + Duration::from_secs(61)), None, "expired");
        assert_eq!(s.get("forged", t0), None);
        let ids: Vec<String> = (0..5)
            .map(|i| {
                s.create(
                    "tenant-admin",
                    Scope::Tenants(vec![format!("t{i}")]),
                    t0 + Duration::from_secs(i),
                )
            })
            .collect();
        let later = t0 + Duration::from_secs(5);
        assert_eq!(s.len(), 4, "three of the tenant admin's, and the other");
        assert_eq!(s.get(&ids[0], later), None, "its own oldest went");
        assert_eq!(s.get(&ids[1], later), None);
        assert!(
            s.get(&a, later).is_some(),
            "another token's session outlives them all"
        );
        let last = s.get(&ids[4], later).expect("the newest stays");
        assert!(last.scope.allows("t4") && !last.scope.allows("t3"));
        assert_eq!(last.csrf.len(), 64);
        s.remove(&ids[4]);
        assert_eq!(s.get(&ids[4], t0), None);
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("abc", "ab"));
    }
}
