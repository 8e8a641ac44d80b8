//! What an identity provider's groups open in the console: each grant gives one group a role
//! (view, or operate: run a reconciliation, release or block holds, reload the configuration)
//! on some tenants or on every tenant. Pure: the sign-in reads the groups from the ID token,
//! and every request asks again with the grants in force.

use crate::console::session::Scope;

/// A console role. Operate includes view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// See every page.
    View,
    /// Also run a reconciliation, release or block holds, and (on every tenant) reload.
    Operate,
}

impl Role {
    /// `view` or `operate`, as the configuration writes it.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "view" => Some(Role::View),
            "operate" => Some(Role::Operate),
            _ => None,
        }
    }
}

/// One grant: members of `group` have `role` on `tenants`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGrant {
    /// The group as the provider names it in the groups claim (an Entra group is its object
    /// id; an app role its value).
    pub group: String,
    /// What its members may do.
    pub role: Role,
    /// Where: every tenant, or these.
    pub tenants: Scope,
}

/// What a session may do: see, and operate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rights {
    /// The tenants it may see.
    pub view: Scope,
    /// The tenants it may operate on (a part of `view`).
    pub operate: Scope,
}

impl Rights {
    /// Everything on `scope` (an admin token: tokens have always operated what they open).
    pub fn full(scope: Scope) -> Rights {
        Rights {
            view: scope.clone(),
            operate: scope,
        }
    }
}

/// The union of two scopes.
fn union(a: Option<Scope>, b: &Scope) -> Scope {
    match (a, b) {
        (Some(Scope::All), _) | (_, Scope::All) => Scope::All,
        (None, Scope::Tenants(t)) => Scope::Tenants(t.clone()),
        (Some(Scope::Tenants(mut a)), Scope::Tenants(b)) => {
            for t in b {
                if !a.contains(t) {
                    a.push(t.clone());
                }
            }
            Scope::Tenants(a)
        }
    }
}

/// What `groups` are granted by `grants`, or `None` when no grant names any of them (the
/// sign-in is refused). Group names compare exactly: providers keep their case.
pub fn rights_of(grants: &[RoleGrant], groups: &[String]) -> Option<Rights> {
    let mut view: Option<Scope> = None;
    let mut operate: Option<Scope> = None;
    for g in grants.iter().filter(|g| groups.contains(&g.group)) {
        view = Some(union(view, &g.tenants));
        if g.role == Role::Operate {
            operate = Some(union(operate, &g.tenants));
        }
    }
    Some(Rights {
        view: view?,
        operate: operate.unwrap_or(Scope::Tenants(Vec::new())),
    })
}

/// Most groups read from one ID token (Entra sends at most 200 and then a link instead).
pub const MAX_GROUPS: usize = 1000;

/// The groups in claim `value`: an array of strings, or one string; anything else is none.
pub fn groups_in(value: Option<&serde_json::Value>) -> Vec<String> {
    match value {
        Some(serde_json::Value::Array(v)) => v
            .iter()
            .filter_map(|g| g.as_str().map(str::to_owned))
            .take(MAX_GROUPS)
            .collect(),
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(group: &str, role: Role, tenants: &[&str]) -> RoleGrant {
        RoleGrant {
            group: group.into(),
            role,
            tenants: if tenants == ["*"] {
                Scope::All
            } else {
                Scope::Tenants(tenants.iter().map(|t| t.to_string()).collect())
            },
        }
    }

    #[test]
    fn groups_grant_the_highest_role_per_tenant_and_no_group_grants_nothing() {
        let grants = [
            grant("viewers", Role::View, &["*"]),
            grant("acme-ops", Role::Operate, &["acme"]),
            grant("globex-ops", Role::Operate, &["globex"]),
            grant("root", Role::Operate, &["*"]),
        ];
        let g = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let viewer = rights_of(&grants, &g(&["viewers"])).expect("a viewer");
        assert_eq!(viewer.view, Scope::All);
        assert!(!viewer.operate.allows("acme"));
        let ops = rights_of(&grants, &g(&["acme-ops", "globex-ops", "other"])).expect("ops");
        assert!(ops.operate.allows("acme") && ops.operate.allows("globex"));
        assert!(!ops.view.allows("initech"), "{ops:?}");
        let both = rights_of(&grants, &g(&["viewers", "acme-ops"])).expect("both");
        assert_eq!(both.view, Scope::All);
        assert_eq!(both.operate, Scope::Tenants(vec!["acme".into()]));
        let root = rights_of(&grants, &g(&["root"])).expect("root");
        assert_eq!(root.operate, Scope::All);
        assert_eq!(rights_of(&grants, &g(&["Viewers", "nobody"])), None);
        assert_eq!(rights_of(&grants, &[]), None);
    }

    #[test]
    fn the_groups_claim_is_an_array_or_one_string() {
        use serde_json::json;
        assert_eq!(groups_in(Some(&json!(["a", 1, "b"]))), vec!["a", "b"]);
        assert_eq!(groups_in(Some(&json!("a"))), vec!["a"]);
        assert!(groups_in(Some(&json!({"a": 1}))).is_empty());
        assert!(groups_in(None).is_empty());
        let many: Vec<String> = (0..5000).map(|i| i.to_string()).collect();
        assert_eq!(groups_in(Some(&json!(many))).len(), MAX_GROUPS);
        assert_eq!(Role::parse("operate"), Some(Role::Operate));
        assert_eq!(Role::parse("admin"), None);
    }
}
