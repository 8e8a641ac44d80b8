//! The funnel every Tableau request goes through: one loop with one budget. Each attempt is
//! sent, counted and classified ([`classify`]); the loop only carries the decision out (answer,
//! sign in again and replay, wait and retry, or report an unknown outcome).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;

use super::session::Session;
use super::{elapsed_ms, read_page, transport, TableauClient};
use crate::tableau::error::{parse_retry_after, TableauError};
use crate::tableau::model::Page;
use crate::tableau::retry::{classify, CallKind, Next, Outcome};
use crate::tableau::xml::{self, Element};

/// One site request, described for the funnel.
pub(super) struct Call {
    method: Method,
    /// Metrics label, e.g. `"users"`, `"groups/{id}/users"`.
    endpoint: &'static str,
    /// Path after `/api/{ver}/sites/{site-id}`.
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<String>,
    /// Whether repeating it after an unknown outcome is harmless.
    idempotent: bool,
}

impl Call {
    pub(super) fn new(method: Method, endpoint: &'static str, path: String) -> Call {
        let idempotent = method != Method::POST;
        Call {
            method,
            endpoint,
            path,
            query: Vec::new(),
            body: None,
            idempotent,
        }
    }

    pub(super) fn query(mut self, k: &'static str, v: impl Into<String>) -> Call {
        self.query.push((k, v.into()));
        self
    }

    pub(super) fn body(mut self, b: String) -> Call {
        self.body = Some(b);
        self
    }

    /// A POST that is idempotent in effect (adding a member twice is a 409 we read as done).
    pub(super) fn idempotent(mut self, yes: bool) -> Call {
        self.idempotent = yes;
        self
    }
}

/// What the last attempt left, for the error when the budget runs out.
struct Failure {
    why: String,
    throttled: bool,
}

fn retry_after(r: &reqwest::Response) -> Option<Duration> {
    let v = r
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    parse_retry_after(v, SystemTime::now())
}

