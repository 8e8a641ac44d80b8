//! Fault injection and call counting for every `/api` request.

use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpResponse};
use futures_util::stream;
use rand::Rng;

use super::api::error_response;
use super::state::{api_error, Fault};
use super::Shared;

/// `"METHOD /path"` with every LUID replaced by `{id}`: the key of the call counters.
pub(crate) fn label(method: &str, path: &str) -> String {
    let after_version = path
        .strip_prefix("/api/")
        .and_then(|p| p.split_once('/'))
        .map_or(path, |(_, rest)| rest);
    let normalized: Vec<&str> = after_version
        .split('/')
        .map(|seg| {
            if uuid::Uuid::parse_str(seg).is_ok() {
                "{id}"
            } else {
                seg
            }
        })
        .collect();
    format!("{method} /{}", normalized.join("/"))
}

/// What the rate limit says of a call now: `None` when it passes, else the seconds until the
/// next token.
fn rate_limited(shared: &Shared) -> Option<f64> {
    let mut s = shared.state.lock().ok()?;
    let rate = s.faults.rate_limit_per_sec?;
    let burst = s.faults.rate_limit_burst.unwrap_or(rate);
    s.bucket.take(std::time::Instant::now(), rate, burst).err()
}

/// The rate limit's 429: Tableau's XML or (`rate_limit_html`) a gateway's HTML page, with
/// `Retry-After` unless told otherwise.
fn throttled(shared: &Shared, wait_secs: f64) -> HttpResponse {
    let (html, no_retry_after) = shared
        .state
        .lock()
        .map(|s| (s.faults.rate_limit_html, s.faults.rate_limit_no_retry_after))
        .unwrap_or((false, false));
    let mut resp = if html {
        HttpResponse::TooManyRequests()
            .content_type("text/html")
            .body("<html><body><h1>429 Too Many Requests</h1></body></html>")
    } else {
        error_response(&api_error(
            429,
            "429000",
            "Too Many Requests",
            "The request limit was exceeded; retry later",
        ))
    };
    if !no_retry_after {
        let secs = wait_secs.ceil().max(1.0) as u64;
        resp.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(secs),
        );
    }
    resp
}

/// How early the tokio timer is set before a latency's deadline: it fires on the first
/// millisecond tick at or after its deadline, plus the time to wake the worker.
const TIMER_LEAD: Duration = Duration::from_millis(2);

/// Wait until `deadline`, to within the OS timer's slack (50 µs by default on Linux).
///
/// The added latency is the emulator's model of Tableau's, and benchmarks divide by it: a plain
/// tokio sleep of 50 ms delivered 51.84 ms (the provisioning bench times calls straight to the
/// emulator), an error no bridge could make up. So the tokio timer is set a little early and a
/// blocking-pool thread sleeps the rest; a call blocks that thread for at most `TIMER_LEAD`.
async fn wait_until(deadline: Instant) {
    if let Some(early) = deadline.checked_sub(TIMER_LEAD) {
        tokio::time::sleep_until(early.into()).await;
    }
    let rest = deadline.saturating_duration_since(Instant::now());
    if !rest.is_zero() {
        // A join error means the runtime is shutting down: there is nothing left to delay.
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(rest)).await;
    }
}

/// An injected 429 (`rate_429`, a scripted `TooMany`): `Retry-After` unless told otherwise.
fn too_many(shared: &Shared, retry_after: u64) -> HttpResponse {
    let mut resp = error_response(&api_error(
        429,
        "429000",
        "Too Many Requests",
        "The request limit was exceeded; retry later",
    ));
    let no_header = shared
        .state
        .lock()
        .is_ok_and(|s| s.faults.rate_limit_no_retry_after);
    if !no_header {
        resp.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(retry_after),
        );
    }
    resp
}

async fn wait_for(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        wait_until(deadline).await;
    }
}

fn pick(shared: &Shared) -> (Option<Fault>, u64, u64, u64) {
    let Ok(mut s) = shared.state.lock() else {
        return (None, 0, 0, 0);
    };
    let f = &mut s.faults;
    let latency = f.latency_ms;
    let stall = f.stall_ms;
    let retry_after = f.retry_after_secs;
    if let Some(next) = f.script.pop_front() {
        return (
            Some(next).filter(|f| *f != Fault::Ok),
            latency,
            stall,
            retry_after,
        );
    }
    let mut rng = rand::rng();
    let roll = |rate: f64, rng: &mut rand::rngs::ThreadRng| {
        rate > 0.0 && rng.random_bool(rate.clamp(0.0, 1.0))
    };
    let fault = if roll(f.rate_429, &mut rng) {
        Some(Fault::TooMany)
    } else if roll(f.rate_5xx, &mut rng) {
        Some(if rng.random_bool(0.5) {
            Fault::Internal
        } else {
            Fault::Unavailable
        })
    } else if roll(f.rate_stall, &mut rng) {
        Some(Fault::Stall)
    } else if roll(f.rate_drop, &mut rng) {
        Some(Fault::Drop)
    } else {
        None
    };
    (fault, latency, stall, retry_after)
}

