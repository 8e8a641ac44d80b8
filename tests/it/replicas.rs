//! Three `serve` replicas on one PostgreSQL database behind a round-robin load balancer, against
//! one emulated Tableau: what is correct on one instance stays correct on three.

use crate::common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::flows::{entra_flow, existing_user_seed, okta_flow, Provisioned};
use common::replicas::{site, Replicas};
use common::{id, patch, Idp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tableau_scim::emulator::Faults;

const SIGN_IN: &str = "POST /auth/signin";

/// What an IdP does with a request: send it again after a transport error or a 5xx (Okta and
/// Entra both retry those), up to a budget.
async fn retrying(
    idp: &Idp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut last = String::new();
    for _ in 0..100 {
        match idp.try_call(method.clone(), path, body.clone()).await {
            Ok((s, v)) if !s.is_server_error() => return (s, v),
            Ok((s, v)) => last = format!("{s} {v}"),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{method} {path} never succeeded: {last}");
}

/// Create a user the way an IdP does: retry, and on 409 look the user up and link it.
async fn idp_create(idp: &Idp, body: Value) -> String {
    let name = body["userName"].as_str().unwrap_or_default().to_string();
    let (s, v) = retrying(idp, Method::POST, "/Users", Some(body.clone())).await;
    match s {
        StatusCode::CREATED => id(&v),
        StatusCode::CONFLICT => {
            let q = format!(
                "/Users?filter=userName%20eq%20%22{}%22",
                name.replace('@', "%40")
            );
            let (s, l) = retrying(idp, Method::GET, &q, None).await;
            assert_eq!(s, StatusCode::OK, "{l}");
            assert_eq!(
                l["totalResults"], 1,
                "a 409 for {name} means another replica has it: {l}"
            );
            id(&l["Resources"][0])
        }
        other => panic!("create {name}: {other} {v}"),
    }
}

fn with_existing_user() -> tableau_scim::emulator::EmulatorConfig {
    let mut emu = site();
    emu.seed = Some(existing_user_seed());
    emu
}

const ROLES: &str =
    "[tenants.roles]\n\"tableau-creator\" = \"Creator\"\n\"analyst\" = \"Explorer\"\n";

/// Okta's and Entra's provisioning, each request sent to the next replica: every write read
/// back on another replica shows it (read-your-writes), and Tableau ends right. The three
/// replicas share one Tableau session: one sign-in in all.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn okta_and_entra_replays_round_robin_over_three_replicas_end_right() {
    let r = Replicas::start(with_existing_user(), 3, ROLES).await;
    let okta = okta_flow(&r, "okta.user@example.com", "Okta Push").await;
    let entra = entra_flow(&r, "entra.user@example.com", "Entra Sales").await;
    // Deprovisioning on one replica is seen at once on the others.
    let (s, _) = r
        .idp
        .call(Method::DELETE, &format!("/Users/{entra}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    for i in 0..3 {
        let (s, _) = r.idp_of(i).get(&format!("/Users/{entra}")).await;
        assert_eq!(
            s,
            StatusCode::NOT_FOUND,
            "replica {i} still shows the deleted user"
        );
        let (s, l) = r
            .idp_of(i)
            .get("/Users?filter=userName%20eq%20%22entra.user%40example.com%22")
            .await;
        assert_eq!((s, l["totalResults"].clone()), (StatusCode::OK, json!(0)));
        let (_, u) = r.idp_of(i).get(&format!("/Users/{okta}")).await;
        assert_eq!(u["active"], true, "replica {i}");
    }
    assert_eq!(r.role("entra.user@example.com"), None);
    assert_eq!(r.role("okta.user@example.com").as_deref(), Some("Creator"));
    assert_eq!(
        r.emulator.with_state(|s| s.session_count()),
        Some(1),
        "one session serves the three replicas"
    );
}

/// Twenty POSTs of `user_name` at once, spread over the replicas: their statuses, counted.
async fn twenty_parallel_creates(r: &Replicas, user_name: &str) -> BTreeMap<u16, usize> {
    let mut tasks = Vec::new();
    for i in 0..20 {
        let idp = r.idp_of(i % 3);
        let body = json!({"userName": user_name, "roles": [{"value": "Explorer"}]});
        tasks.push(tokio::spawn(async move {
            idp.call(Method::POST, "/Users", Some(body)).await
        }));
    }
    let mut statuses = BTreeMap::new();
    for t in tasks {
        let (s, v) = t.await.expect("join");
        assert!(
            s == StatusCode::CREATED || s == StatusCode::CONFLICT,
            "{s} {v}"
        );
        if s == StatusCode::CONFLICT {
            assert_eq!(v["scimType"], "uniqueness", "{v}");
        }
        *statuses.entry(s.as_u16()).or_insert(0) += 1;
    }
    statuses
}

/// Twenty IdP workers create the same userName at once, spread over the replicas: the key
/// lock holds across them (one 201, the rest 409), and Tableau has one user. The same for a
/// user deleted through SCIM but kept in Tableau (`deprovision = "unlicense"`), which a create
/// brings back: without the lock across replicas, each replica would find the tombstone and
/// bring it back, twenty 201s for one user.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_creates_of_one_user_name_across_replicas_make_one_user() {
    // Tableau answers in 20 ms, as a near one does: the replicas' requests overlap.
    let mut emu = site();
    emu.faults.latency_ms = 20;
    let r = Replicas::start(emu, 3, "deprovision = \"unlicense\"\n").await;
    let statuses = twenty_parallel_creates(&r, "race@example.com").await;
    assert_eq!(statuses, BTreeMap::from([(201, 1), (409, 19)]));
    // (Each create sends Add User and reads Tableau's 409 under the lock, as on one instance.)
    let named: Vec<String> = r
        .user_names()
        .into_iter()
        .filter(|n| n.eq_ignore_ascii_case("race@example.com"))
        .collect();
    assert_eq!(named.len(), 1, "{named:?}");
    let (_, l) = r
        .idp
        .get("/Users?filter=userName%20eq%20%22race%40example.com%22")
        .await;
    let uid = id(&l["Resources"][0]);
    let (s, _) = r
        .idp
        .call(Method::DELETE, &format!("/Users/{uid}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(r.role("race@example.com").as_deref(), Some("Unlicensed"));
    let statuses = twenty_parallel_creates(&r, "race@example.com").await;
    assert_eq!(
        statuses,
        BTreeMap::from([(201, 1), (409, 19)]),
        "one revival"
    );
    assert_eq!(r.role("race@example.com").as_deref(), Some("Explorer"));
}

/// `kill -9` of one replica in the middle of 300 creates; the IdP retries on the others: every
/// user exists exactly once, none lost. The killed replica comes back and serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_killed_mid_run_loses_and_duplicates_nothing() {
    let mut emu = site();
    emu.faults.latency_ms = 5;
    let mut r = Replicas::start(emu, 3, "[tenants.retry]\nmax_total_secs = 5\n").await;
    let names: Arc<Vec<String>> = Arc::new(
        (0..300)
            .map(|i| format!("crash{i:03}@example.com"))
            .collect(),
    );
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..6 {
        let (idp, names, done) = (r.idp.clone(), names.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in names.iter().skip(w).step_by(6) {
                ids.push(idp_create(&idp, json!({"userName": n})).await);
                done.fetch_add(1, Ordering::Relaxed);
            }
            ids
        }));
    }
    while done.load(Ordering::Relaxed) < 100 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    r.kill(1);
    let at_kill = done.load(Ordering::Relaxed);
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.expect("join"));
    }
    assert!(at_kill < names.len(), "the kill came mid-run ({at_kill})");
    let in_tableau = r.user_names();
    for n in names.iter() {
        assert_eq!(
            in_tableau.iter().filter(|x| *x == n).count(),
            1,
            "{n}: lost or duplicated"
        );
    }
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), names.len(), "one id per user");
    r.restart(1).await;
    for uid in ids.iter().take(30) {
        let (s, u) = r.idp_of(1).get(&format!("/Users/{uid}")).await;
        assert_eq!(s, StatusCode::OK, "{uid}: {u}");
    }
}

