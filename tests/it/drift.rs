//! Drift: an IdP provisions a site through SCIM (Okta's requests); then a Tableau
//! administrator changes the site behind the bridge's back through Tableau's REST API (another
//! credential, as the Tableau UI would); `tableau-scim reconcile`, run as its own process
//! against `serve`'s configuration and store while `serve` runs, reports exactly those
//! differences, and `--apply` restores the IdP's truth.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use common::tableau::{client_with, connected_app};
use common::{fast_retry, id, patch, Site};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tableau_scim::emulator::state::Fault;
use tableau_scim::emulator::{EmulatorConfig, Faults};
use tableau_scim::tableau::model::{NewUser, UserUpdate};
use tableau_scim::tableau::{Credentials, SiteRole, TableauClient};

const TOKEN: &str = "drift-test-token-0123456789";

fn site(faults: Faults) -> Site {
    let mut emu = EmulatorConfig::new("acme", "pat", "pat-secret");
    emu.connected_app = Some(connected_app());
    emu.faults = faults;
    Site::start(emu, TOKEN, |o| {
        o.tenant.retry = fast_retry();
    })
}

/// A Tableau administrator working in Tableau itself (a connected app: it does not end the
/// bridge's PAT session).
fn tableau_admin(h: &Site) -> TableauClient {
    client_with(
        &h.stack.emulator,
        Credentials::ConnectedApp(connected_app()),
        None,
    )
}

/// Okta provisions five users with roles and a group of three; deactivates dan. Returns the
/// ids by name, and the group's id.
async fn okta_provisions(h: &Site) -> (std::collections::BTreeMap<String, String>, String) {
    let mut ids = std::collections::BTreeMap::new();
    for (name, role) in [
        ("ana", "Creator"),
        ("ben", "Explorer"),
        ("cleo", "Viewer"),
        ("dan", "Explorer"),
        ("eve", "Creator"),
    ] {
        let user = format!("{name}@example.com");
        let (s, created) = h
            .idp
            .call(
                Method::POST,
                "/Users",
                Some(
                    json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": user, "name": {"givenName": name, "familyName": "Drift"},
                    "emails": [{"primary": true, "value": user, "type": "work"}],
                    "roles": [{"value": role, "primary": true}], "active": true}),
                ),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        ids.insert(name.to_string(), id(&created));
    }
    let (s, g) = h.idp.call(Method::POST, "/Groups", Some(json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Sales","members":[]}))).await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let gid = id(&g);
    let members: Vec<Value> = ["ana", "ben", "cleo"]
        .iter()
        .map(|n| json!({"value": ids[*n]}))
        .collect();
    let (s, _) = h
        .idp
        .call(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(patch(
                json!([{"op": "add", "path": "members", "value": members}]),
            )),
        )
        .await;
    assert!(s.is_success(), "{s}");
    let (s, _) = h
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{}", ids["dan"]),
            Some(patch(
                json!([{"op": "replace", "value": {"active": false}}]),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h.role("dan@example.com").as_deref(), Some("Unlicensed"));
    (ids, gid)
}

/// Five changes in Tableau behind the IdP's back.
async fn change_behind_the_back(
    h: &Site,
    ids: &std::collections::BTreeMap<String, String>,
    gid: &str,
) {
    let admin = tableau_admin(h);
    let role = |r: SiteRole| UserUpdate {
        site_role: Some(r),
        ..UserUpdate::default()
    };
    admin
        .update_user(&ids["ben"], &role(SiteRole::Creator))
        .await
        .expect("ben made Creator");
    admin
        .update_user(&ids["dan"], &role(SiteRole::Viewer))
        .await
        .expect("deactivated dan licensed again");
    admin
        .remove_members(gid, &[ids["cleo"].clone()])
        .await
        .expect("cleo removed from Sales");
    admin
        .remove_user(&ids["eve"], None)
        .await
        .expect("eve deleted");
    admin
        .add_user(&NewUser {
            name: "hand@example.com".into(),
            site_role: SiteRole::Creator,
            auth_setting: None,
            idp_configuration_id: None,
            email: None,
        })
        .await
        .expect("a user added by hand");
    admin.sign_out().await;
}

/// `tableau-scim reconcile` as its own process; its exit status and JSON report.
async fn reconcile(config: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "reconcile".to_string(),
        "--config".into(),
        config.display().to_string(),
        "--tenant".into(),
        "acme".into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tableau-scim"))
            .args(&args)
            .env("RUST_LOG", "warn")
            .output()
            .expect("the command runs")
    })
    .await
    .expect("join");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "a JSON report ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

/// (kind, user name or "-", group name or "-") of every finding.
fn kinds(report: &Value) -> BTreeSet<(String, String, String)> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let name = |k: &str| f[k]["name"].as_str().unwrap_or("-").to_string();
            (
                f["kind"].as_str().unwrap_or_default().to_string(),
                name("user"),
                name("group"),
            )
        })
        .collect()
}

