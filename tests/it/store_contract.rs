//! The store's contract, run against both stores: the embedded SQLite file and PostgreSQL (a
//! private cluster started for this run). Whatever the bridge relies on from `Store` holds on
//! both.

use crate::common;

use std::sync::Arc;

use common::postgres::PgCluster;
use serde_json::json;
use tableau_scim::store::{
    AuditQuery, AuditRow, DriftRecord, GroupRow, PgStore, SqliteStore, Store, StoreError, UserRow,
};

fn row(id: &str, name: &str) -> UserRow {
    UserRow {
        id: id.into(),
        user_name: name.into(),
        external_id: Some("ext'; DROP TABLE users; --".into()),
        attributes: json!({"nickName": "B", "roles": [{"value": "Creator"}]}),
        created: "2026-01-01T00:00:00Z".into(),
        last_modified: "2026-01-01T00:00:00Z".into(),
        restore_role: Some("Creator".into()),
        deleted: false,
        provisioned: true,
    }
}

fn group(id: &str) -> GroupRow {
    GroupRow {
        id: id.into(),
        display_name: format!("group {id}"),
        external_id: None,
        created: "2026-01-01T00:00:00Z".into(),
        last_modified: "2026-01-01T00:00:00Z".into(),
    }
}

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn audit(op: &str, res: &str) -> AuditRow {
    AuditRow {
        operation: op.into(),
        resource: res.into(),
        tableau_calls: 2,
        role_before: None,
        role_after: Some("Viewer".into()),
        outcome: "ok".into(),
    }
}

