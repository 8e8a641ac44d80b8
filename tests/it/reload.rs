//! Reloading the configuration as an operator does it: `tableau-scim serve` keeps serving an
//! IdP's load while its file is edited and `SIGHUP` sent. A new SCIM token is accepted beside the
//! old one, then the old one is removed, without one request of the load failing; an admin
//! token removed ends its console sessions; a broken file, or one that changes what needs a
//! restart, is refused with the reason in the log and the running configuration kept whole;
//! an admin of every tenant reloads from the console too.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tableau_scim::emulator::{self, EmulatorConfig, RunningEmulator};
use tableau_scim::http::TokenDigest;

use crate::common::serve_process::ServeProcess;
use crate::common::{self, Idp};
use crate::console_browser::Browser;

const PAT_SECRET: &str = "reload-pat-secret-value";
const TOKEN_A: &str = "reload-scim-token-aaaaaaaa";
const TOKEN_B: &str = "reload-scim-token-bbbbbbbb";
const TOKEN_C: &str = "reload-scim-token-cccccccc";
const ADMIN_1: &str = "reload-admin-token-11111111";
const ADMIN_2: &str = "reload-admin-token-22222222";

struct Server {
    process: Option<ServeProcess>,
    config: PathBuf,
    base: String,
    origin: String,
    port: u16,
    metrics_port: u16,
    emulator: RunningEmulator,
    _dir: tempfile::TempDir,
}

fn hashes(tokens: &[&str]) -> String {
    let h: Vec<String> = tokens
        .iter()
        .map(|t| format!("\"{}\"", TokenDigest::of(t).to_hex()))
        .collect();
    format!("[{}]", h.join(", "))
}

impl Server {
    /// The configuration with these SCIM tokens and server admin tokens; `workers` as given;
    /// the IdP's role `analyst` mapped to Viewer.
    fn text(&self, scim: &[&str], admins: &[&str], workers: usize) -> String {
        self.text_mapping(scim, admins, workers, "Viewer")
    }

    /// The same with `analyst` mapped to `analyst_role`.
    fn text_mapping(
        &self,
        scim: &[&str],
        admins: &[&str],
        workers: usize,
        analyst_role: &str,
    ) -> String {
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\ndata_dir = \"{}\"\nworkers = {workers}\nmetrics_listen = \"127.0.0.1:{metrics}\"\nadmin_token_hashes = {}\n\n[[tenants]]\nid = \"acme\"\ntableau_url = \"{}\"\nsite = \"acme\"\ndeployment = \"server\"\npat_name = \"scim\"\ntoken_hashes = {}\n\n[tenants.roles]\n\"analyst\" = \"{analyst_role}\"\n",
            self._dir.path().join("data").display(),
            hashes(admins),
            self.emulator.url(),
            hashes(scim),
            port = self.port,
            metrics = self.metrics_port,
        )
    }

    fn write(&self, text: &str) {
        // Written aside and renamed, as an editor or a config manager does: the server never
        // reads half a file.
        let aside = self.config.with_extension("new");
        std::fs::write(&aside, text).unwrap();
        std::fs::rename(&aside, &self.config).unwrap();
    }

    fn process(&self) -> &ServeProcess {
        self.process.as_ref().expect("serve runs")
    }

    fn hangup(&self) {
        self.process().signal("HUP");
    }

    fn log_text(&self) -> String {
        self.process().log_text()
    }

    async fn wait_log(&self, needle: &str, n: usize) {
        self.process().wait_log(needle, n).await;
    }

    fn idp(&self, token: &str) -> Idp {
        Idp::new(&self.base, token)
    }

    /// The status `token` gets for a read, once it is `want` (up to 10 s).
    async fn wait_status(&self, token: &str, want: StatusCode) {
        let idp = self.idp(token);
        for _ in 0..200 {
            if idp.read("/Users?count=1").await.status == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{token} never got {want}");
    }
}

async fn start() -> Server {
    let emulator = emulator::start(
        "127.0.0.1:0",
        EmulatorConfig::new("acme", "scim", PAT_SECRET),
        2,
    )
    .unwrap();
    let dir = common::tempdir();
    let port = common::free_port();
    let config = dir.path().join("tableau-scim.toml");
    let mut s = Server {
        process: None,
        base: format!("http://127.0.0.1:{port}/scim/v2"),
        origin: format!("http://127.0.0.1:{port}"),
        port,
        metrics_port: common::free_port(),
        config,
        emulator,
        _dir: dir,
    };
    s.write(&s.text(&[TOKEN_A], &[ADMIN_1], 2));
    s.process = Some(
        ServeProcess::start(
            &s.config,
            &s.origin,
            &[("TABLEAU_SCIM_TENANT_ACME_PAT_SECRET", PAT_SECRET)],
        )
        .await,
    );
    s
}

