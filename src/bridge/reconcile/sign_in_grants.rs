//! Drift that Tableau's grant role on sign-in explains ([`crate::bridge::users::sign_in_grants`]): a
//! role higher than the IdP asserted that a group of the user grants at sign-in is its own kind
//! and is never repaired (Tableau would grant it again at the next sign-in, and a repair would
//! fight it in a loop); an access leak such a group would reopen is repaired by taking the user
//! out of the group first; and a deactivated user the IdP asserts in such a group, kept out of
//! it on purpose, is not membership drift. Pure.

use std::collections::HashMap;

use super::findings::{DriftKind, Finding, Repair, SiteNow};
use crate::bridge::mapping::grants::{grant_of, strongest_grant};
use crate::bridge::mapping::is_active;
use crate::store::UserRow;
use crate::tableau::model::Group;
use crate::tableau::SiteRole;

/// The groups of the site that grant a role at sign-in, by member: from the member listings
/// the run made (every such group is listed, [`super::findings::groups_to_list`]).
fn granting_by_member<'a>(now: &SiteNow<'a>) -> HashMap<&'a str, Vec<&'a Group>> {
    let mut out: HashMap<&str, Vec<&Group>> = HashMap::new();
    for g in now.groups.iter().filter(|g| grant_of(g).is_some()) {
        for m in now.members.get(&g.id).into_iter().flatten() {
            out.entry(m.as_str()).or_default().push(g);
        }
    }
    out
}

/// Reclassify `findings` by what the site's grants on sign-in explain (see the module's doc);
/// `rows` are the store's user rows by id.
pub fn classify_sign_in_grants(
    findings: &mut Vec<Finding>,
    now: &SiteNow<'_>,
    rows: &HashMap<&str, &UserRow>,
) {
    let by_member = granting_by_member(now);
    findings.retain(|f| !kept_out_on_purpose(f, now, rows));
    for f in findings.iter_mut() {
        let Some(user) = &f.user else { continue };
        let Some(groups) = by_member.get(user.id.as_str()) else {
            continue;
        };
        let Some((group, grant)) = strongest_grant(groups) else {
            continue;
        };
        match f.kind {
            // Whatever the role now, the next sign-in lifts it to the grant: a repair to a
            // lower role than the grant cannot hold.
            DriftKind::Role
                if f.asserted
                    .parse::<SiteRole>()
                    .is_ok_and(|a| a.privilege() < grant.privilege()) =>
            {
                f.kind = DriftKind::SignInGrant;
                f.repair = None;
                f.note = Some(format!(
                    "group '{}' grants {grant} at sign-in; Tableau gives it again at every sign-in: lower that group's minimum site role, or take the user out of it",
                    group.name
                ));
            }
            DriftKind::AccessLeak => {
                let leave: Vec<(String, String)> = groups
                    .iter()
                    .map(|g| (g.id.clone(), g.name.clone()))
                    .collect();
                let names: Vec<String> = leave.iter().map(|(_, n)| format!("'{n}'")).collect();
                f.note = Some(format!(
                    "licensed again at sign-in by {}: the repair takes the user out first",
                    names.join(", ")
                ));
                if let Some(Repair::SetRole { user_id, from, .. }) = &f.repair {
                    f.repair = Some(Repair::Ungrant {
                        user_id: user_id.clone(),
                        from: from.clone(),
                        groups: leave,
                    });
                }
            }
            _ => {}
        }
    }
}

