//! The Tableau client against the emulator, without the SCIM server: emulators, clients,
//! and requests sent by hand for what the client never sends.

use std::time::Duration;

use secrecy::SecretString;
use tableau_scim::emulator::{self, EmulatorConfig, Fault, RunningEmulator};
use tableau_scim::tableau::jwt::ConnectedApp;
use tableau_scim::tableau::model::NewUser;
use tableau_scim::tableau::retry::RetryPolicy;
use tableau_scim::tableau::{ClientConfig, Credentials, Deployment, SiteRole, TableauClient};

/// The emulator's PAT name.
pub const PAT_NAME: &str = "scim-pat";
/// The emulator's PAT secret.
pub const PAT_SECRET: &str = "pat-secret-value-123";

/// Start an emulator on a random port.
pub fn start(cfg: EmulatorConfig) -> RunningEmulator {
    emulator::start("127.0.0.1:0", cfg, 2).expect("the emulator starts")
}

/// An emulated Tableau Server site `acme`.
pub fn emu() -> RunningEmulator {
    start(EmulatorConfig::new("acme", PAT_NAME, PAT_SECRET))
}

/// An emulated Tableau Cloud site `acme`, on Cloud's API version.
pub fn cloud_emu(configure: impl FnOnce(&mut EmulatorConfig)) -> RunningEmulator {
    let mut cfg = EmulatorConfig::new("acme", PAT_NAME, PAT_SECRET);
    cfg.set_flavor(emulator::Flavor::Cloud);
    configure(&mut cfg);
    start(cfg)
}

/// Five attempts, quickly.
pub fn five_attempts() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_total: Duration::from_secs(10),
    }
}

/// A connected app signing in as the emulator's administrator.
pub fn connected_app() -> ConnectedApp {
    ConnectedApp {
        client_id: "client-7".into(),
        secret_id: "secret-id-7".into(),
        secret_value: SecretString::from("ca-secret-value".to_string()),
        username: EmulatorConfig::DEFAULT_ADMIN.into(),
    }
}

/// The emulator's PAT.
pub fn pat() -> Credentials {
    pat_of(PAT_NAME, PAT_SECRET)
}

/// A PAT.
pub fn pat_of(name: &str, secret: &str) -> Credentials {
    Credentials::Pat {
        name: name.into(),
        secret: SecretString::from(secret.to_string()),
    }
}

/// A client of `e`'s site for a Tableau Server, at `version` or the discovered one.
pub fn client_with(
    e: &RunningEmulator,
    creds: Credentials,
    version: Option<&str>,
) -> TableauClient {
    client_for(&e.url(), creds, version, Deployment::Server)
}

/// A client of site `acme` at `url`.
pub fn client_for(
    url: &str,
    creds: Credentials,
    version: Option<&str>,
    deployment: Deployment,
) -> TableauClient {
    let mut cfg = ClientConfig::new(url, "acme", creds);
    cfg.api_version = version.map(str::to_string);
    cfg.retry = five_attempts();
    cfg.request_timeout = Duration::from_secs(5);
    cfg.deployment = deployment;
    TableauClient::new(cfg).expect("a client")
}

/// A PAT client of `e` for a Tableau Server.
pub fn client(e: &RunningEmulator) -> TableauClient {
    client_with(e, pat(), None)
}

/// A PAT client of `e` for Tableau Cloud.
pub fn cloud_client(e: &RunningEmulator) -> TableauClient {
    client_for(&e.url(), pat(), None, Deployment::Cloud)
}

/// The value, or a failure naming the error.
pub fn ok<T, E: std::fmt::Debug>(r: Result<T, E>) -> T {
    r.expect("no error")
}

/// Tableau's error code of a failed call.
pub fn code_of<T>(r: Result<T, tableau_scim::tableau::TableauError>) -> Option<String> {
    r.err().and_then(|e| e.code().map(str::to_string))
}

/// An Add User request with only a name and role.
pub fn new_user(name: &str, role: SiteRole) -> NewUser {
    NewUser {
        name: name.into(),
        site_role: role,
        auth_setting: None,
        idp_configuration_id: None,
        email: None,
    }
}

/// A new user of `e`'s site: on Tableau Cloud with the sign-in method Cloud requires
/// (Tableau with MFA), on Tableau Server with the server's own.
pub fn user_for(e: &RunningEmulator, name: &str, role: SiteRole) -> NewUser {
    let mut u = new_user(name, role);
    if e.with_state(|s| s.flavor) == Some(emulator::Flavor::Cloud) {
        u.auth_setting = Some("TableauIDWithMFA".into());
    }
    u
}

/// Calls the emulator counted for `key` (`"POST /sites/{id}/users"`).
pub fn emulator_calls(e: &RunningEmulator, key: &str) -> u64 {
    e.with_state(|s| s.stats_snapshot().get(key).copied().unwrap_or(0))
        .unwrap_or(0)
}

/// Faults for the next calls.
pub fn script(e: &RunningEmulator, faults: &[Fault]) {
    e.with_state(|s| s.faults.script = faults.iter().copied().collect());
}

/// A session made by hand, for requests the client never sends.
pub struct Raw {
    /// Plain HTTP, following no redirect.
    pub http: reqwest::Client,
    /// `http://127.0.0.1:PORT/api/VER`.
    pub api: String,
    /// The session token.
    pub token: String,
    /// The site LUID.
    pub site_id: String,
    /// The sign-in answer.
    pub signed_in: String,
}

impl Raw {
    /// Sign in to `e` with its PAT at API `ver`.
    pub async fn sign_in(e: &RunningEmulator, ver: &str) -> Raw {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        let api = format!("{}/api/{ver}", e.url());
        let body = format!("<tsRequest><credentials personalAccessTokenName=\"{PAT_NAME}\" personalAccessTokenSecret=\"{PAT_SECRET}\"><site contentUrl=\"acme\"/></credentials></tsRequest>");
        let text = ok(ok(http
            .post(format!("{api}/auth/signin"))
            .body(body)
            .send()
            .await)
        .text()
        .await);
        let attr = |name: &str| {
            text.split(&format!("{name}=\""))
                .nth(1)
                .and_then(|t| t.split('"').next())
                .unwrap_or_default()
                .to_string()
        };
        let token = attr("token");
        let site_id = text
            .split("<site id=\"")
            .nth(1)
            .and_then(|t| t.split('"').next())
            .unwrap_or_default()
            .to_string();
        assert!(!token.is_empty(), "signed in: {text}");
        Raw {
            http,
            api,
            token,
            site_id,
            signed_in: text,
        }
    }

    /// Send `method` to `path` under the site with `body`; the status and Tableau's error code
    /// (empty on success) and the body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &str,
    ) -> (u16, String, String) {
        let url = format!("{}/sites/{}{path}", self.api, self.site_id);
        let r = ok(self
            .http
            .request(method, url)
            .header("X-Tableau-Auth", &self.token)
            .body(body.to_string())
            .send()
            .await);
        let status = r.status().as_u16();
        let text = ok(r.text().await);
        (status, error_code(&text), text)
    }
}

/// The `code` of an `<error>` envelope, or `""`.
pub fn error_code(text: &str) -> String {
    text.split("<error code=\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .unwrap_or_default()
        .to_string()
}
