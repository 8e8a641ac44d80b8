//! Requests that fail authentication, kept cheap and bounded. Each client address (behind a
//! trusted proxy, the address the proxy saw; an IPv6 address by its /64, which one host
//! controls) that fails more than a limit within a minute gets 429 with `Retry-After` for a
//! while. A request with a valid token always passes, whatever its address did: IdP clouds
//! share egress addresses, and someone else's failures must not slow a valid IdP. Rejected
//! requests are never logged one by one: a summary line per interval says how many, why, and
//! from how many addresses, so a flood cannot fill the disk. Everything here is bounded by
//! entries: the addresses tracked, and the addresses a summary counts.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How failed authentication is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardSettings {
    /// Failures one address may have within `window` before it is blocked.
    pub limit: u32,
    /// The window failures are counted in.
    pub window: Duration,
    /// How long a blocked address gets 429.
    pub block: Duration,
    /// How often the summary of rejected requests is logged.
    pub summary_every: Duration,
}

impl Default for GuardSettings {
    fn default() -> Self {
        GuardSettings {
            limit: 20,
            window: Duration::from_secs(60),
            block: Duration::from_secs(300),
            summary_every: Duration::from_secs(60),
        }
    }
}

/// Addresses tracked at once; past it the least recently seen are forgotten.
const TRACKED_ADDRESSES: usize = 10_000;

/// Distinct addresses a summary counts exactly; past it, "at least".
const SUMMARY_ADDRESSES: usize = 1_000;

/// Why a request was rejected before it reached a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// No `Authorization: Bearer` header.
    Missing,
    /// A token no tenant accepts (or another tenant's path).
    Invalid,
    /// An address over its failure limit.
    Blocked,
    /// Any other 4xx answered without authentication (an unknown path, a method).
    Other,
}

impl Rejection {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Rejection::Missing => "missing_token",
            Rejection::Invalid => "invalid_token",
            Rejection::Blocked => "blocked",
            Rejection::Other => "other",
        }
    }

    fn index(self) -> usize {
        match self {
            Rejection::Missing => 0,
            Rejection::Invalid => 1,
            Rejection::Blocked => 2,
            Rejection::Other => 3,
        }
    }
}

/// One address's failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    window_start: Instant,
    failures: u32,
    blocked_until: Option<Instant>,
}

impl Record {
    fn new(now: Instant) -> Record {
        Record {
            window_start: now,
            failures: 0,
            blocked_until: None,
        }
    }
}

/// What to answer a failed authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// 401.
    Refuse,
    /// 429 with `Retry-After` of this many seconds.
    Block {
        /// Seconds until the block ends.
        retry_after_secs: u64,
    },
}

/// Count one failure at `now` in `rec` and say what to answer: a blocked address stays
/// blocked until its block ends; the failure that passes the limit starts a block.
pub fn on_failure(rec: &mut Record, now: Instant, s: &GuardSettings) -> Verdict {
    if let Some(until) = rec.blocked_until {
        if now < until {
            return Verdict::Block {
                retry_after_secs: until.duration_since(now).as_secs().max(1),
            };
        }
        *rec = Record::new(now);
    }
    if now.duration_since(rec.window_start) >= s.window {
        *rec = Record::new(now);
    }
    rec.failures = rec.failures.saturating_add(1);
    if rec.failures > s.limit {
        rec.blocked_until = Some(now + s.block);
        return Verdict::Block {
            retry_after_secs: s.block.as_secs().max(1),
        };
    }
    Verdict::Refuse
}

/// The key failures are counted under: the peer's address, or behind a trusted proxy the last
/// address of `X-Forwarded-For` (the one the proxy added; earlier ones are the client's to
/// write); an IPv6 address by its /64.
pub fn client_key(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trust: bool,
) -> Option<IpAddr> {
    let forwarded = trust
        .then(|| {
            forwarded_for?
                .rsplit(',')
                .next()?
                .trim()
                .parse::<IpAddr>()
                .ok()
        })
        .flatten();
    forwarded.or(peer).map(|ip| match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    })
}

/// Rejections since the last summary.
#[derive(Debug)]
struct Tally {
    counts: [u64; 4],
    addresses: HashSet<IpAddr>,
    more_addresses: bool,
    blocks_started: u64,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            counts: [0; 4],
            addresses: HashSet::new(),
            more_addresses: false,
            blocks_started: 0,
        }
    }
}