/// Sessions expire every 40 Tableau calls; over a run of 150 creates on three replicas the
/// sign-ins follow the expiries (one each), not the replicas or the requests: a replica whose
/// session failed takes the one another replica already renewed. A replica stopped with
/// SIGTERM leaves the shared session signed in for the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_ins_follow_session_expiry_not_replicas() {
    let mut emu = site();
    emu.faults.expire_session_after = Some(40);
    let mut r = Replicas::start(emu, 3, "").await;
    r.reset_calls();
    let mut tasks = Vec::new();
    for w in 0..3 {
        let idp = r.idp.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..150).step_by(3) {
                idp_create(&idp, json!({"userName": format!("s{i:03}@example.com")})).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("join");
    }
    let calls = r.emulator.with_state(|s| s.total_calls()).unwrap_or(0);
    let sign_ins = r.calls(SIGN_IN);
    let work = calls - sign_ins;
    assert!(work >= 150, "{work} calls for 150 creates");
    // One sign-in per expiry (work / 40), plus one where an expiry fell while a sign-in was
    // under way: never one per replica per expiry.
    let expiries = work.div_ceil(40);
    assert!(
        sign_ins <= expiries + 1,
        "{sign_ins} sign-ins for {work} calls with sessions of 40 calls"
    );
    // (The 401s count as calls too, so `expiries` is a little high: half of it at least.)
    assert!(
        sign_ins >= 2 && sign_ins >= expiries / 2,
        "{sign_ins} sign-ins: the sessions did expire ({expiries})"
    );
    // No more expiries: what follows counts only what a stopped replica causes.
    r.emulator
        .with_state(|s| s.faults.expire_session_after = None);
    r.terminate(0);
    r.reset_calls();
    let (s, _) = r.idp_of(2).get("/Users?count=1").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = r
        .idp_of(1)
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "after@example.com"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        r.calls("POST /auth/signout"),
        0,
        "a shared session is not signed out"
    );
    assert_eq!(
        r.calls(SIGN_IN),
        0,
        "the stopped replica did not sign the others out"
    );
}

