//! Running for real: tenants from a configuration file on two emulators, token rotation and
//! isolation, configuration errors, TLS, readiness, metrics, and secrets kept out of logs.

use crate::common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::{Idp, Reply};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use tableau_scim::config::{self, ConfigError};
use tableau_scim::emulator::{self, EmulatorConfig, RunningEmulator};
use tableau_scim::serve::{self, Serving};

const PAT_A: &str = "pat-secret-for-tenant-a-7f3k";
const PAT_B: &str = "pat-secret-for-tenant-b-9q2m";
const TOKEN_A1: &str = "tenant-a-bearer-token-one-111";
const TOKEN_A2: &str = "tenant-a-bearer-token-two-222";
const TOKEN_B: &str = "tenant-b-bearer-token-333333";
const CLIENT_SECRET_B: &str = "tenant-b-oauth-client-secret-4444";

/// Every log line of this test binary, captured (JSON), to search for secrets.
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    common::captured_logs()
}

fn emulator_for(site: &str, pat: &str) -> RunningEmulator {
    emulator::start("127.0.0.1:0", EmulatorConfig::new(site, "scim", pat), 1)
        .expect("the emulator starts")
}

struct Two {
    a: RunningEmulator,
    b: RunningEmulator,
    serving: Serving,
    _dir: tempfile::TempDir,
}

fn toml_for(
    a: &RunningEmulator,
    b: &RunningEmulator,
    dir: &std::path::Path,
    extra_server: &str,
) -> String {
    let hash = tableau_scim::http::TokenDigest::of(TOKEN_A2).to_hex();
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
data_dir = "{data}"
{extra_server}

[[tenants]]
id = "a"
tableau_url = "{a}"
site = "site-a"
deployment = "server"
pat_name = "scim"
token_hashes = ["{hash}"]
[tenants.retry]
base_delay_ms = 5
max_total_secs = 3

[[tenants]]
id = "b"
tableau_url = "{b}"
site = "site-b"
deployment = "server"
pat_name = "scim"
pat_secret = "{PAT_B}"
[tenants.roles]
"analysts" = "Explorer"
[tenants.oauth]
client_id = "idp-b"
"#,
        data = dir.join("data").display(),
        a = a.url(),
        b = b.url(),
    )
}

fn env() -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "TABLEAU_SCIM_TENANT_A_PAT_SECRET".to_string(),
            PAT_A.to_string(),
        ),
        (
            "TABLEAU_SCIM_TENANT_A_TOKENS".to_string(),
            TOKEN_A1.to_string(),
        ),
        (
            "TABLEAU_SCIM_TENANT_B_TOKENS".to_string(),
            TOKEN_B.to_string(),
        ),
        (
            "TABLEAU_SCIM_TENANT_B_OAUTH_CLIENT_SECRETS".to_string(),
            CLIENT_SECRET_B.to_string(),
        ),
    ])
}

fn two(extra_server: &str) -> Two {
    let _ = captured();
    let dir = common::tempdir();
    let a = emulator_for("site-a", PAT_A);
    let b = emulator_for("site-b", PAT_B);
    let cfg = config::parse(&toml_for(&a, &b, dir.path(), extra_server), &env())
        .expect("the configuration parses");
    let serving = serve::start(&cfg).expect("serve starts");
    Two {
        a,
        b,
        serving,
        _dir: dir,
    }
}

impl Two {
    /// An IdP of this deployment sending `token`; paths start at the origin (`/scim/v2/...`,
    /// `/tenants/{id}/scim/v2/...`, `/readyz`).
    fn idp(&self, token: &str) -> Idp {
        Idp::new(&format!("http://{}", self.serving.server.addr), token)
    }