/// The failed-authentication limiter and the rejection tally of one server.
pub struct AuthGuard {
    settings: GuardSettings,
    records: quick_cache::sync::Cache<IpAddr, Arc<Mutex<Record>>>,
    tally: Mutex<Tally>,
}

impl std::fmt::Debug for AuthGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthGuard")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl AuthGuard {
    /// A guard with `settings`.
    pub fn new(settings: GuardSettings) -> AuthGuard {
        AuthGuard {
            settings,
            records: quick_cache::sync::Cache::new(TRACKED_ADDRESSES),
            tally: Mutex::new(Tally::new()),
        }
    }

    /// The settings.
    pub fn settings(&self) -> GuardSettings {
        self.settings
    }

    /// A request from `key` failed authentication for `why` (`Missing` or `Invalid`): count it,
    /// and say whether to answer 401 or 429.
    pub fn failed(&self, key: Option<IpAddr>, why: Rejection) -> Verdict {
        let verdict = match key {
            None => Verdict::Refuse,
            Some(ip) => {
                let now = Instant::now();
                let record = self
                    .records
                    .get_or_insert_with(&ip, || {
                        Ok::<_, std::convert::Infallible>(Arc::new(Mutex::new(Record::new(now))))
                    })
                    .unwrap_or_else(|never| match never {});
                let verdict = match record.lock() {
                    Ok(mut rec) => {
                        let was_blocked = rec.blocked_until.is_some_and(|u| now < u);
                        let v = on_failure(&mut rec, now, &self.settings);
                        if !was_blocked && matches!(v, Verdict::Block { .. }) {
                            self.with_tally(|t| t.blocks_started += 1);
                        }
                        v
                    }
                    Err(_) => Verdict::Refuse,
                };
                verdict
            }
        };
        let counted = match verdict {
            Verdict::Block { .. } => Rejection::Blocked,
            Verdict::Refuse => why,
        };
        self.rejected(key, counted);
        verdict
    }

    /// Seconds until `key`'s block ends, when it is blocked now: for a step that costs a call
    /// elsewhere (the console's code exchange with the identity provider), asked before the
    /// call, so a blocked address makes none.
    pub fn blocked(&self, key: Option<IpAddr>) -> Option<u64> {
        let record = self.records.get(&key?)?;
        let until = record.lock().ok()?.blocked_until?;
        let now = Instant::now();
        (now < until).then(|| until.duration_since(now).as_secs().max(1))
    }

    /// Count a request answered 4xx before it reached a tenant, for the metric and the summary.
    pub fn rejected(&self, key: Option<IpAddr>, why: Rejection) {
        metrics::counter!("rejected_requests_total", "reason" => why.label()).increment(1);
        self.with_tally(|t| {
            t.counts[why.index()] += 1;
            if let Some(ip) = key {
                if t.addresses.len() < SUMMARY_ADDRESSES {
                    t.addresses.insert(ip);
                } else if !t.addresses.contains(&ip) {
                    t.more_addresses = true;
                }
            }
        });
    }

    fn with_tally(&self, f: impl FnOnce(&mut Tally)) {
        if let Ok(mut t) = self.tally.lock() {
            f(&mut t);
        }
    }

    /// Addresses blocked now (a gauge, read at scrape time).
    pub fn blocked_now(&self) -> usize {
        let now = Instant::now();
        self.records
            .iter()
            .filter(|(_, r)| {
                r.lock()
                    .ok()
                    .and_then(|r| r.blocked_until)
                    .is_some_and(|u| now < u)
            })
            .count()
    }

    /// The summary of the rejections since the last call, if there were any; the tally starts
    /// again.
    pub fn take_summary(&self) -> Option<String> {
        let t = {
            let mut guard = self.tally.lock().ok()?;
            std::mem::replace(&mut *guard, Tally::new())
        };
        let total: u64 = t.counts.iter().sum();
        if total == 0 {
            return None;
        }
        let addresses = if t.more_addresses {
            format!("at least {}", t.addresses.len())
        } else {
            t.addresses.len().to_string()
        };
        Some(format!(
            "{total} requests rejected before authentication (missing token {}, invalid token {}, blocked {}, other 4xx {}) from {addresses} addresses; {} addresses newly blocked",
            t.counts[0], t.counts[1], t.counts[2], t.counts[3], t.blocks_started
        ))
    }
}

