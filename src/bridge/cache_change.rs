//! What one replica's write changed in its caches, told to the other replicas of the tenant
//! (through the store's change feed, [`crate::bridge::replicas`]) so that they change theirs
//! the same way before their next read: an IdP whose consecutive requests land on different
//! replicas reads what it wrote.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

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
        /// The name before a rename, as the writer knew it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_name: Option<String>,
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
        changes: crate::bridge::listing_diff::ListingChanges,
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
                previous_name: Some("ann@old.example.com".into()),
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
