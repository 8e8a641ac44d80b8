//! The members the IdP asserted for a group, kept apart from the members Tableau holds. Pure.
//!
//! A PATCH is applied to Tableau's current members: that is what keeps the calls minimal. But
//! when someone changed the group in Tableau behind the IdP's back, those differ from what the
//! IdP asserted, and taking Tableau's members after the PATCH as the IdP's truth would silently
//! adopt the change made behind its back (a member removed by hand would no longer be missed).
//! So what the IdP asserts after a PATCH is the same operations applied to what it asserted
//! before; a PUT asserts exactly its members.

use std::collections::HashSet;

use crate::scim::ScimError;

/// The members the IdP asserts after a change.
///
/// - `asserted`: what it asserted before (`None`: never recorded);
/// - `tableau_before`: Tableau's members the change was applied to;
/// - `desired`: the members the change left (Tableau's members with the change applied);
/// - `reapply`: for a PATCH, the same operations applied to other members (`None` for a PUT).
///
/// When nothing was recorded, or what was asserted is what Tableau held, the answer is
/// `desired` and `reapply` is not called (the common case costs nothing more). When applying
/// the operations to the asserted members fails (an operation that only makes sense for
/// Tableau's members), `desired` is the best knowledge there is.
pub fn asserted_after(
    asserted: Option<&[String]>,
    tableau_before: &[String],
    desired: &[String],
    reapply: Option<impl FnOnce(&[String]) -> Result<Vec<String>, ScimError>>,
) -> Vec<String> {
    let (Some(asserted), Some(reapply)) = (asserted, reapply) else {
        return desired.to_vec();
    };
    if same_set(asserted, tableau_before) {
        return desired.to_vec();
    }
    reapply(asserted).unwrap_or_else(|_| desired.to_vec())
}

/// What to add to `before` and remove from it to make `after` (each once, in their order).
pub fn member_diff(before: &[String], after: &[String]) -> (Vec<String>, Vec<String>) {
    let b: HashSet<&str> = before.iter().map(String::as_str).collect();
    let a: HashSet<&str> = after.iter().map(String::as_str).collect();
    let mut seen = HashSet::new();
    let added = after
        .iter()
        .filter(|m| !b.contains(m.as_str()) && seen.insert(m.as_str()))
        .cloned()
        .collect();
    let removed = before
        .iter()
        .filter(|m| !a.contains(m.as_str()))
        .cloned()
        .collect();
    (added, removed)
}

/// Whether two member lists hold the same ids (in any order, duplicates aside).
pub fn same_set(a: &[String], b: &[String]) -> bool {
    let x: HashSet<&str> = a.iter().map(String::as_str).collect();
    let y: HashSet<&str> = b.iter().map(String::as_str).collect();
    x == y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    type Reapply = fn(&[String]) -> Result<Vec<String>, ScimError>;

    /// The PATCH "add u9" as a reapply.
    fn add_u9(m: &[String]) -> Result<Vec<String>, ScimError> {
        let mut v = m.to_vec();
        v.push("u9".into());
        Ok(v)
    }

    #[test]
    fn without_drift_or_record_the_desired_members_are_the_assertion() {
        let tableau = ids(&["u1", "u2"]);
        let desired = ids(&["u1", "u2", "u9"]);
        let never: Option<Reapply> = Some(|_| panic!("not needed"));
        assert_eq!(asserted_after(None, &tableau, &desired, never), desired);
        let same_in_other_order = ids(&["u2", "u1"]);
        assert_eq!(
            asserted_after(Some(&same_in_other_order), &tableau, &desired, never),
            desired
        );
    }

    #[test]
    fn a_put_asserts_exactly_its_members_whatever_was_asserted() {
        let put: Option<Reapply> = None;
        assert_eq!(
            asserted_after(Some(&ids(&["u7"])), &ids(&["u1"]), &ids(&["u3"]), put),
            ids(&["u3"])
        );
    }

    #[test]
    fn a_patch_after_drift_applies_to_what_the_idp_asserted() {
        // The IdP asserted u1, u2; an admin removed u2 in Tableau; the IdP adds u9.
        let asserted = ids(&["u1", "u2"]);
        let tableau = ids(&["u1"]);
        let desired = ids(&["u1", "u9"]);
        assert_eq!(
            asserted_after(Some(&asserted), &tableau, &desired, Some(add_u9)),
            ids(&["u1", "u2", "u9"]),
            "u2's removal behind the IdP's back is not adopted"
        );
        let failing: Option<Reapply> = Some(|_| Err(ScimError::NoTarget("x".into())));
        assert_eq!(
            asserted_after(Some(&asserted), &tableau, &desired, failing),
            desired
        );
    }

    #[test]
    fn the_difference_is_what_to_write() {
        let (added, removed) =
            member_diff(&ids(&["u1", "u2", "u3"]), &ids(&["u3", "u4", "u4", "u1"]));
        assert_eq!(added, ids(&["u4"]));
        assert_eq!(removed, ids(&["u2"]));
        assert_eq!(member_diff(&ids(&["u1"]), &ids(&["u1"])), (vec![], vec![]));
        assert!(same_set(&ids(&["a", "b"]), &ids(&["b", "a", "a"])));
        assert!(!same_set(&ids(&["a"]), &ids(&["a", "b"])));
    }
}