/// Every promise of the trait, on `s`.
async fn contract(s: Arc<dyn Store>) {
    // Users, per tenant, quotes as data, tombstones, external ids.
    let r = row("u1", "o'brien@example.com");
    s.put_user("t1", r.clone()).await.expect("put");
    assert_eq!(s.user("t1", "u1").await.expect("read"), Some(r.clone()));
    assert_eq!(
        s.user("t2", "u1").await.expect("read"),
        None,
        "tenants are separate"
    );
    assert_eq!(
        s.user_ids_by_external_id("t1", "ext'; DROP TABLE users; --")
            .await
            .expect("read"),
        ids(&["u1"])
    );
    let tomb = UserRow {
        deleted: true,
        ..row("u2", "gone@example.com")
    };
    s.put_user("t1", tomb.clone()).await.expect("put");
    assert_eq!(
        s.users("t1").await.expect("read").len(),
        2,
        "tombstones included"
    );
    assert_eq!(
        s.user_ids_by_external_id("t1", "ext'; DROP TABLE users; --")
            .await
            .expect("read"),
        ids(&["u1"]),
        "tombstones are not live"
    );
    // A page's own rows, and the tombstones a listing leaves out.
    let mut some = s
        .user_rows("t1", &ids(&["u2", "u1", "nobody"]))
        .await
        .expect("read");
    some.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(some, vec![r.clone(), tomb.clone()]);
    let many: Vec<String> = (0..1_200)
        .map(|i| format!("absent-{i}"))
        .chain(["u1".to_string()])
        .collect();
    assert_eq!(
        s.user_rows("t1", &many).await.expect("read"),
        vec![r.clone()],
        "past one statement's worth"
    );
    assert_eq!(s.deleted_user_ids("t1").await.expect("read"), ids(&["u2"]));
    assert_eq!(s.deleted_user_ids("t2").await.expect("read"), ids(&[]));
    // By the userName the IdP wrote, any letter case; tombstones are not live.
    assert_eq!(
        s.user_ids_by_user_name("t1", "O'Brien@Example.com")
            .await
            .expect("read"),
        ids(&["u1"])
    );
    assert_eq!(
        s.user_ids_by_user_name("t1", "gone@example.com")
            .await
            .expect("read"),
        ids(&[])
    );
    assert_eq!(
        s.user_ids_by_user_name("t2", "o'brien@example.com")
            .await
            .expect("read"),
        ids(&[]),
        "tenants are separate"
    );
    // Groups and asserted members, by difference; known and empty is not unknown.
    s.put_group("t1", group("g1")).await.expect("put");
    assert_eq!(s.groups("t1").await.expect("read"), vec![group("g1")]);
    assert_eq!(s.asserted_members("t1", "g1").await.expect("read"), None);
    s.change_asserted_members("t1", "g1", vec![], vec![])
        .await
        .expect("write");
    assert_eq!(
        s.asserted_members("t1", "g1").await.expect("read"),
        Some(vec![])
    );
    s.change_asserted_members("t1", "g1", ids(&["u1", "u2", "u3"]), vec![])
        .await
        .expect("write");
    s.change_asserted_members("t1", "g1", ids(&["u4", "u1"]), ids(&["u2"]))
        .await
        .expect("write");
    assert_eq!(
        s.asserted_members("t1", "g1")
            .await
            .expect("read")
            .map(sorted),
        Some(ids(&["u1", "u3", "u4"]))
    );
    assert_eq!(
        s.asserted_groups_of("t1", "u4").await.expect("read"),
        ids(&["g1"])
    );
    s.delete_user("t1", "u3").await.expect("delete");
    let all = s.all_asserted_members("t1").await.expect("read");
    assert_eq!(
        all.get("g1").cloned().map(sorted),
        Some(ids(&["u1", "u4"])),
        "a deleted user's memberships go"
    );
    s.delete_group("t1", "g1").await.expect("delete");
    assert_eq!(s.asserted_members("t1", "g1").await.expect("read"), None);
    assert!(s.group("t1", "g1").await.expect("read").is_none());
    // The last reconciliation, replaced.
    let d = |at: &str| DriftRecord {
        at: at.into(),
        complete: true,
        report: json!({"counts": {"role": 1}}),
    };
    s.put_drift("t1", d("a")).await.expect("put");
    s.put_drift("t1", d("b")).await.expect("put");
    assert_eq!(s.drift("t1").await.expect("read"), Some(d("b")));
    assert_eq!(s.drift("t2").await.expect("read"), None);
    // The audit trail: queued, read back in order, filtered, paged, pruned.
    for (at, op, res) in [
        ("2025-01-01T00:00:00.000Z", "create_user", "u1"),
        ("2026-01-01T00:00:00.000Z", "patch_user", "u1"),
        ("2026-02-01T00:00:00.000Z", "create_user", "u2"),
        ("2026-03-01T00:00:00.000Z", "reconcile", "u1"),
    ] {
        s.audit("t1", at, audit(op, res)).expect("queued");
    }
    s.audit("t2", "2026-03-01T00:00:00.000Z", audit("create_user", "x"))
        .expect("queued");
    let trail = s.audit_trail("t1").await.expect("read");
    assert_eq!(
        trail
            .iter()
            .map(|a| a.operation.as_str())
            .collect::<Vec<_>>(),
        vec!["create_user", "patch_user", "create_user", "reconcile"],
        "oldest first"
    );
    let q = AuditQuery {
        resource: Some("u1".into()),
        since: Some("2026-01-01T00:00:00.000Z".into()),
        ..AuditQuery::default()
    };
    let (rows, total) = s.audit_entries("t1", &q).await.expect("read");
    assert_eq!(total, 2);
    assert_eq!(rows[0].row.operation, "reconcile", "newest first");
    let page = AuditQuery {
        limit: 2,
        offset: 2,
        ..AuditQuery::default()
    };
    let (second, total) = s.audit_entries("t1", &page).await.expect("read");
    assert_eq!((second.len(), total), (2, 4));
    assert_eq!(second[1].at, "2025-01-01T00:00:00.000Z");
    assert_eq!(
        s.prune_audit("2026-01-15T00:00:00.000Z")
            .await
            .expect("prune"),
        2
    );
    assert_eq!(s.audit_trail("t1").await.expect("read").len(), 2);
    assert_eq!(s.audit_trail("t2").await.expect("read").len(), 1);
    // Identity moves: a job's state is kept until it finishes; its end leaves the alias.
    let job = tableau_scim::store::MoveRow {
        id: "u1".into(),
        from_id: "u1".into(),
        from_name: "ann@example.com".into(),
        to_name: "ann.lee@example.com".into(),
        to_id: None,
        site_role: "Creator".into(),
        auth_setting: Some("SAML".into()),
        idp_configuration_id: None,
        email: None,
        full_name: None,
        step: tableau_scim::store::MoveStep::Add,
        moved: 0,
        items: 0,
        error: None,
        started: "2026-12-02T00:00:00.000Z".into(),
    };
    s.put_move("t1", job.clone()).await.expect("write");
    let next = tableau_scim::store::MoveRow {
        to_id: Some("t-new".into()),
        step: tableau_scim::store::MoveStep::Content,
        ..job.clone()
    };
    s.put_move("t1", next.clone()).await.expect("write");
    assert_eq!(s.moves("t1").await.expect("read"), vec![next]);
    assert!(s.moves("t2").await.expect("read").is_empty());
    s.finish_move("t1", "u1", Some("t-new"))
        .await
        .expect("write");
    assert!(s.moves("t1").await.expect("read").is_empty());
    assert_eq!(
        s.aliases("t1").await.expect("read"),
        vec![("u1".to_string(), "t-new".to_string())]
    );
    s.put_move("t1", job).await.expect("write");
    s.finish_move("t1", "u1", None).await.expect("write");
    assert_eq!(
        s.aliases("t1").await.expect("read").len(),
        1,
        "a refused move leaves no alias"
    );
    // The breaker: a window of destructive changes and the holds, shared by replicas.
    // Counted by the minute: minutes 1 and 3.
    s.add_safety_events("t1", 60_000, 1).await.expect("write");
    s.add_safety_events("t1", 180_500, 1).await.expect("write");
    assert_eq!(s.safety_state("t1", 120_000).await.expect("read"), (1, 0));
    // A group's members removed at once count one each, in the same minute's row.
    s.add_safety_events("t1", 181_000, 4).await.expect("write");
    assert_eq!(s.safety_state("t1", 120_000).await.expect("read"), (5, 0));
    // A store that queues its writes (SQLite) takes a count without waiting, in by settle.
    if s.queue_safety_events("t2", 60_000, 3) {
        s.settle().await.expect("settled");
        assert_eq!(s.safety_state("t2", 0).await.expect("read"), (3, 0));
    } else {
        assert!(
            s.shared().is_some(),
            "only a store with replicas counts while it waits"
        );
    }
    let hold = tableau_scim::store::HoldRow {
        seq: 0,
        kind: "User".into(),
        resource: "u1".into(),
        name: "ann".into(),
        operation: "patch_user".into(),
        summary: "deactivate 'ann' (Creator)".into(),
        change: serde_json::json!({"active": false}),
        fingerprint: "f1".into(),
        role_before: Some("Creator".into()),
        role_after: None,
        request_id: "r1".into(),
        at: "2026-12-02T00:00:00.000Z".into(),
        state: tableau_scim::store::HoldState::Held,
        decided_by: None,
        outcome: None,
    };
    s.put_hold("t1", hold.clone()).await.expect("write");
    s.put_hold(
        "t1",
        tableau_scim::store::HoldRow {
            resource: "u2".into(),
            ..hold.clone()
        },
    )
    .await
    .expect("write");
    assert_eq!(s.safety_state("t1", 0).await.expect("read"), (6, 2));
    let mine = s.holds("t1", Some("u1")).await.expect("read");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].change, hold.change);
    s.decide_hold(
        "t1",
        mine[0].seq,
        tableau_scim::store::HoldState::Released,
        Some("admin"),
        Some("ok"),
    )
    .await
    .expect("write");
    let all = s.holds("t1", None).await.expect("read");
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].state, tableau_scim::store::HoldState::Released);
    assert_eq!(all[0].decided_by.as_deref(), Some("admin"));
    assert!(all[0].seq < all[1].seq, "arrival order");
    s.clear_safety_events("t1", 200_000).await.expect("write");
    assert_eq!(s.safety_state("t1", 0).await.expect("read"), (0, 1));
    assert!(s.holds("t2", None).await.expect("read").is_empty());
    // Many writers at once: every write lands.
    let mut tasks = Vec::new();
    for i in 0..64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.put_user("t3", row(&format!("u{i}"), &format!("n{i}")))
                .await
        }));
    }
    for t in tasks {
        assert!(matches!(t.await, Ok(Ok(()))));
    }
    assert_eq!(s.users("t3").await.expect("read").len(), 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sqlite_store_keeps_the_contract() {
    let dir = common::tempdir();
    let s = SqliteStore::open(&dir.path().join("store.db")).expect("open");
    contract(Arc::new(s)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_postgres_store_keeps_the_contract_and_refuses_a_newer_schema() {
    let cluster = PgCluster::start();
    let s = PgStore::connect(&cluster.url, None)
        .await
        .expect("connect and migrate");
    contract(Arc::new(s)).await;
    // Two replicas starting together migrate once; a third finds the schema done.
    let url = cluster.database("race");
    let (a, b) = tokio::join!(PgStore::connect(&url, None), PgStore::connect(&url, None));
    assert!(a.is_ok() && b.is_ok(), "{:?} {:?}", a.err(), b.err());
    let again = PgStore::connect(&url, None)
        .await
        .expect("already migrated");
    again.put_user("t", row("u1", "a")).await.expect("put");
    // A database migrated by a newer build is refused.
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
        .execute("INSERT INTO schema_migrations (version) VALUES (99)", &[])
        .await
        .expect("insert");
    match PgStore::connect(&url, None).await {
        Err(StoreError::TooNew { found: 99, known }) => {
            assert_eq!(known, PgStore::schema_version())
        }
        other => panic!("a newer schema must be refused: {other:?}"),
    }
}

/// `serve` with `[server] store_url`: what Tableau cannot hold lives in PostgreSQL, survives a
/// restart, and the commands that read the configuration (`report`) read it there too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serve_keeps_its_state_in_postgres_across_a_restart() {
    use reqwest::{Method, StatusCode};
    use tableau_scim::emulator::{self, EmulatorConfig};
    use tableau_scim::serve::{open_configured_store, start_with_store};
    let cluster = PgCluster::start();
    let url = cluster.database("serve");
    let emu = emulator::start(
        "127.0.0.1:0",
        EmulatorConfig::new("acme", "scim", "pat-a"),
        1,
    )
    .expect("emulator");
    let dir = common::tempdir();
    let token = "scim-token-on-postgres-0001";
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"{}\"\nstore_url = \"{url}\"\n[[tenants]]\nid = \"acme\"\ntableau_url = \"{}\"\nsite = \"acme\"\ndeployment = \"server\"\npat_name = \"scim\"\npat_secret = \"pat-a\"\ntoken_hashes = [\"{}\"]\n",
        dir.path().display(),
        emu.url(),
        tableau_scim::http::TokenDigest::of(token).to_hex()
    );
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &text).expect("config file");
    let cfg =
        tableau_scim::config::load(&path, &std::collections::BTreeMap::new()).expect("config");
    let start = || async {
        let store = open_configured_store(&cfg)
            .await
            .expect("the PostgreSQL store");
        start_with_store(&cfg, store).expect("serve starts")
    };
    let serving = start().await;
    let idp = common::Idp::new(&format!("http://{}/scim/v2", serving.server.addr), token);
    let (s, created) = idp
        .call(Method::POST, "/Users", Some(json!({"userName": "pg@example.com", "externalId": "x-1", "nickName": "Pg", "roles": [{"value": "Creator"}]})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let uid = common::id(&created);
    serving.run_until(async {}).await.expect("stops");
    assert!(
        !dir.path().join("tableau-scim.db").exists(),
        "no SQLite file beside a PostgreSQL store"
    );

    let serving = start().await;
    let idp = common::Idp::new(&format!("http://{}/scim/v2", serving.server.addr), token);
    let (s, again) = idp.get(&format!("/Users/{uid}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again["nickName"], "Pg", "an attribute only the store holds");
    assert_eq!(again["externalId"], "x-1");
    assert_eq!(again["meta"]["created"], created["meta"]["created"]);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tableau-scim"))
            .args(["report", "audit", "--config"])
            .arg(&path)
            .env("RUST_LOG", "warn")
            .output()
            .expect("report runs")
    })
    .await
    .expect("join");
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{csv}");
    assert!(
        csv.lines()
            .any(|l| l.contains(",create_user,") && l.contains(&uid)),
        "{csv}"
    );
    serving.run_until(async {}).await.expect("stops");
}

/// `migrate-store` copies a SQLite store into PostgreSQL whole (users, tombstones, groups,
/// asserted members, the last reconciliation, the audit trail in order with its times), and
/// refuses to copy twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrate_store_copies_sqlite_into_postgres_once() {
    let cluster = PgCluster::start();
    let url = cluster.database("copy");
    let dir = common::tempdir();
    let text = format!(
        "[server]\ndata_dir = \"{}\"\n[[tenants]]\nid = \"acme\"\ntableau_url = \"http://127.0.0.1:9\"\nsite = \"acme\"\ndeployment = \"server\"\npat_name = \"scim\"\npat_secret = \"x\"\ntoken_hashes = [\"{}\"]\n",
        dir.path().display(),
        tableau_scim::http::TokenDigest::of("a-token-of-sixteen-or-more").to_hex()
    );
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).expect("config");
    {
        let s = SqliteStore::open(&dir.path().join("tableau-scim.db")).expect("open");
        s.put_user("acme", row("u1", "a@example.com"))
            .await
            .expect("put");
        s.put_user(
            "acme",
            UserRow {
                deleted: true,
                ..row("u2", "b@example.com")
            },
        )
        .await
        .expect("put");
        s.put_group("acme", group("g1")).await.expect("put");
        s.change_asserted_members("acme", "g1", ids(&["u1"]), vec![])
            .await
            .expect("members");
        s.put_drift(
            "acme",
            DriftRecord {
                at: "t".into(),
                complete: true,
                report: json!({"counts": {}}),
            },
        )
        .await
        .expect("drift");
        for (i, op) in ["create_user", "patch_user", "delete_user"]
            .iter()
            .enumerate()
        {
            s.audit(
                "acme",
                &format!("2026-0{}-01T00:00:00.000Z", i + 1),
                audit(op, "u1"),
            )
            .expect("audit");
        }
        assert_eq!(s.audit_trail("acme").await.expect("read").len(), 3);
    }
    let run = |path: std::path::PathBuf, url: String| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_tableau-scim"))
                .args(["migrate-store", "--config"])
                .arg(&path)
                .args(["--to", &url])
                .env("RUST_LOG", "warn")
                .output()
                .expect("runs")
        })
    };
    let out = run(path.clone(), url.clone()).await.expect("join");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "tenant acme: 2 users, 1 groups, 1 asserted memberships, 3 audit rows copied"
    );
    let pg = PgStore::connect(&url, None).await.expect("connect");
    assert_eq!(
        pg.user("acme", "u1").await.expect("read"),
        Some(row("u1", "a@example.com"))
    );
    assert!(pg
        .user("acme", "u2")
        .await
        .expect("read")
        .is_some_and(|u| u.deleted));
    assert_eq!(
        pg.asserted_members("acme", "g1").await.expect("read"),
        Some(ids(&["u1"]))
    );
    assert!(pg.drift("acme").await.expect("read").is_some());
    let (trail, _) = pg
        .audit_entries("acme", &AuditQuery::default())
        .await
        .expect("read");
    assert_eq!(
        trail
            .iter()
            .map(|e| (e.at.as_str(), e.row.operation.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("2026-03-01T00:00:00.000Z", "delete_user"),
            ("2026-02-01T00:00:00.000Z", "patch_user"),
            ("2026-01-01T00:00:00.000Z", "create_user")
        ]
    );
    let twice = run(path, url).await.expect("join");
    assert_eq!(twice.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("already holds"));
}