/// The same of a report made in this process.
fn kinds_of(
    report: &tableau_scim::bridge::reconcile::report::Report,
) -> BTreeSet<(String, String, String)> {
    kinds(&serde_json::to_value(report).unwrap_or_default())
}

fn set(v: &[(&str, &str, &str)]) -> BTreeSet<(String, String, String)> {
    v.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

fn the_drift() -> BTreeSet<(String, String, String)> {
    set(&[
        ("role", "ben@example.com", "-"),
        ("access_leak", "dan@example.com", "-"),
        ("membership", "cleo@example.com", "Sales"),
        ("missing", "eve@example.com", "-"),
        ("unmanaged", "hand@example.com", "-"),
    ])
}

#[tokio::test(flavor = "multi_thread")]
async fn reconcile_reports_what_changed_behind_the_idps_back_and_apply_restores_it() {
    let h = site(Faults::default());
    let dir = common::tempdir();
    let config = h
        .stack
        .write_config(dir.path())
        .expect("a configuration file");
    let (ids, gid) = okta_provisions(&h).await;

    let (code, clean) = reconcile(&config, &[]).await;
    assert_eq!((code, kinds(&clean)), (0, BTreeSet::new()), "{clean:#}");

    change_behind_the_back(&h, &ids, &gid).await;
    h.reset_calls();
    let (code, report) = reconcile(&config, &[]).await;
    assert_eq!(code, 1, "drift found: {report:#}");
    assert_eq!(kinds(&report), the_drift(), "{report:#}");
    assert_eq!(report["complete"], true);
    let ben = report["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["kind"] == "role"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (ben["tableau"].clone(), ben["asserted"].clone()),
        (json!("Creator"), json!("Explorer"))
    );
    // The cost: the server's version and a sign-in (which ends serve's session: serve signs in
    // again on its next call), one page of users, one of groups, the members of the one
    // managed group; then the command signs out. Nothing else: no finding needed the seats.
    let stats = h
        .stack
        .emulator
        .with_state(|s| s.stats_snapshot())
        .unwrap_or_default();
    assert_eq!(
        (
            h.calls("GET /sites/{id}/users"),
            h.calls("GET /sites/{id}/groups"),
            h.calls("GET /sites/{id}/groups/{id}/users"),
            h.calls("POST /auth/signin"),
        ),
        (1, 1, 1, 1),
        "{stats:?}"
    );
    assert_eq!(
        report["tableau_calls"]["read"],
        json!(h.tableau_calls() - 1),
        "all but the sign-out: {stats:?}"
    );
    assert_eq!(report["tableau_calls"]["repair"], 0);
    assert_eq!(
        h.role("ben@example.com").as_deref(),
        Some("Creator"),
        "a dry run changes nothing"
    );

    h.reset_calls();
    let (code, applied) = reconcile(&config, &["--apply", "--recreate-missing"]).await;
    assert_eq!(
        code, 0,
        "every drift repaired; unmanaged is not drift: {applied:#}"
    );
    assert_eq!(kinds(&applied), the_drift());
    for f in applied["findings"].as_array().into_iter().flatten() {
        let expected = if f["kind"] == "unmanaged" {
            Value::Null
        } else {
            json!("repaired")
        };
        assert_eq!(f["outcome"], expected, "{f}");
    }
    // One call per repair (eve's re-creation: Add User, and Update User for the full name
    // Tableau Server's Add User cannot carry).
    assert_eq!(
        (
            h.calls("PUT /sites/{id}/users/{id}"),
            h.calls("POST /sites/{id}/groups/{id}/users"),
            h.calls("POST /sites/{id}/users")
        ),
        (3, 1, 1),
        "{:?}",
        h.stack.emulator.with_state(|s| s.stats_snapshot())
    );
    assert_eq!(applied["tableau_calls"]["repair"], json!(5));
    assert_eq!(h.role("ben@example.com").as_deref(), Some("Explorer"));
    assert_eq!(h.role("dan@example.com").as_deref(), Some("Unlicensed"));
    assert_eq!(h.role("eve@example.com").as_deref(), Some("Creator"));
    assert_eq!(
        h.role("hand@example.com").as_deref(),
        Some("Creator"),
        "unmanaged: untouched"
    );
    let mut sales = h.members("Sales");
    sales.sort();
    assert_eq!(
        sales,
        vec!["ana@example.com", "ben@example.com", "cleo@example.com"]
    );

    let (code, after) = reconcile(&config, &[]).await;
    assert_eq!(code, 0, "{after:#}");
    assert_eq!(
        kinds(&after),
        set(&[("unmanaged", "hand@example.com", "-")])
    );

    // Each repair is in the audit trail as `reconcile`, with the roles before and after.
    let trail = h.stack.tenant().audit_trail().await.expect("the trail");
    let repairs: Vec<_> = trail
        .iter()
        .filter(|a| a.operation == "reconcile")
        .collect();
    assert_eq!(repairs.len(), 4, "{repairs:?}");
    assert!(repairs.iter().any(|a| a.resource == ids["ben"]
        && a.role_before.as_deref() == Some("Creator")
        && a.role_after.as_deref() == Some("Explorer")));
    assert!(repairs
        .iter()
        .any(|a| a.resource == ids["dan"] && a.role_after.as_deref() == Some("Unlicensed")));

    // serve goes on: its session was ended by the command's sign-ins, and it signs in again.
    let (s, ben) = h.idp.get(&format!("/Users/{}", ids["ben"])).await;
    assert_eq!(s, StatusCode::OK, "{ben}");
    let (s, _) = h
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{}", ids["ana"]),
            Some(patch(
                json!([{"op": "replace", "path": "roles", "value": [{"value": "Explorer"}]}]),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h.role("ana@example.com").as_deref(), Some("Explorer"));
    // The last result is kept for /metrics.
    h.stack.tenant().load_drift_summary().await;
    let summary = h.stack.tenant().drift_summary().expect("a summary");
    assert_eq!(summary.counts.get("unmanaged"), Some(&1));
    assert_eq!(summary.counts.get("role"), Some(&0));
}

/// The same, reconciled by `serve` itself (as `[tenants.reconcile]` does) while Tableau
/// throttles, fails, cuts connections after applying and expires sessions: runs cut short say
/// so and repair nothing, and the runs that follow end in the same state as without faults.
#[tokio::test(flavor = "multi_thread")]
async fn under_faults_reconciliation_ends_in_the_same_state() {
    use tableau_scim::bridge::reconcile::{Options, Silent};
    let h = site(Faults::default());
    let (ids, gid) = okta_provisions(&h).await;
    change_behind_the_back(&h, &ids, &gid).await;
    h.stack.emulator.with_state(|s| {
        s.faults = Faults {
            rate_429: 0.1,
            retry_after_secs: 0,
            rate_5xx: 0.1,
            expire_session_after: Some(5),
            rate_drop: 0.1,
            // Whatever the dice say, the first calls meet a 503 and a 500.
            script: [Fault::Unavailable, Fault::Internal].into_iter().collect(),
            ..Faults::default()
        }
    });
    let tenant = h.stack.tenant();
    let apply = Options {
        apply: true,
        recreate_missing: true,
    };
    let mut runs = Vec::new();
    for _ in 0..8 {
        let r = tenant.reconcile(apply, &Silent).await;
        if !r.complete {
            assert!(
                r.findings.iter().all(|f| f.outcome.is_none()),
                "an incomplete run repairs nothing: {}",
                r.to_text()
            );
        }
        runs.push(r.exit_code());
        if r.exit_code() == 0 {
            break;
        }
    }
    eprintln!("exit statuses of the runs: {runs:?}");
    assert_eq!(runs.last(), Some(&0), "runs: {runs:?}");
    h.stack
        .emulator
        .with_state(|s| s.faults = Faults::default());
    let after = tenant.reconcile(Options::default(), &Silent).await;
    let left: Vec<_> = after.findings.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(left, vec!["unmanaged"], "{}", after.to_text());
    assert_eq!(h.role("ben@example.com").as_deref(), Some("Explorer"));
    assert_eq!(h.role("dan@example.com").as_deref(), Some("Unlicensed"));
    assert_eq!(h.role("eve@example.com").as_deref(), Some("Creator"));
    let mut sales = h.members("Sales");
    sales.sort();
    assert_eq!(
        sales,
        vec!["ana@example.com", "ben@example.com", "cleo@example.com"]
    );
    let names = h
        .stack
        .emulator
        .with_state(|s| s.user_names())
        .unwrap_or_default();
    assert_eq!(
        names.iter().filter(|n| *n == "eve@example.com").count(),
        1,
        "one eve: {names:?}"
    );
    assert!(
        tenant.tableau_stats().retries > 0,
        "faults were met and retried"
    );
    // eve has a new id: the IdP's old one is gone (404, so the IdP provisions her again),
    // and its lookup by name finds the new one.
    let (s, _) = h.idp.get(&format!("/Users/{}", ids["eve"])).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, found) = h
        .idp
        .get("/Users?filter=userName%20eq%20%22eve%40example.com%22")
        .await;
    assert_eq!(found["totalResults"], 1, "{found}");
    assert_ne!(found["Resources"][0]["id"], json!(ids["eve"]));
}

/// A run whose reading is cut short (the group listing fails past every retry) reports the
/// users it saw, says it is incomplete, repairs nothing, and exits 2; the next run repairs.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_cut_short_says_so_and_repairs_nothing() {
    use tableau_scim::bridge::reconcile::{Options, Silent};
    let h = site(Faults::default());
    let (ids, gid) = okta_provisions(&h).await;
    change_behind_the_back(&h, &ids, &gid).await;
    let tenant = h.stack.tenant();
    tenant.sign_in().await.expect("a session");
    // The users' page goes through; the groups' page fails on every attempt (8).
    h.stack.emulator.with_state(|s| {
        s.faults.script = std::iter::once(Fault::Ok)
            .chain(std::iter::repeat_n(Fault::Unavailable, 8))
            .collect()
    });
    let apply = Options {
        apply: true,
        recreate_missing: true,
    };
    let cut = tenant.reconcile(apply, &Silent).await;
    assert!(!cut.complete);
    assert_eq!(cut.exit_code(), 2);
    assert!(
        cut.errors.iter().any(|e| e.contains("groups")),
        "{:?}",
        cut.errors
    );
    let seen: BTreeSet<&str> = cut.findings.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(
        seen,
        ["access_leak", "missing", "role", "unmanaged"]
            .into_iter()
            .collect(),
        "what it saw of the users, nothing of the groups: {}",
        cut.to_text()
    );
    assert!(cut.findings.iter().all(|f| f.outcome.is_none()));
    assert!(cut.to_text().contains("INCOMPLETE"));
    assert_eq!(
        h.role("ben@example.com").as_deref(),
        Some("Creator"),
        "nothing repaired"
    );
    let stored = tenant.last_drift().await.expect("read").expect("kept");
    assert!(!stored.complete);
    let next = tenant.reconcile(apply, &Silent).await;
    assert_eq!(next.exit_code(), 0, "{}", next.to_text());
    assert_eq!(h.role("ben@example.com").as_deref(), Some("Explorer"));
}

