//! Races and crashes: nothing lost, nothing duplicated, one consistent end state.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use tableau_scim::stack::{Stack, StackOptions};
use tableau_scim::tableau::emulator::EmulatorConfig;

const TOKEN: &str = "reliability-test-token-123";

fn stack() -> (Stack, tempfile::TempDir) {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let s = match Stack::start(StackOptions::new(
        EmulatorConfig::new("acme", "pat", "secret"),
        dir.path().to_path_buf(),
        TOKEN,
    )) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    (s, dir)
}

async fn call(
    http: &Client,
    method: Method,
    url: &str,
    body: Option<Value>,
) -> Result<(StatusCode, Value), reqwest::Error> {
    let mut req = http.request(method, url).bearer_auth(TOKEN);
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/scim+json")
            .body(b.to_string());
    }
    let r = req.send().await?;
    let s = r.status();
    let text = r.text().await?;
    Ok((s, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_patches_of_one_groups_members_all_land() {
    let (s, _dir) = stack();
    let http = Client::new();
    let base = s.scim_url();
    let mut ids = Vec::new();
    for i in 0..20 {
        let (st, u) = match call(
            &http,
            Method::POST,
            &format!("{base}/Users"),
            Some(json!({"userName": format!("m{i}@example.com")})),
        )
        .await
        {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(st, StatusCode::CREATED);
        ids.push(id(&u));
    }
    let (_, g) = match call(
        &http,
        Method::POST,
        &format!("{base}/Groups"),
        Some(json!({"displayName": "Race"})),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let gid = id(&g);
    let mut tasks = Vec::new();
    for uid in ids.clone() {
        let (http, url) = (http.clone(), format!("{base}/Groups/{gid}"));
        tasks.push(tokio::spawn(async move {
            call(
                &http,
                Method::PATCH,
                &url,
                Some(json!({"Operations":[{"op":"add","path":"members","value":[{"value":uid}]}]})),
            )
            .await
            .map(|r| r.0)
        }));
    }
    for t in tasks {
        assert!(matches!(t.await, Ok(Ok(StatusCode::OK))));
    }
    let members = s
        .emulator
        .with_state(|st| st.member_names("Race"))
        .flatten()
        .unwrap_or_default();
    assert_eq!(members.len(), 20, "every parallel add landed: {members:?}");
    // And parallel removals of half of them.
    let mut tasks = Vec::new();
    for uid in ids.clone().into_iter().take(10) {
        let (http, url) = (http.clone(), format!("{base}/Groups/{gid}"));
        tasks.push(tokio::spawn(async move {
            call(&http, Method::PATCH, &url, Some(json!({"Operations":[{"op":"remove","path":format!("members[value eq \"{uid}\"]")}]}))).await.map(|r| r.0)
        }));
    }
    for t in tasks {
        assert!(matches!(t.await, Ok(Ok(StatusCode::OK))));
    }
    let (_, read) = match call(&http, Method::GET, &format!("{base}/Groups/{gid}"), None).await {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(read["members"].as_array().map(Vec::len), Some(10));
    assert_eq!(
        s.emulator
            .with_state(|st| st.member_names("Race"))
            .flatten()
            .map(|m| m.len()),
        Some(10)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_racing_an_update_ends_deleted() {
    let (s, _dir) = stack();
    let http = Client::new();
    let base = s.scim_url();
    for i in 0..10 {
        let name = format!("dr{i}@example.com");
        let (_, u) = match call(
            &http,
            Method::POST,
            &format!("{base}/Users"),
            Some(json!({"userName": name, "roles":[{"value":"Viewer"}]})),
        )
        .await
        {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        let url = format!("{base}/Users/{}", id(&u));
        let (h1, h2, u1, u2) = (http.clone(), http.clone(), url.clone(), url.clone());
        let patch = tokio::spawn(async move {
            call(&h1, Method::PATCH, &u1, Some(json!({"Operations":[{"op":"replace","path":"roles","value":[{"value":"Creator"}]}]}))).await.map(|r| r.0)
        });
        let delete =
            tokio::spawn(async move { call(&h2, Method::DELETE, &u2, None).await.map(|r| r.0) });
        let (p, d) = (patch.await, delete.await);
        assert!(
            matches!(d, Ok(Ok(StatusCode::NO_CONTENT))),
            "the delete wins or goes second: {d:?}"
        );
        assert!(
            matches!(p, Ok(Ok(StatusCode::OK | StatusCode::NOT_FOUND))),
            "{p:?}"
        );
        assert_eq!(
            s.emulator.with_state(|st| st.role_of(&name)),
            Some(None),
            "{name} is gone from Tableau"
        );
        let (st, _) = match call(&http, Method::GET, &url, None).await {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
}

// ---- crash ----

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

fn spawn(args: &[&str], env: &[(&str, &str)]) -> Proc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tableau-scim"));
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    match cmd.spawn() {
        Ok(c) => Proc(c),
        Err(e) => panic!("spawn: {e}"),
    }
}

async fn wait_until_up(http: &Client, url: &str) {
    for _ in 0..100 {
        if http
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} did not come up");
}

/// Create a user the way an IdP does: retry on transport errors and 5xx, and on 409 look the
/// user up (Okta and Entra link an existing user instead of failing).
async fn idp_create(http: &Client, base: &str, name: &str) -> String {
    for _ in 0..200 {
        match call(
            http,
            Method::POST,
            &format!("{base}/Users"),
            Some(json!({"userName": name})),
        )
        .await
        {
            Ok((StatusCode::CREATED, u)) => return id(&u),
            Ok((StatusCode::CONFLICT, _)) => {
                let q = format!(
                    "{base}/Users?filter=userName%20eq%20%22{}%22",
                    name.replace('@', "%40")
                );
                if let Ok((StatusCode::OK, l)) = call(http, Method::GET, &q, None).await {
                    if l["totalResults"] == 1 {
                        return id(&l["Resources"][0]);
                    }
                }
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} was never created");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_server_restarts_on_its_store_and_loses_nothing() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let (emu_port, scim_port) = (free_port(), free_port());
    let _emu = spawn(
        &[
            "emulator",
            "--listen",
            &format!("127.0.0.1:{emu_port}"),
            "--site",
            "acme",
            "--pat-name",
            "scim",
            "--pat-secret",
            "emu-secret",
            "--latency-ms",
            "10",
        ],
        &[],
    );
    let http = Client::new();
    wait_until_up(
        &http,
        &format!("http://127.0.0.1:{emu_port}/_emulator/stats"),
    )
    .await;
    let config = dir.path().join("config.toml");
    let toml = format!(
        "[server]\nlisten = \"127.0.0.1:{scim_port}\"\ndata_dir = \"{}\"\n\n[[tenants]]\nid = \"acme\"\ntableau_url = \"http://127.0.0.1:{emu_port}\"\nsite = \"acme\"\ndeployment = \"server\"\npat_name = \"scim\"\n[tenants.retry]\nmax_total_secs = 5\n",
        dir.path().join("data").display()
    );
    assert!(std::fs::write(&config, toml).is_ok());
    let env = [
        ("TABLEAU_SCIM_TENANT_ACME_PAT_SECRET", "emu-secret"),
        ("TABLEAU_SCIM_TENANT_ACME_TOKENS", TOKEN),
    ];
    let cfg = config.display().to_string();
    let mut server = spawn(&["serve", "--config", &cfg], &env);
    let base = format!("http://127.0.0.1:{scim_port}/scim/v2");
    wait_until_up(&http, &format!("http://127.0.0.1:{scim_port}/healthz")).await;
    let names: Vec<String> = (0..120)
        .map(|i| format!("crash{i:03}@example.com"))
        .collect();
    let shared = Arc::new(names.clone());
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..6 {
        let (http, base, names, done) = (http.clone(), base.clone(), shared.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in names.iter().skip(w).step_by(6) {
                ids.push(idp_create(&http, &base, n).await);
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            ids
        }));
    }
    // Kill -9 in the middle of the run, then start again on the same store.
    while done.load(std::sync::atomic::Ordering::Relaxed) < 40 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let at_kill = done.load(std::sync::atomic::Ordering::Relaxed);
    let _ = server.0.kill();
    let _ = server.0.wait();
    server = spawn(&["serve", "--config", &cfg], &env);
    wait_until_up(&http, &format!("http://127.0.0.1:{scim_port}/healthz")).await;
    let mut ids = Vec::new();
    for t in tasks {
        if let Ok(v) = t.await {
            ids.extend(v);
        }
    }
    assert_eq!(ids.len(), names.len());
    assert!(
        at_kill < names.len(),
        "the kill came mid-run ({at_kill} of {} done)",
        names.len()
    );
    let dump: Value = match http
        .get(format!("http://127.0.0.1:{emu_port}/_emulator/dump"))
        .send()
        .await
    {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(e) => panic!("{e}"),
    };
    let in_tableau: Vec<&str> = dump["users"]
        .as_array()
        .map(|a| a.iter().filter_map(|u| u["name"].as_str()).collect())
        .unwrap_or_default();
    for n in &names {
        assert_eq!(
            in_tableau.iter().filter(|x| *x == n).count(),
            1,
            "{n}: lost or duplicated"
        );
    }
    // Every id the IdP holds resolves after the restart.
    for uid in ids.iter().take(20) {
        let r = call(&http, Method::GET, &format!("{base}/Users/{uid}"), None).await;
        assert!(matches!(r, Ok((StatusCode::OK, _))), "{uid}: {r:?}");
    }
    drop(server);
}