/// Log the summary of `guard` every interval while the guard lives (the server holds it).
pub fn spawn_summaries(guard: &Arc<AuthGuard>) {
    let weak = Arc::downgrade(guard);
    let every = guard.settings.summary_every;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(guard) = weak.upgrade() else {
                return;
            };
            if let Some(line) = guard.take_summary() {
                tracing::warn!(target: "tableau_scim::http::rejections", "{line}");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> GuardSettings {
        GuardSettings {
            limit: 3,
            window: Duration::from_secs(60),
            block: Duration::from_secs(300),
            summary_every: Duration::from_secs(60),
        }
    }

    #[test]
    fn an_address_is_blocked_past_its_limit_until_the_block_ends() {
        let s = settings();
        let t0 = Instant::now();
        let mut rec = Record::new(t0);
        for _ in 0..3 {
            assert_eq!(on_failure(&mut rec, t0, &s), Verdict::Refuse);
        }
        assert_eq!(
            on_failure(&mut rec, t0, &s),
            Verdict::Block {
                retry_after_secs: 300
            }
        );
        assert_eq!(
            on_failure(&mut rec, t0 + Duration::from_secs(200), &s),
            Verdict::Block {
                retry_after_secs: 100
            }
        );
        assert_eq!(
            on_failure(&mut rec, t0 + Duration::from_secs(301), &s),
            Verdict::Refuse,
            "the block ends"
        );
    }

    #[test]
    fn failures_spread_over_windows_never_block() {
        let s = settings();
        let t0 = Instant::now();
        let mut rec = Record::new(t0);
        for minute in 0..10 {
            let at = t0 + Duration::from_secs(61 * minute);
            for _ in 0..3 {
                assert_eq!(on_failure(&mut rec, at, &s), Verdict::Refuse);
            }
        }
    }

    #[test]
    fn the_key_is_the_peer_or_the_proxys_last_forwarded_address_and_ipv6_by_64() {
        let peer: IpAddr = "10.0.0.9".parse().unwrap_or(IpAddr::V4(0.into()));
        assert_eq!(client_key(Some(peer), Some("1.2.3.4"), false), Some(peer));
        assert_eq!(
            client_key(Some(peer), Some("6.6.6.6, 1.2.3.4"), true),
            "1.2.3.4".parse().ok(),
            "the client wrote 6.6.6.6; the proxy added 1.2.3.4"
        );
        assert_eq!(client_key(Some(peer), Some("garbage"), true), Some(peer));
        assert_eq!(
            client_key("2001:db8:1:2:aaaa::1".parse().ok(), None, false),
            "2001:db8:1:2::".parse().ok()
        );
        assert_eq!(
            client_key("::ffff:1.2.3.4".parse().ok(), None, false),
            "1.2.3.4".parse().ok()
        );
        assert_eq!(client_key(None, None, true), None);
    }

    #[test]
    fn the_guard_blocks_one_address_not_another_and_summarises() {
        let g = AuthGuard::new(settings());
        let a: Option<IpAddr> = "192.0.2.1".parse().ok();
        let b: Option<IpAddr> = "192.0.2.2".parse().ok();
        for _ in 0..3 {
            assert_eq!(g.failed(a, Rejection::Invalid), Verdict::Refuse);
        }
        assert!(matches!(
            g.failed(a, Rejection::Invalid),
            Verdict::Block { .. }
        ));
        assert_eq!(g.failed(b, Rejection::Missing), Verdict::Refuse);
        assert_eq!(g.blocked_now(), 1);
        g.rejected(b, Rejection::Other);
        let line = g.take_summary().unwrap_or_default();
        assert!(line.starts_with("6 requests rejected"), "{line}");
        assert!(line.contains("invalid token 3, blocked 1"), "{line}");
        assert!(
            line.contains("from 2 addresses; 1 addresses newly blocked"),
            "{line}"
        );
        assert_eq!(g.take_summary(), None, "the tally starts again");
    }

    #[test]
    fn tracked_addresses_are_bounded() {
        let g = AuthGuard::new(settings());
        for i in 0..(TRACKED_ADDRESSES as u32 * 3) {
            g.failed(Some(IpAddr::V4(i.into())), Rejection::Invalid);
        }
        assert!(g.records.len() <= TRACKED_ADDRESSES + TRACKED_ADDRESSES / 10);
        let line = g.take_summary().unwrap_or_default();
        assert!(line.contains("from at least 1000 addresses"), "{line}");
    }
}
