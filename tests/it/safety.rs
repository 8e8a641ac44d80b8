//! The breaker of mass changes (`[tenants.safety]`): a group of 500 is unassigned in the IdP,
//! which deactivates its members one request at a time (Okta's and Entra ID's own shapes);
//! past the threshold the breaker opens, the rest is held (503 with Retry-After, the IdP's
//! retries too), an administrator releases (the bridge applies the held changes itself, the
//! IdP's later retries are answered as done) or blocks (the retries get a 409 naming the hold).

use crate::common;

use common::{fast_retry, id, Idp, Site};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tableau_scim::emulator::EmulatorConfig;
use tableau_scim::store::HoldState;

const TOKEN: &str = "safety-test-token";

fn site(max_changes: u64) -> Site {
    Site::start(
        EmulatorConfig::new("acme", "pat", "pat-secret"),
        TOKEN,
        |o| {
            o.tenant.retry = fast_retry();
            o.tenant.policy.safety.max_changes = max_changes;
            o.tenant.policy.safety.max_share = 0.0;
        },
    )
}

/// `n` members of the group the IdP will unassign, created in parallel as an IdP would.
async fn members(site: &Site, prefix: &str, n: usize) -> Vec<String> {
    let mut tasks = Vec::new();
    for w in 0..8 {
        let idp = site.idp.clone();
        let prefix = prefix.to_string();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in (w..n).step_by(8) {
                let (s, u) = idp
                    .call(
                        Method::POST,
                        "/Users",
                        Some(json!({"userName": format!("{prefix}{i:03}@example.com"), "active": true})),
                    )
                    .await;
                assert_eq!(s, StatusCode::CREATED, "{u}");
                ids.push((i, id(&u)));
            }
            ids
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("created"));
    }
    all.sort();
    all.into_iter().map(|(_, id)| id).collect()
}

/// Okta's deactivation (OIN: PATCH without a path).
fn okta_deactivate() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]})
}

/// Entra ID's deactivation of an unassigned user.
fn entra_deactivate() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
}

/// Deactivate every member, one request each, eight at once; the statuses in member order.
async fn unassign(idp: &Idp, ids: &[String], body: &Value) -> Vec<(StatusCode, Value)> {
    let mut out = Vec::new();
    for chunk in ids.chunks(8) {
        let mut tasks = Vec::new();
        for uid in chunk {
            let (idp, path, body) = (idp.clone(), format!("/Users/{uid}"), body.clone());
            tasks.push(tokio::spawn(async move {
                idp.call(Method::PATCH, &path, Some(body)).await
            }));
        }
        for t in tasks {
            out.push(t.await.expect("answered"));
        }
    }
    out
}

