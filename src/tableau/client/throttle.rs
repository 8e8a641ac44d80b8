//! The throttle of one tenant's Tableau calls: [`Limits`] (`rate_limits.rs`) decides how many
//! may be in flight and how fast they may start; [`Throttle`] holds the calls to it, a slot
//! each. A call admitted under an older [`Limits::generation`] (a 429 came while it waited for
//! its moment) is admitted again, so paced calls never go out on a replaced schedule.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use super::rate_limits::{Limits, Signal};

/// The limits of one tenant, shared by its calls.
#[derive(Debug)]
pub struct Throttle {
    state: Mutex<(Limits, usize)>,
    freed: tokio::sync::Notify,
}

/// A call in flight; dropping it frees its place.
pub struct Slot<'a> {
    throttle: &'a Throttle,
    /// The generation the call went under.
    generation: u64,
}

impl Slot<'_> {
    /// The [`Limits::generation`] the call was admitted under (for [`Throttle::observe`]).
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut s = self.throttle.locked();
        s.1 = s.1.saturating_sub(1);
        self.throttle.freed.notify_one();
    }
}

impl Throttle {
    /// The state, even after a panic elsewhere poisoned its lock: the limits are plain numbers,
    /// valid whatever a panicking holder left, and a poisoned lock must not stop the tenant's
    /// calls for good.
    fn locked(&self) -> std::sync::MutexGuard<'_, (Limits, usize)> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A throttle allowing at most `max_in_flight` calls at once.
    pub fn new(max_in_flight: usize) -> Throttle {
        Throttle {
            state: Mutex::new((Limits::new(max_in_flight), 0)),
            freed: tokio::sync::Notify::new(),
        }
    }

    /// Wait until a call may start, and hold its place. A call whose moment a cut or a pause
    /// replaced while it waited is admitted again.
    pub async fn slot(&self) -> Slot<'_> {
        loop {
            let freed = self.freed.notified();
            let admitted = {
                let mut s = self.locked();
                let in_flight = s.1;
                let generation = s.0.generation();
                let at = s.0.admit(in_flight, Instant::now());
                if at.is_some() {
                    s.1 += 1;
                }
                at.map(|at| (at, generation))
            };
            match admitted {
                Some((at, generation)) => {
                    let slot = Slot {
                        throttle: self,
                        generation,
                    };
                    if at > Instant::now() {
                        tokio::time::sleep_until(at.into()).await;
                        if self.locked().0.generation() != generation {
                            // Dropping the slot frees its place; admitted again below.
                            drop(slot);
                            continue;
                        }
                    }
                    return slot;
                }
                None => freed.await,
            }
        }
    }

    /// Take in an answer's status and `Retry-After`, to a call admitted under `generation`
    /// ([`Slot::generation`]; `None`: unknown, as if before the last cut).
    pub fn observe(&self, status: u16, retry_after: Option<Duration>, generation: Option<u64>) {
        let signal = match status {
            429 => Signal::Throttled(retry_after),
            503 => Signal::Unavailable(retry_after),
            _ => Signal::Accepted,
        };
        self.locked()
            .0
            .observe_call(signal, generation, Instant::now());
        // A grown window may admit a waiting call.
        self.freed.notify_one();
    }

    /// What this replica learnt of Tableau's limit since the last call (for the others).
    pub fn take_news(&self) -> Option<super::budget::BudgetNews> {
        self.locked().0.take_news()
    }

    /// Keep news the store could not take, to tell it next time.
    pub fn keep_news(&self, news: super::budget::BudgetNews) {
        self.locked().0.keep_news(news);
    }

    /// Live replicas sharing the site's budget, as last read (1 alone).
    pub fn replicas(&self) -> usize {
        self.locked().0.replicas()
    }

    /// Take in the site's budget as the replicas share it ([`Limits::adopt`]).
    pub fn adopt(&self, budget: super::budget::SiteBudget) {
        self.locked().0.adopt(&budget, Instant::now());
        // A grown share may admit a waiting call.
        self.freed.notify_waiters();
    }

    /// The limits now: calls in flight allowed, calls per second (if any), throttles seen.
    pub fn now(&self) -> (usize, Option<f64>, u64) {
        let s = self.locked();
        (s.0.window(), s.0.rate(), s.0.throttled())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_are_freed_when_dropped() {
        let t = Throttle::new(1);
        let first = t.slot().await;
        let waiting = tokio::time::timeout(Duration::from_millis(50), t.slot()).await;
        assert!(waiting.is_err(), "a second call waits for the first");
        drop(first);
        let second = tokio::time::timeout(Duration::from_millis(500), t.slot()).await;
        assert!(second.is_ok());
    }

    #[test]
    fn a_huge_retry_after_leaves_the_throttle_usable() {
        let t = Throttle::new(8);
        t.observe(429, Some(Duration::MAX), None);
        assert_eq!(t.now().2, 1, "the throttle is still usable");
    }

    /// A call waiting for its paced moment when a 429 comes does not go at that moment: it is
    /// admitted again, behind the pause.
    #[tokio::test]
    async fn a_call_admitted_before_a_pause_waits_for_it() {
        let t = Throttle::new(8);
        // A limit (two 429s, the second within the window) sets a rate.
        t.observe(429, None, None);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        t.observe(429, None, None);
        let _ = t.slot().await;
        let started = Instant::now();
        let waiting = t.slot();
        tokio::pin!(waiting);
        // While it sleeps for its slot, Tableau says wait three seconds.
        let early = tokio::time::timeout(Duration::from_millis(1), &mut waiting).await;
        assert!(early.is_err(), "paced: the next call waits for its moment");
        t.observe(429, Some(Duration::from_secs(3)), None);
        let _ = waiting.await;
        assert!(
            started.elapsed() >= Duration::from_millis(2900),
            "the call waited for the Retry-After: {:?}",
            started.elapsed()
        );
    }
}
