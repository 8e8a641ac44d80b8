//! Sign-ins started and not yet come back from the provider: per `state`, the PKCE verifier,
//! the nonce, and the value of a cookie that binds it to the browser that started it (so a
//! code another browser obtained cannot be finished here: login CSRF). Single use, expiring
//! after [`PENDING_FOR`], and at most [`MAX_PENDING`] at once (anyone may start a sign-in,
//! so past the bound the oldest goes).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use secrecy::SecretString;

use crate::console::session::{make_room, same_token};

/// How long the provider has to send the browser back.
pub const PENDING_FOR: Duration = Duration::from_secs(600);

/// Most sign-ins pending at once (a few hundred bytes each).
pub const MAX_PENDING: usize = 1024;

/// A sign-in on its way through the provider.
#[derive(Debug)]
pub struct PendingSignIn {
    /// The cookie value of the browser that started it.
    pub binding: String,
    /// The PKCE verifier.
    pub verifier: SecretString,
    /// The nonce the ID token must carry.
    pub nonce: String,
    created: Instant,
}

/// Every pending sign-in.
#[derive(Debug, Default)]
pub struct Pending(Mutex<HashMap<String, PendingSignIn>>);

impl Pending {
    /// Remember a sign-in started at `now` under `state`.
    pub fn put(
        &self,
        state: String,
        binding: String,
        verifier: SecretString,
        nonce: String,
        now: Instant,
    ) {
        if let Ok(mut map) = self.0.lock() {
            map.retain(|_, p| now.duration_since(p.created) < PENDING_FOR);
            make_room(&mut map, MAX_PENDING, |p| p.created);
            map.insert(
                state,
                PendingSignIn {
                    binding,
                    verifier,
                    nonce,
                    created: now,
                },
            );
        }
    }

    /// The sign-in of `state`, once, if it is live and was started by the browser whose cookie
    /// is `binding`. A state presented from another browser is spent all the same.
    pub fn take(&self, state: &str, binding: &str, now: Instant) -> Option<PendingSignIn> {
        let p = self.0.lock().ok()?.remove(state)?;
        (now.duration_since(p.created) < PENDING_FOR && same_token(&p.binding, binding))
            .then_some(p)
    }

    /// How many are held.
    pub fn len(&self) -> usize {
        self.0.lock().map_or(0, |m| m.len())
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_sign_in_is_single_use_bound_to_its_browser_expiring_and_bounded() {
        let p = Pending::default();
        let t0 = Instant::now();
        let put = |state: &str, binding: &str, at: Instant| {
            p.put(
                state.into(),
                binding.into(),
                SecretString::from("v".to_string()),
                "n".into(),
                at,
            )
        };
        put("s1", "b1", t0);
        assert!(p.take("s1", "other-browser", t0).is_none());
        assert!(
            p.take("s1", "b1", t0).is_none(),
            "spent by the wrong browser"
        );
        put("s2", "b2", t0);
        assert_eq!(p.take("s2", "b2", t0).map(|x| x.nonce), Some("n".into()));
        assert!(p.take("s2", "b2", t0).is_none(), "single use");
        put("s3", "b3", t0);
        assert!(p.take("s3", "b3", t0 + PENDING_FOR).is_none(), "expired");
        for i in 0..MAX_PENDING + 10 {
            put(&format!("x{i}"), "b", t0 + Duration::from_millis(i as u64));
        }
        assert_eq!(p.len(), MAX_PENDING);
        let late = t0 + Duration::from_secs(2);
        assert!(p.take("x0", "b", late).is_none(), "the oldest went");
        assert!(p
            .take(&format!("x{}", MAX_PENDING + 9), "b", late)
            .is_some());
    }
}
