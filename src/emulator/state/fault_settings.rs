//! The faults an emulated site injects: random shares, a script for the next calls, a rate
//! limit and its token bucket (carried out by `emulator::faults`).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// One injected fault, for the deterministic script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fault {
    /// 429 with `Retry-After`.
    #[serde(rename = "429")]
    TooMany,
    /// 500.
    #[serde(rename = "500")]
    Internal,
    /// 503.
    #[serde(rename = "503")]
    Unavailable,
    /// Process the request, then cut the connection before the response is complete.
    Drop,
    /// Wait `stall_ms` before answering.
    Stall,
    /// Process the request, then answer 400003 "Payload is either malformed or incomplete"
    /// as if it had been refused: Add User did this on Tableau Server 2022.1.7 and elsewhere
    /// ("fact user being added to the server", tableauserverclient issue #1137; "a_publisher
    /// got added to site but it throws exception", #636).
    #[serde(rename = "done-400003")]
    DoneButRefused,
    /// No fault: a script's way of letting a call through before the faults it aims at a
    /// later one.
    Ok,
}

/// Fault injection settings (random shares, plus a script of faults for the next calls).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every API call.
    pub latency_ms: u64,
    /// Share of calls answered 429.
    pub rate_429: f64,
    /// `Retry-After` seconds sent with a 429.
    pub retry_after_secs: u64,
    /// Share of calls answered 500 or 503.
    pub rate_5xx: f64,
    /// A session token expires after this many calls.
    pub expire_session_after: Option<u64>,
    /// Share of calls whose connection is cut after processing.
    pub rate_drop: f64,
    /// Share of calls that stall.
    pub rate_stall: f64,
    /// Length of a stall.
    pub stall_ms: u64,
    /// Faults for the next calls, in order, before any random one.
    pub script: VecDeque<Fault>,
    /// A rate limit, as a gateway in front of Tableau imposes it: a token bucket of this many
    /// calls per second (`None`: unlimited); past it, 429.
    pub rate_limit_per_sec: Option<f64>,
    /// The bucket's size: calls that may come at once after a quiet spell (default: one
    /// second's worth).
    pub rate_limit_burst: Option<f64>,
    /// Leave `Retry-After` out of every 429, the rate limit's and an injected one (Tableau Cloud
    /// sometimes does: the KB on its REST concurrency limits names no header).
    pub rate_limit_no_retry_after: bool,
    /// Answer the rate limit's 429 with an HTML page instead of Tableau's XML (as Tableau
    /// Cloud's gateway sometimes does; KB "concurrency limits in REST APIs on Tableau Cloud").
    pub rate_limit_html: bool,
}

/// The rate limit's token bucket.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bucket {
    /// Tokens left.
    pub tokens: f64,
    /// When it was last filled; `None` before the first call (it starts full).
    pub filled_at: Option<std::time::Instant>,
    /// Calls it let through.
    pub taken: u64,
    /// Calls it refused (429).
    pub refused: u64,
}

impl Bucket {
    /// Take a token at `now` from a bucket filling at `rate` per second up to `burst`: `Ok`,
    /// or `Err` with the seconds until the next token.
    pub fn take(&mut self, now: std::time::Instant, rate: f64, burst: f64) -> Result<(), f64> {
        let burst = burst.max(1.0);
        let tokens = match self.filled_at {
            None => burst,
            Some(at) => {
                (self.tokens + now.saturating_duration_since(at).as_secs_f64() * rate).min(burst)
            }
        };
        self.filled_at = Some(now);
        if tokens >= 1.0 {
            self.tokens = tokens - 1.0;
            self.taken += 1;
            Ok(())
        } else {
            self.tokens = tokens;
            self.refused += 1;
            Err((1.0 - tokens) / rate.max(f64::MIN_POSITIVE))
        }
    }
}
