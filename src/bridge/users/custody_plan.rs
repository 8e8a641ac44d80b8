//! Who receives a departing user's content under `deprovision = "transfer"`. Pure: the
//! candidates come in (the manager the IdP named, the configured custodian, each as Tableau
//! has them), the choice and what was passed over come out.

use serde_json::Value;

use crate::scim::urn;
use crate::store::UserRow;
use crate::tableau::model::User;

/// The recipient of a departing user's content, and why any other was passed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustodyChoice {
    /// `(Tableau id, name, "manager" or "custodian")`, or `None`: nobody can take the content,
    /// and the deprovisioning falls back to removing the user (Tableau then keeps an owner
    /// Unlicensed, 409003).
    pub recipient: Option<(String, String, &'static str)>,
    /// For the audit: each candidate passed over, and why.
    pub passed_over: Vec<String>,
}

/// The manager the IdP asserted for a user: the enterprise extension's `manager.value`, which
/// is the manager's SCIM id (a Tableau user id), as we store it.
pub fn manager_id(row: Option<&UserRow>) -> Option<&str> {
    row?.attributes
        .get(urn::ENTERPRISE_USER)?
        .get("manager")?
        .get("value")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
}

/// Why `candidate` cannot receive `departing`'s content, if it cannot: it is the departing
/// user, or its site role cannot own content ([`crate::tableau::SiteRole::can_own_content`]).
fn unfit(candidate: &User, departing: &User) -> Option<String> {
    if candidate.id == departing.id {
        return Some("is the departing user".into());
    }
    match candidate.role() {
        Some(r) if r.can_own_content() => None,
        _ => Some(format!(
            "is {}, a site role that cannot own content",
            candidate.site_role
        )),
    }
}

/// Choose the recipient: the manager first when `to_manager` and the IdP named one Tableau
/// has (`manager`: `Some(None)` when the named manager is not a user of the site), else the
/// custodian (`custodian`: the configured name and what Tableau has under it).
pub fn choose_recipient(
    departing: &User,
    to_manager: bool,
    manager: Option<(&str, Option<&User>)>,
    custodian: Option<(&str, Option<&User>)>,
) -> CustodyChoice {
    let mut passed_over = Vec::new();
    let candidates = [
        (to_manager.then_some(manager).flatten(), "manager"),
        (custodian, "custodian"),
    ];
    for (candidate, what) in candidates {
        let Some((named, found)) = candidate else {
            continue;
        };
        match found {
            None => passed_over.push(format!("the {what} '{named}' is not a user of the site")),
            Some(u) => match unfit(u, departing) {
                Some(why) => passed_over.push(format!("the {what} '{}' {why}", u.name)),
                None => {
                    return CustodyChoice {
                        recipient: Some((u.id.to_string(), u.name.to_string(), what)),
                        passed_over,
                    }
                }
            },
        }
    }
    CustodyChoice {
        recipient: None,
        passed_over,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(id: &str, role: &str) -> User {
        User {
            id: id.into(),
            name: format!("{id}@example.com").into(),
            site_role: role.into(),
            ..User::default()
        }
    }

    #[test]
    fn the_manager_first_then_the_custodian_each_passed_over_with_a_reason() {
        let ann = user("ann", "Creator");
        let mgr = user("mgr", "Creator");
        let viewer = user("vic", "Viewer");
        let keeper = user("keeper", "SiteAdministratorCreator");
        let pick = |m: Option<(&str, Option<&User>)>, c: Option<(&str, Option<&User>)>, to| {
            choose_recipient(&ann, to, m, c)
        };
        let c = pick(
            Some(("mgr", Some(&mgr))),
            Some(("keeper", Some(&keeper))),
            true,
        );
        assert_eq!(c.recipient.map(|r| r.2), Some("manager"));
        assert!(c.passed_over.is_empty());
        let c = pick(
            Some(("vic", Some(&viewer))),
            Some(("keeper", Some(&keeper))),
            true,
        );
        assert_eq!(c.recipient.map(|r| r.1), Some("keeper@example.com".into()));
        assert_eq!(
            c.passed_over,
            vec!["the manager 'vic@example.com' is Viewer, a site role that cannot own content"]
        );
        let c = pick(
            Some(("mgr", Some(&mgr))),
            Some(("keeper", Some(&keeper))),
            false,
        );
        assert_eq!(
            c.recipient.map(|r| r.2),
            Some("custodian"),
            "the manager is not asked"
        );
        let c = pick(Some(("gone", None)), Some(("keeper", None)), true);
        assert_eq!(c.recipient, None);
        assert_eq!(c.passed_over.len(), 2);
        let c = pick(Some(("ann", Some(&ann))), None, true);
        assert_eq!(
            c.passed_over,
            vec!["the manager 'ann@example.com' is the departing user"]
        );
        let unlicensed = user("u", "Unlicensed");
        assert!(pick(None, Some(("u", Some(&unlicensed))), true)
            .recipient
            .is_none());
    }

    #[test]
    fn the_manager_is_the_enterprise_extensions_manager_value() {
        let row = |attributes: Value| UserRow {
            id: "ann".into(),
            user_name: "ann@example.com".into(),
            external_id: None,
            attributes,
            created: String::new(),
            last_modified: String::new(),
            restore_role: None,
            deleted: false,
            provisioned: true,
        };
        let with = row(json!({urn::ENTERPRISE_USER: {"manager": {"value": "mgr-id"}}}));
        assert_eq!(manager_id(Some(&with)), Some("mgr-id"));
        let empty = row(json!({urn::ENTERPRISE_USER: {"manager": {"value": ""}}}));
        assert_eq!(manager_id(Some(&empty)), None);
        assert_eq!(manager_id(Some(&row(json!({})))), None);
        assert_eq!(manager_id(None), None);
    }
}
