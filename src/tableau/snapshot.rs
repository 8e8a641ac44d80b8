//! A site as it stands: every user, every group with its members, every item of content with
//! its owner, and who the client signed in as. Read by `tableau-scim preview`
//! ([`crate::tableau::TableauClient::snapshot`]), which plays the transcript it is given on a
//! copy of the site ([`crate::emulator::state::SiteState::mirror`]), never on the site itself.

use crate::tableau::content::ContentItem;
use crate::tableau::model::{Group, User};

/// A site's users, groups, memberships and content owners, at one moment.
#[derive(Debug, Clone, Default)]
pub struct SiteSnapshot {
    /// Every user of the site.
    pub users: Vec<User>,
    /// Every group and the ids of its members ("All Users" among them).
    pub groups: Vec<(Group, Vec<String>)>,
    /// Every project, workbook, data source and flow the version can list.
    pub content: Vec<ContentItem>,
    /// The user the client signs in as (the PAT's or connected app's user).
    pub signed_in_user: String,
    /// The REST API version the client speaks to the site.
    pub api_version: String,
    /// The site's authentication configurations (Tableau Cloud from API 3.24; else empty).
    pub auth_configurations: Vec<crate::tableau::auth_config::AuthConfiguration>,
}
