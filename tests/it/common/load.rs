//! Load for the benchmarks: a request an IdP insists on, and many of them at a fixed number in
//! flight.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use super::Idp;

/// A SCIM request that must succeed, tried up to five times; its body.
pub async fn send(idp: &Idp, method: Method, path: &str, body: Value) -> Value {
    for _ in 0..5 {
        let body = Some(body.clone()).filter(|b| !b.is_null());
        if let Ok((status, answer)) = idp.try_call(method.clone(), path, body).await {
            if status.is_success() {
                return answer;
            }
        }
    }
    panic!("{path} kept failing");
}

/// Run `work(0..n)`, `concurrency` at once; how long it took.
pub async fn run<F, Fut>(n: usize, concurrency: usize, work: F) -> Duration
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let work = Arc::new(work);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (next, work) = (next.clone(), work.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                work(i).await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    started.elapsed()
}

/// One `kB` field of `/proc/{process}/status` (`VmRSS:`, `VmHWM:`), `process` a pid or `self`;
/// 0 where /proc is not there.
pub fn proc_status_kib(process: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{process}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}
