//! When to try a Tableau call again, and for how long: the pure half of the client's one
//! retry loop ([`super::client`]). [`classify`] reads what one attempt came to; [`RetryPolicy`]
//! says how long to wait and when the budget is spent.

use std::time::Duration;

use rand::Rng;

/// How hard to try: bounded attempts and total time, exponential backoff with full jitter.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Most attempts per call, the first included.
    pub max_attempts: u32,
    /// First backoff step.
    pub base_delay: Duration,
    /// Longest single backoff step (a `Retry-After` from Tableau is honoured as given, within
    /// `max_total`).
    pub max_delay: Duration,
    /// Longest total time spent on one call, waits included.
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            max_total: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempt counts from 1): a random duration up to
    /// `base * 2^(attempt-1)`, capped by `max_delay` ("full jitter", so many clients retrying at
    /// once spread out).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let cap = exp.min(self.max_delay);
        let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`, or `None` when the budget is spent (attempts, or
    /// the call's total time with the wait). Tableau's `Retry-After` is honoured as given (up
    /// to [`crate::tableau::error::MAX_RETRY_AFTER`]); only our own backoff is capped by
    /// `max_delay`. Any wait is added without overflow.
    pub fn next_wait(
        &self,
        attempt: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let wait = retry_after.unwrap_or_else(|| self.backoff(attempt));
        (attempt < self.max_attempts && elapsed.saturating_add(wait) <= self.max_total)
            .then_some(wait)
    }
}

/// What one attempt of a call came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Tableau answered with this HTTP status (and maybe a `Retry-After`).
    Answer {
        /// The HTTP status.
        status: u16,
        /// `Retry-After`, if Tableau sent one.
        retry_after: Option<Duration>,
    },
    /// No answer. `reached`: the request may have arrived (the connection was made; a timeout
    /// or a cut connection after that), so its effect is unknown.
    NoAnswer {
        /// Whether the request may have reached Tableau.
        reached: bool,
    },
}

/// How a call may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallKind {
    /// Whether repeating it after an unknown outcome is harmless (every method but POST, and
    /// the POSTs that are idempotent in effect).
    pub idempotent: bool,
    /// Whether a 401 may be answered by signing in again (a session call not yet replayed).
    pub can_renew: bool,
}

/// What the funnel does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The answer is final: success, or a Tableau error for the caller.
    Final,
    /// The session is gone (expired, or replaced by another sign-in with the same PAT): sign
    /// in once and replay; a replay is not a retry (tableau-rest.md section 1.3).
    Renew,
    /// Try again after Tableau's `Retry-After`, or our backoff when it gave none.
    Retry {
        /// Tableau's `Retry-After`.
        retry_after: Option<Duration>,
        /// Whether Tableau throttled (429): exhausting the budget then reads "throttled".
        throttled: bool,
    },
    /// A call that is not safe to repeat may have been applied: report, do not repeat (the
    /// caller looks the object up).
    Uncertain,
}

/// Classify one attempt. 429 and 503 mean "not processed", so even a POST is repeated; any
/// other 5xx may come after the change was made, so only idempotent calls are. A connection
/// that was never made is always safe to retry.
pub fn classify(outcome: Outcome, kind: CallKind) -> Next {
    match outcome {
        Outcome::Answer {
            status,
            retry_after,
        } => {
            let throttled = status == 429;
            if (200..300).contains(&status) {
                Next::Final
            } else if status == 401 && kind.can_renew {
                Next::Renew
            } else if throttled || status == 503 || (status >= 500 && kind.idempotent) {
                Next::Retry {
                    retry_after,
                    throttled,
                }
            } else if status >= 500 {
                Next::Uncertain
            } else {
                Next::Final
            }
        }
        Outcome::NoAnswer { reached } if reached && !kind.idempotent => Next::Uncertain,
        Outcome::NoAnswer { .. } => Next::Retry {
            retry_after: None,
            throttled: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET: CallKind = CallKind {
        idempotent: true,
        can_renew: true,
    };
    const POST: CallKind = CallKind {
        idempotent: false,
        can_renew: true,
    };
    const REPLAYED: CallKind = CallKind {
        idempotent: true,
        can_renew: false,
    };

    fn answer(status: u16) -> Outcome {
        Outcome::Answer {
            status,
            retry_after: None,
        }
    }

    fn retry(throttled: bool) -> Next {
        Next::Retry {
            retry_after: None,
            throttled,
        }
    }

    #[test]
    fn every_outcome_is_classified() {
        let cases = [
            (answer(200), GET, Next::Final),
            (answer(201), POST, Next::Final),
            (answer(204), GET, Next::Final),
            (answer(400), POST, Next::Final),
            (answer(404), GET, Next::Final),
            (answer(409), POST, Next::Final),
            (answer(401), GET, Next::Renew),
            (answer(401), POST, Next::Renew),
            (answer(401), REPLAYED, Next::Final),
            (answer(403), GET, Next::Final),
            (answer(429), GET, retry(true)),
            (answer(429), POST, retry(true)),
            (answer(503), POST, retry(false)),
            (answer(500), GET, retry(false)),
            (answer(502), GET, retry(false)),
            (answer(500), POST, Next::Uncertain),
            (answer(504), POST, Next::Uncertain),
            (Outcome::NoAnswer { reached: false }, POST, retry(false)),
            (Outcome::NoAnswer { reached: true }, GET, retry(false)),
            (Outcome::NoAnswer { reached: true }, POST, Next::Uncertain),
        ];
        for (outcome, kind, want) in cases {
            assert_eq!(classify(outcome, kind), want, "{outcome:?} {kind:?}");
        }
    }

    #[test]
    fn retry_after_is_passed_on_as_given() {
        let wait = Some(Duration::from_secs(7));
        let outcome = Outcome::Answer {
            status: 429,
            retry_after: wait,
        };
        assert_eq!(
            classify(outcome, POST),
            Next::Retry {
                retry_after: wait,
                throttled: true
            }
        );
    }

    #[test]
    fn the_budget_bounds_attempts_and_total_time() {
        let p = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            max_total: Duration::from_secs(5),
        };
        let long = Some(Duration::from_secs(30));
        assert_eq!(
            p.next_wait(1, Duration::ZERO, Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2)),
            "Retry-After beyond max_delay is honoured"
        );
        assert_eq!(p.next_wait(1, Duration::ZERO, long), None, "past the total");
        assert_eq!(
            p.next_wait(1, Duration::from_secs(4), Some(Duration::from_secs(1))),
            Some(Duration::from_secs(1))
        );
        assert_eq!(p.next_wait(3, Duration::ZERO, None), None, "attempts spent");
        assert!(p
            .next_wait(2, Duration::ZERO, None)
            .is_some_and(|w| w <= Duration::from_millis(200)));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            max_total: Duration::from_secs(5),
        };
        for _ in 0..100 {
            assert!(p.backoff(1) <= Duration::from_millis(100));
            assert!(p.backoff(3) <= Duration::from_millis(400));
            assert!(p.backoff(30) <= Duration::from_millis(500));
        }
    }
}
