use serde_json::json;

use super::*;

#[test]
fn only_becoming_an_administrator_is_a_grant() {
    use crate::tableau::SiteRole::*;
    assert!(grants_admin(Some(Viewer), Some(SiteAdministratorCreator)));
    assert!(grants_admin(None, Some(ServerAdministrator)));
    assert!(!grants_admin(
        Some(SiteAdministratorExplorer),
        Some(SiteAdministratorCreator)
    ));
    assert!(!grants_admin(Some(Viewer), Some(Creator)));
    assert!(!grants_admin(Some(SiteAdministratorCreator), None));
}

#[test]
fn the_threshold_is_the_larger_of_the_count_and_the_share() {
    let s = Safety::default();
    assert_eq!(threshold(&s, 0), 20);
    assert_eq!(threshold(&s, 100), 20, "a small site: the count");
    assert_eq!(threshold(&s, 10_000), 500, "a large one: 5%");
    assert_eq!(threshold(&s, 401), 21, "a share is rounded up");
}

#[test]
fn the_breaker_holds_past_the_threshold_and_while_anything_is_held() {
    let s = Safety::default();
    assert_eq!(verdict(&s, 19, 0, 100, 1), Verdict::Apply);
    assert_eq!(verdict(&s, 20, 0, 100, 1), Verdict::Hold);
    assert_eq!(
        verdict(&s, 0, 1, 100, 1),
        Verdict::Hold,
        "open until decided"
    );
    // A group's members removed at once weigh one each: 15 fit after 5, 16 do not, and 21
    // alone are a mass change.
    assert_eq!(verdict(&s, 5, 0, 100, 15), Verdict::Apply);
    assert_eq!(verdict(&s, 5, 0, 100, 16), Verdict::Hold);
    assert_eq!(verdict(&s, 0, 0, 100, 21), Verdict::Hold);
    assert_eq!(removal_weight(true, 7), 7);
    let mut w = MinuteCounts::default();
    w.add(60_000, 2);
    w.add(179_999, 1);
    w.add(180_000, 4);
    assert_eq!(w.since(0), 7);
    assert_eq!(
        w.since(120_500),
        5,
        "the minute since falls in counts whole"
    );
    assert_eq!(w.since(240_000), 0, "and older minutes are gone");
    w.reset_to(300_000, 3);
    assert_eq!(w.since(300_000), 3);
    w.reset_to(300_000, 0);
    assert_eq!(w, MinuteCounts::default());
    assert_eq!(
        removal_weight(false, 7),
        0,
        "a group that grants nothing loses members harmlessly"
    );
    let off = Safety {
        enabled: false,
        ..s
    };
    assert_eq!(verdict(&off, 1_000, 5, 100, 1), Verdict::Apply);
}

#[test]
fn a_held_update_keeps_only_what_it_changes_and_applies_onto_the_user_as_it_is_then() {
    let before = json!({"id": "u1", "userName": "ann", "active": true, "title": "Analyst",
        "meta": {"version": "W/\"1\""}});
    let desired = json!({"id": "u1", "userName": "ann", "active": false,
        "meta": {"version": "W/\"1\""}});
    let d = delta(&before, &desired);
    assert_eq!(d, json!({"active": false, "title": null}));
    let meanwhile = json!({"id": "u1", "userName": "ann", "active": true, "title": "Lead",
        "displayName": "Ann"});
    assert_eq!(
        apply_delta(&meanwhile, &d),
        json!({"id": "u1", "userName": "ann", "active": false, "displayName": "Ann"})
    );
}

#[test]
fn a_retry_is_recognised_by_its_fingerprint_and_a_decided_release_is_not_repeated() {
    let change = json!({"active": false});
    let fp = fingerprint("patch_user", "u1", &change);
    assert_eq!(fp, fingerprint("patch_user", "u1", &change));
    assert_ne!(fp, fingerprint("patch_user", "u2", &change));
    assert_ne!(
        fp,
        fingerprint("patch_user", "u1", &json!({"active": true}))
    );
    let hold = |seq, state| HoldRow {
        seq,
        kind: "User".into(),
        resource: "u1".into(),
        name: "ann".into(),
        operation: "patch_user".into(),
        summary: "deactivate 'ann' (Creator)".into(),
        change: change.clone(),
        fingerprint: fp.clone(),
        role_before: Some("Creator".into()),
        role_after: None,
        request_id: "r1".into(),
        at: "2026-12-02T00:00:00Z".into(),
        state,
        decided_by: None,
        outcome: None,
    };
    let holds = [hold(1, HoldState::Released), hold(2, HoldState::Held)];
    assert_eq!(repeated(&holds, &fp).map(|h| h.seq), Some(2));
    assert!(
        repeated(&holds[..1], &fp).is_none(),
        "released: the retry goes on, a no-op"
    );
    match held_error(&holds[1], 7) {
        ScimError::Held(detail, secs) => {
            assert!(
                detail.contains("hold 2") && detail.contains("7 destructive"),
                "{detail}"
            );
            assert_eq!(secs, RETRY_AFTER_SECS);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(blocked_error(&holds[1]), ScimError::Conflict(_)));
}
