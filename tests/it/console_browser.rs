//! The console's test harness: a deployment of two tenants on two emulated sites, each with
//! its admin token, and a browser (cookies kept by hand, redirects not followed) that signs in
//! and reads pages. `console.rs` and `console_what_if.rs` use it.

use crate::common;

use std::collections::BTreeMap;

use reqwest::{header, Client, Method, StatusCode};
use tableau_scim::config;
use tableau_scim::emulator::{self, EmulatorConfig, RunningEmulator};
use tableau_scim::serve::{self, Serving};

pub(crate) const SCIM_A: &str = "scim-token-of-tenant-a-0001";
pub(crate) const SCIM_B: &str = "scim-token-of-tenant-b-0002";
pub(crate) const ADMIN_ALL: &str = "admin-token-every-tenant-0003";
pub(crate) const ADMIN_A: &str = "admin-token-tenant-a-only-0004";

pub(crate) struct Deployment {
    pub(crate) serving: Serving,
    pub(crate) config: std::path::PathBuf,
    pub(crate) _a: RunningEmulator,
    pub(crate) _b: RunningEmulator,
    pub(crate) _dir: tempfile::TempDir,
}

pub(crate) fn deployment() -> Deployment {
    deployment_with("")
}

/// A deployment whose `[server]` table also has `extra_server`.
pub(crate) fn deployment_with(extra_server: &str) -> Deployment {
    let dir = common::tempdir();
    let a = emulator::start(
        "127.0.0.1:0",
        EmulatorConfig::new("site-a", "scim", "pat-a"),
        1,
    )
    .expect("emulator a");
    let b = emulator::start(
        "127.0.0.1:0",
        EmulatorConfig::new("site-b", "scim", "pat-b"),
        1,
    )
    .expect("emulator b");
    let h = |t: &str| tableau_scim::http::TokenDigest::of(t).to_hex();
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
data_dir = "{data}"
admin_token_hashes = ["{all}"]
{extra_server}
[[tenants]]
id = "a"
tableau_url = "{a}"
site = "site-a"
deployment = "server"
pat_name = "scim"
pat_secret = "pat-a"
token_hashes = ["{sa}"]
admin_token_hashes = ["{aa}"]
[[tenants]]
id = "b"
tableau_url = "{b}"
site = "site-b"
deployment = "server"
pat_name = "scim"
pat_secret = "pat-b"
token_hashes = ["{sb}"]
"#,
        data = dir.path().display(),
        a = a.url(),
        b = b.url(),
        all = h(ADMIN_ALL),
        aa = h(ADMIN_A),
        sa = h(SCIM_A),
        sb = h(SCIM_B),
    );
    let cfg = config::parse(&text, &BTreeMap::new()).expect("the configuration parses");
    let serving = serve::start(&cfg).expect("serve starts");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, &text).expect("the configuration file");
    Deployment {
        serving,
        config,
        _a: a,
        _b: b,
        _dir: dir,
    }
}

/// A browser: cookies kept, redirects not followed (the test reads them).
pub(crate) struct Browser {
    pub(crate) base: String,
    pub(crate) http: Client,
    pub(crate) cookies: BTreeMap<String, String>,
}

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: header::HeaderMap,
    pub(crate) location: String,
    pub(crate) content_type: String,
    pub(crate) body: String,
}

impl Browser {
    pub(crate) fn new(d: &Deployment) -> Browser {
        Browser::at(&format!("http://{}", d.serving.server.addr))
    }

    /// A browser of the server at `base` (`http://127.0.0.1:PORT`).
    pub(crate) fn at(base: &str) -> Browser {
        Browser {
            base: base.to_string(),
            http: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client"),
            cookies: BTreeMap::new(),
        }
    }

    pub(crate) async fn send(
        &mut self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Page {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !cookie.is_empty() {
            req = req.header(header::COOKIE, cookie.join("; "));
        }
        if let Some(f) = form {
            req = req
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(serde_urlencoded::to_string(f).unwrap_or_default());
        }
        let resp = req.send().await.expect("an answer");
        for c in resp.headers().get_all(header::SET_COOKIE) {
            let c = c.to_str().unwrap_or_default();
            let (kv, attrs) = c.split_once(';').unwrap_or((c, ""));
            if let Some((k, v)) = kv.split_once('=') {
                if v.is_empty() || attrs.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
        let header_of = |name| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let (location, content_type) =
            (header_of(header::LOCATION), header_of(header::CONTENT_TYPE));
        Page {
            status: resp.status(),
            headers: resp.headers().clone(),
            location,
            content_type,
            body: resp.text().await.unwrap_or_default(),
        }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    /// The value of the first hidden `csrf` field of `page`.
    pub(crate) fn csrf(page: &Page) -> String {
        page.body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_default()
            .to_string()
    }

    pub(crate) async fn sign_in(&mut self, token: &str) -> Page {
        let form = self.get("/admin/login").await;
        let csrf = Browser::csrf(&form);
        self.send(
            Method::POST,
            "/admin/login",
            Some(&[("token", token), ("csrf", &csrf)]),
        )
        .await
    }
}
