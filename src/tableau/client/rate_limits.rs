//! Tableau's rate limit as the only bound on how fast a tenant's calls go, decided without
//! I/O ([`Limits`]; [`super::throttle::Throttle`] waits). Tableau Cloud answers 429 past its
//! limits on concurrent requests (KB "Concurrency limits in REST APIs on Tableau Cloud"),
//! sometimes without `Retry-After`, sometimes with an HTML body; a gateway in front of Tableau
//! Server may limit by rate; a neighbour on a shared Cloud pod can draw a 429 that says nothing
//! about this tenant's rate. So:
//!
//! - **calls in flight**: additive increase (+1 per window of successes), multiplicative
//!   decrease (halved on 429 or 503), between [`MIN_WINDOW`] and the configured most;
//! - **a lone 429** (the first in [`RATE_WINDOW`] while the tenant sets no rate, or one that
//!   comes while the tenant offers less than its rate) says the traffic before it met no
//!   limit: every call waits for its `Retry-After`, or [`LONE_PAUSE`] without one, and no rate
//!   is set. One such 429 costs about a second, whatever the traffic;
//! - **a limit** (a second 429 within [`RATE_WINDOW`], or one while calls wait on the rate):
//!   the rate becomes 90% of what Tableau took over the busy time of the last ten seconds
//!   (gaps with no call, such as a pause, left out: [`busy_rate`]; while pacing, since the
//!   previous 429), or of the rate itself when that was lower; then it climbs by a fifth of a
//!   call per second every second of successes (a tenth of itself while no ceiling is known
//!   and calls wait on it), a twentieth within 3% of the rate of the last 429, and faster the
//!   longer no 429 came
//!   (+1/5 per 10 s). It is dropped after a minute without a 429 unless calls still wait on it.
//!   A 503 (Tableau unavailable) halves the window only: it says nothing about a rate.
//!
//! A throttle within a second of the last cut, to a call admitted before it, is the same
//! episode: limits are cut once per episode, not once per call that was already in flight. A
//! 429 to a call admitted after the cut says the rate just set is still too high (it was
//! measured over a limiter's burst): the rate is cut to [`FAST_CUT`] of itself at once, not a
//! second later. Every cut or pause starts a new [`Limits::generation`]: a call admitted
//! before it is admitted again, so no call goes out on a schedule a 429 has since replaced.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::budget::{BudgetNews, SiteBudget};

/// Calls per second added every second of successes, once a rate is set: slow, so that
/// crossing Tableau's limit again takes a while and a burst of 429s is rare.
const RATE_STEP: f64 = 0.2;

/// What a 429 leaves of the rate: the rate was just past Tableau's limit, so a tenth below it
/// leaves room to climb for ~10 s (RATE_STEP) before the next 429: AIMD averages ~95%.
pub(super) const RATE_CUT: f64 = 0.9;

/// What a 429 leaves of a rate measured over less than [`TRUSTED_SPAN`] of busy time: such a
/// measurement is mostly the limiter's burst (its stored calls, taken at once after a start
/// or a pause), so half of it is nearer the limit than nine-tenths.
pub(super) const UNTRUSTED_CUT: f64 = 0.5;

/// What a 429 leaves of a rate set less than [`EPISODE`] ago, to a call admitted under it:
/// that rate was measured over a burst (the limiter's stored tokens), and cutting a tenth at
/// a time would cost a 429 per tenth.
pub(super) const FAST_CUT: f64 = 0.75;

/// From this share of the rate of the last 429 on, the rate climbs at a quarter of
/// [`RATE_STEP`]: a limiter with a burst accepts a rate above its own for a while, and probing
/// slowly there spaces its 429s out.
const NEAR_CEILING: f64 = 0.97;

/// While no ceiling is known (the limit was measured over a short busy time, as after a start)
/// and calls wait on the rate, it climbs by this share of itself every second: a first rate
/// measured over a burst may be far below the limit (a limit of 100 calls a second with a burst
/// of 20 measures as 40), and climbing back from there a fifth of a call at a time takes
/// minutes.
const GROWTH: f64 = 0.2;

