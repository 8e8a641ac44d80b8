//! What one replica's write changed in its caches, told to the other replicas of the tenant
//! (through the store's change feed, [`crate::bridge::replicas`]) so that they change theirs
//! the same way before their next read: an IdP whose consecutive requests land on different
//! replicas reads what it wrote.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::bridge::cache::names::Answer;
use crate::bridge::cache::{Caches, IdKey};
use crate::tableau::model::{Group, User};

/// One change, as the feed carries it (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CacheChange {
    /// A user written through the bridge: as Tableau now holds it, or `None` when it is gone
    /// from SCIM (removed, or kept as a tombstone).
    User {
        /// LUID.
        id: String,
        /// The user name (the one it had, when gone).
        name: String,
        /// The user now.
        user: Option<User>,
    },
    /// A user's store row was written.
    Row {
        /// LUID.
        id: String,
    },
    /// A group written through the bridge, or `None` when deleted.
    Group {
        /// LUID.
        id: String,
        /// The group now.
        group: Option<Group>,
    },
    /// A group's members changed.
    Members {
        /// LUID.
        group_id: String,
    },
    /// The replica holding the listing lease listed the site: what differed, and how long
    /// ago the listing started. The others apply it and trust their index from then on.
    Listed {
        /// Milliseconds from the listing's start to its publication.
        age_ms: u64,
        /// The differences.
        changes: crate::bridge::replicas::listing_diff::ListingChanges,
    },
    /// An identity move added this Tableau user: listings leave it out until the move
    /// switches to it.
    Hidden {
        /// Its LUID.
        tableau_id: String,
    },
    /// An identity move switched the SCIM id `id` to the Tableau user `tableau_id`.
    Alias {
        /// The SCIM id.
        id: String,
        /// The LUID it means now.
        tableau_id: String,
    },
    /// Anything may have changed: forget every cached entry (the writer lost changes it
    /// could not publish).
    All,
}

/// Changes waiting to be published; empty and off unless replicas share the store.
#[derive(Debug, Default)]
pub struct Outbox {
    on: AtomicBool,
    pending: Mutex<Vec<CacheChange>>,
}

/// Most changes kept while the feed cannot be reached; past it they are replaced by one
/// [`CacheChange::All`], so memory stays bounded however long the database is away.
const MAX_PENDING: usize = 10_000;

impl Outbox {
    /// Start keeping changes (this tenant has replicas).
    pub fn enable(&self) {
        self.on.store(true, Ordering::Relaxed);
    }

    /// Keep `change` for the next publication, if replicas share the store.
    pub fn push(&self, change: CacheChange) {
        if !self.on.load(Ordering::Relaxed) {
            return;
        }
        if let Ok(mut p) = self.pending.lock() {
            if p.len() >= MAX_PENDING {
                *p = vec![CacheChange::All];
            } else if p.last() != Some(&CacheChange::All) {
                p.push(change);
            }
        }
    }

    /// Everything waiting, oldest first.
    pub fn take(&self) -> Vec<CacheChange> {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    /// Put back what could not be published, before anything pushed since.
    pub fn put_back(&self, mut changes: Vec<CacheChange>) {
        if let Ok(mut p) = self.pending.lock() {
            changes.append(&mut p);
            if changes.len() > MAX_PENDING {
                changes = vec![CacheChange::All];
            }
            *p = changes;
        }
    }
}

impl Caches {
    /// Make a change another replica made (and published), without publishing it again.
    /// A user as the writer left it replaces ours (under its new name only, after a rename);
    /// anything else is forgotten, to be read again when asked for.
    pub fn apply(&self, change: CacheChange) {
        match change {
            CacheChange::User { id, name, user } => {
                // Held under another name: renamed elsewhere.
                if let Some(held) = self.user_by_id.get(&IdKey::of(&id)) {
                    if !held.name.eq_ignore_ascii_case(&name) {
                        self.names.remove(&held.name);
                    }
                }
                match user {
                    Some(u) => {
                        self.user_pages.invalidate_all();
                        self.remember_user(&Arc::new(u));
                    }
                    None => self.drop_user(&id, &name),
                }
            }
            CacheChange::Row { id } => self.user_rows.invalidate(id.as_str()),
            CacheChange::Group { id, group } => match group {
                Some(g) => {
                    self.group_members.invalidate(id.as_str());
                    self.asserted_in_step.invalidate(id.as_str());
                    self.keep_group(&g);
                }
                None => self.drop_group(&id),
            },
            CacheChange::Members { group_id } => {
                self.group_members.invalidate(group_id.as_str());
                self.asserted_in_step.invalidate(group_id.as_str());
            }
            CacheChange::Listed { age_ms, changes } => {
                self.user_pages.invalidate_all();
                for (id, name) in &changes.removed {
                    self.drop_user(id, name);
                }
                for id in &changes.changed {
                    self.user_by_id.invalidate(&IdKey::of(id));
                }
                // Only gaps are filled: a user this replica holds is as new as the feed made
                // it, perhaps newer than the listing.
                for u in changes.added {
                    let known = self.user_by_id.get(&IdKey::of(&u.id)).is_some()
                        || matches!(
                            self.names.lookup(&u.name, std::time::Instant::now()),
                            Answer::Present(_)
                        );
                    if !known {
                        self.remember_user(&Arc::new(u));
                    }
                }
                let started = std::time::Instant::now()
                    .checked_sub(std::time::Duration::from_millis(age_ms))
                    .unwrap_or_else(std::time::Instant::now);
                self.names.listed_elsewhere(started);
            }
            CacheChange::Hidden { tableau_id } => self.aliases.hide(&tableau_id, true),
            CacheChange::Alias { id, tableau_id } => {
                self.aliases.set(&id, &tableau_id);
                self.user_by_id.invalidate(&IdKey::of(&id));
                self.user_pages.invalidate_all();
            }
            CacheChange::All => self.clear(),
        }
    }

