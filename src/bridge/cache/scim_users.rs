//! Users in SCIM form as last built, each beside the very Tableau user and store row it was
//! built from. A read whose caches hold those same `Arc`s reuses it, with its version and its
//! default rendering ([`Stored::default_json`]): a user is built, hashed and printed once per
//! change, not once per read. Every write replaces the user's or the row's `Arc`, so a kept
//! form can never outlive what it was built from.

use std::sync::Arc;

use crate::bridge::cache::ttl::TtlCache;
use crate::bridge::cache::IdKey;
use crate::scim::stored::Shared;
use crate::store::UserRow;
use crate::tableau::model::User;

/// The hot users of a site are kept: an IdP reads a user before it writes it, and looks up the
/// ones it syncs. 10,000 entries of about 2 KiB (the form and its rendering) bound a tenant's
/// share at about 20 MiB.
pub const KEPT: usize = 10_000;

/// One user's SCIM form and what it was built from.
#[derive(Clone)]
pub struct ScimUser {
    user: Arc<User>,
    row: Option<Arc<UserRow>>,
    scim: Shared,
}

/// Whether a kept form was built from exactly this user and row (the same `Arc`s: held by the
/// entry, so no other value can take their address while it lives).
fn built_from(kept: &ScimUser, user: &Arc<User>, row: Option<&Arc<UserRow>>) -> bool {
    Arc::ptr_eq(&kept.user, user)
        && match (&kept.row, row) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
}

/// User id to its kept SCIM form.
pub struct ScimUsers(TtlCache<IdKey, ScimUser>);

impl ScimUsers {
    /// At most [`KEPT`] users, each for at most `ttl`.
    pub fn new(ttl: std::time::Duration) -> ScimUsers {
        ScimUsers(TtlCache::new(ttl, KEPT))
    }

    /// The SCIM form of `user` with `row`: the kept one if it was built from them, else the one
    /// `build` makes, kept for the next read.
    pub fn get_or_build(
        &self,
        user: &Arc<User>,
        row: Option<&Arc<UserRow>>,
        build: impl FnOnce() -> Shared,
    ) -> Shared {
        let key = IdKey::of(&user.id);
        if let Some(kept) = self.0.get(&key) {
            if built_from(&kept, user, row) {
                return kept.scim;
            }
        }
        let scim = build();
        self.0.insert(
            key,
            ScimUser {
                user: user.clone(),
                row: row.cloned(),
                scim: scim.clone(),
            },
        );
        scim
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::stored::Stored;
    use serde_json::json;
    use std::cell::Cell;
    use std::time::Duration;

    fn user(id: &str) -> Arc<User> {
        Arc::new(User {
            id: id.into(),
            name: "ann@example.com".into(),
            ..User::default()
        })
    }

    fn row(id: &str) -> Arc<UserRow> {
        Arc::new(UserRow {
            id: id.into(),
            user_name: "ann@example.com".into(),
            external_id: None,
            attributes: json!({}),
            created: "2026-01-01T00:00:00Z".into(),
            last_modified: "2026-01-01T00:00:00Z".into(),
            restore_role: None,
            deleted: false,
            provisioned: true,
        })
    }

    #[test]
    fn a_form_is_reused_only_for_the_same_user_and_row() {
        let kept = ScimUsers::new(Duration::from_secs(60));
        let builds = Cell::new(0);
        let build = || {
            builds.set(builds.get() + 1);
            Stored::new(json!({"n": builds.get()}))
        };
        let id = "3c9a7f0e-6a55-4bb5-9d0c-2a7a1f3e5b11";
        let (u, r) = (user(id), row(id));
        let first = kept.get_or_build(&u, Some(&r), build);
        let again = kept.get_or_build(&u, Some(&r), build);
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(builds.get(), 1);
        // An equal user in a new `Arc` (a reload, a write) is built again: no comparison of
        // contents decides what a client reads.
        kept.get_or_build(&user(id), Some(&r), build);
        assert_eq!(builds.get(), 2);
        let u2 = user(id);
        kept.get_or_build(&u2, Some(&r), build);
        kept.get_or_build(&u2, Some(&row(id)), build);
        kept.get_or_build(&u2, None, build);
        assert_eq!(builds.get(), 5, "a new row, or none, is a new form");
        kept.get_or_build(&u2, None, build);
        assert_eq!(builds.get(), 5);
    }
}
