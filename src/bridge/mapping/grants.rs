//! What a Tableau group grants its members when they sign in (a minimum site role that is a
//! licensed one), which of a user's groups do, and the refusal that names them. Pure: the I/O
//! that leaves and rejoins them is `users/sign_in_grants.rs`; why it matters is said there.

use crate::scim::ScimError;
use crate::tableau::model::Group;
use crate::tableau::SiteRole;

/// The site role a group grants its members at sign-in: its minimum site role, when that is a
/// licensed one.
pub fn grant_of(group: &Group) -> Option<SiteRole> {
    group
        .minimum_site_role
        .as_deref()
        .and_then(|r| r.parse::<SiteRole>().ok())
        .filter(|r| r.tier().is_some())
}

/// Of `groups`, those that grant a role at sign-in ("All Users" never does here: its minimum
/// role is Tableau's site default, not a grant tableau-scim can lift).
pub fn granting(groups: &[Group]) -> Vec<&Group> {
    groups
        .iter()
        .filter(|g| !g.is_all_users() && grant_of(g).is_some())
        .collect()
}

/// The strongest grant among `groups`: the group and the role a sign-in gives its members
/// (grants only promote, so the most privileged one is what a member ends up with).
pub fn strongest_grant<'a>(groups: &[&'a Group]) -> Option<(&'a Group, SiteRole)> {
    groups
        .iter()
        .filter_map(|g| grant_of(g).map(|r| (*g, r)))
        .max_by_key(|(_, r)| r.privilege())
}

/// The refusal of a deactivation under [`crate::bridge::policy::OnSignInGrants::Refuse`].
pub fn deactivation_refusal(user: &str, groups: &[&Group]) -> ScimError {
    let names: Vec<String> = groups
        .iter()
        .map(|g| {
            format!(
                "'{}' ({})",
                g.name,
                grant_of(g).map_or("", SiteRole::as_str)
            )
        })
        .collect();
    ScimError::Conflict(format!(
        "'{user}' is in Tableau groups that grant a site role at sign-in ({}): Tableau would license them again at their next sign-in. Take them out of those groups, or set the tenant's on_sign_in_grants = \"remove\" to let tableau-scim do it",
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, min: Option<&str>) -> Group {
        Group {
            id: format!("id-{name}"),
            name: name.into(),
            minimum_site_role: min.map(str::to_string),
            user_count: None,
            domain: Some("local".into()),
        }
    }

    #[test]
    fn a_group_grants_its_licensed_minimum_role_at_sign_in() {
        let groups = [
            group("Analysts", Some("Explorer")),
            group("Everyone", None),
            group("Parked", Some("Unlicensed")),
            group("All Users", Some("Viewer")),
            group("Makers", Some("Creator")),
        ];
        let names: Vec<&str> = granting(&groups).iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, vec!["Analysts", "Makers"]);
        let g = granting(&groups);
        assert_eq!(
            strongest_grant(&g).map(|(g, r)| (g.name.as_str(), r)),
            Some(("Makers", SiteRole::Creator)),
            "a sign-in gives the most privileged grant"
        );
        assert_eq!(strongest_grant(&[]), None);
        let refusal = deactivation_refusal("ann@example.com", &g);
        assert!(matches!(&refusal, ScimError::Conflict(m)
            if m.contains("'Analysts' (Explorer)") && m.contains("on_sign_in_grants")));
    }
}
