//! [`Limits`] on recorded traces and on a simulated limiter: a lone 429, a gateway's burst
//! limit, a steady limit, a `Retry-After` storm.

use super::*;

fn ms(t0: Instant, n: u64) -> Instant {
    t0 + Duration::from_millis(n)
}

#[test]
fn the_window_grows_by_one_per_window_of_successes_and_halves_once_per_episode() {
    let t0 = Instant::now();
    let mut l = Limits::new(8);
    assert_eq!(l.window(), 8);
    l.observe(Signal::Throttled(None), t0);
    assert_eq!(l.window(), 4);
    l.observe(Signal::Throttled(None), ms(t0, 300));
    assert_eq!(l.window(), 4, "the same episode");
    l.observe(Signal::Throttled(None), ms(t0, 2000));
    assert_eq!(l.window(), 2);
    for _ in 0..3 {
        l.observe(Signal::Accepted, ms(t0, 3000));
    }
    assert_eq!(l.window(), 3, "about one more per window of successes");
    for _ in 0..1000 {
        l.observe(Signal::Accepted, ms(t0, 3000));
    }
    assert_eq!(l.window(), 8, "never past the configured most");
}

#[test]
fn cuts_leave_two_calls_in_flight_so_one_hung_call_cannot_stop_the_tenant() {
    let t0 = Instant::now();
    let mut l = Limits::new(8);
    for i in 0..6 {
        l.observe(Signal::Unavailable(None), ms(t0, 2000 * i));
    }
    assert_eq!(l.window(), 2, "halved down to two, no further");
    assert!(
        l.admit(1, ms(t0, 12_000)).is_some(),
        "a second call goes beside a hung one"
    );
    let mut one = Limits::new(1);
    one.observe(Signal::Unavailable(None), t0);
    assert_eq!(one.window(), 1, "a configured most of one stays one");
}

/// A lone 429 at 5 calls a second (a neighbour on a shared pod): every call waits a second,
/// and then goes on unpaced: no rate.
#[test]
fn a_lone_429_pauses_a_second_and_sets_no_rate() {
    let t0 = Instant::now();
    let mut l = Limits::new(8);
    for i in 0..50 {
        l.observe(Signal::Accepted, ms(t0, 200 * i));
    }
    let now = ms(t0, 10_000);
    l.observe(Signal::Throttled(None), now);
    assert_eq!(l.rate(), None);
    assert_eq!(l.admit(0, now), Some(now + LONE_PAUSE));
    let later = now + LONE_PAUSE + Duration::from_millis(200);
    assert_eq!(l.admit(0, later), Some(later), "no pacing after the pause");
    // With Retry-After, its wait and no more.
    let mut l = Limits::new(8);
    l.observe(Signal::Throttled(Some(Duration::from_secs(2))), now);
    assert_eq!(l.admit(0, now), Some(now + Duration::from_secs(2)));
    assert_eq!(l.rate(), None);
}

/// A second 429 within ten seconds is a limit: the rate is what was taken over the busy time,
/// the pause left out (measured over ten seconds, a limiter's burst of 28 calls in the last
/// second of 20 a second does not count as its rate).
#[test]
fn a_second_429_sets_the_rate_from_the_busy_time_not_the_burst_nor_the_pause() {
    let t0 = Instant::now();
    let mut l = Limits::new(8);
    for i in 0..180 {
        l.observe(Signal::Accepted, ms(t0, 10 + 50 * i));
    }
    for i in 0..28 {
        l.observe(Signal::Accepted, ms(t0, 9_010 + 35 * i));
    }
    l.observe(Signal::Throttled(None), ms(t0, 10_000));
    assert_eq!(l.rate(), None, "the first is lone");
    for i in 0..10 {
        l.observe(Signal::Accepted, ms(t0, 11_000 + 50 * i));
    }
    l.observe(Signal::Throttled(None), ms(t0, 11_500));
    let rate = l.rate().unwrap_or_default();
    assert!(
        rate > 17.0 && rate < 20.0,
        "under the bucket's rate: {rate}"
    );
}

