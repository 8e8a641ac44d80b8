//! What every integration test shares, so that each reads as an IdP's transcript: a SCIM client
//! holding a base URL and a bearer token ([`Idp`]), and a site ([`Site`]): the Tableau emulator
//! and a configuration pointed at it, started through `serve::start` as production starts,
//! with its store in a directory of its own.
//!
//! The benches include it too (`#[path]`), each using a part of it.

pub mod flows;
#[allow(dead_code)] // the benches' load generator: no test uses it
pub mod load;
pub mod postgres;
pub mod receiver;
pub mod replicas;
pub mod serve_process;
pub mod tableau;

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use tableau_scim::emulator::EmulatorConfig;
use tableau_scim::stack::{Stack, StackOptions};
use tableau_scim::tableau::retry::RetryPolicy;

/// The SCIM media type.
pub const SCIM_JSON: &str = "application/scim+json";

/// What the server answered.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as JSON; `Null` when empty, a JSON string when it is not JSON.
    pub body: Value,
}

impl Reply {
    /// A header's value (empty when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// What an IdP sees of this answer, as snapshots show it: the status, the content type,
    /// the headers it acts on when present (`Allow`, `ETag`, `Location`, `Retry-After`,
    /// `WWW-Authenticate`), and the body.
    pub fn seen(&self) -> Value {
        let mut seen = json!({
            "status": self.status.as_u16(),
            "content-type": self.header("content-type"),
        });
        for name in [
            "allow",
            "etag",
            "location",
            "retry-after",
            "www-authenticate",
        ] {
            if self.headers.contains_key(name) {
                seen[name] = json!(self.header(name));
            }
        }
        seen["body"] = self.body.clone();
        if let Some(detail) = self.body.get("detail").and_then(Value::as_str) {
            seen["body"]["detail"] = json!(redact_uuids(detail));
        }
        seen
    }

    /// The status and the body, as transcripts read them.
    pub fn parts(self) -> (StatusCode, Value) {
        (self.status, self.body)
    }
}

/// `text` with every UUID (an id the run made) written `[id]`, so that an error naming one
/// reads the same in every run.
pub fn redact_uuids(text: &str) -> String {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let is_uuid = |s: &str| {
        s.len() == 36
            && s.split('-').map(str::len).eq(GROUPS)
            && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        match rest.get(..36).filter(|head| is_uuid(head)) {
            Some(_) => {
                out.push_str("[id]");
                rest = &rest[36..];
            }
            None => {
                let step = rest.chars().next().map_or(1, char::len_utf8);
                out.push_str(&rest[..step]);
                rest = &rest[step..];
            }
        }
    }
    out
}

/// What snapshots show of answers: one answer, or several in the order they came.
pub trait Seen {
    /// The answers as an IdP sees them ([`Reply::seen`]).
    fn seen(&self) -> Value;
}

impl Seen for Reply {
    fn seen(&self) -> Value {
        Reply::seen(self)
    }
}

impl Seen for Vec<Reply> {
    fn seen(&self) -> Value {
        Value::Array(self.iter().map(Reply::seen).collect())
    }
}

