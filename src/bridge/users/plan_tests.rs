//! Every rule of the user plans, without HTTP or the emulator.

use serde_json::{json, Value};

use super::*;
use crate::bridge::fixtures::user;
use crate::bridge::mapping::user_row;

const AT: &str = "2026-03-01T00:00:00.000Z";

/// A resource as the IdP sends it for Ann, with `extra` merged in.
fn resource(extra: Value) -> Value {
    let mut r = json!({"userName": "ann@example.com", "name": {"formatted": "Ann Lee"},
                       "emails": [{"value": "ann@example.com", "primary": true}]});
    if let (Some(o), Value::Object(e)) = (r.as_object_mut(), extra) {
        o.extend(e);
    }
    r
}

/// The row we hold after the IdP wrote `resource(extra)`, with a remembered role.
fn row(extra: Value, restore: Option<&str>) -> UserRow {
    let mut r = user_row(
        "u1",
        "ann@example.com",
        &resource(extra),
        None,
        restore.map(str::to_string),
        "2026-01-01T00:00:00.000Z",
    );
    r.last_modified = "2026-02-01T00:00:00.000Z".into();
    r
}

fn change<'a>(
    current: &'a User,
    row: Option<&'a UserRow>,
    desired: &'a Value,
    mapped: Option<SiteRole>,
) -> UserChange<'a> {
    UserChange {
        current,
        row,
        desired,
        mapped,
        default_role: SiteRole::Viewer,
        deployment: Deployment::Server,
        operation: Operation::PatchUser,
        at: AT,
    }
}

