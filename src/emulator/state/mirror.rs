//! A site made a copy of another: what `tableau-scim preview` plays a transcript on.

use std::collections::BTreeSet;

use super::{EmuGroup, EmuUser, SignInMethod, SiteState};
use crate::tableau::model::ALL_USERS;
use crate::tableau::snapshot::SiteSnapshot;

impl SiteState {
    /// Become the site `snap` describes: its users (ids, names, roles, sign-in settings as
    /// read), its groups with their members, its content with its owners, and its signed-in
    /// user as the one the PAT belongs to. The ids are the site's own, so a store that maps
    /// SCIM ids to them works on the copy unchanged. Whatever the emulator held before goes.
    pub fn mirror(&mut self, snap: &SiteSnapshot) {
        self.users.clear();
        self.names.clear();
        self.groups.clear();
        self.content.clear();
        for u in &snap.users {
            self.names
                .insert(u.name.as_str().to_lowercase(), u.id.to_string());
            self.users.insert(
                u.id.to_string(),
                EmuUser {
                    user: u.clone(),
                    owns_content: false,
                    sign_in: SignInMethod::Resolved,
                    other_sites: false,
                },
            );
        }
        self.admin_id = snap.signed_in_user.clone();
        for (g, members) in &snap.groups {
            if g.name == ALL_USERS {
                self.all_users_id = g.id.clone();
            }
            self.groups.insert(
                g.id.clone(),
                EmuGroup {
                    group: g.clone(),
                    members: members.iter().cloned().collect::<BTreeSet<_>>(),
                },
            );
        }
        for item in &snap.content {
            self.content.insert(item.id.clone(), item.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::state::Flavor;
    use crate::tableau::content::{ContentItem, ContentKind};
    use crate::tableau::model::{Group, User};
    use crate::tableau::site_role::SiteRole;

    #[test]
    fn a_mirror_keeps_the_sites_ids_members_and_owners() {
        let mut s = SiteState::new(
            "s",
            Flavor::Server,
            "a@x.com",
            SiteRole::SiteAdministratorCreator,
        );
        let user = |id: &str, name: &str, role: &str| User {
            id: id.into(),
            name: name.into(),
            site_role: role.into(),
            ..User::default()
        };
        let snap = SiteSnapshot {
            users: vec![
                user("u1", "boss", "SiteAdministratorCreator"),
                user("u2", "ann", "Viewer"),
            ],
            groups: vec![
                (
                    Group {
                        id: "g0".into(),
                        name: ALL_USERS.into(),
                        ..Group::default()
                    },
                    vec![],
                ),
                (
                    Group {
                        id: "g1".into(),
                        name: "Sales".into(),
                        ..Group::default()
                    },
                    vec!["u2".into()],
                ),
            ],
            content: vec![ContentItem {
                kind: ContentKind::Workbook,
                id: "w1".into(),
                name: "Q3".into(),
                owner_id: "u2".into(),
                project_id: None,
            }],
            signed_in_user: "u1".into(),
            ..SiteSnapshot::default()
        };
        s.mirror(&snap);
        assert_eq!(s.role_of("ann").as_deref(), Some("Viewer"));
        assert_eq!(
            s.user_names().len(),
            2,
            "the emulator's own administrator is gone"
        );
        assert_eq!(s.member_names("Sales"), Some(vec!["ann".to_string()]));
        assert_eq!(s.member_names(ALL_USERS).map(|m| m.len()), Some(2));
        assert!(s.owns_anything("u2"));
        assert!(!s.owns_anything("u1"));
        assert_eq!(s.admin_id, "u1");
    }
}
