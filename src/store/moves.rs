//! What the store keeps of an identity move while it runs (`bridge::users::moves`): enough to
//! take the next step after a crash, on any replica.

use serde::{Deserialize, Serialize};

/// The step a move takes next. Each is recorded before it is taken, and each can be taken
/// again after a crash without doing anything twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveStep {
    /// Add User under the new name (after a crash: take the user Tableau has by that name).
    Add,
    /// Join the new user to every group of the old one.
    Groups,
    /// Hand every item the old user owns to the new one.
    Content,
    /// Remove the old user.
    Remove,
    /// Point the SCIM id at the new user.
    Switch,
}

impl MoveStep {
    /// The step's name (console, audit).
    pub fn as_str(self) -> &'static str {
        match self {
            MoveStep::Add => "add",
            MoveStep::Groups => "groups",
            MoveStep::Content => "content",
            MoveStep::Remove => "remove",
            MoveStep::Switch => "switch",
        }
    }
}

/// One move under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveRow {
    /// The SCIM id: it stays the person's.
    pub id: String,
    /// The Tableau user the person is moving from (LUID).
    pub from_id: String,
    /// Its name.
    pub from_name: String,
    /// The new name.
    pub to_name: String,
    /// The new Tableau user, once added.
    pub to_id: Option<String>,
    /// The site role the new user gets: the old user's.
    pub site_role: String,
    /// The old user's sign-in method.
    pub auth_setting: Option<String>,
    /// The old user's identity-provider configuration (Tableau Cloud).
    pub idp_configuration_id: Option<String>,
    /// The email for the new user.
    pub email: Option<String>,
    /// The full name for the new user.
    pub full_name: Option<String>,
    /// The next step.
    pub step: MoveStep,
    /// Items handed over so far.
    pub moved: u64,
    /// Items the old user owned when the content step listed them.
    pub items: u64,
    /// The last fault met (it is retried), if any.
    pub error: Option<String>,
    /// When it started (RFC 3339).
    pub started: String,
}
