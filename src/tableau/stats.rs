//! Counters of Tableau calls: per endpoint and status, retries and sign-ins. The bridge's key
//! efficiency figure is Tableau calls per SCIM operation; these counters measure it.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

tokio::task_local! {
    static SCOPE: Cell<u64>;
}

/// Run `f` and count the Tableau requests it sends (every attempt, sign-ins included): the
/// figure recorded per SCIM operation. Counting is per task, so concurrent operations do not
/// mix their counts.
pub async fn counted<F: Future>(f: F) -> (F::Output, u64) {
    SCOPE
        .scope(Cell::new(0), async move {
            let out = f.await;
            let n = SCOPE.try_with(Cell::get).unwrap_or(0);
            (out, n)
        })
        .await
}

/// The number of Tableau requests sent so far in the current [`counted`] scope.
pub fn calls_in_scope() -> u64 {
    SCOPE.try_with(Cell::get).unwrap_or(0)
}

/// Per-endpoint figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// Requests sent (every attempt).
    pub calls: u64,
    /// Responses by HTTP status (0 for transport failures).
    pub by_status: BTreeMap<u16, u64>,
    /// Total time in milliseconds.
    pub total_ms: u64,
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Keyed by `"METHOD endpoint"`, e.g. `"GET users"`.
    pub endpoints: BTreeMap<String, EndpointStats>,
    /// Attempts beyond the first of any call.
    pub retries: u64,
    /// Sign-ins performed.
    pub sign_ins: u64,
}

impl StatsSnapshot {
    /// Every request sent, sign-ins included.
    pub fn total_calls(&self) -> u64 {
        self.endpoints.values().map(|e| e.calls).sum()
    }

    /// Requests to one endpoint.
    pub fn calls(&self, key: &str) -> u64 {
        self.endpoints.get(key).map_or(0, |e| e.calls)
    }
}

/// Thread-safe counters, also published as Prometheus metrics labelled with `label` (the
/// tenant).
#[derive(Debug, Default)]
pub struct CallStats {
    inner: Mutex<StatsSnapshot>,
    label: String,
}

impl CallStats {
    /// Counters whose metrics carry `tenant=label`.
    pub fn new(label: &str) -> CallStats {
        CallStats {
            inner: Mutex::default(),
            label: label.to_string(),
        }
    }

    pub(crate) fn record(&self, key: &str, status: u16, ms: u64) {
        let _ = SCOPE.try_with(|c| c.set(c.get() + 1));
        metrics::counter!("tableau_calls_total", "tenant" => self.label.clone(), "endpoint" => key.to_string(), "status" => status.to_string()).increment(1);
        metrics::histogram!("tableau_call_duration_seconds", "tenant" => self.label.clone(), "endpoint" => key.to_string()).record(ms as f64 / 1000.0);
        if status == 429 {
            metrics::counter!("tableau_throttled_total", "tenant" => self.label.clone())
                .increment(1);
        }
        if let Ok(mut s) = self.inner.lock() {
            let e = s.endpoints.entry(key.to_string()).or_default();
            e.calls += 1;
            *e.by_status.entry(status).or_default() += 1;
            e.total_ms += ms;
        }
    }

    pub(crate) fn retry(&self) {
        metrics::counter!("tableau_retries_total", "tenant" => self.label.clone()).increment(1);
        if let Ok(mut s) = self.inner.lock() {
            s.retries += 1;
        }
    }

    pub(crate) fn sign_in(&self) {
        metrics::counter!("tableau_sign_ins_total", "tenant" => self.label.clone()).increment(1);
        if let Ok(mut s) = self.inner.lock() {
            s.sign_ins += 1;
        }
    }

    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        self.inner.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Zero every counter.
    pub fn reset(&self) {
        if let Ok(mut s) = self.inner.lock() {
            *s = StatsSnapshot::default();
        }
    }
}