/// A SCIM client as an IdP is one: a base URL (`.../scim/v2`) and a bearer token.
#[derive(Clone)]
pub struct Idp {
    /// The SCIM base URL.
    pub base: String,
    /// The bearer token it sends.
    pub token: String,
    /// Headers sent with every request (`If-Match`, ...).
    headers: Vec<(String, String)>,
    http: Client,
    /// With several: each request goes to the next of these base URLs in turn (a round-robin
    /// load balancer in front of replicas).
    bases: Vec<String>,
    turn: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Idp {
    /// A client of `base` sending `token`.
    pub fn new(base: &str, token: &str) -> Idp {
        Idp {
            base: base.to_string(),
            token: token.to_string(),
            headers: Vec::new(),
            http: Client::new(),
            bases: Vec::new(),
            turn: std::sync::Arc::default(),
        }
    }

    /// A client sending each request to the next of `bases` in turn, through `http`.
    pub fn round_robin(bases: &[String], token: &str, http: Client) -> Idp {
        Idp {
            bases: bases.to_vec(),
            ..Idp::with_client(&bases[0], token, http)
        }
    }

    /// A client of `base` sending `token` through `http` (e.g. one trusting a test certificate).
    pub fn with_client(base: &str, token: &str, http: Client) -> Idp {
        Idp {
            http,
            ..Idp::new(base, token)
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else if self.bases.len() > 1 {
            let i = self.turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            format!("{}{path}", self.bases[i % self.bases.len()])
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// Any request, or the transport error: `path` is below the base URL (or absolute), no
    /// `Authorization` without a token, no `Content-Type` without one.
    pub async fn try_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<Reply, reqwest::Error> {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// Any request; a transport error fails the test.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let url = self.url(path);
        self.try_raw(method, path, token, content_type, body)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    /// A SCIM request with this client's token, the body sent as `application/scim+json`.
    pub async fn request(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.raw(
            method,
            path,
            Some(&self.token),
            Some(SCIM_JSON),
            body.map(|b| b.to_string().into_bytes()),
        )
        .await
    }

    /// `GET path`, whole.
    pub async fn read(&self, path: &str) -> Reply {
        self.request(Method::GET, path, None).await
    }

    /// A SCIM request: the status and the body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.request(method, path, body).await.parts()
    }

    /// A SCIM request, or the transport error (for servers that are killed mid-run).
    pub async fn try_call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        let body = body.map(|b| b.to_string().into_bytes());
        let reply = self
            .try_raw(method, path, Some(&self.token), Some(SCIM_JSON), body)
            .await?;
        Ok(reply.parts())
    }

    /// `GET path`: the status and the body.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    /// The same client, sending `name: value` with every request.
    pub fn with_header(&self, name: &str, value: &str) -> Idp {
        let mut headers = self.headers.clone();
        headers.push((name.to_string(), value.to_string()));
        Idp {
            headers,
            ..self.clone()
        }
    }

    /// Another client of the same server, with another token.
    pub fn with_token(&self, token: &str) -> Idp {
        Idp {
            token: token.to_string(),
            ..self.clone()
        }
    }
}

/// A site: the emulated Tableau and the server configured for it, started through the path
/// production uses, with an IdP holding its token.
pub struct Site {
    /// The stack (its emulator, its tenant).
    pub stack: Stack,
    /// The IdP of the one tenant.
    pub idp: Idp,
    /// Tableau calls the start cost (server info, sign-in, the first listing of names).
    pub startup_calls: u64,
    _dir: tempfile::TempDir,
}

impl Site {
    /// Start `emulator` and a configuration of one tenant for it accepting `token`, changed by
    /// `configure`, with the store in a fresh directory.
    pub fn start(
        emulator: EmulatorConfig,
        token: &str,
        configure: impl FnOnce(&mut StackOptions),
    ) -> Site {
        let dir = tempdir();
        let mut o = StackOptions::new(emulator, dir.path().to_path_buf(), token);
        configure(&mut o);
        let stack = Stack::start(o).expect("the stack starts");
        let idp = Idp::new(&stack.scim_url(), token);
        let mut site = Site {
            stack,
            idp,
            startup_calls: 0,
            _dir: dir,
        };
        site.startup_calls = site.await_names();
        site
    }

    /// Wait (up to 10 s) for the tenant's first listing of the site's names, then zero the
    /// emulator's counters, so that tests count only the calls their requests cause. Users
    /// added to the emulator behind the bridge's back afterwards are learnt by
    /// [`Site::relist_names`]. The calls counted until then.
    fn await_names(&self) -> u64 {
        for _ in 0..1000 {
            if self.stack.tenant().names_complete() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // The listing reads the groups after the names are complete: wait for that call too
        // (up to 2 s, for sites whose Tableau fails it), or it lands in the test's count.
        for _ in 0..200 {
            if self.calls("GET /sites/{id}/groups") > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let calls = self.tableau_calls();
        self.reset_calls();
        calls
    }

    /// List the site's names again now (as the background listing would), then zero the
    /// emulator's counters.
    pub async fn relist_names(&self) {
        self.stack
            .tenant()
            .list_names()
            .await
            .expect("the names are listed");
        self.reset_calls();
    }

    /// Every Tableau call since the last reset, as the emulator counted them.
    pub fn tableau_calls(&self) -> u64 {
        flows::Provisioned::total_calls(self)
    }

    /// Calls the emulator counted for `key` (`"PUT /sites/{id}/users/{id}"`) since the last
    /// reset.
    pub fn calls(&self, key: &str) -> u64 {
        flows::Provisioned::calls(self, key)
    }

    /// Requests to `method` (`"Update User"`) that carried `attribute` since the last reset.
    pub fn sent(&self, method: &str, attribute: &str) -> u64 {
        self.stack
            .emulator
            .with_state(|s| s.attribute_sent(method, attribute))
            .unwrap_or(0)
    }

    /// Zero the emulator's call counters.
    pub fn reset_calls(&self) {
        flows::Provisioned::reset_calls(self)
    }

    /// A user's site role in Tableau, by name.
    pub fn role(&self, name: &str) -> Option<String> {
        self.stack
            .emulator
            .with_state(|s| s.role_of(name))
            .flatten()
    }

    /// A group's members in Tableau, by name.
    pub fn members(&self, group: &str) -> Vec<String> {
        self.stack
            .emulator
            .with_state(|s| s.member_names(group))
            .flatten()
            .unwrap_or_default()
    }
}

/// A port on 127.0.0.1 nobody listens on now (for a process the test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A directory removed when the guard drops.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// A retry budget that keeps fault tests fast.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 8,
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
        max_total: Duration::from_secs(20),
    }
}

/// A PatchOp request of `ops`.
pub fn patch(ops: Value) -> Value {
    json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":ops})
}

/// A resource's `id`.
pub fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_string()
}

/// Every log line of the test binary (JSON; ours from debug, others' from info), captured from
/// the first call on: every test module's, so a test looks for its own lines.
pub fn captured_logs() -> &'static std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    use std::sync::{Arc, Mutex, OnceLock};
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let make = move || Capture(writer.clone());
        let _ = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            // Ours at debug (secrets must not reach even those); the HTTP libraries' debug
            // lines would only make the buffer of the whole binary large.
            .with_env_filter("info,tableau_scim=debug")
            .with_writer(make)
            .try_init();
        buf
    })
}

/// The captured log, as text.
pub fn captured_text() -> String {
    captured_logs()
        .lock()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(b);
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
