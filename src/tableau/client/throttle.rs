//! Tableau's rate limit as the only bound on how fast a tenant's calls go. Tableau Cloud
//! answers 429 past its limits on concurrent requests (KB "Concurrency limits in REST APIs on
//! Tableau Cloud"), sometimes without `Retry-After`, sometimes with an HTML body; a gateway in
//! front of Tableau Server may limit by rate. So two limits adapt to what Tableau accepts:
//!
//! - **calls in flight**: additive increase (+1 per window of successes), multiplicative
//!   decrease (halved on 429 or 503), between 1 and the configured most;
//! - **calls per second**: none until Tableau first answers 429; then 90% of what Tableau
//!   accepted over the last ten seconds (or since the first success, if sooner), and at each
//!   further 429 90% of the lower of that and the current rate; raised by a fifth of a call
//!   per second every second of successes, a twentieth within 3% of the rate of the last 429,
//!   and faster the longer no 429 came (+1/5 per 10 s); dropped after a minute without one. A 503 (Tableau unavailable) halves the window
//!   only: it says nothing about a rate.
//!
//! A throttle seen within a second of the last is the same episode: limits are cut once per
//! episode, not once per call that was already in flight. A `Retry-After` pauses every call of
//! the tenant until it has passed. [`Limits`] decides; [`Throttle`] waits.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Calls per second added every second of successes, once a rate is set: slow, so that
/// crossing Tableau's limit again takes a while and a burst of 429s is rare.
const RATE_STEP: f64 = 0.2;

/// What a 429 leaves of the rate: the rate was just past Tableau's limit, so a tenth below it
/// leaves room to climb for ~10 s (RATE_STEP) before the next 429: AIMD averages ~95%.
const RATE_CUT: f64 = 0.9;

/// From this share of the rate of the last 429 on, the rate climbs at a quarter of
/// [`RATE_STEP`]: a limiter with a burst accepts a rate above its own for a while, and probing
/// slowly there spaces its 429s out.
const NEAR_CEILING: f64 = 0.97;

/// Away from the rate of the last 429, the climb gains one [`RATE_STEP`] per this much time
/// without a throttle (from 30 to 100 calls per second in about 75 s).
const SPEEDUP: Duration = Duration::from_secs(10);

/// How long the successes behind a throttle's measurement must span for its rate to count as
/// Tableau's limit (the ceiling near which the rate climbs slowly).
const TRUSTED_SPAN: Duration = Duration::from_secs(5);

/// A call rate is dropped after this long without a throttle.
const FORGET_RATE: Duration = Duration::from_secs(60);

/// Calls per second never go below this.
const MIN_RATE: f64 = 0.5;

/// A throttle within this of the last cut is the same episode.
const EPISODE: Duration = Duration::from_secs(1);

/// How far back the accepted rate is measured. Long, because a limiter with a burst (a token
/// bucket) accepts more than its rate for a while: the rate accepted over a short window at
/// the moment of a 429 overstates the limit, while over ten seconds the burst is a tenth of a
/// second's worth. Shorter histories (the first throttle, soon after start) are measured over
/// the time they span, at least a second.
const RATE_WINDOW: Duration = Duration::from_secs(10);

/// Successes remembered to measure the accepted rate.
const REMEMBERED: usize = 4096;

/// What an answer says about Tableau's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Accepted (any answer that is not a throttle).
    Accepted,
    /// 429, with the `Retry-After` if any.
    Throttled(Option<Duration>),
    /// 503, with the `Retry-After` if any.
    Unavailable(Option<Duration>),
}

/// The adaptive limits of one tenant, without I/O.
#[derive(Debug, Clone)]
pub struct Limits {
    max_in_flight: f64,
    /// The window of calls in flight (fractional: it grows by 1/window per success).
    window: f64,
    /// Calls per second, once Tableau has throttled.
    rate: Option<f64>,
    /// When the last cut happened.
    last_cut: Option<Instant>,
    /// No call starts before this (`Retry-After`).
    resume_at: Option<Instant>,
    /// When recent calls were accepted.
    accepted: VecDeque<Instant>,
    /// When the next call may start under the rate.
    next_slot: Option<Instant>,
    /// Throttles seen.
    throttled: u64,
    /// The rate at the last throttle: Tableau's limit, about.
    ceiling: Option<f64>,
}