/// An IdP's load with one token: four clients reading and creating until stopped; every
/// answer's status, and every transport failure as 0.
struct Load {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<u16>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn load(base: &str, token: &str, tag: &str) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let tasks = (0..4)
        .map(|client| {
            let (stop, seen) = (stop.clone(), seen.clone());
            let idp = Idp::new(base, token);
            let tag = tag.to_string();
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    i += 1;
                    let r = if i % 5 == 0 {
                        idp.try_call(
                            Method::POST,
                            "/Users",
                            Some(json!({
                                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                "userName": format!("{tag}-{client}-{i}@example.com"),
                                "active": true
                            })),
                        )
                        .await
                    } else {
                        idp.try_call(Method::GET, "/Users?count=2", None).await
                    };
                    seen.lock().unwrap().push(r.map_or(0, |(s, _)| s.as_u16()));
                }
            })
        })
        .collect();
    Load { stop, seen, tasks }
}

impl Load {
    /// Stop, and every status seen.
    async fn finish(self) -> Vec<u16> {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            t.await.unwrap();
        }
        let seen = self.seen.lock().unwrap().clone();
        seen
    }
}

fn all_succeeded(seen: &[u16], what: &str) {
    assert!(
        seen.len() > 20,
        "{what}: the load ran ({} requests)",
        seen.len()
    );
    let failed: Vec<&u16> = seen.iter().filter(|s| !(200..300).contains(*s)).collect();
    assert!(
        failed.is_empty(),
        "{what}: {} of {} failed: {failed:?}",
        failed.len(),
        seen.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_rotate_under_load_and_a_bad_file_changes_nothing() {
    let s = start().await;
    let mut admin = Browser::at(&s.origin);
    let signed = admin.sign_in(ADMIN_1).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    assert_eq!(admin.get("/admin").await.status, StatusCode::OK);
    assert_eq!(
        s.idp(TOKEN_B).read("/Users").await.status,
        StatusCode::UNAUTHORIZED
    );

    // The new token beside the old one, while the IdP works with the old one.
    let old = load(&s.base, TOKEN_A, "a");
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.write(&s.text(&[TOKEN_A, TOKEN_B], &[ADMIN_1], 2));
    s.hangup();
    s.wait_log("configuration reloaded", 1).await;
    s.wait_status(TOKEN_B, StatusCode::OK).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    all_succeeded(
        &old.finish().await,
        "the old token's load across the reload",
    );

    // The IdP switched; the old token and the old admin token go.
    let new = load(&s.base, TOKEN_B, "b");
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.write(&s.text(&[TOKEN_B], &[ADMIN_2], 2));
    s.hangup();
    s.wait_log("configuration reloaded", 2).await;
    s.wait_status(TOKEN_A, StatusCode::UNAUTHORIZED).await;
    let ended = admin.get("/admin").await;
    assert_eq!(
        (ended.status, ended.location.as_str()),
        (StatusCode::SEE_OTHER, "/admin/login"),
        "the removed admin token's session ended"
    );
    assert_eq!(
        admin.sign_in(ADMIN_1).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(admin.sign_in(ADMIN_2).await.status, StatusCode::SEE_OTHER);

    // A broken file: refused, with why, and nothing changes.
    s.write("[server\nlisten = ");
    s.hangup();
    s.wait_log("configuration reload refused", 1).await;
    assert_eq!(
        s.idp(TOKEN_B).read("/Users?count=1").await.status,
        StatusCode::OK
    );

    // A file that also changes what needs a restart: refused whole, naming the key; the token
    // it adds is not accepted either.
    s.write(&s.text(&[TOKEN_B, TOKEN_C], &[ADMIN_2], 3));
    s.hangup();
    s.wait_log("configuration reload refused", 2).await;
    assert!(s.log_text().contains("server.workers"), "{}", s.log_text());
    assert_eq!(
        s.idp(TOKEN_C).read("/Users").await.status,
        StatusCode::UNAUTHORIZED
    );

    // The same from the console, by an admin of every tenant: refused, then applied.
    let overview = admin.get("/admin").await;
    assert!(
        overview.body.contains("Reload configuration"),
        "{}",
        overview.body
    );
    let csrf = Browser::csrf(&overview);
    let refused = admin
        .send(
            Method::POST,
            "/admin/reload",
            Some(&[("csrf", csrf.as_str())]),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("server.workers"), "{}", refused.body);
    let forged = admin
        .send(Method::POST, "/admin/reload", Some(&[("csrf", "x")]))
        .await;
    assert_eq!(
        forged.status,
        StatusCode::FORBIDDEN,
        "a form without the session's token"
    );
    s.write(&s.text(&[TOKEN_B, TOKEN_C], &[ADMIN_2], 2));
    let applied = admin
        .send(
            Method::POST,
            "/admin/reload",
            Some(&[("csrf", csrf.as_str())]),
        )
        .await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.body);
    assert!(
        applied.body.contains("Configuration reloaded"),
        "{}",
        applied.body
    );
    assert_eq!(
        s.idp(TOKEN_C).read("/Users?count=1").await.status,
        StatusCode::OK
    );
    assert!(s
        .log_text()
        .contains("configuration reloaded from the console"));

    tokio::time::sleep(Duration::from_millis(300)).await;
    all_succeeded(
        &new.finish().await,
        "the new token's load across five reloads",
    );

    // A role mapping changed: the next create is decided under the new one.
    let analyst = |name: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name,
            "roles": [{"value": "analyst"}]
        })
    };
    let idp = s.idp(TOKEN_B);
    let (st, body) = idp
        .call(Method::POST, "/Users", Some(analyst("before@example.com")))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    s.write(&s.text_mapping(&[TOKEN_B, TOKEN_C], &[ADMIN_2], 2, "Explorer"));
    s.hangup();
    s.wait_log("configuration reloaded", 4).await;
    let (st, body) = idp
        .call(Method::POST, "/Users", Some(analyst("after@example.com")))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let role = |n: &str| s.emulator.with_state(|st| st.role_of(n)).flatten();
    assert_eq!(
        (
            role("before@example.com").as_deref(),
            role("after@example.com").as_deref()
        ),
        (Some("Viewer"), Some("Explorer"))
    );

    // Monitoring sees every reload and whether the last one took.
    let metrics = reqwest::get(format!("http://127.0.0.1:{}/metrics", s.metrics_port))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count = |outcome: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(&format!("config_reloads_total{{outcome=\"{outcome}\"}}")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
    };
    assert_eq!(
        (count("applied"), count("refused")),
        (Some(4), Some(3)),
        "{metrics}"
    );
    assert!(
        metrics.contains("config_last_reload_successful 1"),
        "{metrics}"
    );

    let log = s.log_text();
    for secret in [TOKEN_A, TOKEN_B, TOKEN_C, ADMIN_1, ADMIN_2, PAT_SECRET] {
        assert!(!log.contains(secret), "{secret} is in the log");
    }
}

