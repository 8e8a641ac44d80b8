//! What one replica's periodic listing of the site's users found changed since its index was
//! last complete: the changes made in Tableau behind the bridge's back (and any the feed already
//! carried). Only the replica holding the listing lease lists; the others apply these to their
//! own indexes ([`crate::bridge::cache::Caches::apply`]). Pure.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::tableau::model::User;

/// The differences between two states of the index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingChanges {
    /// Users the index did not hold (by id).
    pub added: Vec<User>,
    /// Users held before whose state differs (their ids): read again when next asked for.
    pub changed: Vec<String>,
    /// Users gone (id and name).
    pub removed: Vec<(String, String)>,
}

impl ListingChanges {
    /// How many users differ.
    pub fn len(&self) -> usize {
        self.added.len() + self.changed.len() + self.removed.len()
    }

    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The differences from `before` to `after`, by user id.
pub fn listing_changes(before: &[Arc<User>], after: &[Arc<User>]) -> ListingChanges {
    let old: HashMap<&str, &Arc<User>> = before.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut seen = std::collections::HashSet::with_capacity(after.len());
    let mut changes = ListingChanges::default();
    for u in after {
        seen.insert(u.id.as_str());
        match old.get(u.id.as_str()) {
            None => changes.added.push(User::clone(u)),
            Some(held) if ***held != **u => changes.changed.push(u.id.to_string()),
            Some(_) => {}
        }
    }
    for u in before {
        if !seen.contains(u.id.as_str()) {
            changes.removed.push((u.id.to_string(), u.name.to_string()));
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::cache::names::tests::user;

    #[test]
    fn finds_users_added_changed_and_removed_by_hand() {
        let ann = user("1", "ann@example.com");
        let bob = user("2", "bob@example.com");
        let cleo = user("3", "cleo@example.com");
        let bob_admin = Arc::new(User {
            site_role: "SiteAdministratorCreator".into(),
            ..User::clone(&bob)
        });
        let dan = user("4", "dan@example.com");
        let d = listing_changes(
            &[ann.clone(), bob.clone(), cleo.clone()],
            &[ann.clone(), bob_admin, dan.clone()],
        );
        assert_eq!(d.added, vec![User::clone(&dan)]);
        assert_eq!(d.changed, vec!["2".to_string()]);
        assert_eq!(
            d.removed,
            vec![("3".to_string(), "cleo@example.com".to_string())]
        );
        assert_eq!(d.len(), 3);
        let same = std::slice::from_ref(&ann);
        assert!(listing_changes(same, same).is_empty());
    }
}
