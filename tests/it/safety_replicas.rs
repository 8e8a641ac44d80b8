//! The breaker on three replicas of one PostgreSQL store: one window and one set of holds for
//! all (an IdP round-robin over them cannot slip past the threshold), `kill -9` of a replica
//! while the breaker is open releases nothing, and `tableau-scim holds` decides for every
//! replica.

use crate::common;

use common::flows::Provisioned;
use common::id;
use common::replicas::{site, Replicas};
use reqwest::{Method, StatusCode};
use serde_json::json;

const SAFETY: &str = "[tenants.safety]\nmax_changes = 5\nmax_share = 0.0\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_share_one_window_and_its_holds_through_kill_9_and_the_command_line() {
    let mut r = Replicas::start(site(), 3, SAFETY).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let (s, u) = r
            .idp
            .call(
                Method::POST,
                "/Users",
                Some(json!({"userName": format!("rr{i:02}@example.com")})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        ids.push(id(&u));
    }
    let deactivate = json!({"Operations": [{"op": "replace", "value": {"active": false}}]});
    let mut statuses = Vec::new();
    for uid in &ids {
        let (s, _) = r
            .idp
            .call(
                Method::PATCH,
                &format!("/Users/{uid}"),
                Some(deactivate.clone()),
            )
            .await;
        statuses.push(s.as_u16());
    }
    assert_eq!(
        statuses,
        [vec![200; 5], vec![503; 7]].concat(),
        "one window for the three replicas"
    );
    let unlicensed = |r: &Replicas| {
        (0..12)
            .filter(|i| r.role(&format!("rr{i:02}@example.com")).as_deref() == Some("Unlicensed"))
            .count()
    };
    assert_eq!(unlicensed(&r), 5);
    // kill -9 of a replica while the breaker is open; it comes back on the same store.
    r.kill(0);
    r.restart(0).await;
    for i in 0..3 {
        let (s, e) = r
            .idp_of(i)
            .call(
                Method::PATCH,
                &format!("/Users/{}", ids[11]),
                Some(deactivate.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "replica {i}: {e}");
    }
    assert_eq!(unlicensed(&r), 5, "nothing released by a restart");
    let (code, out) = r.command(1, &["holds", "list"]);
    assert_eq!(code, 1, "the breaker is open: {out}");
    assert_eq!(
        out.lines().filter(|l| l.contains("\theld\t")).count(),
        7,
        "{out}"
    );
    let (code, out) = r.command(2, &["holds", "release", "--by", "oncall@example.com"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.lines().filter(|l| l.ends_with("\tok")).count(),
        7,
        "{out}"
    );
    assert_eq!(unlicensed(&r), 12);
    let (code, out) = r.command(0, &["holds", "list"]);
    assert_eq!(code, 0, "closed: {out}");
    for i in 0..3 {
        let (s, u) = r
            .idp_of(i)
            .call(
                Method::PATCH,
                &format!("/Users/{}", ids[10]),
                Some(deactivate.clone()),
            )
            .await;
        assert_eq!(
            (s, u["active"].clone()),
            (StatusCode::OK, json!(false)),
            "replica {i}"
        );
    }
}
