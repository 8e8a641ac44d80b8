//! [`Limits`] as the throttle drives it: several calls in flight, each answered after a
//! latency, the answer observed with the generation its call went under, a call whose moment
//! a later cut replaced admitted again (as `Throttle::slot` does). The bridge's initial sync
//! against a limiter with a burst: what `benches/rate_limited.rs` measures end to end.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::super::*;
use super::{accepted_between, throttled_share, Bucket};

/// What a worker does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// Ask for a slot.
    Ready,
    /// Its admitted moment came (under this generation).
    Start(u64),
    /// The answer arrives: accepted or not, to a call sent under this generation.
    Answer(bool, Option<u64>, u64),
}

/// What a concurrent run came to.
pub(super) struct Concurrent {
    /// Accepted calls, by when they reached the limiter.
    accepted: Vec<Instant>,
    /// 429s answered.
    throttled: usize,
}

/// `workers` callers, each sending its next call as soon as the last is answered (an IdP's
/// sync), every call answered `latency` after it went, for `secs` seconds.
fn run_concurrent(
    workers: usize,
    latency: Duration,
    secs: u64,
    retry_after: bool,
    mut limiter: impl FnMut(Instant) -> Result<(), Duration>,
) -> Concurrent {
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs(secs);
    let mut l = Limits::new(8);
    let mut in_flight = 0usize;
    let mut waiting: Vec<usize> = Vec::new();
    let mut seq = 0u64;
    let mut queue: BinaryHeap<Reverse<(Instant, u64, usize, Step)>> = BinaryHeap::new();
    let mut push = |queue: &mut BinaryHeap<_>, at: Instant, w: usize, step: Step| {
        seq += 1;
        queue.push(Reverse((at, seq, w, step)));
    };
    for w in 0..workers {
        push(&mut queue, t0, w, Step::Ready);
    }
    let mut run = Concurrent {
        accepted: Vec::new(),
        throttled: 0,
    };
    while let Some(Reverse((now, _, w, step))) = queue.pop() {
        if now >= end {
            break;
        }
        match step {
            Step::Ready => {
                let generation = l.generation();
                match l.admit(in_flight, now) {
                    None => waiting.push(w),
                    Some(at) => {
                        in_flight += 1;
                        push(&mut queue, at, w, Step::Start(generation));
                    }
                }
            }
            Step::Start(generation) => {
                if l.generation() != generation {
                    // Its moment was replaced: the slot is given back and asked for again.
                    in_flight -= 1;
                    push(&mut queue, now, w, Step::Ready);
                    continue;
                }
                let (ok, wait) = match limiter(now) {
                    Ok(()) => {
                        run.accepted.push(now);
                        (true, None)
                    }
                    Err(wait) => (false, retry_after.then_some(wait)),
                };
                let wait_ms = wait.map(|d| d.as_millis() as u64);
                push(
                    &mut queue,
                    now + latency,
                    w,
                    Step::Answer(ok, wait_ms, generation),
                );
            }
            Step::Answer(ok, wait_ms, generation) => {
                in_flight -= 1;
                let signal = if ok {
                    Signal::Accepted
                } else {
                    run.throttled += 1;
                    Signal::Throttled(wait_ms.map(Duration::from_millis))
                };
                l.observe_call(signal, Some(generation), now);
                push(&mut queue, now, w, Step::Ready);
                for other in waiting.drain(..) {
                    push(&mut queue, now, other, Step::Ready);
                }
            }
        }
    }
    run
}

/// Eight calls in flight at 30 ms against 20 a second with a burst of 20 (what the emulator
/// does in `benches/rate_limited.rs`, for as long: 100 s): at least 90% of the limit, under 1% of
/// calls answered 429, with and without `Retry-After`. The first rate is measured over the
/// burst: while 429s to calls sent after a cut were taken for the same episode, that rate drew
/// a 429 every 50 ms for a second (the bench: 2.6% of calls without `Retry-After`).
#[test]
fn eight_in_flight_hold_a_limit_with_a_burst() {
    for retry_after in [true, false] {
        let mut bucket = Bucket::new(20.0, 20.0);
        let run = run_concurrent(8, Duration::from_millis(30), 100, retry_after, |t| {
            bucket.take(t)
        });
        let share = throttled_share(run.accepted.len(), run.throttled);
        assert!(
            run.accepted.len() as f64 >= 0.9 * 20.0 * 100.0,
            "Retry-After {retry_after}: {} accepted in a minute",
            run.accepted.len()
        );
        assert!(
            share < 0.01,
            "Retry-After {retry_after}: {} 429s of {}",
            run.throttled,
            run.accepted.len() + run.throttled
        );
    }
}

/// A high limit with a small burst (100 a second, 20 stored: the fault soak's Tableau) measures
/// as far less at the start (40 a second over the first busy quarter second): the rate climbs
/// by a tenth of itself a second while no ceiling is known, so from the twentieth second on at
/// least 90% of the limit goes through, with under 1% of calls answered 429. Climbing a fifth
/// of a call per second, the same run stayed under half the limit for a minute.
#[test]
fn a_high_limit_measured_low_at_the_start_is_reached_within_seconds() {
    let mut bucket = Bucket::new(100.0, 20.0);
    let run = run_concurrent(8, Duration::from_millis(10), 60, true, |t| bucket.take(t));
    let late = accepted_between(&run.accepted, Duration::from_secs(20), Duration::MAX);
    assert!(
        late as f64 >= 0.9 * 100.0 * 40.0,
        "{late} accepted from the twentieth second"
    );
    let share = throttled_share(run.accepted.len(), run.throttled);
    assert!(
        share < 0.01,
        "{} 429s of {}",
        run.throttled,
        run.accepted.len()
    );
}