impl Limits {
    /// Limits starting at `max_in_flight` calls in flight and no rate.
    pub fn new(max_in_flight: usize) -> Limits {
        let max = max_in_flight.max(1) as f64;
        Limits {
            max_in_flight: max,
            window: max,
            rate: None,
            last_cut: None,
            resume_at: None,
            accepted: VecDeque::new(),
            next_slot: None,
            throttled: 0,
            ceiling: None,
        }
    }

    /// Calls that may be in flight now.
    pub fn window(&self) -> usize {
        self.window.floor().max(1.0) as usize
    }

    /// Calls per second allowed, if Tableau has throttled.
    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// Throttles seen.
    pub fn throttled(&self) -> u64 {
        self.throttled
    }

    /// When a call may start, given `in_flight` calls under way at `now`: `None` when it must
    /// wait for one to finish, else the instant (now or later) it may go. Taking the slot
    /// moves the next one along the rate.
    pub fn admit(&mut self, in_flight: usize, now: Instant) -> Option<Instant> {
        if in_flight >= self.window() {
            return None;
        }
        let mut at = now;
        if let Some(r) = self.resume_at {
            at = at.max(r);
        }
        if let Some(rate) = self.rate {
            let slot = self.next_slot.unwrap_or(at).max(at);
            self.next_slot = Some(slot + Duration::from_secs_f64(1.0 / rate));
            at = slot;
        }
        Some(at)
    }

    /// Take in what an answer at `now` says.
    pub fn observe(&mut self, signal: Signal, now: Instant) {
        match signal {
            Signal::Accepted => {
                self.accepted.push_back(now);
                while self.accepted.len() > REMEMBERED {
                    self.accepted.pop_front();
                }
                self.window = (self.window + 1.0 / self.window).min(self.max_in_flight);
                let quiet = self
                    .last_cut
                    .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
                if self.rate.is_some() && quiet >= FORGET_RATE {
                    // A minute without a 429: the rate was set by a moment that has passed
                    // (a burst, other clients of the site); only the window limits again.
                    self.rate = None;
                    self.next_slot = None;
                }
                if let Some(rate) = self.rate {
                    // RATE_STEP calls per second more, every second's worth of successes; a
                    // quarter of that near the rate of the last 429, where the next one waits.
                    // Away from it, faster the longer Tableau has not throttled: a rate set
                    // while something else held the calls back (5xx, stalls) is no ceiling.
                    let near = self.ceiling.is_some_and(|c| {
                        rate >= c * NEAR_CEILING && rate <= c * (2.0 - NEAR_CEILING)
                    });
                    let step = if near {
                        RATE_STEP / 4.0
                    } else {
                        RATE_STEP * (1.0 + quiet.as_secs_f64() / SPEEDUP.as_secs_f64())
                    };
                    self.rate = Some(rate + step / rate);
                }
            }
            Signal::Throttled(retry_after) | Signal::Unavailable(retry_after) => {
                let by_rate = matches!(signal, Signal::Throttled(_));
                if by_rate {
                    self.throttled += 1;
                }
                if let Some(wait) = retry_after {
                    // Any wait a caller hands in is held to the cap, and added without overflow.
                    let wait = wait.min(crate::tableau::error::MAX_RETRY_AFTER);
                    self.hold_until(now.checked_add(wait).unwrap_or(now));
                }
                let same_episode = self
                    .last_cut
                    .is_some_and(|t| now.saturating_duration_since(t) < EPISODE);
                if same_episode {
                    return;
                }
                self.last_cut = Some(now);
                self.window = (self.window / 2.0).max(1.0);
                if !by_rate {
                    return;
                }
                let (accepted, span) = self.accepted_rate(now);
                // What Tableau took: the rate we kept to, or less if that is all it accepted.
                let took = self.rate.map_or(accepted, |r| r.min(accepted));
                // A ceiling measured over a few seconds only is no ceiling: soon after start,
                // a limiter's burst and the quiet before it say little about its rate.
                self.ceiling = (span >= TRUSTED_SPAN).then_some(took);
                let rate = (took * RATE_CUT).max(MIN_RATE);
                self.rate = Some(rate);
                // A limiter that just refused has nothing left: one interval of quiet lets it
                // refill a call's worth, so the retry and the calls behind it are not refused
                // too (most needed when there is no Retry-After to say how long).
                self.hold_until(now + Duration::from_secs_f64(1.0 / rate));
                self.next_slot = None;
            }
        }
    }

    /// No call starts before `until` (the later of this and any hold already set).
    fn hold_until(&mut self, until: Instant) {
        self.resume_at = Some(self.resume_at.map_or(until, |r| r.max(until)));
    }

