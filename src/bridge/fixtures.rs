//! Test fixtures of the bridge's pure parts.

use crate::tableau::model::User;

/// Ann, as Tableau holds her, with site role `role`.
pub fn user(role: &str) -> User {
    User {
        id: "u1".into(),
        name: "ann@example.com".into(),
        site_role: role.into(),
        full_name: Some("Ann Lee".into()),
        email: Some("ann@example.com".into()),
        ..User::default()
    }
}
