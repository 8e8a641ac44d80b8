//! An identity move survives `kill -9`: the server is killed at different points of a move
//! (after Add User, amid the groups, amid the owner changes, before Remove User), started
//! again on its store, and the move ends as if nothing had happened: one new user with the
//! role, groups and items, the old one gone, the SCIM id unchanged, no item handed over twice
//! and no second Add User. The IdP's retry of its PATCH meets the job under way, or the move
//! already finished by the restart.

use std::time::Duration;

use crate::common;
use crate::reliability::{spawn, wait_until_up, Proc};

use common::{free_port, id, Idp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const TOKEN: &str = "move-crash-token";

struct Servers {
    idp: Idp,
    http: reqwest::Client,
    emulator: String,
    healthz: String,
    config: String,
    _emu: Proc,
    _dir: tempfile::TempDir,
}

const ENV: [(&str, &str); 2] = [
    ("TABLEAU_SCIM_TENANT_ACME_PAT_SECRET", "emu-secret"),
    ("TABLEAU_SCIM_TENANT_ACME_TOKENS", TOKEN),
];

async fn servers() -> Servers {
    let dir = common::tempdir();
    let (emu_port, scim_port) = (free_port(), free_port());
    let emu = spawn(
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
            "15",
        ],
        &[],
    );
    let idp = Idp::new(&format!("http://127.0.0.1:{scim_port}/scim/v2"), TOKEN);
    let emulator = format!("http://127.0.0.1:{emu_port}");
    wait_until_up(&idp, &format!("{emulator}/_emulator/stats")).await;
    let config = dir.path().join("config.toml");
    let toml = format!(
        "[server]\nlisten = \"127.0.0.1:{scim_port}\"\npublic_url = \"http://127.0.0.1:{scim_port}\"\ndata_dir = \"{}\"\n\n[[tenants]]\nid = \"acme\"\ntableau_url = \"{emulator}\"\nsite = \"acme\"\ndeployment = \"server\"\npat_name = \"scim\"\n[tenants.roles]\ncreator = \"Creator\"\n[tenants.retry]\nmax_total_secs = 5\n",
        dir.path().join("data").display()
    );
    std::fs::write(&config, toml).expect("the configuration is written");
    Servers {
        idp,
        http: reqwest::Client::new(),
        emulator,
        healthz: format!("http://127.0.0.1:{scim_port}/healthz"),
        config: config.display().to_string(),
        _emu: emu,
        _dir: dir,
    }
}

impl Servers {
    async fn start(&self) -> Proc {
        let p = spawn(&["serve", "--config", &self.config], &ENV);
        wait_until_up(&self.idp, &self.healthz).await;
        p
    }

    async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut r = self
            .http
            .request(method, format!("{}/_emulator{path}", self.emulator));
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.expect("the emulator answers");
        resp.json().await.unwrap_or(Value::Null)
    }

    async fn calls(&self) -> Value {
        self.control(Method::GET, "/stats", None).await
    }
}

