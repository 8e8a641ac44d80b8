//! Audit export: every audit entry, as the bridge writes it to the store, is also offered to the
//! configured sinks (`[[server.audit_sinks]]`: syslog over TLS, an HTTP collector such as
//! Splunk's HEC). Each sink has a bounded queue and a task that sends it in batches and retries
//! with backoff, so a sink outage shorter than the queue loses nothing, and provisioning never
//! waits for a sink: past the queue, entries are counted (`audit_export_dropped_total`) and
//! logged. The store keeps the whole trail regardless (the console, `report audit`).
//!
//! A layer beside `store`: it imports only the store's types, and the bridge sees it through
//! [`crate::store::AuditSink`].

pub mod format;
pub mod queue;
pub mod sinks;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::store::{AuditRow, AuditSink};

pub use sinks::{HttpFormat, SinkTarget};

/// How long a batch that is not full waits for more entries before it goes: under load the
/// sink sends full batches (a POST of 100 entries, not 100 POSTs of one), and an entry reaches
/// the SIEM at most this much later than it would alone (BENCHMARKS.md section 20).
const LINGER: Duration = Duration::from_millis(50);

/// Entries sent in one batch at most.
pub const BATCH: usize = 100;

/// The queue of a sink unless configured: at ~300 bytes an entry, about 3 MiB.
pub const DEFAULT_QUEUE: usize = 10_000;

/// The longest pause between attempts while a sink fails.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// One audit entry on its way to a sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportEvent {
    /// The tenant.
    pub tenant: String,
    /// When, RFC 3339 UTC (the store's time of the row).
    pub at: String,
    /// The row.
    pub row: AuditRow,
}

/// A sink as configured.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// Its name (the metrics' `sink` label and the log).
    pub name: String,
    /// Where it sends.
    pub target: SinkTarget,
    /// Entries it may hold while its receiver does not answer.
    pub queue: usize,
}

struct Sink {
    name: String,
    queue: Mutex<queue::Queue<ExportEvent>>,
    wake: tokio::sync::Notify,
}

/// The sinks of this process.
pub struct Exporter {
    sinks: Vec<Arc<Sink>>,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("sinks", &self.sinks.len())
            .finish()
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

impl Exporter {
    /// Start a task per sink (on the current tokio runtime). A sink that cannot be set up (its
    /// CA file, its address) is refused here, at start.
    pub fn start(configs: &[SinkConfig]) -> Result<Arc<Exporter>, String> {
        let host = host_name();
        let mut sinks = Vec::new();
        for c in configs {
            let transport = sinks::Transport::new(&c.target)
                .map_err(|e| format!("audit sink {}: {e}", c.name))?;
            let sink = Arc::new(Sink {
                name: c.name.clone(),
                queue: Mutex::new(queue::Queue::new(c.queue)),
                wake: tokio::sync::Notify::new(),
            });
            tokio::spawn(run(sink.clone(), transport, host.clone()));
            sinks.push(sink);
        }
        Ok(Arc::new(Exporter { sinks }))
    }
}

impl AuditSink for Exporter {
    fn offer(&self, tenant: &str, at: &str, row: &AuditRow) {
        for s in &self.sinks {
            let event = ExportEvent {
                tenant: tenant.to_string(),
                at: at.to_string(),
                row: row.clone(),
            };
            if let Ok(mut q) = s.queue.lock() {
                q.push(event);
            }
            s.wake.notify_one();
        }
    }
}

/// The pause after `failures` failed attempts in a row: 0.5 s doubling to 30 s.
pub fn backoff(failures: u32) -> Duration {
    let ms = 500u64.saturating_mul(1u64 << failures.min(16));
    Duration::from_millis(ms).min(MAX_BACKOFF)
}

/// A sink's task: wait for entries, send them a batch at a time in order, each batch again
/// until it is delivered; say in the log when the sink fails, recovers, or drops entries.
async fn run(sink: Arc<Sink>, mut transport: sinks::Transport, host: String) {
    let mut failures: u32 = 0;
    let mut lingered = false;
    loop {
        let (batch, dropped) = match sink.queue.lock() {
            Ok(mut q) => (
                q.peek(BATCH).into_iter().cloned().collect::<Vec<_>>(),
                q.take_dropped(),
            ),
            Err(_) => return,
        };
        if dropped > 0 {
            metrics::counter!("audit_export_dropped_total", "sink" => sink.name.clone())
                .increment(dropped);
            tracing::error!(sink = %sink.name, dropped, "audit entries dropped: the sink's queue is full (the store still holds them)");
        }
        if batch.is_empty() {
            // Woken by an offer; the timeout only bounds how late a lost wake-up is noticed.
            let _ = tokio::time::timeout(Duration::from_secs(1), sink.wake.notified()).await;
            continue;
        }
        if batch.len() < BATCH && !lingered && failures == 0 {
            lingered = true;
            tokio::time::sleep(LINGER).await;
            continue;
        }
        lingered = false;
        let refs: Vec<&ExportEvent> = batch.iter().collect();
        match transport.send(&refs, &host).await {
            Ok(()) => {
                if let Ok(mut q) = sink.queue.lock() {
                    q.done(batch.len());
                }
                metrics::counter!("audit_export_sent_total", "sink" => sink.name.clone())
                    .increment(batch.len() as u64);
                if failures > 0 {
                    tracing::info!(sink = %sink.name, "audit sink delivers again");
                }
                failures = 0;
            }
            Err(why) => {
                if failures == 0 {
                    tracing::warn!(sink = %sink.name, error = %why, "audit sink fails; its entries are kept and sent again");
                }
                failures = failures.saturating_add(1);
                metrics::counter!("audit_export_failures_total", "sink" => sink.name.clone())
                    .increment(1);
                tokio::time::sleep(backoff(failures - 1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_half_a_second_to_thirty() {
        assert_eq!(backoff(0), Duration::from_millis(500));
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(6), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
