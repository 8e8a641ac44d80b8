//! Everything that can go wrong talking to Tableau, as one enum.

use std::time::Duration;

/// A Tableau REST error or transport fault.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TableauError {
    /// Tableau answered with an `<error code>` envelope (tableau-rest.md section 2).
    #[error("Tableau error {code} ({status}): {summary}: {detail}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Tableau's error code, e.g. `409000`.
        code: String,
        /// `<summary>`.
        summary: String,
        /// `<detail>`.
        detail: String,
    },
    /// Sign-in failed (bad or revoked credentials, unknown site).
    #[error("Tableau sign-in failed: {0}")]
    SignIn(String),
    /// Too many requests, and the retry budget is spent.
    #[error("Tableau throttled the request (429) and retries are exhausted")]
    Throttled,
    /// Tableau kept failing (5xx, connection errors, timeouts) past the retry budget.
    #[error("Tableau is unavailable after {attempts} attempts: {last}")]
    Unavailable {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// A non-idempotent call may or may not have been applied (timeout or dropped connection
    /// after sending). Callers look the object up before trying again.
    #[error("Tableau may or may not have applied the request: {0}")]
    Uncertain(String),
    /// The response could not be understood.
    #[error("unexpected response from Tableau: {0}")]
    Protocol(String),
    /// A request we refuse to send (e.g. a site role we never set).
    #[error("{0}")]
    Refused(String),
    /// The configuration cannot work (bad URL, version).
    #[error("Tableau configuration: {0}")]
    Config(String),
}

impl TableauError {
    /// Tableau's error code, if this is an API error.
    pub fn code(&self) -> Option<&str> {
        match self {
            TableauError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// A user or name conflict: 409000 ("user already exists") or 409017 (user name conflict,
    /// as the Migration SDK reads it).
    pub fn is_user_exists(&self) -> bool {
        matches!(self.code(), Some("409000" | "409017"))
    }

    /// A group name conflict (409009).
    pub fn is_group_exists(&self) -> bool {
        self.code() == Some("409009")
    }

    /// Not found (404xxx).
    pub fn is_not_found(&self) -> bool {
        matches!(self, TableauError::Api { status: 404, .. })
    }

    /// Update User refused for want of a seat in the requested role's tier: 409014
    /// "Licensing conflict" (REST reference, Update User error table).
    pub fn is_licensing_conflict(&self) -> bool {
        self.code() == Some("409014")
    }

    /// A user may not change their own site role: 403009 "Licensing update on self
    /// forbidden" (REST reference, Update User error table). The same code also means "Guest
    /// update forbidden" there, and is what a site administrator meets updating a user they may
    /// not (community.tableau.com thread 278217: "User ... is unauthorized to update user ..."):
    /// only the summary tells them apart.
    pub fn is_own_role_forbidden(&self) -> bool {
        matches!(self, TableauError::Api { code, summary, .. }
            if code == "403009" && summary.to_lowercase().contains("self"))
    }

    /// An invalid site role (400013).
    pub fn is_invalid_site_role(&self) -> bool {
        self.code() == Some("400013")
    }
}

/// The longest `Retry-After` honoured: two minutes. Tableau Cloud counts its REST limits per
/// minute (knowledge base "concurrency limits in REST APIs on Tableau Cloud", tableau-rest.md
/// section 5), so a real answer asks for less; a longer one comes from a proxy or a bug, and
/// honoured it would hold every call of the tenant (a `Retry-After` pauses them all) for as
/// long as it says: `1000000000` until restart. Past the cap the call's own retry budget
/// (`[tenants.retry] max_total_secs`) decides, and the IdP hears 503.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// How long Tableau asked us to wait (`Retry-After`, delta-seconds or an HTTP date), if it
/// said, at most [`MAX_RETRY_AFTER`]. Any header value is read without a panic.
pub(crate) fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let v = value.trim();
    let wait = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let when = httpdate::parse_http_date(v).ok()?;
        when.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn only_licensing_update_on_self_is_the_own_role_refusal() {
        let e = |summary: &str| TableauError::Api {
            status: 403,
            code: "403009".into(),
            summary: summary.into(),
            detail: String::new(),
        };
        assert!(e("Licensing update on self forbidden").is_own_role_forbidden());
        assert!(!e("Guest update forbidden").is_own_role_forbidden());
        assert!(!e("Forbidden").is_own_role_forbidden());
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        for huge in [
            "18446744073709551615",
            "1000000000",
            "99999999999999999999999",
        ] {
            let got = parse_retry_after(huge, now);
            assert!(got.is_none_or(|d| d <= MAX_RETRY_AFTER), "{huge}: {got:?}");
        }
        assert_eq!(parse_retry_after("1000000000", now), Some(MAX_RETRY_AFTER));
        let far = httpdate::fmt_http_date(now + Duration::from_secs(86_400 * 365));
        assert_eq!(parse_retry_after(&far, now), Some(MAX_RETRY_AFTER));
    }
}