fn count(stats: &Value, key: &str) -> u64 {
    stats["calls"][key].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_move_killed_at_any_step_ends_the_same_after_restart() {
    let s = servers().await;
    let mut server = s.start().await;
    // Kill points, in Tableau calls after the PATCH was sent: in Add User, amid the groups,
    // amid the owner changes, at the last of them.
    for (round, kill_after) in [1u64, 3, 7, 11].into_iter().enumerate() {
        let old = format!("crash{round}@example.com");
        let new = format!("crash{round}.new@example.com");
        let (st, u) = s
            .idp
            .call(
                Method::POST,
                "/Users",
                Some(json!({"userName": old, "roles": [{"value": "creator"}]})),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{u}");
        let user = id(&u);
        for g in [format!("G{round}a"), format!("G{round}b")] {
            let (st, body) = s
                .idp
                .call(
                    Method::POST,
                    "/Groups",
                    Some(json!({"displayName": g, "members": [{"value": user}]})),
                )
                .await;
            assert_eq!(st, StatusCode::CREATED, "{body}");
        }
        let items: Vec<String> = (0..6).map(|i| format!("R{round} item {i}")).collect();
        for (i, name) in items.iter().enumerate() {
            let kind = ["workbook", "datasource", "flow"][i % 3];
            let seeded = s
                .control(
                    Method::POST,
                    &format!("/users/{old}/content"),
                    Some(json!({"kind": kind, "name": name, "project": "Finance"})),
                )
                .await;
            assert_eq!(seeded["name"], name.as_str());
        }
        s.control(Method::DELETE, "/stats", None).await;
        let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "userName", "value": new}]});
        let (idp, path, body) = (s.idp.clone(), format!("/Users/{user}"), patch.clone());
        let sent =
            tokio::spawn(async move { idp.try_call(Method::PATCH, &path, Some(body)).await });
        let mut seen = 0;
        for _ in 0..2000 {
            seen = s.calls().await["total"].as_u64().unwrap_or(0);
            if seen >= kill_after {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert!(
            seen >= kill_after,
            "round {round}: the move reached {seen} calls"
        );
        let _ = server.0.kill();
        let _ = server.0.wait();
        let cut = sent.await.expect("the IdP's request ends");
        server = s.start().await;
        // Every kill point comes before the move's last call: the IdP never got its answer.
        assert!(
            cut.is_err(),
            "round {round}: the kill cut the request: {cut:?}"
        );
        // Odd rounds: the restart alone finishes the move; even ones: the IdP's retry meets
        // the job (or its end) under the user's lock.
        if round % 2 == 1 {
            let mut finished = false;
            for _ in 0..500 {
                let (_, u) = s.idp.get(&format!("/Users/{user}")).await;
                if u["userName"] == new.as_str() {
                    finished = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert!(
                finished,
                "round {round}: the restart resumed and finished the move"
            );
        }
        let (st, body) = s
            .idp
            .call(Method::PATCH, &format!("/Users/{user}"), Some(patch))
            .await;
        assert_eq!(st, StatusCode::OK, "round {round}: {body}");
        let (st, u) = s.idp.get(&format!("/Users/{user}")).await;
        assert_eq!(st, StatusCode::OK, "{u}");
        assert_eq!(
            u["userName"],
            new.as_str(),
            "round {round}: the SCIM id is the moved person"
        );
        let dump = s.control(Method::GET, "/dump", None).await;
        let names: Vec<&str> = dump["users"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u["name"].as_str())
            .collect();
        assert!(!names.contains(&old.as_str()), "round {round}: {names:?}");
        assert_eq!(
            names.iter().filter(|n| **n == new).count(),
            1,
            "round {round}"
        );
        for g in dump["groups"].as_array().into_iter().flatten() {
            if g["name"]
                .as_str()
                .is_some_and(|n| n.starts_with(&format!("G{round}")))
            {
                assert_eq!(g["members"], json!([new]), "round {round}: {g}");
            }
        }
        for item in &items {
            let owner = dump["content"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["name"] == item.as_str())
                .map(|c| c["owner"].clone());
            assert_eq!(owner, Some(json!(new)), "round {round}: {item}");
        }
        let stats = s.calls().await;
        assert_eq!(
            count(&stats, "POST /sites/{id}/users"),
            1,
            "round {round}: one Add User: {stats}"
        );
        let owner_changes = count(&stats, "PUT /sites/{id}/workbooks/{id}")
            + count(&stats, "PUT /sites/{id}/datasources/{id}")
            + count(&stats, "PUT /sites/{id}/flows/{id}");
        // The restart lists what the old user still owns: only owner changes in flight at the
        // kill (at most 8 at once) can be sent again, and repeating one is a PUT to the same
        // owner.
        assert!(
            (items.len() as u64..=items.len() as u64 + 8).contains(&owner_changes),
            "round {round}: {stats}"
        );
    }
}