    /// Calls Tableau accepted per second over the last [`RATE_WINDOW`], or over the time the
    /// remembered successes span when that is shorter (at least a second).
    fn accepted_rate(&self, now: Instant) -> (f64, Duration) {
        let recent: Vec<&Instant> = self
            .accepted
            .iter()
            .filter(|t| now.saturating_duration_since(**t) <= RATE_WINDOW)
            .collect();
        let span = recent
            .first()
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(**t));
        let over = span.clamp(Duration::from_secs(1), RATE_WINDOW);
        (recent.len() as f64 / over.as_secs_f64(), span)
    }
}

/// The limits of one tenant, shared by its calls.
#[derive(Debug)]
pub struct Throttle {
    state: Mutex<(Limits, usize)>,
    freed: tokio::sync::Notify,
}

/// A call in flight; dropping it frees its place.
pub struct Slot<'a> {
    throttle: &'a Throttle,
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

    /// Wait until a call may start, and hold its place.
    pub async fn slot(&self) -> Slot<'_> {
        loop {
            let freed = self.freed.notified();
            let admitted = {
                let mut s = self.locked();
                let in_flight = s.1;
                let at = s.0.admit(in_flight, Instant::now());
                if at.is_some() {
                    s.1 += 1;
                }
                at
            };
            match admitted {
                Some(at) => {
                    if at > Instant::now() {
                        tokio::time::sleep_until(at.into()).await;
                    }
                    return Slot { throttle: self };
                }
                None => freed.await,
            }
        }
    }

    /// Take in an answer's status and `Retry-After`.
    pub fn observe(&self, status: u16, retry_after: Option<Duration>) {
        let signal = match status {
            429 => Signal::Throttled(retry_after),
            503 => Signal::Unavailable(retry_after),
            _ => Signal::Accepted,
        };
        self.locked().0.observe(signal, Instant::now());
        // A grown window may admit a waiting call.
        self.freed.notify_one();
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

    #[test]
    fn the_window_grows_by_one_per_window_of_successes_and_halves_once_per_episode() {
        let t0 = Instant::now();
        let mut l = Limits::new(8);
        assert_eq!(l.window(), 8);
        l.observe(Signal::Throttled(None), t0);
        assert_eq!(l.window(), 4);
        l.observe(Signal::Throttled(None), t0 + Duration::from_millis(300));
        assert_eq!(l.window(), 4, "the same episode");
        l.observe(Signal::Throttled(None), t0 + Duration::from_secs(2));
        assert_eq!(l.window(), 2);
        for _ in 0..3 {
            l.observe(Signal::Accepted, t0 + Duration::from_secs(3));
        }
        assert_eq!(l.window(), 3, "about one more per window of successes");
        for _ in 0..1000 {
            l.observe(Signal::Accepted, t0 + Duration::from_secs(3));
        }
        assert_eq!(l.window(), 8, "never past the configured most");
    }

    #[test]
    fn a_limiter_with_a_burst_is_measured_over_ten_seconds_not_its_last_one() {
        let t0 = Instant::now();
        let mut l = Limits::new(8);
        // Ten seconds at 20 calls per second, the last one at 28 (the bucket's burst).
        for i in 0..180 {
            l.observe(Signal::Accepted, t0 + Duration::from_millis(10 + 50 * i));
        }
        for i in 0..28 {
            l.observe(Signal::Accepted, t0 + Duration::from_millis(9_010 + 35 * i));
        }
        l.observe(Signal::Throttled(None), t0 + Duration::from_secs(10));
        let rate = l.rate().unwrap_or_default();
        assert!(
            rate < 20.0,
            "under the bucket's rate, not its burst: {rate}"
        );
        assert!(rate > 17.0, "{rate}");
    }

    #[test]
    fn a_throttle_soon_after_start_sets_a_rate_but_no_ceiling() {
        let t0 = Instant::now();
        let mut l = Limits::new(8);
        // Half a second of history: 20 calls (a limiter's burst), then a 429.
        for i in 0..20 {
            l.observe(Signal::Accepted, t0 + Duration::from_millis(25 * i));
        }
        let now = t0 + Duration::from_millis(500);
        l.observe(Signal::Throttled(None), now);
        let mut at = l.rate().unwrap_or_default();
        assert!((at - 20.0 * RATE_CUT).abs() < 0.5, "{at}");
        // Where a trusted ceiling of 20 would slow the climb, it goes on at the full step.
        while at < 20.0 * NEAR_CEILING + 0.1 {
            l.observe(Signal::Accepted, now + Duration::from_millis(200));
            at = l.rate().unwrap_or_default();
        }
        for _ in 0..at.ceil() as usize {
            l.observe(Signal::Accepted, now + Duration::from_millis(300));
        }
        let step = l.rate().unwrap_or_default() - at;
        assert!(step > RATE_STEP * 0.9, "{step}");
    }

    #[test]
    fn a_first_throttle_sets_the_rate_just_under_what_was_accepted() {
        let t0 = Instant::now();
        let mut l = Limits::new(8);
        // 120 calls accepted over the last six seconds: 20 a second.
        for i in 0..120 {
            l.observe(Signal::Accepted, t0 + Duration::from_millis(50 * i));
        }
        let now = t0 + Duration::from_millis(6000);
        l.observe(Signal::Throttled(None), now);
        let rate = l.rate().unwrap_or_default();
        assert!((rate - 20.0 * RATE_CUT).abs() < 1.0, "{rate}");
        // Slots are spaced by the rate.
        let a = l.admit(0, now).unwrap_or(now);
        let b = l.admit(0, now).unwrap_or(now);
        let gap = b.duration_since(a).as_secs_f64();
        assert!((gap - 1.0 / rate).abs() < 1e-6, "{gap}");
        // Successes raise it by a fifth of a call per second per second.
        for _ in 0..18 {
            l.observe(Signal::Accepted, now + Duration::from_secs(1));
        }
        let raised = l.rate().unwrap_or_default();
        assert!((raised - rate - RATE_STEP).abs() < 0.05, "{raised}");
        // Near the rate of that 429 (20 calls/s) it climbs four times slower.
        let mut at = raised;
        while at < 20.0 * NEAR_CEILING {
            l.observe(Signal::Accepted, now + Duration::from_secs(2));
            at = l.rate().unwrap_or_default();
        }
        let per_second = at.ceil() as usize;
        for _ in 0..per_second {
            l.observe(Signal::Accepted, now + Duration::from_secs(3));
        }
        let slow = l.rate().unwrap_or_default() - at;
        assert!((slow - RATE_STEP / 4.0).abs() < 0.02, "{slow}");
        // Past it, 50 s without a 429 climbs six times as fast as just after one.
        while at < 20.0 * (2.0 - NEAR_CEILING) + 0.1 {
            l.observe(Signal::Accepted, now + Duration::from_secs(4));
            at = l.rate().unwrap_or_default();
        }
        for _ in 0..at.ceil() as usize {
            l.observe(Signal::Accepted, now + Duration::from_secs(50));
        }
        let fast = l.rate().unwrap_or_default() - at;
        assert!((fast - RATE_STEP * 6.0).abs() < 0.2, "{fast}");
        // A minute without one: the rate is dropped, the window alone limits.
        l.observe(Signal::Accepted, now + FORGET_RATE);
        assert_eq!(l.rate(), None);
        assert_eq!(l.admit(0, now + FORGET_RATE), Some(now + FORGET_RATE));
    }

    #[test]
    fn unavailable_halves_the_window_and_sets_no_rate() {
        let t0 = Instant::now();
        let mut l = Limits::new(8);
        l.observe(Signal::Unavailable(None), t0);
        assert_eq!((l.window(), l.rate(), l.throttled()), (4, None, 0));
    }

    /// Any `Retry-After` a proxy or a bug sends holds the tenant's calls for at most the cap,
    /// and never panics (`now + u64::MAX seconds` would, poisoning the lock).
    #[test]
    fn a_huge_retry_after_is_capped_and_never_panics() {
        let t0 = Instant::now();
        for wait in [Duration::MAX, Duration::from_secs(1_000_000_000)] {
            let mut l = Limits::new(8);
            l.observe(Signal::Throttled(Some(wait)), t0);
            let at = l.admit(0, t0).unwrap_or(t0);
            assert!(
                at <= t0 + crate::tableau::error::MAX_RETRY_AFTER,
                "{wait:?}"
            );
        }
        let t = Throttle::new(8);
        t.observe(429, Some(Duration::MAX));
        assert_eq!(t.now().2, 1, "the throttle is still usable");
    }

    #[test]
    fn retry_after_holds_every_call_and_a_full_window_waits() {
        let t0 = Instant::now();
        let mut l = Limits::new(2);
        l.observe(Signal::Throttled(Some(Duration::from_secs(3))), t0);
        let at = l.admit(0, t0).unwrap_or(t0);
        assert!(at >= t0 + Duration::from_secs(3));
        assert_eq!(l.admit(l.window(), t0), None, "the window is full");
    }

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
}
