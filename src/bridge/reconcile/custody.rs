//! Custody left unfinished: under `deprovision = "transfer"` a user deleted through SCIM is
//! removed from Tableau once their content is handed over, so a tombstone whose user Tableau
//! still has is a custody to finish (content owned before the policy was set, a recipient who
//! could not take an item, content Tableau does not hand over, a fault the IdP never retried).
//! Pure.

use std::collections::HashMap;

use super::findings::{DriftKind, Finding, Named, Repair};
use crate::store::UserRow;
use crate::tableau::model::User;

/// One `custody` finding per tombstone whose user is still on the site, each repaired by
/// finishing the custody.
pub fn custody_findings(rows: &[UserRow], users: &HashMap<&str, &User>) -> Vec<Finding> {
    rows.iter()
        .filter(|r| r.deleted)
        .filter_map(|r| users.get(r.id.as_str()).map(|u| (r, u)))
        .map(|(r, u)| Finding {
            kind: DriftKind::Custody,
            user: Some(Named::of(&u.id, &u.name)),
            group: None,
            tableau: format!("on the site ({}), presumably owning content", u.site_role),
            asserted: "removed, content handed over".into(),
            repair: Some(Repair::Custody {
                user_id: r.id.clone(),
            }),
            note: None,
            outcome: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_tombstones_tableau_still_has_are_custodies_to_finish() {
        let row = |id: &str, deleted: bool| UserRow {
            id: id.into(),
            user_name: format!("{id}@example.com"),
            external_id: None,
            attributes: json!({}),
            created: String::new(),
            last_modified: String::new(),
            restore_role: None,
            deleted,
            provisioned: true,
        };
        let kept = User {
            id: "kept".into(),
            name: "kept@example.com".into(),
            site_role: "Unlicensed".into(),
            ..User::default()
        };
        let live = User {
            id: "live".into(),
            ..kept.clone()
        };
        let users: HashMap<&str, &User> = [("kept", &kept), ("live", &live)].into();
        let rows = [row("kept", true), row("live", false), row("gone", true)];
        let found = custody_findings(&rows, &users);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, DriftKind::Custody);
        assert_eq!(
            found[0].repair,
            Some(Repair::Custody {
                user_id: "kept".into()
            })
        );
    }
}