fn plan(c: &UserChange<'_>) -> UserPlan {
    match plan_update(c) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

/// One role transition: the state before, what the IdP sends, and what must follow.
struct Transition {
    what: &'static str,
    /// Tableau's role now.
    role: &'static str,
    /// `active` in the row (None: no row, the user was never written through us).
    row_active: Option<bool>,
    /// The role remembered in the row.
    restore: Option<&'static str>,
    /// `active` the IdP sends.
    active: bool,
    /// What the IdP's roles map to.
    mapped: Option<SiteRole>,
    /// The role Update User must set (None: no role in the update).
    set_role: Option<SiteRole>,
    /// The role remembered afterwards.
    remembered: Option<&'static str>,
}

const TRANSITIONS: &[Transition] = &[
    Transition {
        what: "active stays active without roles: the role is left alone",
        role: "Creator",
        row_active: Some(true),
        restore: None,
        active: true,
        mapped: None,
        set_role: None,
        remembered: None,
    },
    Transition {
        what: "active with roles mapping to the role it has: nothing to set",
        role: "Explorer",
        row_active: Some(true),
        restore: None,
        active: true,
        mapped: Some(SiteRole::Explorer),
        set_role: None,
        remembered: None,
    },
    Transition {
        what: "active with roles mapping to another role: a role change",
        role: "Viewer",
        row_active: Some(true),
        restore: None,
        active: true,
        mapped: Some(SiteRole::Creator),
        set_role: Some(SiteRole::Creator),
        remembered: None,
    },
    Transition {
        what: "deactivation: Unlicensed, and the role is remembered",
        role: "Creator",
        row_active: Some(true),
        restore: None,
        active: false,
        mapped: Some(SiteRole::Creator),
        set_role: Some(SiteRole::Unlicensed),
        remembered: Some("Creator"),
    },
    Transition {
        what: "deactivation of a user already Unlicensed (no seat): the old memory is kept",
        role: "Unlicensed",
        row_active: Some(true),
        restore: Some("Explorer"),
        active: false,
        mapped: None,
        set_role: None,
        remembered: Some("Explorer"),
    },
    Transition {
        what: "deactivation of a pre-existing user we never wrote",
        role: "ExplorerCanPublish",
        row_active: None,
        restore: None,
        active: false,
        mapped: None,
        set_role: Some(SiteRole::Unlicensed),
        remembered: Some("ExplorerCanPublish"),
    },
    Transition {
        what: "deactivating an inactive user again: nothing changes, the memory stays",
        role: "Unlicensed",
        row_active: Some(false),
        restore: Some("Creator"),
        active: false,
        mapped: None,
        set_role: None,
        remembered: Some("Creator"),
    },
    Transition {
        what: "deactivation of a role Tableau has but we do not know: nothing to remember",
        role: "SomeFutureRole",
        row_active: Some(true),
        restore: Some("Viewer"),
        active: false,
        mapped: None,
        set_role: Some(SiteRole::Unlicensed),
        remembered: None,
    },
    Transition {
        what: "reactivation with roles: the mapped role wins over the remembered one",
        role: "Unlicensed",
        row_active: Some(false),
        restore: Some("Creator"),
        active: true,
        mapped: Some(SiteRole::Explorer),
        set_role: Some(SiteRole::Explorer),
        remembered: Some("Creator"),
    },
    Transition {
        what: "reactivation without roles: the remembered role comes back",
        role: "Unlicensed",
        row_active: Some(false),
        restore: Some("Creator"),
        active: true,
        mapped: None,
        set_role: Some(SiteRole::Creator),
        remembered: Some("Creator"),
    },
    Transition {
        what: "reactivation with nothing remembered: the default role",
        role: "Unlicensed",
        row_active: Some(false),
        restore: None,
        active: true,
        mapped: None,
        set_role: Some(SiteRole::Viewer),
        remembered: None,
    },
    Transition {
        what: "reactivation remembering a role we never set: the default role",
        role: "Unlicensed",
        row_active: Some(false),
        restore: Some("ServerAdministrator"),
        active: true,
        mapped: None,
        set_role: Some(SiteRole::Viewer),
        remembered: Some("ServerAdministrator"),
    },
    Transition {
        what: "reactivation remembering garbage: the default role",
        role: "Unlicensed",
        row_active: Some(false),
        restore: Some("not a role"),
        active: true,
        mapped: None,
        set_role: Some(SiteRole::Viewer),
        remembered: Some("not a role"),
    },
    Transition {
        what: "a pre-existing Unlicensed user made active: reactivation to the default",
        role: "Unlicensed",
        row_active: None,
        restore: None,
        active: true,
        mapped: None,
        set_role: Some(SiteRole::Viewer),
        remembered: None,
    },
    Transition {
        what: "reactivation to the role the user already holds: nothing to set",
        role: "Viewer",
        row_active: Some(false),
        restore: Some("Viewer"),
        active: true,
        mapped: None,
        set_role: None,
        remembered: Some("Viewer"),
    },
];

#[test]
fn every_role_transition() {
    for t in TRANSITIONS {
        let current = user(t.role);
        let stored = t.row_active.map(|a| row(json!({"active": a}), t.restore));
        let desired = resource(json!({"active": t.active}));
        let p = plan(&change(&current, stored.as_ref(), &desired, t.mapped));
        assert_eq!(p.update.site_role, t.set_role, "{}: role", t.what);
        let after = p.row.as_ref().or(stored.as_ref());
        assert_eq!(
            after.and_then(|r| r.restore_role.as_deref()),
            t.remembered,
            "{}: remembered role",
            t.what
        );
        let known = current.role().map(|r| r.as_str().to_string());
        let role_after = t.set_role.map(|r| r.as_str().to_string()).or(known.clone());
        let audit = p
            .audit
            .as_ref()
            .map(|a| (a.role_before.clone(), a.role_after.clone()));
        if p.row.is_some() {
            assert_eq!(audit, Some((known, role_after)), "{}: audit roles", t.what);
        } else {
            assert!(
                p.update.is_empty() && audit.is_none(),
                "{}: no change",
                t.what
            );
        }
    }
}

#[test]
fn nothing_changed_means_no_call_no_write_no_audit() {
    let current = user("Viewer");
    let stored = row(json!({"active": true, "nickName": "A"}), Some("Creator"));
    let desired = resource(json!({"active": true, "nickName": "A"}));
    let p = plan(&change(
        &current,
        Some(&stored),
        &desired,
        Some(SiteRole::Viewer),
    ));
    assert!(p.update.is_empty());
    assert_eq!((p.row, p.audit), (None, None));
}

#[test]
fn a_store_only_change_writes_the_row_and_is_audited_without_a_tableau_call() {
    let current = user("Viewer");
    let stored = row(json!({"nickName": "A"}), None);
    for desired in [
        resource(json!({"nickName": "B"})),
        resource(json!({"nickName": "A", "externalId": "ext-2"})),
    ] {
        let p = plan(&change(&current, Some(&stored), &desired, None));
        assert!(p.update.is_empty(), "{desired}");
        let r = p.row.as_ref().expect("a row");
        assert_eq!(r.created, stored.created, "created is kept");
        assert_eq!(r.last_modified, AT);
        assert_eq!(r.external_id.as_deref(), desired["externalId"].as_str());
        assert_eq!(
            p.audit.map(|a| (a.operation, a.role_before, a.role_after)),
            Some((
                Operation::PatchUser,
                Some("Viewer".to_string()),
                Some("Viewer".to_string())
            ))
        );
    }
}

#[test]
fn a_user_we_never_wrote_is_adopted_on_its_first_write() {
    let current = user("Explorer");
    let desired = resource(json!({}));
    let p = plan(&change(&current, None, &desired, None));
    assert!(p.update.is_empty(), "same name and email as Tableau holds");
    assert_eq!(p.row.map(|r| r.created), Some(AT.to_string()));
}

#[test]
fn full_name_and_email_are_sent_only_when_they_differ() {
    let current = user("Viewer");
    let stored = row(json!({}), None);
    let desired = resource(json!({"name": {"givenName": "Ann", "familyName": "Smith"},
                                  "emails": [{"value": "ann@example.com"}]}));
    let p = plan(&change(&current, Some(&stored), &desired, None));
    assert_eq!(p.update.full_name.as_deref(), Some("Ann Smith"));
    assert_eq!(p.update.email, None);
}

#[test]
fn on_tableau_cloud_the_full_name_and_email_stay_in_the_store() {
    let current = user("Viewer");
    let stored = row(json!({}), None);
    let desired = resource(json!({"name": {"formatted": "Ann Smith"},
                                  "emails": [{"value": "ann.smith@example.com"}]}));
    let cloud = UserChange {
        deployment: Deployment::Cloud,
        ..change(&current, Some(&stored), &desired, None)
    };
    let p = plan(&cloud);
    assert!(
        p.update.is_empty(),
        "Update User carries neither on Cloud (Tableau's Postman collection: only siteRole and authSetting): {:?}",
        p.update
    );
    let row = p.row.map(|r| r.attributes.clone()).unwrap_or_default();
    assert_eq!(
        (row["name"].clone(), row["emails"].clone()),
        (
            json!({"formatted": "Ann Smith"}),
            json!([{"value": "ann.smith@example.com"}])
        ),
        "the IdP's name and email are kept and served from the store"
    );
}

#[test]
fn a_rename_is_refused_everywhere_and_a_case_change_is_not_a_rename() {
    let current = user("Viewer");
    let stored = row(json!({}), None);
    let mut desired = resource(json!({}));
    desired["userName"] = "ann.lee@example.com".into();
    for deployment in [Deployment::Server, Deployment::Cloud] {
        let c = UserChange {
            deployment,
            ..change(&current, Some(&stored), &desired, None)
        };
        match plan_update(&c) {
            Err(ScimError::Mutability(m)) => {
                assert!(
                    m.contains("'ann@example.com' to 'ann.lee@example.com'")
                        && m.contains("provision a new one"),
                    "{m}"
                );
            }
            other => panic!("expected 400 mutability, got {other:?}"),
        }
    }
    let mut cased = resource(json!({}));
    cased["userName"] = "Ann@Example.COM".into();
    let p = plan(&change(&current, Some(&stored), &cased, None));
    assert!(
        p.update.is_empty() && p.row.is_none(),
        "nothing to change: {p:?}"
    );
}

#[test]
fn renames_and_unknown_roles_are_refused_before_any_tableau_call() {
    let roles = RoleMapping::new([], [], SiteRole::Viewer);
    let current = user("Viewer");
    let mut renamed = resource(json!({}));
    renamed["userName"] = "other@example.com".into();
    assert!(matches!(
        check_update(&current, None, &renamed, &roles),
        Err(ScimError::Mutability(_))
    ));
    let bad_role = resource(json!({"roles": [{"value": "wizard"}]}));
    assert!(matches!(
        check_update(&current, None, &bad_role, &roles),
        Err(ScimError::InvalidValue(_))
    ));
    let fine = resource(json!({"roles": [{"value": "creator"}]}));
    assert!(check_update(&current, None, &fine, &roles).is_ok());
}

#[test]
fn a_name_changed_in_tableau_behind_our_back_is_written_to_the_row() {
    let mut current = user("Viewer");
    current.name = "ann.renamed@example.com".into();
    let stored = row(json!({}), None);
    let mut desired = resource(json!({}));
    desired["userName"] = "ann.renamed@example.com".into();
    let p = plan(&change(&current, Some(&stored), &desired, None));
    assert_eq!(
        p.row.map(|r| r.user_name),
        Some("ann.renamed@example.com".to_string())
    );
}

#[test]
fn the_signed_in_account_is_read_only_through_scim() {
    let me = user("SiteAdministratorCreator");
    let demote = UserUpdate {
        site_role: Some(SiteRole::Viewer),
        ..UserUpdate::default()
    };
    match check_own_role(&me, &demote, "u1") {
        Err(ScimError::Mutability(m)) => {
            assert!(
                m.contains("'ann@example.com' is the account tableau-scim signs in"),
                "{m}"
            );
        }
        other => panic!("expected 400 mutability, got {other:?}"),
    }
    assert!(check_own_role(&me, &demote, "someone-else").is_ok());
    let rename_only = UserUpdate {
        email: Some("a@x".into()),
        ..UserUpdate::default()
    };
    assert!(
        matches!(check_own_role(&me, &rename_only, "u1"),
            Err(ScimError::Mutability(m)) if m.contains("read-only through SCIM")),
        "its email is not the IdP's to change either"
    );
    assert!(
        check_own_role(&me, &UserUpdate::default(), "u1").is_ok(),
        "nothing to send"
    );
    assert!(matches!(
        check_own_removal(&me, "u1"),
        Err(ScimError::Mutability(m)) if m.contains("'ann@example.com'")
    ));
    assert!(check_own_removal(&me, "someone-else").is_ok());
}

#[test]
fn roles_map_from_values_and_granting_groups_and_unknown_values_are_refused() {
    let roles = RoleMapping::new(
        [("analyst".to_string(), SiteRole::Explorer)],
        [("Tableau Creators".to_string(), SiteRole::Creator)],
        SiteRole::Viewer,
    );
    let r = |v: Value| json!({"roles": v});
    let none: &[String] = &[];
    assert_eq!(mapped_role(&roles, &json!({}), none).ok(), Some(None));
    assert_eq!(
        mapped_role(&roles, &r(json!([{"value": " "}])), none).ok(),
        Some(None)
    );
    assert_eq!(
        mapped_role(&roles, &r(json!([{"value": "Analyst"}])), none).ok(),
        Some(Some(SiteRole::Explorer))
    );
    let grants = ["tableau creators".to_string()];
    assert_eq!(
        mapped_role(&roles, &r(json!([{"value": "analyst"}])), &grants).ok(),
        Some(Some(SiteRole::Creator)),
        "the most privileged wins"
    );
    assert_eq!(
        mapped_role(&roles, &json!({}), &grants).ok(),
        Some(Some(SiteRole::Creator))
    );
    match mapped_role(&roles, &r(json!([{"value": "wizard"}])), none) {
        Err(ScimError::InvalidValue(m)) => assert!(m.contains("wizard"), "{m}"),
        other => panic!("expected invalidValue, got {other:?}"),
    }
}

#[test]
fn a_create_asks_for_the_mapped_role_or_the_default_and_inactive_is_unlicensed() {
    let policy = Policy {
        auth_setting: Some("SAML".into()),
        ..Policy::default()
    };
    let input = resource(json!({}));
    let p = plan_create(&input, Some(SiteRole::Creator), SiteRole::Viewer, &policy);
    assert_eq!(p.requested, SiteRole::Creator);
    assert_eq!(
        p.user,
        NewUser {
            name: "ann@example.com".into(),
            site_role: SiteRole::Creator,
            auth_setting: Some("SAML".into()),
            idp_configuration_id: None,
            email: Some("ann@example.com".into()),
        }
    );
    let p = plan_create(&input, None, SiteRole::Explorer, &policy);
    assert_eq!(p.requested, SiteRole::Explorer);
    let inactive = resource(json!({"active": false}));
    let p = plan_create(
        &inactive,
        Some(SiteRole::Creator),
        SiteRole::Viewer,
        &policy,
    );
    assert_eq!(p.user.site_role, SiteRole::Unlicensed);
}

#[test]
fn a_revived_user_gets_only_what_differs() {
    let existing = user("Unlicensed");
    let input = resource(json!({"name": {"formatted": "Ann B. Lee"}}));
    let upd = plan_revive(&existing, &input, SiteRole::Creator, Deployment::Server);
    assert_eq!(upd.site_role, Some(SiteRole::Creator));
    assert_eq!(upd.full_name.as_deref(), Some("Ann B. Lee"));
    assert_eq!(upd.email, None);
    let same = plan_revive(
        &user("Creator"),
        &resource(json!({})),
        SiteRole::Creator,
        Deployment::Server,
    );
    assert!(same.is_empty());
}

#[test]
fn a_group_granted_role_follows_the_groups_for_active_users_only() {
    let roles = RoleMapping::new(
        [],
        [("Tableau Creators".to_string(), SiteRole::Creator)],
        SiteRole::Viewer,
    );
    let grants = ["Tableau Creators".to_string()];
    let active = row(json!({"active": true}), None);
    let reeval = |u: &User, r: Option<&UserRow>, g: &[String]| {
        plan_role_reevaluation(u, r, g, &roles).map_err(|e| e.to_string())
    };
    assert_eq!(
        reeval(&user("Viewer"), Some(&active), &grants),
        Ok(Some(SiteRole::Creator))
    );
    assert_eq!(
        reeval(&user("Creator"), Some(&active), &grants),
        Ok(None),
        "already"
    );
    assert_eq!(
        reeval(&user("Creator"), Some(&active), &[]),
        Ok(Some(SiteRole::Viewer)),
        "left the group: back to what the roles say, else the default"
    );
    let with_roles = row(json!({"roles": [{"value": "Explorer"}]}), None);
    assert_eq!(
        reeval(&user("Creator"), Some(&with_roles), &[]),
        Ok(Some(SiteRole::Explorer))
    );
    let inactive = row(json!({"active": false}), Some("Viewer"));
    assert_eq!(
        reeval(&user("Unlicensed"), Some(&inactive), &grants),
        Ok(None)
    );
    assert_eq!(
        reeval(&user("Unlicensed"), None, &grants),
        Ok(None),
        "a pre-existing Unlicensed user is inactive"
    );
    assert_eq!(
        reeval(&user("Viewer"), None, &grants),
        Ok(Some(SiteRole::Creator))
    );
}

#[test]
fn the_license_policy_judges_a_lower_role() {
    let downgrade = Policy::default();
    let reject = Policy {
        on_license_exhausted: OnLicenseExhausted::Reject,
        ..Policy::default()
    };
    let reject_remove = Policy {
        rejected_user: RejectedUser::Remove,
        ..reject.clone()
    };
    use LicenseVerdict::*;
    let (new_user, existing) = (true, false);
    let cases = [
        (
            SiteRole::Creator,
            SiteRole::Creator,
            &reject,
            new_user,
            Granted,
        ),
        (
            SiteRole::Explorer,
            SiteRole::Creator,
            &reject,
            existing,
            Granted,
        ),
        (
            SiteRole::Creator,
            SiteRole::Unlicensed,
            &downgrade,
            new_user,
            Downgraded,
        ),
        (
            SiteRole::Creator,
            SiteRole::Viewer,
            &downgrade,
            existing,
            Downgraded,
        ),
        (
            SiteRole::Creator,
            SiteRole::Unlicensed,
            &reject,
            new_user,
            Refused { remove_user: false },
        ),
        (
            SiteRole::Creator,
            SiteRole::Unlicensed,
            &reject_remove,
            new_user,
            Refused { remove_user: true },
        ),
        (
            SiteRole::Creator,
            SiteRole::Unlicensed,
            &reject_remove,
            existing,
            Refused { remove_user: false },
        ),
    ];
    for (requested, granted, policy, new, want) in cases {
        assert_eq!(
            license_verdict(requested, granted, policy, new),
            want,
            "{requested} got {granted}, new user {new}"
        );
    }
    // Update User's 409014 leaves whatever role the user had: only the policy decides.
    assert_eq!(shortfall_verdict(&downgrade, false), Downgraded);
    assert_eq!(
        shortfall_verdict(&reject_remove, false),
        Refused { remove_user: false }
    );
    let msg = license_refusal(SiteRole::SiteAdministratorCreator, LicenseLeft::Removed).to_string();
    assert!(
        msg.contains("no Creator license") && msg.contains("removed again"),
        "{msg}"
    );
    let msg = license_refusal(SiteRole::Explorer, LicenseLeft::Unlicensed).to_string();
    assert!(
        msg.contains("no Explorer license") && msg.contains("Unlicensed"),
        "{msg}"
    );
    let msg = license_refusal(SiteRole::Viewer, LicenseLeft::Unchanged).to_string();
    assert!(msg.contains("keeps the site role they had"), "{msg}");
}

#[test]
fn deprovisioning_removes_or_keeps_unlicensed_as_the_policy_says() {
    let remove = Policy {
        map_assets_to: Some("owner-id".into()),
        ..Policy::default()
    };
    assert_eq!(
        deprovisioning(&remove),
        Deprovisioning::Remove {
            map_assets_to: Some("owner-id".into())
        }
    );
    let keep = Policy {
        deprovision: Deprovision::Unlicense,
        ..Policy::default()
    };
    assert_eq!(deprovisioning(&keep), Deprovisioning::Unlicense);
    assert_eq!(
        unlicense(&user("Creator")).site_role,
        Some(SiteRole::Unlicensed)
    );
    assert!(unlicense(&user("Unlicensed")).is_empty());
}

#[test]
fn a_user_created_despite_a_refusal_is_taken_only_when_it_cannot_be_someone_elses() {
    let mut found = user("Viewer");
    assert!(
        adopts_after_refusal(&found, true),
        "the site had no such user a moment ago"
    );
    assert!(
        adopts_after_refusal(&found, false),
        "never signed in: the one just created"
    );
    found.last_login = Some("2026-11-30T08:00:00Z".into());
    assert!(adopts_after_refusal(&found, true));
    assert!(
        !adopts_after_refusal(&found, false),
        "someone signs in as it, and nothing says it is new: not bound to the IdP"
    );
}

#[test]
fn administrators_the_idp_did_not_provision_are_protected_unless_allowed() {
    let admin = user("SiteAdministratorCreator");
    let refused = check_admin_protection(&admin, None, false);
    assert!(
        matches!(&refused, Err(ScimError::Forbidden(m)) if m.contains("manage_unprovisioned_admins")),
        "{refused:?}"
    );
    let linked = row(json!({}), None);
    assert!(
        check_admin_protection(&admin, Some(&linked), false).is_err(),
        "linked, not provisioned"
    );
    let provisioned = UserRow {
        provisioned: true,
        ..row(json!({}), None)
    };
    assert!(check_admin_protection(&admin, Some(&provisioned), false).is_ok());
    assert!(
        check_admin_protection(&admin, None, true).is_ok(),
        "the tenant allows it"
    );
    assert!(
        check_admin_protection(&user("Explorer"), None, false).is_ok(),
        "not an administrator"
    );
    let demote = UserUpdate {
        site_role: Some(SiteRole::Viewer),
        ..UserUpdate::default()
    };
    assert!(lowers_role(&admin, &demote));
    assert!(!lowers_role(
        &user("Viewer"),
        &UserUpdate {
            site_role: Some(SiteRole::Creator),
            ..UserUpdate::default()
        }
    ));
}