    /// What an endpoint outside SCIM answers, without a token.
    async fn unauthenticated(&self, path: &str) -> Reply {
        self.idp("").raw(Method::GET, path, None, None, None).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_tenants_are_isolated_tokens_rotate_and_paths_route() {
    let t = two("");
    let post = |token: &'static str, name: &'static str| {
        let idp = t.idp(token);
        async move {
            idp.call(
                Method::POST,
                "/scim/v2/Users",
                Some(json!({"userName": name})),
            )
            .await
        }
    };
    let (s, ua) = post(TOKEN_A1, "alice@a.example").await;
    assert_eq!(s, StatusCode::CREATED, "{ua}");
    let (s, ub) = post(TOKEN_B, "bob@b.example").await;
    assert_eq!(s, StatusCode::CREATED, "{ub}");
    // Each user is in its own tenant's Tableau only.
    assert!(t
        .a
        .with_state(|s| s.user_names())
        .unwrap_or_default()
        .contains(&"alice@a.example".to_string()));
    assert!(!t
        .a
        .with_state(|s| s.user_names())
        .unwrap_or_default()
        .contains(&"bob@b.example".to_string()));
    assert!(t
        .b
        .with_state(|s| s.user_names())
        .unwrap_or_default()
        .contains(&"bob@b.example".to_string()));
    // B cannot read A's user, by id or by filter.
    let a_id = ua["id"].as_str().unwrap_or_default();
    let (s, _) = t
        .idp(TOKEN_B)
        .call(Method::GET, &format!("/scim/v2/Users/{a_id}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, f) = t
        .idp(TOKEN_B)
        .call(
            Method::GET,
            "/scim/v2/Users?filter=userName%20eq%20%22alice%40a.example%22",
            None,
        )
        .await;
    assert_eq!(f["totalResults"], 0);
    let (s, _) = t
        .idp(TOKEN_B)
        .call(Method::DELETE, &format!("/scim/v2/Users/{a_id}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "B cannot delete A's user");
    assert!(t
        .a
        .with_state(|s| s.user_names())
        .unwrap_or_default()
        .contains(&"alice@a.example".to_string()));
    // Both of A's tokens work (rotation without downtime); the hashed one too.
    let (s, body) = t
        .idp(TOKEN_A2)
        .call(Method::GET, &format!("/scim/v2/Users/{a_id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // Path routing: /tenants/{id}/scim/v2 must match the token's tenant.
    let (s, via_path) = t
        .idp(TOKEN_A1)
        .call(
            Method::GET,
            &format!("/tenants/a/scim/v2/Users/{a_id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{via_path}");
    assert!(via_path["meta"]["location"]
        .as_str()
        .is_some_and(|l| l.contains("/tenants/a/scim/v2/Users/")));
    let (s, e) = t
        .idp(TOKEN_B)
        .call(
            Method::GET,
            &format!("/tenants/a/scim/v2/Users/{a_id}"),
            None,
        )
        .await;
    assert_eq!(
        (s, e["status"].clone()),
        (StatusCode::UNAUTHORIZED, json!("401"))
    );
    let (s, _) = t
        .idp(TOKEN_A1)
        .call(Method::GET, "/tenants/b/scim/v2/Users", None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // B's role mapping is B's.
    let (s, r) = t
        .idp(TOKEN_A1)
        .call(
            Method::POST,
            "/scim/v2/Users",
            Some(json!({"userName":"x@a.example","roles":[{"value":"analysts"}]})),
        )
        .await;
    assert_eq!(
        (s, r["scimType"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalidValue"))
    );
    let (s, _) = t
        .idp(TOKEN_B)
        .call(
            Method::POST,
            "/scim/v2/Users",
            Some(json!({"userName":"y@b.example","roles":[{"value":"analysts"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        t.b.with_state(|s| s.role_of("y@b.example"))
            .flatten()
            .as_deref(),
        Some("Explorer")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_follows_tableau_and_metrics_describe_a_provisioning_run() {
    let t = two("metrics_listen = \"127.0.0.1:0\"");
    assert_eq!(t.unauthenticated("/readyz").await.status, StatusCode::OK);
    for i in 0..3 {
        t.idp(TOKEN_A1)
            .call(
                Method::POST,
                "/scim/v2/Users",
                Some(json!({"userName": format!("m{i}@a.example")})),
            )
            .await;
    }
    t.idp(TOKEN_A1)
        .call(
            Method::GET,
            "/scim/v2/Users?filter=userName%20eq%20%22m0%40a.example%22",
            None,
        )
        .await;
    let metrics_addr = t.serving.metrics.as_ref().map(|m| m.addr);
    let metrics = Idp::new(
        &format!("http://{}", metrics_addr.expect("a metrics listener")),
        "",
    )
    .raw(Method::GET, "/metrics", None, None, None)
    .await;
    let text = metrics.body.as_str().unwrap_or_default();
    for needle in [
        "scim_requests_total{tenant=\"a\",resource=\"Users\",method=\"POST\",status=\"201\"}",
        "scim_request_duration_seconds_bucket",
        "tableau_calls_total{tenant=\"a\",endpoint=\"POST users\",status=\"201\"}",
        "tableau_call_duration_seconds_bucket",
        "cache_hits{tenant=\"a\"}",
        "tableau_concurrency_limit{tenant=\"a\"}",
        "tableau_rate_limit{tenant=\"a\"}",
        "license_downgrades{tenant=\"b\"}",
    ] {
        assert!(text.contains(needle), "metrics lack {needle}:\n{text}");
    }
    assert_eq!(
        t.unauthenticated("/metrics").await.status,
        StatusCode::NOT_FOUND,
        "with a listener of their own, metrics are not on the main one"
    );
    assert_eq!(t.unauthenticated("/healthz").await.status, StatusCode::OK);
    // Another deployment whose tenant b's Tableau is down: readiness says so to anyone, and
    // names the tenant only to its own token. (A good answer is reused for a few seconds so
    // probes do not each cost a Tableau call, hence a fresh deployment.)
    let down = two("");
    down.b.handle.stop(false).await;
    let r = down.unauthenticated("/readyz").await;
    let (status, body) = (r.status, r.body.to_string());
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        !body.contains("\"b\"") && !body.contains("failing"),
        "{body}"
    );
    let b = down.idp(TOKEN_B).call(Method::GET, "/readyz", None).await;
    assert!(
        b.1["failing"].get("b").is_some(),
        "tenant b sees itself: {}",
        b.1
    );
    let a = down.idp(TOKEN_A1).call(Method::GET, "/readyz", None).await;
    assert_eq!(
        (a.0, a.1.get("failing")),
        (StatusCode::SERVICE_UNAVAILABLE, None),
        "tenant a is not told about b"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_orderly_stop_finishes_and_signs_out_of_every_tableau() {
    let Two {
        a,
        b,
        serving,
        _dir,
    } = two("");
    let idp = Idp::new(&format!("http://{}", serving.server.addr), TOKEN_A1);
    let (s, _) = idp.get("/scim/v2/Users?count=1").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = idp.with_token(TOKEN_B).get("/scim/v2/Users?count=1").await;
    assert_eq!(s, StatusCode::OK);
    let sessions = |e: &RunningEmulator| e.with_state(|st| st.session_count());
    assert_eq!((sessions(&a), sessions(&b)), (Some(1), Some(1)));
    let stopped = serving.run_until(async {}).await;
    assert!(stopped.is_ok(), "{stopped:?}");
    assert_eq!(
        (sessions(&a), sessions(&b)),
        (Some(0), Some(0)),
        "both sessions were ended in Tableau"
    );
    let after = idp.try_raw(Method::GET, "/healthz", None, None, None).await;
    assert!(after.is_err(), "the server no longer answers");
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_with_a_self_signed_certificate() {
    let dir = common::tempdir();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .expect("a self-signed certificate");
    let cert_pem = certified.cert.pem();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let written = std::fs::write(&cert, &cert_pem)
        .and_then(|_| std::fs::write(&key, certified.signing_key.serialize_pem()));
    assert!(written.is_ok());
    let extra = format!(
        "tls_cert = \"{}\"\ntls_key = \"{}\"",
        cert.display(),
        key.display()
    );
    let t = two(&extra);
    let root = reqwest::Certificate::from_pem(cert_pem.as_bytes()).expect("the certificate");
    let https = Client::builder()
        .tls_certs_only([root])
        .build()
        .expect("an HTTPS client");
    let idp = Idp::with_client(
        &format!("https://localhost:{}/scim/v2", t.serving.server.addr.port()),
        TOKEN_A1,
        https,
    );
    let (s, spc) = idp.get("/ServiceProviderConfig").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        spc["meta"]["location"]
            .as_str()
            .is_some_and(|l| l.starts_with("https://")),
        "{spc}"
    );
    // Plain HTTP to the TLS port fails.
    let plain = Client::new()
        .get(format!(
            "http://127.0.0.1:{}/healthz",
            t.serving.server.addr.port()
        ))
        .send()
        .await;
    assert!(plain.is_err() || plain.is_ok_and(|r| !r.status().is_success()));
}

fn parse_err(text: &str) -> String {
    match config::parse(text, &BTreeMap::new()) {
        Err(ConfigError(m)) => m,
        Ok(_) => panic!("should fail:\n{text}"),
    }
}

const BASE: &str = r#"
[[tenants]]
id = "t"
tableau_url = "https://tableau.example.com"
site = "s"
deployment = "cloud"
auth_setting = "SAML"
pat_name = "p"
pat_secret = "x"
token_hashes = ["0000000000000000000000000000000000000000000000000000000000000000"]
"#;

#[test]
fn configuration_errors_name_the_key_and_what_is_accepted() {
    assert!(config::parse(BASE, &BTreeMap::new()).is_ok());
    let e = parse_err(&BASE.replace("auth_setting = \"SAML\"\n", ""));
    assert!(
        e.contains("tenants[0] (t)")
            && e.contains("auth_setting")
            && e.contains("idp_configuration_id"),
        "a Cloud tenant without a sign-in method does not start: {e}"
    );
    let e = parse_err(&format!("{BASE}colour = \"blue\"\n"));
    assert!(e.contains("colour"), "{e}");
    let e = parse_err(&BASE.replace("deployment = \"cloud\"", "deployment = \"onprem\""));
    assert!(
        e.contains("onprem") && e.contains("cloud") && e.contains("server"),
        "{e}"
    );
    let e = parse_err(&format!("{BASE}deprovision = \"vanish\"\n"));
    assert!(
        e.contains("vanish") && e.contains("remove") && e.contains("unlicense"),
        "{e}"
    );
    let e = parse_err(&format!("{BASE}default_role = \"Wizard\"\n"));
    assert!(e.contains("default_role") && e.contains("Creator"), "{e}");
    let e = parse_err(&format!("{BASE}map_assets_to = \"u\"\n"));
    assert!(e.contains("map_assets_to") && e.contains("Cloud"), "{e}");
    let e = parse_err(&BASE.replace("pat_secret = \"x\"\n", ""));
    assert!(e.contains("TABLEAU_SCIM_TENANT_T_PAT_SECRET"), "{e}");
    let e = parse_err(&BASE.replace(
        "token_hashes = [\"0000000000000000000000000000000000000000000000000000000000000000\"]",
        "token_hashes = [\"zz\"]",
    ));
    assert!(
        e.contains("token_hashes[0]") && e.contains("hash-token"),
        "{e}"
    );
    let e = parse_err(&BASE.replace(
        "token_hashes = [\"0000000000000000000000000000000000000000000000000000000000000000\"]",
        "",
    ));
    assert!(e.contains("bearer token"), "{e}");
    let e = parse_err(&format!("[server]\ntls_cert = \"c.pem\"\n{BASE}"));
    assert!(e.contains("tls_key"), "{e}");
    let e = parse_err(&format!(
        "{BASE}{}",
        BASE.replace("id = \"t\"", "id = \"u\"")
    ));
    assert!(e.contains("also a token of tenant t"), "{e}");
    let e = parse_err("[server]\nlisten = \"0.0.0.0:1\"\n");
    assert!(e.contains("tenants"), "{e}");
    let env = BTreeMap::from([("TABLEAU_SCIM_LISTEN".to_string(), "127.0.0.1:9".to_string())]);
    assert_eq!(
        config::parse(BASE, &env).map(|c| c.server.listen).ok(),
        Some("127.0.0.1:9".to_string())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_reach_logs_or_debug_output() {
    let t = two("");
    t.idp(TOKEN_A1)
        .call(
            Method::POST,
            "/scim/v2/Users",
            Some(json!({"userName":"log@a.example","password":"user-password-1"})),
        )
        .await;
    t.idp(TOKEN_B)
        .call(
            Method::GET,
            "/scim/v2/Users?filter=userName%20eq%20%22log%40a.example%22",
            None,
        )
        .await;
    t.idp("wrong-token-not-configured")
        .call(Method::GET, "/scim/v2/Users", None)
        .await;
    // An OAuth client's secret and the access token it is given are secrets too.
    let issued: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "http://{}/tenants/b/oauth/token",
            t.serving.server.addr
        ))
        .basic_auth("idp-b", Some(CLIENT_SECRET_B))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("the token endpoint answers")
        .json()
        .await
        .expect("JSON");
    let access_token = issued["access_token"]
        .as_str()
        .expect("a token")
        .to_string();
    let (s, _) = t.idp(&access_token).get("/scim/v2/Users?count=1").await;
    assert_eq!(s, reqwest::StatusCode::OK);
    let cfg = config::parse(
        &toml_for(&t.a, &t.b, std::path::Path::new("/tmp"), ""),
        &env(),
    );
    let shown = format!("{cfg:?}");
    let logs = captured()
        .lock()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    assert!(logs.contains("scim operation"), "logs were captured");
    // The Tableau sessions the bridge signed in are secrets too.
    let sessions: Vec<String> = [&t.a, &t.b]
        .iter()
        .flat_map(|e| e.with_state(|s| s.session_tokens()).unwrap_or_default())
        .collect();
    assert!(!sessions.is_empty(), "the bridge signed in");
    let fixed = [
        PAT_A,
        PAT_B,
        TOKEN_A1,
        TOKEN_A2,
        TOKEN_B,
        "user-password-1",
        "wrong-token-not-configured",
        CLIENT_SECRET_B,
        &access_token,
    ];
    for secret in fixed
        .iter()
        .copied()
        .chain(sessions.iter().map(String::as_str))
    {
        assert!(!logs.contains(secret), "a secret reached the logs");
        assert!(!shown.contains(secret), "a secret reached Debug output");
    }
    assert!(
        !logs.contains("log%40a.example") && !logs.contains("filter="),
        "query strings (e-mail addresses) are not logged"
    );
    // This test's tenants only: the capture is the process's, and other tests call the
    // bridge directly (no request, so no request id) on their own tenants.
    let ops: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("scim operation"))
        .filter(|l| l.contains("\"tenant.id\":\"a\"") || l.contains("\"tenant.id\":\"b\""))
        .collect();
    assert!(!ops.is_empty());
    for line in ops {
        assert!(
            line.contains("request_id") && line.contains("tenant.id") && line.contains("scim.op"),
            "{line}"
        );
    }
}