    /// Forget everything, and trust no "absent" of the name index until the next listing
    /// (changes were missed: another replica's, or this one's while the feed was away).
    pub fn clear(&self) {
        self.names.forget_listing();
        self.user_by_id.invalidate_all();
        self.user_rows.invalidate_all();
        self.group_by_id.invalidate_all();
        self.group_list.invalidate_all();
        self.group_members.invalidate_all();
        self.asserted_in_step.invalidate_all();
        self.user_pages.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_back_as_written() {
        let user = User {
            id: "u1".into(),
            name: "ann@example.com".into(),
            site_role: "Viewer".into(),
            ..User::default()
        };
        for c in [
            CacheChange::User {
                id: "u1".into(),
                name: "ann@example.com".into(),
                user: Some(user),
            },
            CacheChange::Row { id: "u1".into() },
            CacheChange::Group {
                id: "g1".into(),
                group: None,
            },
            CacheChange::Members {
                group_id: "g1".into(),
            },
            CacheChange::All,
        ] {
            let text = serde_json::to_string(&c).unwrap_or_default();
            assert_eq!(serde_json::from_str::<CacheChange>(&text).ok(), Some(c));
        }
    }

    fn caches() -> Caches {
        Caches::new(crate::bridge::cache::CacheTtls::default())
    }

    fn user_named(id: &str, name: &str, role: &str) -> User {
        User {
            id: id.into(),
            name: name.into(),
            site_role: role.into(),
            ..User::default()
        }
    }

    #[test]
    fn another_replicas_writes_are_applied_without_being_published_again() {
        let now = std::time::Instant::now;
        let c = caches();
        c.outbox.enable();
        c.remember_user(&Arc::new(user_named("u1", "ann@example.com", "Viewer")));
        // Renamed elsewhere: the old name goes, the new one answers.
        c.apply(CacheChange::User {
            id: "u1".into(),
            name: "ann.b@example.com".into(),
            user: Some(user_named("u1", "ann.b@example.com", "Explorer")),
        });
        assert!(matches!(
            c.names.lookup("ann@example.com", now()),
            Answer::Unknown
        ));
        assert!(
            matches!(c.names.lookup("ANN.B@example.com", now()), Answer::Present(u) if u.site_role == "Explorer")
        );
        c.user_rows.insert("u1".into(), None);
        c.apply(CacheChange::Row { id: "u1".into() });
        assert!(c.user_rows.get("u1").is_none(), "the row is read again");
        c.apply(CacheChange::User {
            id: "u1".into(),
            name: "ann.b@example.com".into(),
            user: None,
        });
        assert!(c.user_by_id.get(&IdKey::of("u1")).is_none());
        assert!(matches!(
            c.names.lookup("ann.b@example.com", now()),
            Answer::Unknown
        ));
        c.group_members
            .insert("g1".into(), Arc::new(vec!["u1".into()]));
        c.apply(CacheChange::Members {
            group_id: "g1".into(),
        });
        assert!(c.group_members.get("g1").is_none());
        assert!(
            c.outbox.take().is_empty(),
            "nothing echoed back to the feed"
        );
    }

    #[test]
    fn a_listing_elsewhere_fills_gaps_and_never_overwrites_what_the_feed_brought() {
        use crate::bridge::replicas::listing_diff::ListingChanges;
        let now = std::time::Instant::now;
        let c = caches();
        let started = c.names.begin_listing();
        c.names.finish_listing(vec![], started);
        c.remember_user(&Arc::new(user_named("u1", "ann@example.com", "Creator")));
        c.remember_user(&Arc::new(user_named("u2", "bob@example.com", "Viewer")));
        c.apply(CacheChange::Listed {
            age_ms: 0,
            changes: ListingChanges {
                added: vec![
                    user_named("u1", "ann@example.com", "Viewer"),
                    user_named("u3", "cleo@example.com", "Explorer"),
                ],
                changed: vec!["u2".into()],
                removed: vec![],
            },
        });
        assert!(
            matches!(c.names.lookup("ann@example.com", now()), Answer::Present(u) if u.site_role == "Creator"),
            "the newer state the feed brought stays"
        );
        assert!(matches!(
            c.names.lookup("cleo@example.com", now()),
            Answer::Present(_)
        ));
        assert!(
            c.user_by_id.get(&IdKey::of("u2")).is_none(),
            "changed: read again"
        );
        c.apply(CacheChange::Listed {
            age_ms: 0,
            changes: ListingChanges {
                removed: vec![("u3".into(), "cleo@example.com".into())],
                ..ListingChanges::default()
            },
        });
        assert_eq!(c.names.lookup("cleo@example.com", now()), Answer::Absent);
        c.apply(CacheChange::All);
        assert_eq!(
            c.names.lookup("nobody@example.com", now()),
            Answer::Unknown,
            "after everything is forgotten, no absent is trusted"
        );
    }

    #[test]
    fn nothing_is_kept_without_replicas_and_the_backlog_is_bounded() {
        let o = Outbox::default();
        o.push(CacheChange::All);
        assert!(o.take().is_empty());
        o.enable();
        for i in 0..MAX_PENDING + 5 {
            o.push(CacheChange::Row { id: i.to_string() });
        }
        assert_eq!(o.take(), vec![CacheChange::All]);
        o.push(CacheChange::Row { id: "a".into() });
        o.put_back(vec![CacheChange::Row { id: "b".into() }]);
        assert_eq!(
            o.take(),
            vec![
                CacheChange::Row { id: "b".into() },
                CacheChange::Row { id: "a".into() }
            ]
        );
    }
}