#[test]
fn a_limit_met_soon_after_start_sets_a_rate_but_no_ceiling() {
    let t0 = Instant::now();
    let mut l = Limits::new(8);
    // Half a second of history: 20 calls (a limiter's burst), a 429, a pause, a second 429.
    for i in 0..20 {
        l.observe(Signal::Accepted, ms(t0, 25 * i));
    }
    l.observe(Signal::Throttled(None), ms(t0, 500));
    let now = ms(t0, 1600);
    l.observe(Signal::Throttled(None), now);
    let mut at = l.rate().unwrap_or_default();
    assert!((at - 20.0 * UNTRUSTED_CUT).abs() < 0.5, "{at}");
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
fn the_rate_is_paced_climbs_slowly_near_the_ceiling_and_is_dropped_when_quiet() {
    let t0 = Instant::now();
    let mut l = Limits::new(8);
    // 120 calls accepted over six seconds (20 a second), a lone 429, then a second one.
    for i in 0..120 {
        l.observe(Signal::Accepted, ms(t0, 50 * i));
    }
    l.observe(Signal::Throttled(None), ms(t0, 6000));
    let now = ms(t0, 7100);
    l.observe(Signal::Throttled(None), now);
    let rate = l.rate().unwrap_or_default();
    assert!((rate - 20.0 * RATE_CUT).abs() < 1.5, "{rate}");
    // Slots are spaced by the rate, after one interval of quiet.
    let a = l.admit(0, now).unwrap_or(now);
    let b = l.admit(0, now).unwrap_or(now);
    let gap = b.duration_since(a).as_secs_f64();
    assert!((gap - 1.0 / rate).abs() < 1e-6, "{gap}");
    // Successes raise it by about a fifth of a call per second per second.
    for _ in 0..18 {
        l.observe(Signal::Accepted, now + Duration::from_secs(1));
    }
    let raised = l.rate().unwrap_or_default();
    assert!((raised - rate - RATE_STEP).abs() < 0.05, "{raised}");
    // Near the rate of that 429 (~19.4 calls/s) it climbs four times slower.
    let ceiling = rate / RATE_CUT;
    let mut at = raised;
    while at < ceiling * NEAR_CEILING {
        l.observe(Signal::Accepted, now + Duration::from_secs(2));
        at = l.rate().unwrap_or_default();
    }
    for _ in 0..at.ceil() as usize {
        l.observe(Signal::Accepted, now + Duration::from_secs(3));
    }
    let slow = l.rate().unwrap_or_default() - at;
    assert!((slow - RATE_STEP / 4.0).abs() < 0.02, "{slow}");
    // Past it, 50 s without a 429 climbs six times as fast as just after one.
    while at < ceiling * (2.0 - NEAR_CEILING) + 0.1 {
        l.observe(Signal::Accepted, now + Duration::from_secs(4));
        at = l.rate().unwrap_or_default();
    }
    for _ in 0..at.ceil() as usize {
        l.observe(Signal::Accepted, now + Duration::from_secs(50));
    }
    let fast = l.rate().unwrap_or_default() - at;
    assert!((fast - RATE_STEP * 6.0).abs() < 0.2, "{fast}");
    // A minute without one and nothing waiting on it: the rate is dropped.
    l.observe(Signal::Accepted, now + FORGET_RATE);
    assert_eq!(l.rate(), None);
    assert_eq!(l.admit(0, now + FORGET_RATE), Some(now + FORGET_RATE));
}

/// Pacing with the tenant offering less than its rate: a 429 then is lone too.
#[test]
fn a_429_while_offering_less_than_the_rate_leaves_the_rate() {
    let t0 = Instant::now();
    let mut l = Limits::new(8);
    l.observe(Signal::Throttled(None), t0);
    l.observe(Signal::Throttled(None), ms(t0, 1500));
    let rate = l.rate().unwrap_or_default();
    // Calls come three seconds apart, slower than any rate: none waits on it.
    let mut now = ms(t0, 5000);
    for _ in 0..5 {
        let at = l.admit(0, now).unwrap_or(now);
        assert_eq!(at, now, "not delayed");
        l.observe(Signal::Accepted, at);
        now += Duration::from_secs(3);
    }
    let before = l.rate().unwrap_or_default();
    assert!(before >= rate);
    l.observe(Signal::Throttled(None), now);
    assert_eq!(l.rate(), Some(before), "not cut");
    assert_eq!(l.admit(0, now), Some(now + LONE_PAUSE));
}

/// Fifty 429s in half a second, each with its own `Retry-After` (a gateway answering every
/// call in flight): one cut, every call held until the latest wait.
#[test]
fn a_retry_after_storm_cuts_once_and_holds_until_the_latest_wait() {
    let t0 = Instant::now();
    let mut l = Limits::new(16);
    for i in 0..50u64 {
        let wait = Duration::from_secs(2 + i % 4);
        l.observe(Signal::Throttled(Some(wait)), ms(t0, 10 * i));
    }
    assert_eq!(l.throttled(), 50);
    assert_eq!(l.window(), 8, "halved once");
    assert_eq!(l.rate(), None, "one episode: lone");
    let at = l.admit(0, t0).unwrap_or(t0);
    // The latest: the 48th (i = 47) arrived at 470 ms with 5 s.
    assert_eq!(at, ms(t0, 470) + Duration::from_secs(5), "the latest wait");
    assert!(l.generation() >= 2, "each later hold is a new generation");
}

#[test]
fn unavailable_halves_the_window_and_sets_no_rate() {
    let t0 = Instant::now();
    let mut l = Limits::new(8);
    l.observe(Signal::Unavailable(None), t0);
    assert_eq!((l.window(), l.rate(), l.throttled()), (4, None, 0));
}

/// Any `Retry-After` a proxy or a bug sends holds the tenant's calls for at most the cap, and
/// never panics (`now + u64::MAX seconds` would, poisoning the lock).
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

#[test]
fn busy_time_leaves_out_the_gaps_of_a_pause() {
    let t0 = Instant::now();
    let calls: Vec<Instant> = (0..10)
        .map(|i| ms(t0, 100 * i))
        .chain((0..10).map(|i| ms(t0, 5000 + 100 * i)))
        .collect();
    let (rate, busy) = busy_rate(&calls, t0, ms(t0, 6000));
    // 20 calls over ~2.15 s of busy time, not over six seconds.
    assert!(busy < Duration::from_millis(2200), "{busy:?}");
    assert!((rate - 20.0 / busy.as_secs_f64()).abs() < 1e-9);
    assert!(rate > 9.0, "{rate}");
}

/// A token bucket as Tableau's or a gateway's limiter: `rate` a second, `burst` at most.
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Option<Instant>,
}

