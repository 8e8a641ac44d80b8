//! [`Limits`] among replicas: the share of calls in flight, a limit met here told to the
//! others, and a limit another replica met taken in.

use super::super::*;
use super::ms;
use crate::tableau::client::budget::{PublishedLimit, SiteBudget};

fn budget(replicas: usize, latest: Option<(i64, PublishedLimit)>) -> SiteBudget {
    SiteBudget { replicas, latest }
}

/// Replicas share the site's calls in flight: each its share rounded up, and a dead one's
/// share returns to the others at once.
#[test]
fn replicas_share_the_calls_in_flight_and_a_dead_ones_share_returns() {
    let now = Instant::now();
    let mut l = Limits::new(8);
    l.adopt(&budget(3, None), now);
    assert_eq!(l.window(), 3, "8 among 3, rounded up");
    for _ in 0..1000 {
        l.observe(Signal::Accepted, now);
    }
    assert_eq!(l.window(), 3, "the window never grows past the share");
    l.adopt(&budget(1, None), now);
    assert_eq!(l.window(), 8, "alone again: the whole budget");
}

/// A limit met here is news for the other replicas: the site's rate (this replica's times the
/// live replicas) and the pause; told once.
#[test]
fn a_limit_met_here_is_news_for_the_others() {
    let t0 = Instant::now();
    let mut l = Limits::new(8);
    l.adopt(&budget(2, None), t0);
    for i in 0..100 {
        l.observe(Signal::Accepted, ms(t0, 50 * i));
    }
    l.observe(Signal::Throttled(None), ms(t0, 5_000));
    let lone = l.take_news().expect("a lone 429's pause is news");
    assert_eq!((lone.site_rate, lone.pause), (None, LONE_PAUSE));
    l.observe(Signal::Throttled(None), ms(t0, 7_000));
    let rate = l.rate().expect("a limit");
    let news = l.take_news().expect("a limit is news");
    assert_eq!(news.site_rate, Some(rate * 2.0));
    assert!(!news.pause.is_zero());
    assert_eq!(l.take_news(), None, "told once");
    // News the store could not take is kept, merged with anything newer.
    l.keep_news(news);
    assert_eq!(l.take_news(), Some(news));
}

/// A limit another replica met applies here too: its pause, its rate split among the live
/// replicas, a new generation; the same news twice, this replica's own, or one older than a
/// minute changes nothing.
#[test]
fn a_limit_another_replica_met_applies_here() {
    let now = Instant::now();
    let limit = PublishedLimit {
        site_rate: Some(30.0),
        pause_left: Duration::from_millis(500),
        age: Duration::ZERO,
        own: false,
    };
    let mut l = Limits::new(8);
    let generation = l.generation();
    l.adopt(&budget(3, Some((1, limit))), now);
    assert_eq!(l.rate(), Some(10.0), "30 a second among 3");
    assert!(
        l.generation() > generation,
        "calls admitted before are admitted again"
    );
    assert_eq!(l.admit(0, now), Some(now + Duration::from_millis(500)));
    let after = (l.rate(), l.window(), l.generation());
    l.adopt(&budget(3, Some((1, limit))), now);
    assert_eq!(
        (l.rate(), l.window(), l.generation()),
        after,
        "the same news"
    );
    let own = PublishedLimit {
        own: true,
        site_rate: Some(3.0),
        ..limit
    };
    l.adopt(&budget(3, Some((2, own))), now);
    assert_eq!(l.rate(), Some(10.0), "its own news is already applied");
    let old = PublishedLimit {
        age: FORGET_RATE,
        site_rate: Some(3.0),
        ..limit
    };
    let mut fresh = Limits::new(8);
    fresh.adopt(&budget(3, Some((7, old))), now);
    assert_eq!(fresh.rate(), None, "a limit a minute old is forgotten");
}

/// Among three replicas each climbs by a third of a step a second: the site's rate climbs as
/// one instance's would.
#[test]
fn replicas_climb_by_their_share_of_the_step() {
    let t0 = Instant::now();
    let mut l = Limits::new(8);
    l.adopt(&budget(3, None), t0);
    for i in 0..120 {
        l.observe(Signal::Accepted, ms(t0, 50 * i));
    }
    l.observe(Signal::Throttled(None), ms(t0, 6000));
    let now = ms(t0, 7100);
    l.observe(Signal::Throttled(None), now);
    let rate = l.rate().unwrap_or_default();
    for _ in 0..rate.round() as usize {
        l.observe(Signal::Accepted, now + Duration::from_secs(1));
    }
    let step = l.rate().unwrap_or_default() - rate;
    assert!((step - RATE_STEP / 3.0).abs() < 0.02, "{step}");
}
