//! Races and crashes: nothing lost, nothing duplicated, one consistent end state.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{free_port, id, Idp, Site};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tableau_scim::emulator::EmulatorConfig;

const TOKEN: &str = "reliability-test-token-123";

fn site() -> Site {
    Site::start(EmulatorConfig::new("acme", "pat", "secret"), TOKEN, |_| {})
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_patches_of_one_groups_members_all_land() {
    let site = site();
    let idp = &site.idp;
    let mut ids = Vec::new();
    for i in 0..20 {
        let (st, u) = idp
            .call(
                Method::POST,
                "/Users",
                Some(json!({"userName": format!("m{i}@example.com")})),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
        ids.push(id(&u));
    }
    let (_, g) = idp
        .call(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "Race"})),
        )
        .await;
    let gid = id(&g);
    let mut tasks = Vec::new();
    for uid in ids.clone() {
        let (idp, path) = (idp.clone(), format!("/Groups/{gid}"));
        tasks.push(tokio::spawn(async move {
            idp.call(
                Method::PATCH,
                &path,
                Some(json!({"Operations":[{"op":"add","path":"members","value":[{"value":uid}]}]})),
            )
            .await
            .0
        }));
    }
    for t in tasks {
        assert!(matches!(t.await, Ok(StatusCode::NO_CONTENT)));
    }
    assert_eq!(
        site.members("Race").len(),
        20,
        "every parallel add landed: {:?}",
        site.members("Race")
    );
    // And parallel removals of half of them.
    let mut tasks = Vec::new();
    for uid in ids.clone().into_iter().take(10) {
        let (idp, path) = (idp.clone(), format!("/Groups/{gid}"));
        tasks.push(tokio::spawn(async move {
            idp.call(
                Method::PATCH,
                &path,
                Some(json!({"Operations":[{"op":"remove","path":format!("members[value eq \"{uid}\"]")}]})),
            )
            .await
            .0
        }));
    }
    for t in tasks {
        assert!(matches!(t.await, Ok(StatusCode::NO_CONTENT)));
    }
    let (_, read) = idp.get(&format!("/Groups/{gid}")).await;
    assert_eq!(read["members"].as_array().map(Vec::len), Some(10));
    assert_eq!(site.members("Race").len(), 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_racing_an_update_ends_deleted() {
    let site = site();
    let idp = &site.idp;
    for i in 0..10 {
        let name = format!("dr{i}@example.com");
        let (_, u) = idp
            .call(
                Method::POST,
                "/Users",
                Some(json!({"userName": name, "roles":[{"value":"Viewer"}]})),
            )
            .await;
        let path = format!("/Users/{}", id(&u));
        let (i1, i2, p1, p2) = (idp.clone(), idp.clone(), path.clone(), path.clone());
        let patching = tokio::spawn(async move {
            i1.call(
                Method::PATCH,
                &p1,
                Some(json!({"Operations":[{"op":"replace","path":"roles","value":[{"value":"Creator"}]}]})),
            )
            .await
            .0
        });
        let deleting = tokio::spawn(async move { i2.call(Method::DELETE, &p2, None).await.0 });
        let (p, d) = (patching.await, deleting.await);
        assert!(
            matches!(d, Ok(StatusCode::NO_CONTENT)),
            "the delete wins or goes second: {d:?}"
        );
        assert!(
            matches!(p, Ok(StatusCode::OK | StatusCode::NOT_FOUND)),
            "{p:?}"
        );
        assert_eq!(
            site.stack.emulator.with_state(|st| st.role_of(&name)),
            Some(None),
            "{name} is gone from Tableau"
        );
        assert_eq!(idp.get(&path).await.0, StatusCode::NOT_FOUND);
    }
}

// ---- crash ----

/// A process the test started, killed when dropped.
pub(crate) struct Proc(pub(crate) Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `tableau-scim` with `args` and `env`.
pub(crate) fn spawn(args: &[&str], env: &[(&str, &str)]) -> Proc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tableau-scim"));
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Proc(cmd.spawn().expect("tableau-scim starts"))
}

/// Wait until `url` answers 2xx (without a token).
pub(crate) async fn wait_until_up(idp: &Idp, url: &str) {
    for _ in 0..100 {
        let up = idp.try_raw(Method::GET, url, None, None, None).await;
        if up.is_ok_and(|r| r.status.is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} did not come up");
}

/// Create a user the way an IdP does: retry on transport errors and 5xx, and on 409 look the
/// user up (Okta and Entra link an existing user instead of failing).
async fn idp_create(idp: &Idp, name: &str) -> String {
    for _ in 0..200 {
        match idp
            .try_call(Method::POST, "/Users", Some(json!({"userName": name})))
            .await
        {
            Ok((StatusCode::CREATED, u)) => return id(&u),
            Ok((StatusCode::CONFLICT, _)) => {
                let q = format!(
                    "/Users?filter=userName%20eq%20%22{}%22",
                    name.replace('@', "%40")
                );
                if let Ok((StatusCode::OK, l)) = idp.try_call(Method::GET, &q, None).await {
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
    let dir = common::tempdir();
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
    let idp = Idp::new(&format!("http://127.0.0.1:{scim_port}/scim/v2"), TOKEN);
    let emulator = format!("http://127.0.0.1:{emu_port}");
    wait_until_up(&idp, &format!("{emulator}/_emulator/stats")).await;
    let config = dir.path().join("config.toml");
    let toml = format!(
        "[server]\nlisten = \"127.0.0.1:{scim_port}\"\npublic_url = \"http://127.0.0.1:{scim_port}\"\ndata_dir = \"{}\"\n\n[[tenants]]\nid = \"acme\"\ntableau_url = \"{emulator}\"\nsite = \"acme\"\ndeployment = \"server\"\npat_name = \"scim\"\n[tenants.retry]\nmax_total_secs = 5\n",
        dir.path().join("data").display()
    );
    std::fs::write(&config, toml).expect("the configuration is written");
    let env = [
        ("TABLEAU_SCIM_TENANT_ACME_PAT_SECRET", "emu-secret"),
        ("TABLEAU_SCIM_TENANT_ACME_TOKENS", TOKEN),
    ];
    let cfg = config.display().to_string();
    let healthz = format!("http://127.0.0.1:{scim_port}/healthz");
    let mut server = spawn(&["serve", "--config", &cfg], &env);
    wait_until_up(&idp, &healthz).await;
    let names: Vec<String> = (0..120)
        .map(|i| format!("crash{i:03}@example.com"))
        .collect();
    let shared = Arc::new(names.clone());
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..6 {
        let (idp, names, done) = (idp.clone(), shared.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in names.iter().skip(w).step_by(6) {
                ids.push(idp_create(&idp, n).await);
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
    wait_until_up(&idp, &healthz).await;
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
    let dump: Value = idp
        .raw(
            Method::GET,
            &format!("{emulator}/_emulator/dump"),
            None,
            None,
            None,
        )
        .await
        .body;
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
        let r = idp
            .try_call(Method::GET, &format!("/Users/{uid}"), None)
            .await;
        assert!(matches!(r, Ok((StatusCode::OK, _))), "{uid}: {r:?}");
    }
    drop(server);
}