/// A managed user deleted and made again by hand (same name, new id) is missing under its old
/// id and unmanaged under the new one; `--recreate-missing` links the row to the new one
/// instead of a second Add User, which Tableau would refuse.
#[tokio::test(flavor = "multi_thread")]
async fn a_user_made_again_by_hand_is_linked_not_added_twice() {
    use tableau_scim::bridge::reconcile::{Options, Silent};
    let h = site(Faults::default());
    let (ids, gid) = okta_provisions(&h).await;
    let admin = tableau_admin(&h);
    admin
        .remove_user(&ids["ana"], None)
        .await
        .expect("ana deleted");
    let again = admin
        .add_user(&NewUser {
            name: "ana@example.com".into(),
            site_role: SiteRole::Viewer,
            auth_setting: None,
            idp_configuration_id: None,
            email: None,
        })
        .await
        .expect("ana made again by hand");
    admin.sign_out().await;
    let tenant = h.stack.tenant();
    let dry = tenant.reconcile(Options::default(), &Silent).await;
    let seen: BTreeSet<(&str, &str)> = dry
        .findings
        .iter()
        .map(|f| {
            (
                f.kind.as_str(),
                f.user.as_ref().map_or("-", |u| u.id.as_str()),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("missing", ids["ana"].as_str()),
            ("unmanaged", again.id.as_str())
        ]
        .into_iter()
        .collect(),
        "{}",
        dry.to_text()
    );
    h.reset_calls();
    let applied = tenant
        .reconcile(
            Options {
                apply: true,
                recreate_missing: true,
            },
            &Silent,
        )
        .await;
    assert_eq!(applied.exit_code(), 0, "{}", applied.to_text());
    assert_eq!(h.calls("POST /sites/{id}/users"), 0, "no second Add User");
    assert_eq!(
        h.role("ana@example.com").as_deref(),
        Some("Creator"),
        "the asserted role"
    );
    assert!(
        h.members("Sales").contains(&"ana@example.com".to_string()),
        "her group back"
    );
    let after = tenant.reconcile(Options::default(), &Silent).await;
    assert!(after.findings.is_empty(), "{}", after.to_text());
    let (_, found) = h
        .idp
        .get("/Users?filter=userName%20eq%20%22ana%40example.com%22")
        .await;
    assert_eq!(
        found["Resources"][0]["id"],
        json!(again.id.to_string()),
        "{found}"
    );
    let _ = gid;
}

/// `serve` reconciles on its own (`[tenants.reconcile] every`), reporting only unless told to
/// repair, and `/metrics` carries the last result per kind.
#[tokio::test(flavor = "multi_thread")]
async fn serve_reconciles_on_a_schedule_and_metrics_show_the_drift() {
    use tableau_scim::bridge::reconcile::Schedule;
    use tableau_scim::http::{TokenDigest, TokenSet};
    let mut emu = EmulatorConfig::new("acme", "pat", "pat-secret");
    emu.connected_app = Some(connected_app());
    let h = Site::start(emu, TOKEN, |o| {
        o.tenant.retry = fast_retry();
        o.tenant.reconcile = Schedule {
            every: Some(std::time::Duration::from_millis(300)),
            ..Schedule::default()
        };
        o.server.http.metrics_tokens = TokenSet::new(vec![TokenDigest::of(TOKEN)]);
        // Metrics are the process's, and other tests of the binary reconcile tenants called
        // acme: this tenant's id is its own.
        o.tenant.id = "scheduled".into();
    });
    let (ids, gid) = okta_provisions(&h).await;
    change_behind_the_back(&h, &ids, &gid).await;
    let tenant = h.stack.tenant();
    let mut summary = None;
    for _ in 0..100 {
        summary = tenant
            .drift_summary()
            .filter(|s| s.counts.get("role") == Some(&1));
        if summary.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let summary = summary.expect("a scheduled run saw the role drift");
    assert!(summary.complete);
    let base = h.stack.scim_url().trim_end_matches("/scim/v2").to_string();
    let metrics = common::Idp::new(&base, TOKEN)
        .raw(Method::GET, "/metrics", Some(TOKEN), None, None)
        .await;
    let text = metrics.body.as_str().unwrap_or_default().to_string();
    for needle in [
        "tableau_scim_drift{tenant=\"scheduled\",kind=\"role\"} 1",
        "tableau_scim_drift{tenant=\"scheduled\",kind=\"access_leak\"} 1",
        "tableau_scim_drift{tenant=\"scheduled\",kind=\"membership\"} 1",
        "tableau_scim_drift{tenant=\"scheduled\",kind=\"missing\"} 1",
        "tableau_scim_drift{tenant=\"scheduled\",kind=\"unmanaged\"} 1",
        "tableau_scim_drift{tenant=\"scheduled\",kind=\"license\"} 0",
        "tableau_scim_drift_complete{tenant=\"scheduled\"} 1",
    ] {
        assert!(text.contains(needle), "metrics lack {needle}:\n{text}");
    }
    assert_eq!(
        h.role("ben@example.com").as_deref(),
        Some("Creator"),
        "a scheduled report changes nothing"
    );
}

/// A member removed in Tableau behind the IdP's back stays missing after the IdP's next PATCH
/// of the group: what the IdP asserts is its own operations on what it asserted, not on what
/// Tableau holds.
#[tokio::test(flavor = "multi_thread")]
async fn a_later_patch_does_not_adopt_a_change_made_behind_the_idps_back() {
    use tableau_scim::bridge::reconcile::{Options, Silent};
    let h = site(Faults::default());
    let (ids, gid) = okta_provisions(&h).await;
    let admin = tableau_admin(&h);
    admin
        .remove_members(&gid, &[ids["cleo"].clone()])
        .await
        .expect("cleo removed by hand");
    admin.sign_out().await;
    let (s, _) = h
        .idp
        .call(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(patch(json!([{"op": "add", "path": "members", "value": [{"value": ids["eve"]}]},
                              {"op": "remove", "path": format!("members[value eq \"{}\"]", ids["ana"])}]))),
        )
        .await;
    assert!(s.is_success(), "{s}");
    let mut sales = h.members("Sales");
    sales.sort();
    assert_eq!(
        sales,
        vec!["ben@example.com", "eve@example.com"],
        "the PATCH applied to Tableau's members"
    );
    let r = h
        .stack
        .tenant()
        .reconcile(Options::default(), &Silent)
        .await;
    assert_eq!(
        kinds_of(&r),
        set(&[("membership", "cleo@example.com", "Sales")]),
        "{}",
        r.to_text()
    );
    assert_eq!(r.findings[0].tableau, "not a member");
    // A PUT asserts exactly its members: the IdP that sends cleo back is in step again.
    let members: Vec<Value> = ["ben", "eve"]
        .iter()
        .map(|n| json!({"value": ids[*n]}))
        .collect();
    let (s, _) = h
        .idp
        .call(
            Method::PUT,
            &format!("/Groups/{gid}"),
            Some(json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Sales","members":members})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let r = h
        .stack
        .tenant()
        .reconcile(Options::default(), &Silent)
        .await;
    assert!(r.findings.is_empty(), "{}", r.to_text());
}

/// A role Tableau gave lower than asked because no seat of the tier was free is `license`, not
/// `role`, and gets no repair (Tableau would refuse it, 409014); once a seat is free it is role
/// drift that `--apply` repairs.
#[tokio::test(flavor = "multi_thread")]
async fn a_role_lowered_for_want_of_a_seat_is_license_drift_until_a_seat_frees() {
    use tableau_scim::bridge::reconcile::{Options, Silent};
    use tableau_scim::emulator::Capacity;
    let mut emu = EmulatorConfig::new("acme", "pat", "pat-secret");
    emu.capacity = Capacity {
        creator: Some(2),
        explorer: None,
        viewer: None,
    };
    // The emulator's administrator holds one Creator-tier seat (SiteAdministratorCreator).
    let h = Site::start(emu, TOKEN, |o| o.tenant.retry = fast_retry());
    let mut ids = Vec::new();
    for name in ["first@example.com", "second@example.com"] {
        let (s, u) = h
            .idp
            .call(
                Method::POST,
                "/Users",
                Some(json!({"userName": name, "roles": [{"value": "Creator"}]})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        ids.push(id(&u));
    }
    assert_eq!(h.role("first@example.com").as_deref(), Some("Creator"));
    assert_eq!(
        h.role("second@example.com").as_deref(),
        Some("Unlicensed"),
        "no seat left: downgraded"
    );
    let tenant = h.stack.tenant();
    let apply = Options {
        apply: true,
        recreate_missing: false,
    };
    let r = tenant.reconcile(apply, &Silent).await;
    assert_eq!(
        kinds_of(&r),
        set(&[("license", "second@example.com", "-")]),
        "{}",
        r.to_text()
    );
    assert_eq!(r.findings[0].outcome, None, "no repair offered");
    assert_eq!(r.exit_code(), 1, "left: it needs a seat");
    // A seat frees: the first user is deprovisioned through SCIM.
    let (s, _) = h
        .idp
        .call(Method::DELETE, &format!("/Users/{}", ids[0]), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let r = tenant.reconcile(apply, &Silent).await;
    assert_eq!(r.exit_code(), 0, "{}", r.to_text());
    assert_eq!(r.counts.get("role"), Some(&1));
    assert_eq!(h.role("second@example.com").as_deref(), Some("Creator"));
}
