//! The Tableau client against the emulator, both real HTTP servers on random ports.

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::tableau::*;
use secrecy::SecretString;
use tableau_scim::emulator::{EmulatorConfig, Fault};
use tableau_scim::tableau::content::ContentKind;
use tableau_scim::tableau::jwt::ConnectedApp;
use tableau_scim::tableau::model::UserUpdate;
use tableau_scim::tableau::{
    ClientConfig, Credentials, NameMatch, SiteRole, TableauClient, TableauError,
};

// ---- sign-in ----

#[tokio::test(flavor = "multi_thread")]
async fn pat_sign_in_discovers_the_version_and_signs_out() {
    let e = emu();
    let c = client(&e);
    assert_eq!(ok(c.api_version().await).to_string(), "3.24");
    let users = ok(c.all_users().await);
    assert_eq!(users.len(), 1, "the site administrator");
    assert_eq!(c.stats().sign_ins, 1);
    c.sign_out().await;
    assert_eq!(e.with_state(|s| s.session_count()), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn connected_app_jwt_sign_in_and_bad_secrets_are_refused() {
    let app = ConnectedApp {
        client_id: "client-7".into(),
        secret_id: "secret-id-7".into(),
        secret_value: SecretString::from("ca-secret-value".to_string()),
        username: "admin@example.com".into(),
    };
    let mut cfg = EmulatorConfig::new("acme", PAT_NAME, PAT_SECRET);
    cfg.connected_app = Some(app.clone());
    let e = start(cfg);
    let c = client_with(&e, Credentials::ConnectedApp(app.clone()), Some("3.24"));
    assert_eq!(ok(c.all_users().await).len(), 1);
    let bad = ConnectedApp {
        secret_value: SecretString::from("wrong".to_string()),
        ..app
    };
    let c = client_with(&e, Credentials::ConnectedApp(bad), Some("3.24"));
    assert!(matches!(c.all_users().await, Err(TableauError::SignIn(_))));
    let wrong_pat = client_with(
        &e,
        Credentials::Pat {
            name: PAT_NAME.into(),
            secret: SecretString::from("nope".to_string()),
        },
        Some("3.24"),
    );
    let err = wrong_pat.all_users().await;
    assert!(
        matches!(&err, Err(TableauError::SignIn(m)) if m.contains("401001")),
        "{err:?}"
    );
    assert_eq!(
        wrong_pat.stats().sign_ins,
        1,
        "a refused sign-in is not retried"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replaced_pat_session_is_renewed_once_for_many_concurrent_requests() {
    let e = emu();
    let c = Arc::new(client(&e));
    let admin = ok(c.all_users().await).remove(0);
    // Another sign-in with the same PAT ends our session (one session per PAT).
    let other = client(&e);
    ok(other.sign_in().await);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let c = c.clone();
        let id = admin.id.clone();
        tasks.push(tokio::spawn(async move { c.get_user(&id).await }));
    }
    for t in tasks {
        let got = ok(ok(t.await));
        assert!(got.is_some());
    }
    assert_eq!(
        c.stats().sign_ins,
        2,
        "one sign-in at start, exactly one renewal"
    );
    assert_eq!(emulator_calls(&e, "POST /auth/signin"), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn session_expiry_every_n_calls_is_absorbed() {
    let e = emu();
    e.with_state(|s| s.faults.expire_session_after = Some(4));
    let c = client(&e);
    for _ in 0..12 {
        ok(c.all_users().await);
    }
    let s = c.stats();
    assert!(
        s.sign_ins >= 3,
        "renewed as sessions expired: {}",
        s.sign_ins
    );
    assert_eq!(
        s.calls("GET users"),
        12 + s.sign_ins - 1,
        "each expiry costs one replayed call"
    );
}

// ---- retries ----

#[tokio::test(flavor = "multi_thread")]
async fn throttling_and_server_errors_are_retried_honouring_retry_after() {
    let e = emu();
    let c = client(&e);
    ok(c.sign_in().await);
    e.with_state(|s| s.faults.retry_after_secs = 1);
    script(&e, &[Fault::TooMany, Fault::Unavailable, Fault::Internal]);
    let started = Instant::now();
    assert_eq!(ok(c.all_users().await).len(), 1);
    // Retry-After: 1 was honoured (a floor on behaviour, not a performance figure).
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    let s = c.stats();
    assert_eq!(s.retries, 3);
    assert_eq!(s.calls("GET users"), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_are_bounded() {
    let e = emu();
    let c = client(&e);
    ok(c.sign_in().await);
    script(&e, &[Fault::Unavailable; 10]);
    let err = c.all_users().await;
    assert!(
        matches!(err, Err(TableauError::Unavailable { attempts: 5, .. })),
        "{err:?}"
    );
    script(&e, &[]);
    e.with_state(|s| s.faults.script.clear());
    script(&e, &[Fault::TooMany; 10]);
    assert!(matches!(c.all_users().await, Err(TableauError::Throttled)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_add_user_is_looked_up_not_repeated() {
    let e = emu();
    let c = client(&e);
    ok(c.sign_in().await);
    script(&e, &[Fault::Drop]);
    let u = ok(c
        .add_user(&new_user("dropped@example.com", SiteRole::Explorer))
        .await);
    assert_eq!(u.name, "dropped@example.com");
    let s = c.stats();
    assert_eq!(s.calls("POST users"), 1, "never sent twice");
    assert_eq!(s.calls("GET users"), 1, "one lookup by name");
    let named = e.with_state(|s| {
        s.user_names()
            .iter()
            .filter(|n| *n == "dropped@example.com")
            .count()
    });
    assert_eq!(named, Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_add_user_that_failed_before_applying_is_sent_again_after_the_lookup() {
    let e = emu();
    let c = client(&e);
    ok(c.sign_in().await);
    script(&e, &[Fault::Internal]);
    let u = ok(c
        .add_user(&new_user("retry@example.com", SiteRole::Viewer))
        .await);
    assert_eq!(u.site_role, "Viewer");
    let s = c.stats();
    assert_eq!((s.calls("POST users"), s.calls("GET users")), (2, 1));
    script(&e, &[Fault::Drop]);
    let g = ok(c.create_group("Dropped group", None).await);
    assert_eq!(g.name, "Dropped group");
    assert_eq!(c.stats().calls("POST groups"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_add_user_that_times_out_is_resolved_without_a_duplicate() {
    let e = emu();
    let mut cfg = ClientConfig::new(&e.url(), "acme", pat());
    cfg.retry = five_attempts();
    cfg.request_timeout = Duration::from_millis(300);
    let c = ok(TableauClient::new(cfg));
    ok(c.sign_in().await);
    e.with_state(|s| s.faults.stall_ms = 800);
    script(&e, &[Fault::Stall]);
    let u = ok(c
        .add_user(&new_user("slow@example.com", SiteRole::Viewer))
        .await);
    assert_eq!(u.name, "slow@example.com");
    // Let the stalled request finish on the emulator's side too.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let named = e.with_state(|s| {
        s.user_names()
            .iter()
            .filter(|n| *n == "slow@example.com")
            .count()
    });
    assert_eq!(named, Some(1), "one user, whichever request landed");
}

// ---- users ----

#[tokio::test(flavor = "multi_thread")]
async fn paging_2500_users_takes_three_calls() {
    let e = emu();
    e.with_state(|s| {
        for i in 0..2499 {
            let _ = s.add_user(
                &format!("user{i:04}@example.com"),
                SiteRole::Viewer,
                None,
                None,
                None,
            );
        }
    });
    let c = client(&e);
    let all = ok(c.all_users().await);
    assert_eq!(all.len(), 2500);
    assert_eq!(c.stats().calls("GET users"), 3);
    let mut names: Vec<&str> = all.iter().map(|u| u.name.as_str()).collect();
    names.dedup();
    assert_eq!(names.len(), 2500, "no user twice across pages");
    let page = ok(c.query_users(2, 1000, None).await);
    assert_eq!(
        (page.items.len(), page.pagination.total_available),
        (1000, 2500)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_user_call() {
    let e = emu();
    let c = client(&e);
    let mut nu = new_user("Alice@Example.com", SiteRole::Creator);
    nu.auth_setting = Some("SAML".into());
    let alice = ok(c.add_user(&nu).await);
    assert_eq!(
        (alice.site_role.as_str(), alice.auth_setting.as_deref()),
        ("Creator", Some("SAML"))
    );
    assert_eq!(
        ok(c.find_user_by_name("Alice@Example.com", NameMatch::Exact)
            .await)
        .map(|u| u.id),
        Some(alice.id.clone())
    );
    assert_eq!(
        ok(c.find_user_by_name("alice@example.com", NameMatch::Exact)
            .await),
        None
    );
    assert_eq!(
        ok(
            c.find_user_by_name("alice@example.com", NameMatch::CaseInsensitive)
                .await
        )
        .map(|u| u.id),
        Some(alice.id.clone())
    );
    let upd = UserUpdate {
        full_name: Some("Alice Doe".into()),
        email: Some("alice@example.com".into()),
        site_role: Some(SiteRole::Explorer),
        ..UserUpdate::default()
    };
    let after = ok(c.update_user(&alice.id, &upd).await);
    assert_eq!(
        (after.site_role.as_str(), after.full_name.as_deref()),
        ("Explorer", Some("Alice Doe"))
    );
    let got = ok(c.get_user(&alice.id).await);
    assert_eq!(
        got.as_ref().and_then(|u| u.email.as_deref()),
        Some("alice@example.com")
    );
    assert_eq!(got.and_then(|u| u.role()), Some(SiteRole::Explorer));
    let groups = ok(c.groups_of_user(&alice.id).await);
    assert_eq!(
        groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        vec!["All Users"]
    );
    assert!(ok(c.remove_user(&alice.id, None).await));
    assert!(!ok(c.remove_user(&alice.id, None).await), "already removed");
    assert_eq!(ok(c.get_user(&alice.id).await), None);
    let refused = c
        .update_user(
            "x",
            &UserUpdate {
                site_role: Some(SiteRole::ServerAdministrator),
                ..UserUpdate::default()
            },
        )
        .await;
    assert!(matches!(refused, Err(TableauError::Refused(_))));
    assert!(matches!(
        c.add_user(&new_user("g@example.com", SiteRole::Guest))
            .await,
        Err(TableauError::Refused(_))
    ));
}

// ---- groups ----

#[tokio::test(flavor = "multi_thread")]
async fn every_group_and_membership_call_bulk_and_one_by_one() {
    for (version, bulk) in [("3.24", true), ("3.20", false)] {
        let e = emu();
        let c = client_with(&e, pat(), Some(version));
        let mut ids = Vec::new();
        for i in 0..4 {
            ids.push(
                ok(
                    c.add_user(&new_user(&format!("m{i}@example.com"), SiteRole::Viewer))
                        .await,
                )
                .id
                .to_string(),
            );
        }
        let g = ok(c.create_group("Finance", Some(SiteRole::Explorer)).await);
        assert_eq!(g.minimum_site_role.as_deref(), Some("Explorer"));
        assert_eq!(
            ok(c.find_group_by_name("Finance").await).map(|x| x.id),
            Some(g.id.clone())
        );
        assert_eq!(
            ok(c.find_group_by_name("finance").await),
            None,
            "name:eq is exact"
        );
        c.reset_stats();
        ok(c.add_members(&g.id, &ids).await);
        let adds = c.stats().calls("POST groups/{id}/users");
        assert_eq!(adds, if bulk { 1 } else { 4 }, "version {version}");
        ok(c.add_members(&g.id, &ids[..2]).await);
        assert_eq!(
            ok(c.group_members(&g.id).await).len(),
            4,
            "re-adding members is harmless"
        );
        c.reset_stats();
        ok(c.remove_members(&g.id, &ids[..3]).await);
        let s = c.stats();
        let removes =
            s.calls("PUT groups/{id}/users/remove") + s.calls("DELETE groups/{id}/users/{id}");
        assert_eq!(removes, if bulk { 1 } else { 3 });
        ok(c.remove_members(&g.id, &ids[..1]).await);
        let left: Vec<String> = ok(c.group_members(&g.id).await)
            .into_iter()
            .map(|u| u.id.to_string())
            .collect();
        assert_eq!(left, vec![ids[3].clone()]);
        let renamed = ok(c.update_group(&g.id, "Finance EMEA", None).await);
        assert_eq!(renamed.name, "Finance EMEA");
        let groups = ok(c.groups_of_user(&ids[3]).await);
        assert!(groups.iter().any(|x| x.name == "Finance EMEA"));
        let dup = c.create_group("FINANCE emea", None).await;
        assert!(
            dup.as_ref()
                .err()
                .is_some_and(TableauError::is_group_exists),
            "{dup:?}"
        );
        assert!(ok(c.delete_group(&g.id).await));
        assert!(!ok(c.delete_group(&g.id).await));
        let all = ok(c.all_groups().await);
        let all_users = all
            .iter()
            .find(|x| x.is_all_users())
            .map(|x| x.id.clone())
            .unwrap_or_default();
        let err = c.delete_group(&all_users).await;
        assert_eq!(
            err.err().and_then(|e| e.code().map(str::to_string)),
            Some("403004".into())
        );
        assert_eq!(
            ok(c.group_members(&all_users).await).len(),
            5,
            "every user is in All Users"
        );
    }
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let cfg = ClientConfig::new("https://tableau.example.com", "acme", pat());
    let shown = format!("{cfg:?}");
    assert!(!shown.contains(PAT_SECRET), "{shown}");
    let ecfg = EmulatorConfig::new("acme", PAT_NAME, PAT_SECRET);
    assert!(!format!("{ecfg:?}").contains(PAT_SECRET));
}

// ---- content ----

#[tokio::test(flavor = "multi_thread")]
async fn a_users_content_is_listed_in_transfer_order_and_handed_over_item_by_item() {
    let e = emu();
    let (ann, bob) = e
        .with_state(|s| {
            let ann = s.add_user("ann@example.com", SiteRole::Creator, None, None, None);
            let bob = s.add_user("bob@example.com", SiteRole::Creator, None, None, None);
            for (kind, name, project) in [
                (ContentKind::Workbook, "Sales", "Finance"),
                (ContentKind::Workbook, "Churn", "Marketing"),
                (ContentKind::Datasource, "Orders", "Finance"),
                (ContentKind::Flow, "Clean orders", "Finance"),
                (ContentKind::Project, "Ann's sandbox", "Marketing"),
            ] {
                s.seed_item("ann@example.com", kind, name, Some(project));
            }
            // Bob's own workbook stays his.
            s.seed_item("bob@example.com", ContentKind::Workbook, "Bob's", None);
            (
                ann.map(|u| u.id.to_string()).unwrap_or_default(),
                bob.map(|u| u.id.to_string()).unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    let c = client(&e);
    ok(c.all_users().await); // signed in
    e.with_state(|s| s.reset_stats());
    let owned = ok(c.owned_content(&ann).await);
    let kinds: Vec<_> = owned.iter().map(|i| (i.kind, i.name.as_str())).collect();
    assert_eq!(
        kinds,
        vec![
            (ContentKind::Project, "Ann's sandbox"),
            (ContentKind::Datasource, "Orders"),
            (ContentKind::Flow, "Clean orders"),
            (ContentKind::Workbook, "Churn"),
            (ContentKind::Workbook, "Sales"),
        ]
    );
    let calls = e.with_state(|s| s.stats_snapshot()).unwrap_or_default();
    assert_eq!(
        calls.values().sum::<u64>(),
        4,
        "one listing per kind on a small site: {calls:?}"
    );
    // Ann cannot be removed while she owns content: Tableau leaves her Unlicensed (409003).
    let refused = c.remove_user(&ann, None).await;
    assert!(
        matches!(&refused, Err(err) if err.code() == Some("409003")),
        "{refused:?}"
    );
    for item in &owned {
        let moved = ok(c.change_owner(item, &bob).await);
        assert_eq!(
            (moved.id.as_str(), moved.owner_id.as_str()),
            (item.id.as_str(), bob.as_str())
        );
    }
    assert!(ok(c.owned_content(&ann).await).is_empty());
    assert_eq!(ok(c.owned_content(&bob).await).len(), owned.len() + 1);
    assert!(
        ok(c.remove_user(&ann, None).await),
        "nothing left to strand"
    );
    // An owner who is not a user of the site is Tableau's 404002, never a silent success.
    let gone = c.change_owner(&owned[0], &ann).await;
    assert!(
        matches!(&gone, Err(err) if err.code() == Some("404002")),
        "{gone:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn below_api_3_3_a_site_has_no_flows_to_list_and_before_3_15_a_data_source_takes_its_project()
{
    let mut cfg = EmulatorConfig::new("acme", PAT_NAME, PAT_SECRET);
    cfg.api_version = "3.14".into();
    let e = start(cfg);
    let (ann, admin) = e
        .with_state(|s| {
            let ann = s.add_user("ann@example.com", SiteRole::Creator, None, None, None);
            s.seed_item("ann@example.com", ContentKind::Datasource, "Orders", None);
            let admin = s
                .users_sorted()
                .iter()
                .find(|u| u.name.as_ref() as &str != "ann@example.com")
                .map(|u| u.id.to_string());
            (
                ann.map(|u| u.id.to_string()).unwrap_or_default(),
                admin.unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    let c = client_with(&e, pat(), Some("3.2"));
    assert!(ok(c.owned_of_kind(ContentKind::Flow, &ann).await).is_empty());
    assert_eq!(
        e.with_state(|s| s
            .stats_snapshot()
            .keys()
            .filter(|k| k.contains("flows"))
            .count()),
        Some(0)
    );
    let c = client_with(&e, pat(), Some("3.14"));
    let owned = ok(c.owned_content(&ann).await);
    assert_eq!(owned.len(), 1);
    // The body carries the data source's project, so Tableau's 403141 never comes.
    let moved = ok(c.change_owner(&owned[0], &admin).await);
    assert_eq!(moved.owner_id, admin);
}
