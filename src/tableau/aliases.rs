//! User ids that outlive their Tableau user. Tableau cannot rename a user (on Cloud the name is
//! the sign-in email; on Server the REST API has no rename, knowledge article 001473865), so an
//! identity move adds a new user and removes the old one: a new LUID. The IdP keeps the id it
//! was given, so the client translates at its edge: an id sent to Tableau is the current LUID
//! of the person, a LUID read from Tableau is the id the IdP knows. Everything above the
//! client sees one id per person for as long as the person exists.
//!
//! A user being made by a move (added, not yet holding everything) is *hidden*: listings leave
//! it out until the move switches to it, so an IdP never sees a second copy of the person.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use crate::tableau::model::User;

/// The aliases of one site. Bounded by the moves ever made on it (one entry per moved person)
/// and the moves under way (one hidden id each).
#[derive(Debug, Default)]
pub struct IdAliases {
    /// Whether any alias or hidden id exists: the common case (none) takes no lock.
    any: AtomicBool,
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The id the IdP knows to the person's LUID now.
    to_tableau: HashMap<String, String>,
    /// The reverse.
    to_ours: HashMap<String, String>,
    /// LUIDs of users a move is making.
    hidden: HashSet<String>,
}

impl IdAliases {
    /// From now on `ours` means the Tableau user `tableau` (which is no longer hidden).
    /// Setting an id to itself removes its alias.
    pub fn set(&self, ours: &str, tableau: &str) {
        if let Ok(mut g) = self.inner.write() {
            if let Some(before) = g.to_tableau.remove(ours) {
                g.to_ours.remove(&before);
            }
            g.hidden.remove(tableau);
            if ours != tableau {
                g.to_tableau.insert(ours.into(), tableau.into());
                g.to_ours.insert(tableau.into(), ours.into());
            }
            self.any.store(!g.is_empty(), Ordering::Release);
        }
    }

    /// Leave the Tableau user `tableau` out of listings (a move is making it), or, with
    /// `hidden = false`, put it back (a move that gave up removed it, or switched to it).
    pub fn hide(&self, tableau: &str, hidden: bool) {
        if let Ok(mut g) = self.inner.write() {
            if hidden {
                g.hidden.insert(tableau.into());
            } else {
                g.hidden.remove(tableau);
            }
            self.any.store(!g.is_empty(), Ordering::Release);
        }
    }

    /// The LUID to send to Tableau for the id `ours`.
    pub fn to_tableau<'a>(&self, ours: &'a str) -> Cow<'a, str> {
        if !self.any.load(Ordering::Acquire) {
            return Cow::Borrowed(ours);
        }
        match self.inner.read() {
            Ok(g) => match g.to_tableau.get(ours) {
                Some(t) => Cow::Owned(t.clone()),
                None => Cow::Borrowed(ours),
            },
            Err(_) => Cow::Borrowed(ours),
        }
    }

    /// The id the IdP knows for the LUID `tableau` read from Tableau.
    pub fn to_ours<'a>(&self, tableau: &'a str) -> Cow<'a, str> {
        if !self.any.load(Ordering::Acquire) {
            return Cow::Borrowed(tableau);
        }
        match self.inner.read() {
            Ok(g) => match g.to_ours.get(tableau) {
                Some(o) => Cow::Owned(o.clone()),
                None => Cow::Borrowed(tableau),
            },
            Err(_) => Cow::Borrowed(tableau),
        }
    }

    /// Whether a listing leaves the Tableau user `tableau` (a LUID as Tableau wrote it) out:
    /// a user a move is making, or the old user of a finished move that Tableau kept (it owned
    /// what no call transfers): its LUID is the id of the person now, who is someone else.
    pub fn is_hidden(&self, tableau: &str) -> bool {
        self.any.load(Ordering::Acquire)
            && self
                .inner
                .read()
                .is_ok_and(|g| g.hidden.contains(tableau) || g.to_tableau.contains_key(tableau))
    }

    /// A user read from Tableau, under the id the IdP knows.
    pub fn user_in(&self, mut user: User) -> User {
        if let Cow::Owned(o) = self.to_ours(&user.id) {
            user.id = o.into();
        }
        user
    }

    /// Ids to send to Tableau.
    pub fn all_to_tableau(&self, ours: &[String]) -> Vec<String> {
        ours.iter()
            .map(|o| self.to_tableau(o).into_owned())
            .collect()
    }

    /// How many aliases are held.
    pub fn len(&self) -> usize {
        self.inner.read().map(|g| g.to_tableau.len()).unwrap_or(0)
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn is_empty(&self) -> bool {
        self.to_tableau.is_empty() && self.hidden.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_without_alias_is_itself_both_ways() {
        let a = IdAliases::default();
        assert_eq!(a.to_tableau("u1"), "u1");
        assert_eq!(a.to_ours("u1"), "u1");
        assert!(!a.is_hidden("u1"));
    }

    #[test]
    fn a_moved_person_keeps_the_first_id_through_two_moves() {
        let a = IdAliases::default();
        a.hide("t1", true);
        assert!(a.is_hidden("t1"));
        a.set("s", "t1");
        assert!(!a.is_hidden("t1"), "the switch shows the new user");
        assert!(
            a.is_hidden("s"),
            "an old user Tableau kept is nobody the IdP knows"
        );
        assert_eq!(a.to_tableau("s"), "t1");
        assert_eq!(a.to_ours("t1"), "s");
        a.set("s", "t2");
        assert_eq!(a.to_tableau("s"), "t2");
        assert_eq!(a.to_ours("t2"), "s");
        assert_eq!(
            a.to_ours("t1"),
            "t1",
            "the old LUID is nobody's alias any more"
        );
        assert_eq!(a.len(), 1);
        let u = a.user_in(User {
            id: "t2".into(),
            ..User::default()
        });
        assert_eq!(u.id, "s");
        assert_eq!(a.all_to_tableau(&["s".into(), "x".into()]), ["t2", "x"]);
    }

    #[test]
    fn an_alias_to_itself_is_none() {
        let a = IdAliases::default();
        a.set("s", "t1");
        a.set("s", "s");
        assert!(a.is_empty());
        assert_eq!(a.to_tableau("s"), "s");
        assert_eq!(a.to_ours("t1"), "t1");
    }
}