fn unlicensed(site: &Site, prefix: &str) -> usize {
    site.stack
        .emulator
        .with_state(|s| {
            s.user_names()
                .into_iter()
                .filter(|n| n.starts_with(prefix))
                .filter(|n| s.role_of(n).as_deref() == Some("Unlicensed"))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn okta_unassigning_500_is_held_past_the_threshold_and_a_release_applies_the_rest() {
    let site = site(20);
    let ids = members(&site, "okta", 500).await;
    let answers = unassign(&site.idp, &ids, &okta_deactivate()).await;
    let done = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let held: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::SERVICE_UNAVAILABLE)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(
        (done, held.len()),
        (20, 480),
        "the breaker opens at the threshold"
    );
    assert!(
        held[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Held by tableau-scim") && d.contains("deactivate 'okta")),
        "{}",
        held[0]
    );
    assert_eq!(
        unlicensed(&site, "okta"),
        20,
        "the users past it are untouched in Tableau"
    );
    // The IdP retries: held again, not held twice, nothing applied.
    site.reset_calls();
    let retry = site
        .idp
        .request(
            Method::PATCH,
            &format!("/Users/{}", ids[499]),
            Some(okta_deactivate()),
        )
        .await;
    assert_eq!(retry.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry.header("retry-after"), "3600");
    assert_eq!(site.calls("PUT /sites/{id}/users/{id}"), 0);
    let tenant = site.stack.tenant();
    let holds = tenant.holds().await.expect("holds");
    assert_eq!(holds.len(), 480, "one hold per change, retries included");
    assert!(holds
        .iter()
        .all(|h| h.state == HoldState::Held && h.request_id != "-"));
    // Creates, reads and harmless updates flow while it is open.
    let (s, _) = site
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "joiner@example.com"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = site.idp.get(&format!("/Users/{}", ids[300])).await;
    assert_eq!(s, StatusCode::OK);
    // An administrator releases: the bridge applies every held change, in order.
    let released = tenant
        .release_holds("admin@example.com")
        .await
        .expect("released");
    assert_eq!(released.len(), 480);
    assert!(
        released.iter().all(|d| d.outcome == "ok"),
        "{:?}",
        released.iter().find(|d| d.outcome != "ok")
    );
    assert_eq!(unlicensed(&site, "okta"), 500);
    assert!(!tenant.breaker_open().await.expect("state"));
    // The IdP's later retries find them done, with no Tableau call.
    site.reset_calls();
    for uid in &ids[20..40] {
        let (s, u) = site
            .idp
            .call(
                Method::PATCH,
                &format!("/Users/{uid}"),
                Some(okta_deactivate()),
            )
            .await;
        assert_eq!(
            (s, u["active"].clone()),
            (StatusCode::OK, json!(false)),
            "{u}"
        );
    }
    assert_eq!(
        site.calls("PUT /sites/{id}/users/{id}"),
        0,
        "nothing done twice"
    );
    let trail = tenant.audit_trail().await.expect("trail");
    assert_eq!(
        trail
            .iter()
            .filter(|r| r.outcome.contains("released by admin@example.com"))
            .count(),
        480
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn entra_unassigning_is_held_and_a_block_answers_its_retries_409() {
    let site = site(10);
    let ids = members(&site, "entra", 40).await;
    let answers = unassign(&site.idp, &ids, &entra_deactivate()).await;
    assert_eq!(
        answers.iter().filter(|(s, _)| *s == StatusCode::OK).count(),
        10
    );
    let tenant = site.stack.tenant();
    let blocked = tenant
        .block_holds("secops@example.com")
        .await
        .expect("blocked");
    assert_eq!(blocked.len(), 30);
    assert_eq!(unlicensed(&site, "entra"), 10);
    let (s, e) = site
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{}", ids[39]),
            Some(entra_deactivate()),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert!(
        e["detail"].as_str().is_some_and(
            |d| d.contains("Blocked by an administrator") && d.contains("secops@example.com")
        ),
        "{e}"
    );
    assert_eq!(
        unlicensed(&site, "entra"),
        10,
        "a blocked change is never applied"
    );
    // The window restarted: another deactivation goes through.
    let (s, _) = site
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "later@example.com"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reactivation_cancels_a_held_deactivation_and_a_released_delete_is_done_on_retry() {
    let site = site(1);
    let ids = members(&site, "mix", 4).await;
    let (s, _) = site
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{}", ids[0]),
            Some(okta_deactivate()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "the first goes through");
    let (s, _) = site
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{}", ids[1]),
            Some(okta_deactivate()),
        )
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    let (s, _) = site
        .idp
        .call(Method::DELETE, &format!("/Users/{}", ids[2]), None)
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "a delete is held too");
    // The admin fixed the assignment: the IdP reactivates the user it had deactivated.
    let (s, body) = site
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{}", ids[1]),
            Some(json!({"Operations": [{"op": "replace", "value": {"active": true}}]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let tenant = site.stack.tenant();
    let states: Vec<HoldState> = tenant
        .holds()
        .await
        .expect("holds")
        .iter()
        .map(|h| h.state)
        .collect();
    assert_eq!(states, [HoldState::Cancelled, HoldState::Held]);
    tenant.release_holds("admin").await.expect("released");
    assert_eq!(
        site.role("mix002@example.com"),
        None,
        "the delete was applied"
    );
    let (s, _) = site
        .idp
        .call(Method::DELETE, &format!("/Users/{}", ids[2]), None)
        .await;
    assert_eq!(
        s,
        StatusCode::NO_CONTENT,
        "the IdP's retry is answered as done"
    );
    assert_eq!(site.role("mix001@example.com").as_deref(), Some("Viewer"));
}

/// `approve_admin_grants`: making someone an administrator (a role change or a create) waits
/// for an administrator's approval; other changes, destructive ones included, flow meanwhile.
#[tokio::test(flavor = "multi_thread")]
async fn an_administrator_grant_waits_for_approval_and_does_not_open_the_breaker() {
    let site = Site::start(
        EmulatorConfig::new("acme", "pat", "pat-secret"),
        TOKEN,
        |o| {
            o.tenant.retry = fast_retry();
            o.tenant.policy.approve_admin_grants = true;
            o.tenant.roles = tableau_scim::bridge::mapping::roles::RoleMapping::new(
                [(
                    "admin".to_string(),
                    tableau_scim::tableau::SiteRole::SiteAdministratorCreator,
                )],
                [],
                tableau_scim::tableau::SiteRole::Viewer,
            );
        },
    );
    let ids = members(&site, "adm", 2).await;
    let grant =
        json!({"Operations": [{"op": "replace", "path": "roles", "value": [{"value": "admin"}]}]});
    let (s, e) = site
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{}", ids[0]),
            Some(grant.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{e}");
    assert!(
        e["detail"]
            .as_str()
            .is_some_and(|d| d.contains("for approval")),
        "{e}"
    );
    assert_eq!(site.role("adm000@example.com").as_deref(), Some("Viewer"));
    let (s, e) = site
        .idp
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "boss@example.com", "roles": [{"value": "admin"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{e}");
    assert_eq!(
        site.role("boss@example.com"),
        None,
        "nothing created before approval"
    );
    let (s, _) = site
        .idp
        .call(
            Method::PATCH,
            &format!("/Users/{}", ids[1]),
            Some(okta_deactivate()),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "a pending approval does not open the breaker"
    );
    let tenant = site.stack.tenant();
    assert!(!tenant.breaker_open().await.expect("state"));
    let approved = tenant
        .release_holds("security@example.com")
        .await
        .expect("approved");
    assert_eq!(approved.len(), 2);
    assert!(approved.iter().all(|d| d.outcome == "ok"), "{approved:?}");
    assert_eq!(
        site.role("adm000@example.com").as_deref(),
        Some("SiteAdministratorCreator")
    );
    assert_eq!(
        site.role("boss@example.com").as_deref(),
        Some("SiteAdministratorCreator")
    );
    let (s, _) = site
        .idp
        .call(Method::PATCH, &format!("/Users/{}", ids[0]), Some(grant))
        .await;
    assert_eq!(s, StatusCode::OK, "the IdP's retry finds it done");
}

/// Entra ID takes members out of a group that grants Creator (`group_roles`): each member
/// removed is a demotion, and the breaker counts it as one. Two removed are applied; four
/// more at once would take the window past five, so the whole PATCH is held, retried held,
/// and applied by the release; the IdP's later retry is done.
#[tokio::test(flavor = "multi_thread")]
async fn members_leaving_a_role_granting_group_count_one_each_and_a_held_removal_is_released() {
    let site = Site::start(
        EmulatorConfig::new("acme", "pat", "pat-secret"),
        TOKEN,
        |o| {
            o.tenant.retry = fast_retry();
            o.tenant.policy.safety.max_changes = 5;
            o.tenant.policy.safety.max_share = 0.0;
            o.tenant.roles = tableau_scim::bridge::mapping::roles::RoleMapping::new(
                [],
                [(
                    "Tableau Creators".to_string(),
                    tableau_scim::tableau::SiteRole::Creator,
                )],
                tableau_scim::tableau::SiteRole::Viewer,
            );
        },
    );
    let ids = members(&site, "creator", 8).await;
    let value: Vec<Value> = ids.iter().map(|m| json!({"value": m})).collect();
    let (s, g) = site
        .idp
        .call(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "Tableau Creators", "members": value})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let gid = id(&g);
    assert_eq!(
        site.role("creator000@example.com").as_deref(),
        Some("Creator")
    );
    let remove = |who: &[String]| {
        let value: Vec<Value> = who.iter().map(|m| json!({"value": m})).collect();
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Remove", "path": "members", "value": value}]})
    };
    let path = format!("/Groups/{gid}");
    let (s, _) = site
        .idp
        .call(Method::PATCH, &path, Some(remove(&ids[..2])))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "two demotions fit in the window");
    assert_eq!(
        site.role("creator000@example.com").as_deref(),
        Some("Viewer")
    );

    site.reset_calls();
    for attempt in 0..2 {
        let (s, e) = site
            .idp
            .call(Method::PATCH, &path, Some(remove(&ids[2..6])))
            .await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "attempt {attempt}: {e}");
        assert!(
            e["detail"].as_str().is_some_and(|d| d.contains("hold")),
            "{e}"
        );
    }
    assert_eq!(site.tableau_calls(), 0, "held before any Tableau call");
    assert_eq!(site.members("Tableau Creators").len(), 6);
    assert_eq!(
        site.role("creator002@example.com").as_deref(),
        Some("Creator")
    );
    let holds = site.stack.tenant().holds().await.expect("holds");
    assert_eq!(holds.len(), 1, "the retry is the same hold: {holds:?}");
    assert!(holds[0]
        .summary
        .contains("remove 4 members from 'Tableau Creators'"));

    let decided = site
        .stack
        .tenant()
        .release_holds("admin@example.com")
        .await
        .expect("released");
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0].outcome, "ok");
    assert_eq!(site.members("Tableau Creators").len(), 2);
    for i in 2..6 {
        assert_eq!(
            site.role(&format!("creator{i:03}@example.com")).as_deref(),
            Some("Viewer"),
            "demoted by the release"
        );
    }
    let (s, _) = site
        .idp
        .call(Method::PATCH, &path, Some(remove(&ids[2..6])))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "the IdP's retry finds it done");
    assert_eq!(site.members("Tableau Creators").len(), 2);
}