impl Bucket {
    fn new(rate: f64, burst: f64) -> Bucket {
        Bucket {
            rate,
            burst,
            tokens: burst,
            at: None,
        }
    }

    /// Take a token at `now`, or the `Retry-After` a 429 would carry (whole seconds, as
    /// Tableau's header).
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        if let Some(at) = self.at {
            self.tokens = (self.tokens
                + now.saturating_duration_since(at).as_secs_f64() * self.rate)
                .min(self.burst);
        }
        self.at = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs(
                ((1.0 - self.tokens) / self.rate).ceil().max(1.0) as u64,
            ))
        }
    }
}

/// What a simulated run came to.
struct Run {
    /// Accepted calls, by when they went.
    accepted: Vec<Instant>,
    /// 429s answered.
    throttled: usize,
    /// How long each call waited from its demand to its acceptance.
    delays: Vec<Duration>,
}

/// Calls demanded at `demand` a second for `secs` seconds, each sent when `Limits` admits it
/// (one at a time, answered at once) and sent again after a 429, against `limiter`
/// (`retry_after`: whether its 429s carry the header).
fn simulate(
    demand: f64,
    secs: u64,
    retry_after: bool,
    mut limiter: impl FnMut(Instant) -> Result<(), Duration>,
) -> Run {
    let t0 = Instant::now();
    let mut l = Limits::new(8);
    let mut run = Run {
        accepted: Vec::new(),
        throttled: 0,
        delays: Vec::new(),
    };
    let end = t0 + Duration::from_secs(secs);
    let mut clock = t0;
    let mut n = 0u64;
    loop {
        let demanded = t0 + Duration::from_secs_f64(n as f64 / demand);
        if demanded >= end {
            return run;
        }
        n += 1;
        loop {
            let ready = clock.max(demanded);
            let at = l.admit(0, ready).unwrap_or(ready);
            clock = at;
            match limiter(at) {
                Ok(()) => {
                    l.observe(Signal::Accepted, at);
                    run.accepted.push(at);
                    run.delays.push(at.saturating_duration_since(demanded));
                    break;
                }
                Err(wait) => {
                    run.throttled += 1;
                    l.observe(Signal::Throttled(retry_after.then_some(wait)), at);
                }
            }
        }
    }
}

