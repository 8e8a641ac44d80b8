use serde_json::json;

use super::*;
use crate::tableau::model::Group;

fn ann() -> User {
    User {
        id: "s1".into(),
        name: "ann@example.com".into(),
        site_role: "Creator".into(),
        full_name: Some("Ann Lee".into()),
        email: Some("ann@example.com".into()),
        auth_setting: Some("SAML".into()),
        ..User::default()
    }
}

#[test]
fn a_new_user_name_is_a_move_and_a_new_letter_case_is_not() {
    let u = ann();
    let to = json!({"userName": "ann.lee@example.com"});
    assert_eq!(rename_target(&u, None, &to), Some("ann.lee@example.com"));
    let case = json!({"userName": "Ann@Example.com"});
    assert_eq!(rename_target(&u, None, &case), None);
    assert_eq!(rename_target(&u, None, &json!({})), None);
}

#[test]
fn the_job_keeps_the_role_and_sign_in_and_takes_the_new_email() {
    let desired = json!({"userName": "ann.lee@example.com",
        "emails": [{"value": "ann.lee@example.com", "primary": true}]});
    let job = plan_move(
        "s1",
        &ann(),
        "t1",
        "ann.lee@example.com",
        &desired,
        &Policy::default(),
        "2026-12-02T00:00:00Z",
    );
    assert_eq!(job.from_id, "t1");
    assert_eq!(job.step, MoveStep::Add);
    assert_eq!(job.site_role, "Creator");
    assert_eq!(job.auth_setting.as_deref(), Some("SAML"));
    assert_eq!(job.idp_configuration_id, None);
    assert_eq!(job.email.as_deref(), Some("ann.lee@example.com"));
    let add = new_user(&job);
    assert_eq!(add.name, "ann.lee@example.com");
    assert_eq!(add.site_role, SiteRole::Creator);
}

#[test]
fn an_idp_configuration_is_kept_alone() {
    let u = User {
        auth_setting: None,
        idp_configuration_id: Some("cfg-1".into()),
        ..ann()
    };
    let policy = Policy {
        auth_setting: Some("OpenID".into()),
        ..Policy::default()
    };
    let job = plan_move("s1", &u, "s1", "b@example.com", &json!({}), &policy, "t");
    assert_eq!(job.idp_configuration_id.as_deref(), Some("cfg-1"));
    assert_eq!(job.auth_setting, None, "never both in one Add User");
    assert_eq!(
        job.email.as_deref(),
        Some("ann@example.com"),
        "the old email without a new one"
    );
}

#[test]
fn a_lower_role_from_add_user_is_a_refused_seat() {
    let job = plan_move(
        "s1",
        &ann(),
        "s1",
        "b@example.com",
        &json!({}),
        &Policy::default(),
        "t",
    );
    let mut added = User {
        id: "t2".into(),
        name: "b@example.com".into(),
        site_role: "Creator".into(),
        ..User::default()
    };
    assert!(!seat_refused(&job, &added));
    added.site_role = "Unlicensed".into();
    assert!(seat_refused(&job, &added));
    assert!(matches!(seat_refusal(&job), ScimError::Conflict(_)));
}

#[test]
fn server_gets_the_names_add_user_cannot_carry_and_cloud_none() {
    let job = plan_move(
        "s1",
        &ann(),
        "s1",
        "b@example.com",
        &json!({}),
        &Policy::default(),
        "t",
    );
    let added = User {
        id: "t2".into(),
        name: "b@example.com".into(),
        site_role: "Creator".into(),
        ..User::default()
    };
    let upd = completion(&job, &added, Deployment::Server);
    assert_eq!(upd.full_name.as_deref(), Some("Ann Lee"));
    assert_eq!(upd.email.as_deref(), Some("ann@example.com"));
    assert!(completion(&job, &added, Deployment::Cloud).is_empty());
}

#[test]
fn the_signed_in_account_and_an_unassignable_role_cannot_move() {
    assert!(check_move(&ann(), "admin", "s1").is_ok());
    assert!(check_move(&ann(), "s1", "s1").is_err());
    let server_admin = User {
        site_role: "ServerAdministrator".into(),
        ..ann()
    };
    let unassignable = SiteRole::ServerAdministrator.is_assignable();
    assert_eq!(
        check_move(&server_admin, "admin", "s1").is_ok(),
        unassignable
    );
}

#[test]
fn steps_go_in_order_and_the_switch_is_last() {
    let mut s = MoveStep::Add;
    let mut seen = vec![s];
    while s != MoveStep::Switch {
        s = next_step(s);
        seen.push(s);
    }
    assert_eq!(
        seen,
        [
            MoveStep::Add,
            MoveStep::Groups,
            MoveStep::Content,
            MoveStep::Remove,
            MoveStep::Switch
        ]
    );
}

#[test]
fn all_users_is_not_joined() {
    let g = |id: &str, name: &str| Group {
        id: id.into(),
        name: name.into(),
        ..Group::default()
    };
    let groups = [g("a", "All Users"), g("f", "Finance"), g("m", "Marketing")];
    assert_eq!(groups_to_join(&groups), ["f", "m"]);
}