/// The fault soak against three replicas: 10% 5xx, 2% of calls cut after Tableau applied them,
/// sessions expiring every 100 calls, a rate limit; 240 users (a third "analyst") and their
/// group memberships, round robin. Nothing lost, duplicated or wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_fault_soak_against_three_replicas_loses_nothing() {
    let mut emu = site();
    emu.faults = Faults {
        rate_5xx: 0.10,
        rate_drop: 0.02,
        expire_session_after: Some(100),
        rate_limit_per_sec: Some(400.0),
        rate_limit_burst: Some(40.0),
        ..Faults::default()
    };
    let toml = format!(
        "{ROLES}[tenants.retry]\nmax_attempts = 8\nbase_delay_ms = 20\nmax_delay_ms = 500\nmax_total_secs = 30\n"
    );
    let r = Replicas::start(emu, 3, &toml).await;
    const USERS: usize = 240;
    const GROUPS: usize = 6;
    let mut group_ids = Vec::new();
    for g in 0..GROUPS {
        let (s, v) = retrying(
            &r.idp,
            Method::POST,
            "/Groups",
            Some(json!({"displayName": format!("Soak {g}")})),
        )
        .await;
        let gid = if s == StatusCode::CREATED {
            id(&v)
        } else {
            let (_, l) = retrying(
                &r.idp,
                Method::GET,
                &format!("/Groups?filter=displayName%20eq%20%22Soak%20{g}%22"),
                None,
            )
            .await;
            id(&l["Resources"][0])
        };
        group_ids.push(gid);
    }
    let group_ids = Arc::new(group_ids);
    let mut tasks = Vec::new();
    for w in 0..8 {
        let (idp, groups) = (r.idp.clone(), group_ids.clone());
        tasks.push(tokio::spawn(async move {
            for i in (w..USERS).step_by(8) {
                let name = format!("soak{i:04}@example.com");
                let roles = if i % 3 == 0 {
                    json!([{"value": "analyst"}])
                } else {
                    json!([])
                };
                let uid = idp_create(&idp, json!({"userName": name, "roles": roles})).await;
                let (s, v) = retrying(
                    &idp,
                    Method::PATCH,
                    &format!("/Groups/{}", groups[i % GROUPS]),
                    Some(patch(
                        json!([{"op": "add", "path": "members", "value": [{"value": uid}]}]),
                    )),
                )
                .await;
                assert!(s.is_success(), "{s} {v}");
            }
        }));
    }
    for t in tasks {
        t.await.expect("join");
    }
    let in_tableau = r.user_names();
    for i in 0..USERS {
        let name = format!("soak{i:04}@example.com");
        assert_eq!(
            in_tableau.iter().filter(|x| **x == name).count(),
            1,
            "{name}: lost or duplicated"
        );
        let want = if i % 3 == 0 { "Explorer" } else { "Viewer" };
        assert_eq!(r.role(&name).as_deref(), Some(want), "{name}");
    }
    for g in 0..GROUPS {
        let mut members = r.members(&format!("Soak {g}"));
        members.sort();
        let want: Vec<String> = (0..USERS)
            .filter(|i| i % GROUPS == g)
            .map(|i| format!("soak{i:04}@example.com"))
            .collect();
        assert_eq!(members, want, "group Soak {g}");
    }
}

