//! The Tableau session the replicas share is stored sealed: whoever reads the database (a
//! backup, a dump) finds no live token, and a row a replica cannot open (sealed under another
//! credential, or stored in clear by an earlier version) makes it sign in itself.

use crate::common;

use common::flows::Provisioned;
use common::replicas::{site, Replicas};
use reqwest::StatusCode;

const SIGN_IN: &str = "POST /auth/signin";

/// Every row of the replicas' shared sessions: (key, stored token).
async fn session_rows(url: &str) -> Vec<(String, String)> {
    common::postgres::connect(url)
        .await
        .query("SELECT session_key, token FROM tableau_sessions", &[])
        .await
        .expect("the sessions table is read")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

async fn set_stored_token(url: &str, token: &str) {
    common::postgres::connect(url)
        .await
        .execute("UPDATE tableau_sessions SET token = $1", &[&token])
        .await
        .expect("the stored token is replaced");
}

fn live_tokens(r: &Replicas) -> Vec<String> {
    r.emulator
        .with_state(|s| s.session_tokens())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_shared_session_is_stored_sealed_and_a_row_that_does_not_open_is_replaced() {
    let mut r = Replicas::start(site(), 3, "").await;
    // Replica 0 signs in (a list needs Tableau's users) and stores the session.
    let (s, _) = r.idp_of(0).get("/Users?count=5").await;
    assert_eq!(s, StatusCode::OK);
    let live = live_tokens(&r);
    assert_eq!(live.len(), 1, "one session");
    let rows = session_rows(&r.store_url).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (_, stored) = &rows[0];
    assert!(stored.starts_with("sealed:v1:"), "{stored}");
    assert!(
        !stored.contains(&live[0]),
        "the live token is not in the store"
    );
    // Replica 1 opens it: no sign-in of its own, still one session.
    r.reset_calls();
    let (s, _) = r.idp_of(1).get("/Users?count=5").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r.calls(SIGN_IN), 0, "the sealed session is shared");
    // A row in clear (as an earlier version stored it) is not used, though its token is live:
    // replica 2, started again with no session in memory, signs in and seals its own over it.
    r.kill(2);
    set_stored_token(&r.store_url, &live[0]).await;
    r.reset_calls();
    r.restart(2).await;
    let (s, _) = r.idp_of(2).get("/Users?count=5").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r.calls(SIGN_IN), 1, "a clear row is not a session to use");
    let live = live_tokens(&r);
    let rows = session_rows(&r.store_url).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].1.starts_with("sealed:v1:"), "{rows:?}");
    assert!(live.iter().all(|l| !rows[0].1.contains(l)), "{rows:?}");
    // The others, whose session that sign-in ended, take the newly sealed one.
    r.reset_calls();
    for i in 0..2 {
        let (s, _) = r.idp_of(i).get("/Users?count=5").await;
        assert_eq!(s, StatusCode::OK, "replica {i}");
    }
    assert_eq!(
        r.calls(SIGN_IN),
        0,
        "the new sealed session serves the others"
    );
    // A replica given a session key of its own (`[server] session_key_file`; the others have
    // none) cannot open what they sealed: it signs in itself.
    r.kill(1);
    r.reset_calls();
    r.restart_with(
        1,
        &[(
            "TABLEAU_SCIM_SESSION_KEY",
            "another-session-key-0123456789abcdef",
        )],
    )
    .await;
    let (s, _) = r.idp_of(1).get("/Users?count=5").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r.calls(SIGN_IN), 1, "without the key, a sign-in of its own");
}
