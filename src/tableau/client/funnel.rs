//! The funnel every Tableau request goes through: one loop with one budget. Each attempt is
//! sent, counted and classified ([`classify`]); the loop only carries the decision out (answer,
//! sign in again and replay, wait and retry, or report an unknown outcome).

use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;

use super::call_span;
use super::session::Session;
use super::{elapsed_ms, read_page, redirect, transport, TableauClient};
use crate::tableau::error::{parse_retry_after, TableauError};
use crate::tableau::jwt;
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

/// A final answer: status, body, and where a redirect points.
pub(super) struct Answer {
    pub status: StatusCode,
    pub text: String,
    pub location: Option<String>,
}

/// What the last attempt left, for the error when the budget runs out.
struct Failure {
    why: String,
    throttled: bool,
}

impl Failure {
    /// The reason an attempt failed: Tableau's error from an answer, or the transport's.
    fn of(answer: Result<Answer, String>, throttled: bool) -> Failure {
        Failure {
            why: match answer {
                Ok(a) => xml::parse_error(a.status.as_u16(), &a.text).to_string(),
                Err(why) => why,
            },
            throttled,
        }
    }
}

/// An answer as it came off the wire, with the wait Tableau asked for.
struct Received {
    answer: Answer,
    retry_after: Option<Duration>,
    /// The throttle's generation the call went under.
    generation: u64,
}

fn retry_after(r: &reqwest::Response) -> Option<Duration> {
    let v = r
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    parse_retry_after(v, crate::clock::system_now())
}

