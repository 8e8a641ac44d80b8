//! Names Tableau cannot hold, refused with 400 `invalidValue` before any Tableau call: a user
//! name, full name, display name, email or group name that is too long or holds a control
//! character (the limits are [`crate::tableau::limits`]'s), and names that could pass for
//! another (PRECIS, [`crate::bridge::users::names`]). Only values that would change are
//! checked, so a user Tableau already holds is never refused for what it already has.

use serde_json::Value;

use crate::bridge::mapping::{email, full_name};
use crate::bridge::users::names::{
    display_name_problem, group_name_problem, user_name_problem as canonical_user_name_problem,
};
use crate::scim::ScimError;
use crate::tableau::limits::{
    is_luid, text_problem, user_name_problem, MAX_EMAIL_CHARS, MAX_NAME_CHARS,
};
use crate::tableau::Deployment;

type Read = fn(&Value) -> Option<String>;

fn display_name(r: &Value) -> Option<String> {
    r["displayName"].as_str().map(str::to_string)
}

/// The attributes of a user that reach Tableau or stand for its name, how to read each, and
/// its limit. `displayName` comes first: the full name falls back to it.
const USER_TEXT: [(&str, Read, usize); 3] = [
    ("displayName", display_name, MAX_NAME_CHARS),
    ("name", full_name, MAX_NAME_CHARS),
    ("emails", email, MAX_EMAIL_CHARS),
];

fn refusal(attribute: &str, problem: &str) -> ScimError {
    ScimError::InvalidValue(format!(
        "'{attribute}' cannot be sent to Tableau: {problem}"
    ))
}

/// Check a user the IdP wants (`desired`) against what it has now (`current`, its SCIM form;
/// `None` on a create, when the userName is checked too, by the rules of `deployment`).
pub fn check_user_text(
    desired: &Value,
    current: Option<&Value>,
    deployment: Deployment,
) -> Result<(), ScimError> {
    if current.is_none() {
        let name = desired["userName"].as_str().unwrap_or_default();
        if let Some(problem) =
            user_name_problem(name, deployment).or_else(|| canonical_user_name_problem(name))
        {
            return Err(refusal("userName", &problem));
        }
    }
    for (attribute, read, max) in USER_TEXT {
        let Some(value) = read(desired).filter(|v| !v.is_empty()) else {
            continue;
        };
        if current.is_some_and(|c| read(c).as_deref() == Some(value.as_str())) {
            continue;
        }
        let names_a_person = attribute != "emails";
        if let Some(problem) = text_problem(&value, max).or_else(|| {
            names_a_person
                .then(|| display_name_problem(&value))
                .flatten()
        }) {
            return Err(refusal(attribute, &problem));
        }
    }
    Ok(())
}

/// Members to add must be user ids of the site: one that cannot be a Tableau LUID is refused
/// without asking Tableau.
pub fn check_member_ids(ids: &[String]) -> Result<(), ScimError> {
    match ids.iter().find(|id| !is_luid(id)) {
        Some(id) => Err(ScimError::InvalidValue(format!(
            "member '{id}' is not the id of a user of this site"
        ))),
        None => Ok(()),
    }
}

/// Check a group name that would be created or renamed to.
pub fn check_group_name(name: &str) -> Result<(), ScimError> {
    match text_problem(name, MAX_NAME_CHARS).or_else(|| group_name_problem(name)) {
        Some(problem) => Err(refusal("displayName", &problem)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(r: Result<(), ScimError>) -> Option<String> {
        match r {
            Err(ScimError::InvalidValue(m)) => Some(m),
            _ => None,
        }
    }

    #[test]
    fn new_users_are_refused_for_bad_user_names_and_any_bad_name() {
        let ok = json!({"userName":"ann@example.com","displayName":"Ann","name":{"formatted":"Ann Lee"},
            "emails":[{"value":"ann@example.com","primary":true}]});
        assert!(check_user_text(&ok, None, Deployment::Server).is_ok());
        let nul = json!({"userName":"ann\u{0}@example.com"});
        assert!(refused(check_user_text(&nul, None, Deployment::Server))
            .is_some_and(|m| m.contains("'userName'")));
        let long = json!({"userName": "a".repeat(10_000)});
        assert!(refused(check_user_text(&long, None, Deployment::Server))
            .is_some_and(|m| m.contains("10000")));
        let display = json!({"userName":"ann@example.com","displayName":"Ann\u{7}"});
        assert!(refused(check_user_text(&display, None, Deployment::Server))
            .is_some_and(|m| m.contains("'displayName'")));
        let given = json!({"userName":"ann@example.com","name":{"givenName":"A\nB"}});
        assert!(refused(check_user_text(&given, None, Deployment::Server))
            .is_some_and(|m| m.contains("'name'")));
        let mail = json!({"userName":"ann@example.com","emails":[{"value": format!("{}@x.io", "a".repeat(250))}]});
        let cloud = json!({"userName":"UserName123"});
        assert!(check_user_text(&cloud, None, Deployment::Server).is_ok());
        assert!(refused(check_user_text(&cloud, None, Deployment::Cloud))
            .is_some_and(|m| m.contains("'userName'") && m.contains("email")));
        assert!(refused(check_user_text(&mail, None, Deployment::Server))
            .is_some_and(|m| m.contains("'emails'")));
    }

    #[test]
    fn updates_check_only_what_changes() {
        let current = json!({"userName":"odd;name","displayName":"Tab\there"});
        let same = current.clone();
        assert!(
            check_user_text(&same, Some(&current), Deployment::Server).is_ok(),
            "what Tableau already holds"
        );
        let changed = json!({"userName":"odd;name","displayName":"New\u{1b}"});
        assert!(refused(check_user_text(
            &changed,
            Some(&current),
            Deployment::Server
        ))
        .is_some());
    }

    #[test]
    fn group_names_have_the_same_limits() {
        assert!(check_group_name("Finance EMEA").is_ok());
        assert!(check_group_name("Fin\u{0}ance").is_err());
        assert!(check_group_name(&"g".repeat(256)).is_err());
        let luid = "6b7179ba-b82b-4f0f-91ed-812074ac5da6".to_string();
        assert!(check_member_ids(std::slice::from_ref(&luid)).is_ok());
        assert!(
            refused(check_member_ids(&[luid, "bob".into()])).is_some_and(|m| m.contains("'bob'"))
        );
    }
}