/// Away from the rate of the last 429, the climb gains one [`RATE_STEP`] per this much time
/// without a throttle (from 30 to 100 calls per second in about 75 s).
const SPEEDUP: Duration = Duration::from_secs(10);

/// How long the successes behind a throttle's measurement must span for its rate to count as
/// Tableau's limit (the ceiling near which the rate climbs slowly).
const TRUSTED_SPAN: Duration = Duration::from_secs(5);

/// A call rate is dropped after this long without a throttle (unless calls wait on it).
const FORGET_RATE: Duration = Duration::from_secs(60);

/// Calls in flight a cut never goes below (unless the configured most, or this replica's share
/// of it, is smaller). With one, a single call that hangs (a stall, a dropped connection
/// waiting out its timeout) stops every call of the tenant until it ends: the fault soak froze
/// for two seconds at a time when 503s had halved the window to one just before a 2 s stall.
/// Tableau Cloud's concurrency limits are far above two (20 per site for long-running jobs:
/// KB "Concurrency limits in REST APIs on Tableau Cloud").
const MIN_WINDOW: f64 = 2.0;

/// Calls per second never go below this.
const MIN_RATE: f64 = 0.5;

/// A throttle within this of the last cut is the same episode.
const EPISODE: Duration = Duration::from_secs(1);

/// How long every call waits after a lone 429 without `Retry-After`: a limiter that refused
/// one call has refilled by then, and a second 429 after it is a limit, not chance.
pub const LONE_PAUSE: Duration = Duration::from_secs(1);

/// How far back the accepted rate is measured. Long, because a limiter with a burst (a token
/// bucket) accepts more than its rate for a while: over ten seconds the burst is a tenth of a
/// second's worth.
pub const RATE_WINDOW: Duration = Duration::from_secs(10);

/// How far back the accepted rate is measured while calls are paced.
const PACED_WINDOW: Duration = Duration::from_secs(2);

/// A gap between two accepted calls longer than this is not busy time (a pause, a quiet
/// moment): the accepted rate is measured over the time calls were going.
const IDLE_GAP: Duration = Duration::from_millis(250);

/// Calls count as waiting on the rate for this long after one was delayed by it.
const SATURATED_FOR: Duration = Duration::from_secs(1);

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
    /// Calls per second, once Tableau has shown a limit.
    rate: Option<f64>,
    /// When the last cut happened (a 429's or a 503's).
    last_cut: Option<Instant>,
    /// When the last 429 episode began.
    last_throttle: Option<Instant>,
    /// No call starts before this (`Retry-After`, a lone 429's pause).
    resume_at: Option<Instant>,
    /// When recent calls were accepted.
    accepted: VecDeque<Instant>,
    /// When the next call may start under the rate.
    next_slot: Option<Instant>,
    /// When a call was last delayed by the rate (calls wait on it: the tenant offers more).
    paced_at: Option<Instant>,
    /// Throttles seen.
    throttled: u64,
    /// The rate at the last throttle: Tableau's limit, about.
    ceiling: Option<f64>,
    /// Bumped at every cut or pause.
    generation: u64,
    /// The generation right after the last cut: a call admitted under it or later was sent
    /// after the cut.
    cut_generation: u64,
    /// Live replicas sharing the site's budget (1 without a shared store).
    replicas: usize,
    /// What this replica learnt since it last told the others.
    news: Option<BudgetNews>,
    /// The position of the last published limit taken in.
    adopted: i64,
}