impl TableauClient {
    /// The loop: send what `build` makes (with the session when `authenticated`), count it,
    /// classify it, and answer, renew, retry or give up. Returns the final answer; whether
    /// that is success is the caller's to read.
    async fn exchange<F>(
        &self,
        key: &str,
        idempotent: bool,
        authenticated: bool,
        build: F,
    ) -> Result<Answer, TableauError>
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
            let started = Instant::now();
            let span = call_span::start(key, attempt);
            let sent = self
                .send_once(build(session.as_deref()))
                .instrument(span.clone())
                .await;
            call_span::record(
                &span,
                sent.as_ref().map(|r| r.answer.status).map_err(|(e, _)| e),
            );
            let (outcome, answer) = self.count(key, attempt, elapsed_ms(started), sent);
            let kind = CallKind {
                idempotent,
                can_renew: authenticated && !renewed,
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
                    return Err(TableauError::Uncertain(Failure::of(answer, false).why));
                }
                Next::Retry {
                    retry_after,
                    throttled,
                } => {
                    let last = Failure::of(answer, throttled);
                    self.wait_or_give_up(attempt, started_all, retry_after, last)
                        .await?;
                }
            }
        }
    }

    /// One attempt on the wire: a slot from the throttle (as many requests in flight, as fast,
    /// as Tableau accepts; waiting here is not a retry), the request, and its whole body. A
    /// failure says whether the request may have reached Tableau (anything but a refused
    /// connection may have).
    async fn send_once(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<Received, (reqwest::Error, bool)> {
        let permit = self
            .throttle
            .slot()
            .instrument(tracing::debug_span!("tableau.slot_wait"))
            .await;
        let generation = permit.generation();
        match request.send().await {
            Ok(resp) => {
                let status = resp.status();
                let retry_after = retry_after(&resp);
                let location = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                match resp.text().await {
                    Ok(text) => Ok(Received {
                        answer: Answer {
                            status,
                            text,
                            location,
                        },
                        retry_after,
                        generation,
                    }),
                    Err(e) => Err((e, true)),
                }
            }
            Err(e) => {
                let reached = !e.is_connect();
                Err((e, reached))
            }
        }
    }

    /// Count an attempt (statistics, the throttle's view, a debug line) and describe it for
    /// [`classify`]: an answer with its status, or no answer with whether it may have arrived.
    fn count(
        &self,
        key: &str,
        attempt: u32,
        ms: u64,
        sent: Result<Received, (reqwest::Error, bool)>,
    ) -> (Outcome, Result<Answer, String>) {
        match sent {
            Ok(Received {
                answer,
                retry_after,
                generation,
            }) => {
                let status = answer.status.as_u16();
                self.stats.record(key, status, ms);
                self.throttle.observe(status, retry_after, Some(generation));
                tracing::debug!(tableau.endpoint = %key, http.status = status, duration_ms = ms, attempt, "tableau call");
                (
                    Outcome::Answer {
                        status,
                        retry_after,
                    },
                    Ok(answer),
                )
            }
            Err((e, reached)) => {
                self.stats.record(key, 0, ms);
                let why = transport(&e);
                tracing::debug!(tableau.endpoint = %key, error = %why, attempt, "tableau call failed");
                (Outcome::NoAnswer { reached }, Err(why))
            }
        }
    }

    /// Sleep before the next attempt when the retry budget allows one; otherwise the error the
    /// last attempt earned (throttled, or unavailable with its reason).
    async fn wait_or_give_up(
        &self,
        attempt: u32,
        started_all: Instant,
        retry_after: Option<Duration>,
        last: Failure,
    ) -> Result<(), TableauError> {
        match self
            .cfg
            .retry
            .next_wait(attempt, started_all.elapsed(), retry_after)
        {
            Some(wait) => {
                self.stats.retry();
                tokio::time::sleep(wait).await;
                Ok(())
            }
            None if last.throttled => Err(TableauError::Throttled),
            None => Err(TableauError::Unavailable {
                attempts: attempt,
                last: last.why,
            }),
        }
    }

    /// Send a request that needs no session (server info, sign-in; both safe to repeat) to
    /// `url`, following redirects by hand (see [`super::redirect`]). Returns the answer and
    /// the URL that gave it.
    pub(super) async fn unauthenticated(
        &self,
        key: &str,
        method: Method,
        url: String,
        body: Option<&str>,
    ) -> Result<(Answer, String), TableauError> {
        let mut url = url;
        for _ in 0..=redirect::MAX_HOPS {
            let answer = self
                .exchange(key, true, false, |_| {
                    let req = self.http.request(method.clone(), &url);
                    match body {
                        Some(b) => req.header("Content-Type", "text/xml").body(b.to_string()),
                        None => req,
                    }
                })
                .await?;
            if !redirect::is_redirect(answer.status.as_u16()) {
                return Ok((answer, url));
            }
            let location = answer.location.as_deref().ok_or_else(|| {
                TableauError::Protocol(format!(
                    "{key} answered {} without a Location",
                    answer.status
                ))
            })?;
            let next = redirect::next_hop(&url, location).map_err(TableauError::Config)?;
            tracing::warn!(
                tableau.endpoint = %key,
                configured = %self.cfg.server_url,
                redirected_to = %redirect::server_address(next.as_str()),
                "Tableau redirected the request; following it. Set tableau_url to the address it names to skip the redirect"
            );
            url = next.to_string();
        }
        Err(TableauError::Protocol(format!(
            "{key} was redirected more than {} times",
            redirect::MAX_HOPS
        )))
    }

    /// Send a site call and return the response body; a status that is not success is the
    /// Tableau error it carries.
    pub(super) async fn send(&self, call: &Call) -> Result<String, TableauError> {
        let ver = self.api_version().await?;
        let key = format!("{} {}", call.method, call.endpoint);
        let answer = self
            .exchange(&key, call.idempotent, true, |session| {
                let site = session.map_or("", |s| s.site_id.as_str());
                let server = session.map_or(self.cfg.server_url.as_str(), |s| s.server.as_str());
                let url = format!("{server}/api/{ver}/sites/{site}{}", call.path);
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
        if answer.status.is_success() {
            return Ok(answer.text);
        }
        let error = xml::parse_error(answer.status.as_u16(), &answer.text);
        Err(self.explain_refusal(error, call))
    }

    /// A 401 that outlived a fresh sign-in, for a connected app, is a scope the token lacks
    /// or Tableau does not grant: say which one the call needs.
    fn explain_refusal(&self, error: TableauError, call: &Call) -> TableauError {
        let TableauError::Api {
            status: 401,
            code,
            summary,
            detail,
        } = error
        else {
            return error;
        };
        if !matches!(self.cfg.credentials, super::Credentials::ConnectedApp(_)) {
            return TableauError::Api {
                status: 401,
                code,
                summary,
                detail,
            };
        }
        let needs = jwt::scope_for(call.method.as_str(), call.endpoint);
        TableauError::Api {
            status: 401,
            code,
            summary,
            detail: format!(
                "{detail} (this call needs the connected-app scope {needs}; tableau-scim asks for {}: check that this Tableau version supports it and that the connected app is enabled)",
                jwt::SCOPES.join(", ")
            ),
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
        self.all_pages_as(fetch, |t| t).await
    }

    /// [`Self::all_pages`], each item turned by `each` as its page arrives (so a listing of
    /// 100,000 users never holds them twice).
    pub(super) async fn all_pages_as<T, U, F, Fut>(
        &self,
        fetch: F,
        mut each: impl FnMut(T) -> U,
    ) -> Result<Vec<U>, TableauError>
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
            out.extend(page.items.into_iter().map(&mut each));
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