const GLOBEX_PAT: &str = "globex-pat-secret-value";
const GLOBEX_TOKEN: &str = "reload-globex-token-gggggggg";

/// The `globex` tenant's section, on `tableau`, signing in with the PAT secret in `pat_file`.
fn globex(tableau: &str, pat_file: &std::path::Path) -> String {
    format!(
        "\n[[tenants]]\nid = \"globex\"\ntableau_url = \"{tableau}\"\nsite = \"globex\"\ndeployment = \"server\"\npat_name = \"scim\"\npat_secret_file = \"{}\"\ntoken_hashes = {}\n",
        pat_file.display(),
        hashes(&[GLOBEX_TOKEN])
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_is_added_when_ready_and_removed_after_its_requests() {
    let s = start().await;
    let tableau = emulator::start(
        "127.0.0.1:0",
        EmulatorConfig::new("globex", "scim", GLOBEX_PAT),
        2,
    )
    .unwrap();
    let pat_file = s._dir.path().join("globex-pat");
    std::fs::write(&pat_file, "a-wrong-pat-secret").unwrap();
    let acme = s.text(&[TOKEN_A], &[ADMIN_1], 2);
    let with_globex = acme.clone() + &globex(&tableau.url(), &pat_file);
    let load_a = load(&s.base, TOKEN_A, "acme");
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Its Tableau refuses the PAT: not added, and nothing else changes either.
    s.write(&with_globex);
    s.hangup();
    s.wait_log("configuration reload refused", 1).await;
    assert!(
        s.log_text().contains("tenants.globex: not ready"),
        "{}",
        s.log_text()
    );
    assert_eq!(
        s.idp(GLOBEX_TOKEN).read("/Users").await.status,
        StatusCode::UNAUTHORIZED
    );

    // The secret fixed: added, and provisioning at once, on its own path too.
    std::fs::write(&pat_file, GLOBEX_PAT).unwrap();
    s.hangup();
    s.wait_log("configuration reloaded: 2 tenant(s), added: globex", 1)
        .await;
    let globex_idp = Idp::new(
        &format!("{}/tenants/globex/scim/v2", s.origin),
        GLOBEX_TOKEN,
    );
    let (st, body) = globex_idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "new.customer@globex.example",
                "active": true
            })),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    assert!(tableau
        .with_state(|st| st.user_names())
        .unwrap_or_default()
        .contains(&"new.customer@globex.example".to_string()));
    assert_eq!(
        s.idp(TOKEN_A)
            .read("/Users?filter=userName eq \"new.customer@globex.example\"")
            .await
            .body["totalResults"],
        json!(0),
        "acme does not see globex's users"
    );

    // Removed: refused at once, its session ended in its Tableau.
    s.write(&acme);
    s.hangup();
    s.wait_log("removed: globex", 1).await;
    assert_eq!(
        globex_idp.read("/Users").await.status,
        StatusCode::UNAUTHORIZED
    );
    s.wait_log("tenant removed", 1).await;
    assert_eq!(
        tableau
            .with_state(|st| st.session_tokens())
            .unwrap_or_default(),
        Vec::<String>::new(),
        "signed out of globex's Tableau"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    all_succeeded(
        &load_a.finish().await,
        "acme's load while globex came and went",
    );
    assert!(
        !s.log_text().contains(GLOBEX_PAT),
        "the PAT secret is not logged"
    );
}
