//! The wall clock, read here only (clippy.toml disallows `Utc::now` and `SystemTime::now`
//! elsewhere): every time written to the store, to Tableau's JWTs and to answers comes through
//! one place, so a test or a later fake clock has one seam. Durations use `Instant`, which is
//! monotonic and needs no seam.

use std::time::SystemTime;

use chrono::{DateTime, Utc};

/// Now, in UTC.
#[allow(clippy::disallowed_methods)]
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// Now, as the standard library's system time (HTTP dates, JWT claims).
#[allow(clippy::disallowed_methods)]
pub fn system_now() -> SystemTime {
    SystemTime::now()
}