/// How many of `accepted` (instants, oldest first) went from `from` to `to` after the first.
fn accepted_between(accepted: &[Instant], from: Duration, to: Duration) -> usize {
    let t0 = accepted.first().copied().unwrap_or_else(Instant::now);
    accepted
        .iter()
        .filter(|t| {
            let d = t.saturating_duration_since(t0);
            d >= from && d < to
        })
        .count()
}

/// The share of calls answered 429, of `accepted` and `throttled`.
fn throttled_share(accepted: usize, throttled: usize) -> f64 {
    throttled as f64 / (accepted + throttled) as f64
}

/// Twice the demand Tableau allows, for two minutes: the rate settles at 90% of the limit or
/// more, with under 1% of calls answered 429, with and without `Retry-After`.
#[test]
fn a_steady_limit_is_held_at_ninety_percent_with_few_429s() {
    for retry_after in [true, false] {
        let mut bucket = Bucket::new(20.0, 20.0);
        let run = simulate(40.0, 180, retry_after, |t| bucket.take(t));
        let last_minute = accepted_between(
            &run.accepted,
            Duration::from_secs(60),
            Duration::from_secs(120),
        );
        assert!(
            last_minute as f64 >= 0.9 * 20.0 * 60.0,
            "Retry-After {retry_after}: {last_minute} in a minute"
        );
        let share = throttled_share(run.accepted.len(), run.throttled);
        assert!(
            share < 0.01,
            "Retry-After {retry_after}: {} 429s of {}",
            run.throttled,
            run.accepted.len()
        );
    }
}

/// A gateway that lets a burst of 60 through, then 20 a second.
#[test]
fn a_gateways_burst_limit_is_held_too() {
    let mut bucket = Bucket::new(20.0, 60.0);
    let run = simulate(40.0, 180, true, |t| bucket.take(t));
    let last_minute = accepted_between(
        &run.accepted,
        Duration::from_secs(60),
        Duration::from_secs(120),
    );
    assert!(last_minute as f64 >= 0.9 * 20.0 * 60.0, "{last_minute}");
    let share = throttled_share(run.accepted.len(), run.throttled);
    assert!(share < 0.01, "{} 429s", run.throttled);
}

/// 5 calls a second against a Tableau far above it, one 429 at the tenth second: no call
/// waits more than about a second for it, and from two seconds on none waits at all.
#[test]
fn a_lone_429_at_five_a_second_costs_about_a_second() {
    for retry_after in [true, false] {
        let t0 = Instant::now();
        let mut sent = false;
        let run = simulate(5.0, 60, retry_after, |t| {
            if !sent && t.saturating_duration_since(t0) >= Duration::from_secs(10) {
                sent = true;
                return Err(Duration::from_secs(1));
            }
            Ok(())
        });
        let worst = run.delays.iter().max().copied().unwrap_or_default();
        assert!(
            worst <= Duration::from_millis(1100),
            "Retry-After {retry_after}: {worst:?}"
        );
        let late: Vec<&Duration> = run
            .delays
            .iter()
            .skip(60)
            .filter(|d| !d.is_zero())
            .collect();
        assert!(
            late.is_empty(),
            "Retry-After {retry_after}: after 12 s calls still wait: {late:?}"
        );
        assert_eq!(run.accepted.len(), 300, "every call went");
    }
}

#[path = "rate_limits_budget_tests.rs"]
mod budget;

#[path = "rate_limits_concurrent_tests.rs"]
mod concurrent;