/// A membership the IdP asserts but Tableau lacks because the user is deactivated and the
/// group grants a role at sign-in: tableau-scim took them out on deactivation and puts them
/// back on reactivation.
fn kept_out_on_purpose(f: &Finding, now: &SiteNow<'_>, rows: &HashMap<&str, &UserRow>) -> bool {
    let (Some(user), Some(group)) = (&f.user, &f.group) else {
        return false;
    };
    f.kind == DriftKind::Membership
        && f.asserted == "member"
        && now
            .groups
            .iter()
            .any(|g| g.id == group.id && grant_of(g).is_some())
        && rows
            .get(user.id.as_str())
            .is_some_and(|r| r.deleted || !is_active(&r.attributes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::reconcile::findings::Named;
    use serde_json::json;

    fn finding(kind: DriftKind, user: &str, tableau: &str, asserted: &str) -> Finding {
        Finding {
            kind,
            user: Some(Named {
                id: user.into(),
                name: format!("{user}@example.com"),
            }),
            group: None,
            tableau: tableau.into(),
            asserted: asserted.into(),
            repair: Some(Repair::SetRole {
                user_id: user.into(),
                from: tableau.into(),
                to: asserted.parse().unwrap_or(SiteRole::Unlicensed),
            }),
            note: None,
            outcome: None,
        }
    }

    fn row(id: &str, active: bool) -> UserRow {
        UserRow {
            id: id.into(),
            user_name: format!("{id}@example.com"),
            external_id: None,
            attributes: json!({"active": active}),
            created: String::new(),
            last_modified: String::new(),
            restore_role: None,
            deleted: false,
            provisioned: false,
        }
    }

    #[test]
    fn what_a_grant_at_sign_in_explains_is_never_fought() {
        let groups = vec![
            Group {
                id: "g-analysts".into(),
                name: "Analysts".into(),
                minimum_site_role: Some("Explorer".into()),
                ..Group::default()
            },
            Group {
                id: "g-plain".into(),
                name: "Plain".into(),
                ..Group::default()
            },
        ];
        let members = HashMap::from([
            (
                "g-analysts".to_string(),
                vec!["ann".to_string(), "cy".to_string(), "dee".to_string()],
            ),
            (
                "g-plain".to_string(),
                vec!["bo".to_string(), "dee".to_string()],
            ),
        ]);
        let now = SiteNow {
            users: &[],
            groups: &groups,
            members: &members,
            signed_in_as: "admin",
        };
        let rows_owned = [
            row("ann", true),
            row("bo", true),
            row("cy", false),
            row("dee", false),
        ];
        let rows: HashMap<&str, &UserRow> = rows_owned.iter().map(|r| (r.id.as_str(), r)).collect();
        let mut plain_member = finding(DriftKind::Membership, "dee", "not a member", "member");
        plain_member.group = Some(Named {
            id: "g-plain".into(),
            name: "Plain".into(),
        });
        let mut granting_member = finding(DriftKind::Membership, "dee", "not a member", "member");
        granting_member.group = Some(Named {
            id: "g-analysts".into(),
            name: "Analysts".into(),
        });
        let mut findings = vec![
            finding(DriftKind::Role, "ann", "Explorer", "Viewer"),
            finding(DriftKind::Role, "bo", "Explorer", "Viewer"),
            finding(DriftKind::AccessLeak, "cy", "Explorer", "Unlicensed"),
            plain_member,
            granting_member,
        ];
        classify_sign_in_grants(&mut findings, &now, &rows);
        assert_eq!(
            findings.len(),
            4,
            "a deactivated user kept out of a granting group is no drift"
        );
        assert_eq!(findings[0].kind, DriftKind::SignInGrant);
        assert!(
            findings[0].repair.is_none(),
            "never repaired: the next sign-in would undo it"
        );
        assert!(findings[0]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("'Analysts'")));
        assert_eq!(
            findings[1].kind,
            DriftKind::Role,
            "no grant: a role finding as before"
        );
        assert!(findings[1].repair.is_some());
        assert_eq!(findings[2].kind, DriftKind::AccessLeak);
        assert_eq!(
            findings[2].repair,
            Some(Repair::Ungrant {
                user_id: "cy".into(),
                from: "Explorer".into(),
                groups: vec![("g-analysts".into(), "Analysts".into())]
            }),
            "out of the group first, then Unlicensed"
        );
        assert_eq!(
            findings[3].group.as_ref().map(|g| g.name.as_str()),
            Some("Plain")
        );
    }
}