/// The site's names are listed by one replica at a time (the lease holder); the others apply
/// what its listing found: a user made by hand in Tableau is found by a lookup on every replica,
/// at no Tableau call, and the listing calls over a few seconds are one replica's, not three.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_replica_lists_the_site_and_the_others_learn_what_it_found() {
    use tableau_scim::tableau::SiteRole;
    let r = Replicas::start(site(), 3, "[tenants.cache]\nnames_refresh_secs = 1\n").await;
    r.emulator
        .with_state(|s| s.add_user("byhand@example.com", SiteRole::Explorer, None, None, None));
    // Three periods: every replica has listed once at start; now only the holder lists.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    r.reset_calls();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let listings = r.calls("GET /sites/{id}/users");
    assert!(
        (2..=6).contains(&listings),
        "{listings} listings in 4 s at one a second: one replica lists"
    );
    r.reset_calls();
    for i in 0..3 {
        let (s, l) = r
            .idp_of(i)
            .get("/Users?filter=userName%20eq%20%22byhand%40example.com%22")
            .await;
        assert_eq!(
            (s, l["totalResults"].clone()),
            (StatusCode::OK, json!(1)),
            "replica {i}: {l}"
        );
        let (_, none) = r
            .idp_of(i)
            .get("/Users?filter=userName%20eq%20%22nobody%40example.com%22")
            .await;
        assert_eq!(none["totalResults"], 0);
    }
    // (The holder's next listing, one call, may fall in this window.)
    assert!(
        r.calls("GET /sites/{id}/users") <= 1,
        "every replica's index is fresh and complete: lookups cost no call"
    );
}

/// The listing's lease moves when its holder dies: replica 0, alone for a moment, takes it;
/// replica 1 starts and follows; replica 0 is killed (`kill -9`: nothing released); replica 1
/// takes the lease once it expires and lists from then on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_listing_moves_to_another_replica_when_its_holder_dies() {
    let mut r = Replicas::start(site(), 3, "[tenants.cache]\nnames_refresh_secs = 1\n").await;
    r.kill(1);
    r.kill(2);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    r.restart(1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    r.reset_calls();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let both_alive = r.calls("GET /sites/{id}/users");
    assert!(
        (1..=4).contains(&both_alive),
        "{both_alive} listings in 3 s: replica 0 lists, replica 1 follows"
    );
    r.kill(0);
    // The lease lasts a period and a half (1.5 s); replica 1 asks at its next turn.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    r.reset_calls();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = r.calls("GET /sites/{id}/users");
    assert!(
        after >= 2,
        "{after} listings in 3 s after the holder died: replica 1 took the lease"
    );
    let (s, _) = r.idp_of(1).get("/Users?count=1").await;
    assert_eq!(s, StatusCode::OK);
}