impl TableauClient {
    /// The loop: send what `build` makes (with the session when `authenticated`), count it,
    /// classify it, and answer, renew, retry or give up. Returns the final status and body;
    /// whether that is success is the caller's to read.
    async fn exchange<F>(
        &self,
        key: &str,
        idempotent: bool,
        authenticated: bool,
        build: F,
    ) -> Result<(StatusCode, String), TableauError>
    where
        F: Fn(Option<&Session>) -> reqwest::RequestBuilder,
    {
        let started_all = Instant::now();
        let mut attempt: u32 = 0;
        let mut renewed = false;
        loop {
            attempt += 1;
            let session: Option<Arc<Session>> = if authenticated {
                Some(self.session().await?)
            } else {
                None
            };
            let request = build(session.as_deref());
            let started = Instant::now();
            // A bounded number of requests in flight per tenant; waiting here is not a retry.
            let permit = self.in_flight.acquire().await;
            let sent = match request.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let wait = retry_after(&resp);
                    match resp.text().await {
                        Ok(text) => Ok((status, wait, text)),
                        Err(e) => Err((e, true)),
                    }
                }
                Err(e) => {
                    let reached = !e.is_connect();
                    Err((e, reached))
                }
            };
            drop(permit);
            let ms = elapsed_ms(started);
            let (outcome, answer) = match sent {
                Ok((status, retry_after, text)) => {
                    self.stats.record(key, status.as_u16(), ms);
                    tracing::debug!(tableau.endpoint = %key, http.status = status.as_u16(), duration_ms = ms, attempt, "tableau call");
                    let outcome = Outcome::Answer {
                        status: status.as_u16(),
                        retry_after,
                    };
                    (outcome, Ok((status, text)))
                }
                Err((e, reached)) => {
                    self.stats.record(key, 0, ms);
                    let why = transport(&e);
                    tracing::debug!(tableau.endpoint = %key, error = %why, attempt, "tableau call failed");
                    (Outcome::NoAnswer { reached }, Err(why))
                }
            };
            let kind = CallKind {
                idempotent,
                can_renew: authenticated && !renewed,
            };
            let failure = |answer: Result<(StatusCode, String), String>, throttled| Failure {
                why: match answer {
                    Ok((status, text)) => xml::parse_error(status.as_u16(), &text).to_string(),
                    Err(why) => why,
                },
                throttled,
            };
            match classify(outcome, kind) {
                Next::Final => {
                    // Only an answer is ever final; a transport failure is retried or uncertain.
                    return answer.map_err(|last| TableauError::Unavailable {
                        attempts: attempt,
                        last,
                    });
                }
                Next::Renew => {
                    renewed = true;
                    attempt -= 1;
                    self.renew(session.as_ref()).await?;
                }
                Next::Uncertain => {
                    return Err(TableauError::Uncertain(failure(answer, false).why));
                }
                Next::Retry {
                    retry_after,
                    throttled,
                } => {
                    let last = failure(answer, throttled);
                    match self
                        .cfg
                        .retry
                        .next_wait(attempt, started_all.elapsed(), retry_after)
                    {
                        Some(wait) => {
                            self.stats.retry();
                            tokio::time::sleep(wait).await;
                        }
                        None if last.throttled => return Err(TableauError::Throttled),
                        None => {
                            return Err(TableauError::Unavailable {
                                attempts: attempt,
                                last: last.why,
                            })
                        }
                    }
                }
            }
        }
    }

    /// Send a request that needs no session (server info, sign-in; both safe to repeat).
    pub(super) async fn unauthenticated(
        &self,
        key: &str,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(StatusCode, String), TableauError> {
        self.exchange(key, true, false, |_| request()).await
    }

    /// Send a site call and return the response body; a status that is not success is the
    /// Tableau error it carries.
    pub(super) async fn send(&self, call: &Call) -> Result<String, TableauError> {
        let ver = self.api_version().await?;
        let key = format!("{} {}", call.method, call.endpoint);
        let (status, text) = self
            .exchange(&key, call.idempotent, true, |session| {
                let site = session.map_or("", |s| s.site_id.as_str());
                let url = format!(
                    "{}/api/{ver}/sites/{site}{}",
                    self.cfg.server_url, call.path
                );
                let mut req = self.http.request(call.method.clone(), &url);
                if let Some(s) = session {
                    req = req.header("X-Tableau-Auth", s.token.expose_secret());
                }
                if !call.query.is_empty() {
                    req = req.query(&call.query);
                }
                if let Some(b) = &call.body {
                    req = req.header("Content-Type", "text/xml").body(b.clone());
                }
                req
            })
            .await?;
        if status.is_success() {
            Ok(text)
        } else {
            Err(xml::parse_error(status.as_u16(), &text))
        }
    }

    pub(super) async fn send_xml(&self, call: &Call) -> Result<Element, TableauError> {
        let text = self.send(call).await?;
        xml::parse(&text)
    }

    /// Every item of a paged listing, fetched page by page.
    pub(super) async fn all_pages<T, F, Fut>(&self, fetch: F) -> Result<Vec<T>, TableauError>
    where
        F: Fn(u32, u32) -> Fut,
        Fut: std::future::Future<Output = Result<Page<T>, TableauError>>,
    {
        let size = self.cfg.page_size;
        let mut out = Vec::new();
        let mut n = 1;
        loop {
            let page = fetch(n, size).await?;
            let got = page.items.len();
            out.extend(page.items);
            // Stop on the total, never by paging past the end (Tableau answers 400006 there).
            if got == 0 || u64::from(n) * u64::from(size) >= page.pagination.total_available {
                return Ok(out);
            }
            n += 1;
        }
    }

    /// Every item of a paged listing at `path` (`<list><item/>...</list>`).
    pub(super) async fn all_listed<T>(
        &self,
        endpoint: &'static str,
        path: String,
        list: &'static str,
        item: &'static str,
        read: fn(&Element) -> Result<T, TableauError>,
    ) -> Result<Vec<T>, TableauError> {
        self.all_pages(|n, size| {
            let call = Call::new(Method::GET, endpoint, path.clone())
                .query("pageSize", size.to_string())
                .query("pageNumber", n.to_string());
            async move {
                let root = self.send_xml(&call).await?;
                read_page(&root, list, item, read)
            }
        })
        .await
    }

    /// Send a non-idempotent create. If its outcome is unknown (timeout, dropped connection),
    /// the object is looked up by name before anything is sent again; and if a later attempt
    /// meets "already exists", that is our earlier request having landed after the lookup missed
    /// it, so the lookup answers.
    pub(super) async fn create_resolving<T, F, Fut>(
        &self,
        call: &Call,
        what: &str,
        read: impl Fn(&Element) -> Result<T, TableauError>,
        lookup: F,
        exists: fn(&TableauError) -> bool,
    ) -> Result<T, TableauError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, TableauError>>,
    {
        let mut uncertain = false;
        for _ in 0..self.cfg.retry.max_attempts {
            match self.send_xml(call).await {
                Ok(root) => return read(&root),
                Err(TableauError::Uncertain(why)) => {
                    tracing::warn!(reason = %why, "{what} outcome unknown; looking it up");
                    uncertain = true;
                    if let Some(found) = lookup().await? {
                        return Ok(found);
                    }
                }
                Err(e) if uncertain && exists(&e) => return lookup().await?.ok_or(e),
                Err(e) => return Err(e),
            }
        }
        Err(TableauError::Unavailable {
            attempts: self.cfg.retry.max_attempts,
            last: format!("{what} never completed"),
        })
    }
}