/// Count the call, then maybe delay, refuse, or cut it.
/// The call as the log writes it, when the site logs calls; the body read for it is put back
/// for the handler.
async fn describe(shared: &Shared, mut req: ServiceRequest) -> (ServiceRequest, Option<String>) {
    if !shared.state.lock().is_ok_and(|s| s.logging_calls()) {
        return (req, None);
    }
    let body = req.extract::<web::Bytes>().await.unwrap_or_default();
    let described = shared
        .state
        .lock()
        .ok()
        .map(|s| s.describe_call(req.path(), req.query_string(), &body));
    req.set_payload(actix_web::dev::Payload::from(body));
    (req, described)
}

pub(crate) async fn inject(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let arrived = Instant::now();
    let Some(shared) = req.app_data::<web::Data<Shared>>().cloned() else {
        return Ok(req.into_response(HttpResponse::InternalServerError().finish()));
    };
    let key = label(req.method().as_str(), req.path());
    if let Ok(mut s) = shared.state.lock() {
        *s.stats.entry(key).or_default() += 1;
    }
    if let Some(wait) = rate_limited(&shared) {
        return Ok(req.into_response(throttled(&shared, wait)));
    }
    let (fault, latency, stall, retry_after) = pick(&shared);
    // The latency is the whole answer's time, the handler's own work included, as a client
    // times Tableau's.
    let deadline = (latency > 0).then(|| arrived + Duration::from_millis(latency));
    let refusal = match fault {
        Some(Fault::TooMany) => Some(too_many(&shared, retry_after)),
        Some(Fault::Internal) => Some(error_response(&api_error(
            500,
            "500000",
            "Internal Server Error",
            "Injected fault",
        ))),
        Some(Fault::Unavailable) => Some(error_response(&api_error(
            503,
            "503000",
            "Service Unavailable",
            "Injected fault",
        ))),
        _ => None,
    };
    if let Some(resp) = refusal {
        wait_for(deadline).await;
        return Ok(req.into_response(resp));
    }
    if fault == Some(Fault::Stall) {
        tokio::time::sleep(Duration::from_millis(stall)).await;
    }
    let (req, described) = describe(&shared, req).await;
    let res = next.call(req).await?.map_into_boxed_body();
    wait_for(deadline).await;
    if let Some(call) = described {
        if let Ok(mut s) = shared.state.lock() {
            s.log_call(res.request().method().as_str(), call, res.status().as_u16());
        }
    }
    if fault == Some(Fault::DoneButRefused) {
        let (req, _) = res.into_parts();
        let refused = error_response(&api_error(
            400,
            "400003",
            "Bad Request",
            "Payload is either malformed or incomplete",
        ));
        return Ok(ServiceResponse::new(req, refused));
    }
    if fault == Some(Fault::Drop) {
        // The change is made; the client never learns it. A body stream that fails makes the
        // server abort the connection mid-response.
        let (req, resp) = res.into_parts();
        let status = resp.status();
        let broken = stream::iter(vec![
            Ok::<_, std::io::Error>(web::Bytes::from_static(
                b"<?xml version='1.0' encoding='UTF-8'?><tsResp",
            )),
            Err(std::io::Error::other("connection dropped by the emulator")),
        ]);
        let cut = HttpResponse::build(status)
            .content_type("application/xml")
            .streaming(broken);
        return Ok(ServiceResponse::new(req, cut));
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use crate::emulator::state::Bucket;
    use std::time::{Duration, Instant};

    #[test]
    fn the_bucket_lets_a_burst_through_then_the_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::default();
        for _ in 0..5 {
            assert!(b.take(t0, 20.0, 5.0).is_ok(), "the burst");
        }
        let wait = b.take(t0, 20.0, 5.0).err().unwrap_or_default();
        assert!((wait - 0.05).abs() < 1e-9, "{wait}");
        assert!(b.take(t0 + Duration::from_millis(50), 20.0, 5.0).is_ok());
        assert!(b.take(t0 + Duration::from_millis(60), 20.0, 5.0).is_err());
        // A long quiet spell fills it only up to the burst.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..5 {
            assert!(b.take(later, 20.0, 5.0).is_ok());
        }
        assert!(b.take(later, 20.0, 5.0).is_err());
    }

    #[test]
    fn labels_replace_luids() {
        let l = super::label(
            "GET",
            "/api/3.24/sites/6b7179ba-b82b-4f0f-91ed-812074ac5da6/users/1a96d216-e9b8-497b-a82a-0b899a965e01/groups",
        );
        assert_eq!(l, "GET /sites/{id}/users/{id}/groups");
        assert_eq!(
            super::label("POST", "/api/3.24/auth/signin"),
            "POST /auth/signin"
        );
    }
}