/// Calls accepted per second over the busy time of `accepted` (instants, oldest first) from
/// `since` to `now`: each gap between two calls counts up to [`IDLE_GAP`], so a pause or a
/// quiet moment does not dilute what Tableau took while calls were going. At least a second.
pub fn busy_rate(accepted: &[Instant], since: Instant, now: Instant) -> (f64, Duration) {
    let recent: Vec<Instant> = accepted.iter().copied().filter(|t| *t >= since).collect();
    let Some(first) = recent.first() else {
        return (0.0, Duration::ZERO);
    };
    let mut busy = Duration::ZERO;
    for pair in recent.windows(2) {
        busy += pair[1].saturating_duration_since(pair[0]).min(IDLE_GAP);
    }
    busy += now
        .saturating_duration_since(*recent.last().unwrap_or(first))
        .min(IDLE_GAP);
    let over = busy.max(Duration::from_secs(1));
    (recent.len() as f64 / over.as_secs_f64(), busy)
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
            last_throttle: None,
            resume_at: None,
            accepted: VecDeque::new(),
            next_slot: None,
            paced_at: None,
            throttled: 0,
            ceiling: None,
            generation: 0,
            cut_generation: 0,
            replicas: 1,
            news: None,
            adopted: 0,
        }
    }

    /// Calls that may be in flight now.
    pub fn window(&self) -> usize {
        self.window.floor().max(1.0) as usize
    }

    /// Calls per second allowed, if Tableau has shown a limit.
    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// Throttles seen.
    pub fn throttled(&self) -> u64 {
        self.throttled
    }

    /// Bumped at every cut or pause: a call admitted under an older generation is admitted
    /// again before it goes.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether calls waited on the rate within [`SATURATED_FOR`] of `now`.
    fn saturated(&self, now: Instant) -> bool {
        self.paced_at
            .is_some_and(|t| now.saturating_duration_since(t) <= SATURATED_FOR)
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
            if slot > at {
                self.paced_at = Some(now);
            }
            self.next_slot = Some(slot + Duration::from_secs_f64(1.0 / rate));
            at = slot;
        }
        Some(at)
    }

    /// Take in what an answer at `now` says, to a call admitted at an unknown generation (as
    /// if before the last cut).
    pub fn observe(&mut self, signal: Signal, now: Instant) {
        self.observe_call(signal, None, now);
    }

    /// Take in what an answer at `now` says to a call admitted under generation `admitted`:
    /// a throttle to a call sent after the last cut is news even within [`EPISODE`].
    pub fn observe_call(&mut self, signal: Signal, admitted: Option<u64>, now: Instant) {
        match signal {
            Signal::Accepted => self.accepted_at(now),
            Signal::Throttled(retry_after) | Signal::Unavailable(retry_after) => {
                let by_rate = matches!(signal, Signal::Throttled(_));
                if by_rate {
                    self.throttled += 1;
                }
                if let Some(wait) = retry_after {
                    // Any wait a caller hands in is held to the cap, and added without overflow.
                    let wait = wait.min(crate::tableau::error::MAX_RETRY_AFTER);
                    self.hold_until(now.checked_add(wait).unwrap_or(now));
                    self.publish(None, wait);
                }
                let sent_before_cut = admitted.is_none_or(|g| g < self.cut_generation);
                let same_episode = sent_before_cut
                    && self
                        .last_cut
                        .is_some_and(|t| now.saturating_duration_since(t) < EPISODE);
                if same_episode {
                    return;
                }
                self.last_cut = Some(now);
                self.window = (self.window / 2.0).max(self.min_window());
                self.generation += 1;
                if by_rate {
                    self.throttle_at(now, retry_after.is_some());
                }
                self.cut_generation = self.generation;
            }
        }
    }

    fn accepted_at(&mut self, now: Instant) {
        self.accepted.push_back(now);
        while self.accepted.len() > REMEMBERED {
            self.accepted.pop_front();
        }
        self.window = (self.window + 1.0 / self.window).min(self.cap());
        let quiet = self
            .last_throttle
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        if self.rate.is_some() && quiet >= FORGET_RATE && !self.saturated(now) {
            // A minute without a 429 and nothing waiting on the rate: the rate was set by a
            // moment that has passed (a burst, other clients of the site).
            self.rate = None;
            self.next_slot = None;
        }
        if let Some(rate) = self.rate {
            // RATE_STEP calls per second more, every second's worth of successes; a quarter of
            // that near the rate of the last 429, where the next one waits. Away from it,
            // faster the longer Tableau has not throttled: a rate set while something else held
            // the calls back (5xx, stalls) is no ceiling.
            let near = self
                .ceiling
                .is_some_and(|c| rate >= c * NEAR_CEILING && rate <= c * (2.0 - NEAR_CEILING));
            // The additive steps are the site's: each of n replicas climbs by 1/n of them, or
            // three replicas would probe Tableau's limit three times as fast as one and meet
            // it three times as often (the growth by a share of itself is the site's already).
            let n = self.replicas as f64;
            let additive = RATE_STEP * (1.0 + quiet.as_secs_f64() / SPEEDUP.as_secs_f64()) / n;
            let step = if near {
                RATE_STEP / 4.0 / n
            } else if self.ceiling.is_none() && self.saturated(now) {
                (rate * GROWTH).max(additive)
            } else {
                additive
            };
            self.rate = Some(rate + step / rate);
        }
    }

    /// A new 429 episode at `now`: a lone one pauses; a limit sets the rate.
    fn throttle_at(&mut self, now: Instant, has_retry_after: bool) {
        let previous = self.last_throttle.replace(now);
        let lone = match self.rate {
            None => previous.is_none_or(|t| now.saturating_duration_since(t) > RATE_WINDOW),
            Some(_) => !self.saturated(now),
        };
        if lone {
            if !has_retry_after {
                self.hold_until(now + LONE_PAUSE);
                self.publish(None, LONE_PAUSE);
            }
            return;
        }
        if let (Some(rate), Some(p)) = (self.rate, previous) {
            if now.saturating_duration_since(p) < EPISODE {
                // Only a call sent after the last cut gets here this soon: the rate set then
                // is still past the limit.
                let rate = (rate * FAST_CUT).max(MIN_RATE);
                self.set_limit(rate, now);
                return;
            }
        }
        // Paced, the calls went at the rate, no burst to average out: what Tableau took over
        // the last two seconds (and since the previous 429) is what it takes now, where ten
        // seconds of a climbing rate would say far less. Unpaced, the busy time of the last
        // ten seconds.
        let since = match (self.rate, previous) {
            (Some(_), previous) => {
                let recent = now.checked_sub(PACED_WINDOW).unwrap_or(now);
                previous.map_or(recent, |p| p.max(recent))
            }
            (None, _) => now.checked_sub(RATE_WINDOW).unwrap_or(now),
        };
        let accepted: Vec<Instant> = self.accepted.iter().copied().collect();
        let (measured, busy) = busy_rate(&accepted, since, now);
        // What Tableau took: the rate we kept to, or less if that is all it accepted.
        let took = self
            .rate
            .map_or(measured, |r| r.min(measured.max(MIN_RATE)));
        // A ceiling measured over a few seconds only is no ceiling: soon after start, a
        // limiter's burst and the quiet before it say little about its rate.
        // Paced, what was taken is the rate itself (or less), a limit's own measure: the
        // ceiling, and a tenth below it is enough. Unpaced, only a long busy time says as much.
        // A 429 while the rate grew by a fifth a second came past the limit by what the
        // limiter's stored calls hid, but what was taken over the last two seconds is near the
        // limit already: a tenth below it (three quarters let 7% fewer calls through in the
        // simulation of the fault soak's limit, and saved 429s only at the start).
        let known = busy >= TRUSTED_SPAN || self.rate.is_some();
        self.ceiling = known.then_some(took);
        let cut = if known { RATE_CUT } else { UNTRUSTED_CUT };
        let rate = (took * cut).max(MIN_RATE);
        self.set_limit(rate, now);
    }

    /// Pace at `rate` from `now`, after a moment's quiet, and tell the other replicas.
    fn set_limit(&mut self, rate: f64, now: Instant) {
        self.rate = Some(rate);
        // A limiter that just refused has nothing left: one interval of quiet lets it refill a
        // call's worth, so the retry and the calls behind it are not refused too (most needed
        // when there is no Retry-After to say how long).
        let quiet = Duration::from_secs_f64(1.0 / rate);
        self.hold_until(now + quiet);
        self.next_slot = None;
        self.publish(Some(rate * self.replicas as f64), quiet);
    }

    /// The fewest calls in flight a cut leaves: [`MIN_WINDOW`], or the cap when that is less.
    fn min_window(&self) -> f64 {
        MIN_WINDOW.min(self.cap())
    }

    /// The most calls in flight this replica may have: its share of the site's, rounded up.
    fn cap(&self) -> f64 {
        (self.max_in_flight / self.replicas as f64).ceil().max(1.0)
    }

    /// Keep `site_rate` (if a limit was met) and `pause` for the other replicas: the latest
    /// rate and the longest pause since the last report.
    fn publish(&mut self, site_rate: Option<f64>, pause: Duration) {
        let merged = match self.news.take() {
            None => BudgetNews { site_rate, pause },
            Some(old) => BudgetNews {
                site_rate: site_rate.or(old.site_rate),
                pause: pause.max(old.pause),
            },
        };
        self.news = Some(merged);
    }

    /// What this replica learnt since the last call, for the other replicas.
    pub fn take_news(&mut self) -> Option<BudgetNews> {
        self.news.take()
    }

    /// Keep `news` that could not be told (the store failed), merged with anything newer.
    pub fn keep_news(&mut self, news: BudgetNews) {
        let newer = self.news.take();
        self.news = Some(news);
        if let Some(n) = newer {
            self.publish(n.site_rate, n.pause);
        }
    }

    /// Live replicas sharing the site's budget, as last read.
    pub fn replicas(&self) -> usize {
        self.replicas
    }

    /// Take in the site's budget at `now`. A change in live replicas rescales this replica's
    /// window and rate to its new share (a dead replica's share returns at once); a limit
    /// another replica met and published (newer than the last taken in, and under
    /// [`FORGET_RATE`] old) applies here too: its pause, its site rate split among the live
    /// replicas, the window halved, a new generation, as if this replica had met it.
    pub fn adopt(&mut self, budget: &SiteBudget, now: Instant) {
        let n = budget.replicas.max(1);
        if n != self.replicas {
            let scale = self.replicas as f64 / n as f64;
            let share_of_cap = self.window / self.cap();
            self.replicas = n;
            self.window = (share_of_cap * self.cap()).clamp(1.0, self.cap());
            self.rate = self.rate.map(|r| (r * scale).max(MIN_RATE));
            self.next_slot = None;
        }
        let Some((seq, limit)) = budget.latest else {
            return;
        };
        if seq <= self.adopted {
            return;
        }
        self.adopted = seq;
        if limit.own || limit.age >= FORGET_RATE {
            return;
        }
        if !limit.pause_left.is_zero() {
            // Held to the cap of any Retry-After, whatever the row says.
            let pause = limit.pause_left.min(crate::tableau::error::MAX_RETRY_AFTER);
            self.hold_until(now + pause);
        }
        if let Some(site) = limit.site_rate {
            let rate = (site / n as f64).max(MIN_RATE);
            self.rate = Some(rate);
            self.next_slot = None;
            self.last_throttle = Some(now);
            // The share of the limit the publisher met: probed slowly from here, not grown
            // by a fifth a second into it.
            self.ceiling = Some(rate / RATE_CUT);
            self.window = (self.window / 2.0).max(self.min_window());
            self.last_cut = Some(now);
            self.generation += 1;
            self.cut_generation = self.generation;
        }
    }

    /// No call starts before `until` (the later of this and any hold already set); a later
    /// hold is a new generation.
    fn hold_until(&mut self, until: Instant) {
        if self.resume_at.is_none_or(|r| until > r) {
            self.resume_at = Some(until);
            self.generation += 1;
        }
    }
}

#[cfg(test)]
#[path = "rate_limits_tests.rs"]
mod tests;
