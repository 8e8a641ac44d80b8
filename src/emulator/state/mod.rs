//! The emulated site: users, groups, sessions, and the rules Tableau applies to them. The rules
//! for users are in `users`, for groups in `groups`; here the site, its seed and what tests
//! inspect.

mod call_log;
mod content;
mod directory;
mod fault_settings;
mod groups;
mod mirror;
mod seed;
mod sign_in;
mod users;

pub use call_log::{CallLog, LoggedCall, MAX_LOGGED};
pub use content::DEFAULT_PROJECT;
pub use directory::{Directory, DirectoryGroup, DirectoryUser};
pub use fault_settings::{Bucket, Fault, Faults};
pub use seed::{Seed, SeedGroup, SeedUser};
pub use sign_in::SignInMethod;
pub use users::UserEdit;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::tableau::model::{Group, User, ALL_USERS};
use crate::tableau::site_role::{LicenseTier, SiteRole};

/// Which Tableau the emulator behaves like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    /// Tableau Cloud: user names are emails; Update User refuses `fullName`; nobody is a
    /// server administrator, so `mapAssetsTo` is refused; new users default to
    /// `TableauIDWithMFA`; the newest REST API.
    Cloud,
    /// Tableau Server: free-form names; new users default to `ServerDefault`.
    Server,
}

impl Flavor {
    /// The REST API version an emulated site of this flavor speaks unless told otherwise:
    /// Tableau Cloud runs the newest release; for Tableau Server, 2024.2's.
    pub fn default_api_version(self) -> &'static str {
        match self {
            Flavor::Cloud => "3.27",
            Flavor::Server => "3.24",
        }
    }
}

/// The duplicate-user code of Add User, unless told otherwise, by flavor. Tableau Server:
/// 409000 "User conflict", the code the REST reference's error table lists for Add User to
/// Site. Tableau Cloud: 409017, which the migration SDK (built to move Server sites to Cloud,
/// so its Add User calls go to Cloud) handles by looking the user up, and tabcmd names
/// `user_already_member_of_site`; that Cloud is where 409017 comes from is inferred from the
/// SDK's purpose, no source says so.
impl Flavor {
    /// The code of a duplicate user on Add User.
    pub fn user_exists_code(self) -> &'static str {
        match self {
            Flavor::Cloud => "409017",
            Flavor::Server => "409000",
        }
    }
}

/// The full name of the site's administrator (the PAT's owner).
pub const ADMIN_FULL_NAME: &str = "Site Administrator";

/// A Tableau-style error: HTTP status, code, summary, detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Tableau error code.
    pub code: &'static str,
    /// Summary line.
    pub summary: &'static str,
    /// Detail.
    pub detail: String,
}

/// Build an [`ApiError`].
pub fn api_error(
    status: u16,
    code: &'static str,
    summary: &'static str,
    detail: impl Into<String>,
) -> ApiError {
    ApiError {
        status,
        code,
        summary,
        detail: detail.into(),
    }
}

/// Seats per tier; `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capacity {
    /// Creator seats.
    pub creator: Option<u64>,
    /// Explorer seats.
    pub explorer: Option<u64>,
    /// Viewer seats.
    pub viewer: Option<u64>,
}

/// A user and the flags the emulator keeps beside Tableau's attributes.
#[derive(Debug, Clone)]
pub struct EmuUser {
    /// What Tableau shows.
    pub user: User,
    /// Owns workbooks or data sources: cannot be removed without `mapAssetsTo`.
    pub owns_content: bool,
    /// How the user signs in, as Add User settled it.
    pub sign_in: SignInMethod,
    /// A member of another site of the server too (multi-site Tableau Server).
    pub other_sites: bool,
}

/// A local group and its members.
#[derive(Debug, Clone)]
pub struct EmuGroup {
    /// What Tableau shows.
    pub group: Group,
    /// Member user ids.
    pub members: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct SessionInfo {
    pub calls: u64,
    pub user_id: String,
    /// A connected app's granted scopes (`scp`); `None` for a PAT, which acts with all its
    /// owner's rights.
    pub scopes: Option<Vec<String>>,
}

/// The whole emulated site.
#[derive(Debug)]
pub struct SiteState {
    /// Site LUID.
    pub site_id: String,
    /// Site content URL.
    pub content_url: String,
    /// Flavor.
    pub flavor: Flavor,
    /// Seats.
    pub capacity: Capacity,
    /// Code answered for a duplicate user (by default [`Flavor::user_exists_code`]).
    pub user_exists_code: &'static str,
    pub(crate) users: BTreeMap<String, EmuUser>,
    /// Lower-cased user name to id: uniqueness checks stay O(1) on sites of 100,000 users.
    pub(crate) names: HashMap<String, String>,
    pub(crate) groups: BTreeMap<String, EmuGroup>,
    pub(crate) all_users_id: String,
    pub(crate) sessions: HashMap<String, SessionInfo>,
    /// The live token of the PAT (a new sign-in with it ends this session).
    pub(crate) pat_token: Option<String>,
    /// The user the PAT and the connected app sign in as.
    pub(crate) admin_id: String,
    /// Calls per `"METHOD /path/{id}"`.
    pub(crate) stats: BTreeMap<String, u64>,
    /// Attributes received per method, `"Update User fullName"`: what a client sent,
    /// accepted or not.
    pub(crate) sent: BTreeMap<String, u64>,
    /// Fault injection.
    pub faults: Faults,
    /// The rate limit's bucket.
    pub(crate) bucket: Bucket,
    /// Projects, workbooks, data sources and flows, by id (`content.rs`).
    pub(crate) content: BTreeMap<String, crate::tableau::content::ContentItem>,
    /// The site's authentication configurations (Tableau Cloud, REST 3.24).
    pub auth_configurations: Vec<crate::tableau::auth_config::AuthConfiguration>,
    /// The Active Directory the server's identity store is, if it is one.
    pub directory: Option<Directory>,
    /// Every call answered, when asked for (`call_log.rs`).
    pub(crate) call_log: Option<CallLog>,
}

fn luid() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl SiteState {
    /// A site with its administrator (the PAT's owner, who owns content, with `admin_role`)
    /// and "All Users".
    pub fn new(
        content_url: &str,
        flavor: Flavor,
        admin_name: &str,
        admin_role: SiteRole,
    ) -> SiteState {
        let admin_id = luid();
        let all_users_id = luid();
        let mut s = SiteState {
            site_id: luid(),
            content_url: content_url.to_string(),
            flavor,
            capacity: Capacity::default(),
            user_exists_code: flavor.user_exists_code(),
            users: BTreeMap::new(),
            names: HashMap::new(),
            groups: BTreeMap::new(),
            all_users_id: all_users_id.clone(),
            sessions: HashMap::new(),
            pat_token: None,
            admin_id: admin_id.clone(),
            stats: BTreeMap::new(),
            sent: BTreeMap::new(),
            faults: Faults::default(),
            bucket: Bucket::default(),
            content: BTreeMap::new(),
            auth_configurations: Vec::new(),
            directory: None,
            call_log: None,
        };
        s.names.insert(admin_name.to_lowercase(), admin_id.clone());
        s.users.insert(
            admin_id.clone(),
            EmuUser {
                user: User {
                    id: admin_id.into(),
                    name: admin_name.into(),
                    site_role: admin_role.as_str().into(),
                    // A real site's administrator has a full name and an email, and lists
                    // first on most sites: what an IdP's test of the Users endpoint reads.
                    full_name: Some(ADMIN_FULL_NAME.into()),
                    email: admin_name.contains('@').then(|| admin_name.into()),
                    auth_setting: Some(s.default_auth().into()),
                    domain: Some("local".into()),
                    ..User::default()
                },
                owns_content: true,
                sign_in: SignInMethod::Resolved,
                other_sites: false,
            },
        );
        s.groups.insert(
            all_users_id.clone(),
            EmuGroup {
                group: Group {
                    id: all_users_id,
                    name: ALL_USERS.into(),
                    minimum_site_role: None,
                    user_count: None,
                    domain: Some("local".into()),
                },
                members: BTreeSet::new(),
            },
        );
        s
    }

    /// Make the server's identity store `directory`: the administrator becomes an account of
    /// it, and its groups are imported ([`SiteState::import_directory`]).
    pub fn use_directory(&mut self, directory: Directory) -> Result<(), ApiError> {
        let domain = directory.domain.clone();
        self.directory = Some(directory);
        if let Some(admin) = self.users.get_mut(&self.admin_id) {
            admin.user.domain = Some(domain.into());
        }
        self.import_directory()
    }

    /// The name of the signed-in administrator.
    pub fn admin_name(&self) -> &str {
        self.users
            .get(&self.admin_id)
            .map_or("", |u| u.user.name.as_str())
    }

    fn default_auth(&self) -> &'static str {
        match self.flavor {
            Flavor::Cloud => "TableauIDWithMFA",
            Flavor::Server => "ServerDefault",
        }
    }

    /// Seats in use per tier.
    pub fn usage(&self, tier: LicenseTier) -> u64 {
        let n = self
            .users
            .values()
            .filter(|u| u.user.role().and_then(SiteRole::tier) == Some(tier))
            .count();
        u64::try_from(n).unwrap_or(u64::MAX)
    }

    fn capacity_of(&self, tier: LicenseTier) -> Option<u64> {
        match tier {
            LicenseTier::Creator => self.capacity.creator,
            LicenseTier::Explorer => self.capacity.explorer,
            LicenseTier::Viewer => self.capacity.viewer,
        }
    }

    /// Whether a seat of `wanted`'s tier is free for a user who now has `current` (their own
    /// seat counts as free). `Err` names the full tier and its capacity.
    fn seat_for(
        &self,
        wanted: SiteRole,
        current: Option<SiteRole>,
    ) -> Result<(), (LicenseTier, u64)> {
        let Some(tier) = wanted.tier() else {
            return Ok(());
        };
        let Some(cap) = self.capacity_of(tier) else {
            return Ok(());
        };
        let already = current.and_then(SiteRole::tier) == Some(tier);
        if already || self.usage(tier) < cap {
            Ok(())
        } else {
            Err((tier, cap))
        }
    }

    fn name_taken(&self, name: &str, except: Option<&str>) -> bool {
        self.names
            .get(&name.to_lowercase())
            .is_some_and(|id| Some(id.as_str()) != except)
    }

    fn check_role(role: SiteRole) -> Result<(), ApiError> {
        if role.is_assignable() {
            Ok(())
        } else {
            Err(api_error(
                400,
                "400013",
                "Invalid site role",
                format!("The site role '{role}' cannot be assigned. Valid roles: Creator, Explorer, ExplorerCanPublish, SiteAdministratorExplorer, SiteAdministratorCreator, Unlicensed, Viewer"),
            ))
        }
    }
}

impl SiteState {
    /// The call counters, keyed `"METHOD /path/{id}"`.
    pub fn stats_snapshot(&self) -> BTreeMap<String, u64> {
        self.stats.clone()
    }

    /// Zero the call counters.
    pub fn reset_stats(&mut self) {
        self.stats.clear();
        self.sent.clear();
    }

    /// Count the attributes of a request body to `method` (`"Update User"`).
    pub(crate) fn note_attributes<'a>(
        &mut self,
        method: &str,
        names: impl Iterator<Item = &'a str>,
    ) {
        for name in names {
            *self.sent.entry(format!("{method} {name}")).or_default() += 1;
        }
    }

    /// How many requests to `method` (`"Add User"`, `"Update User"`) carried `attribute`.
    pub fn attribute_sent(&self, method: &str, attribute: &str) -> u64 {
        self.sent
            .get(&format!("{method} {attribute}"))
            .copied()
            .unwrap_or(0)
    }

    /// The rate limit's count since it was set: calls let through and calls refused (429).
    pub fn rate_limit_counts(&self) -> (u64, u64) {
        (self.bucket.taken, self.bucket.refused)
    }

    /// Every API call counted so far.
    pub fn total_calls(&self) -> u64 {
        self.stats.values().sum()
    }

    /// A user's site role, by name.
    pub fn role_of(&self, name: &str) -> Option<String> {
        self.users
            .values()
            .find(|u| u.user.name == name)
            .map(|u| u.user.site_role.to_string())
    }

    /// A user, by name.
    pub fn user_named(&self, name: &str) -> Option<User> {
        self.users
            .values()
            .find(|u| u.user.name == name)
            .map(|u| u.user.clone())
    }

    /// A group's member names, sorted, by group name.
    pub fn member_names(&self, group: &str) -> Option<Vec<String>> {
        let g = self.groups.values().find(|g| g.group.name == group)?;
        let mut names: Vec<String> = self
            .members(&g.group.id)
            .ok()?
            .into_iter()
            .map(|u| u.name.to_string())
            .collect();
        names.sort();
        Some(names)
    }

    /// Group names, "All Users" included.
    pub fn group_names(&self) -> Vec<String> {
        self.groups_sorted().into_iter().map(|g| g.name).collect()
    }

    /// Live sessions.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Live sessions' tokens: what a test searches stores, logs and traces for.
    pub fn session_tokens(&self) -> Vec<String> {
        self.sessions.keys().cloned().collect()
    }

    /// Every user name.
    pub fn user_names(&self) -> Vec<String> {
        self.users
            .values()
            .map(|u| u.user.name.to_string())
            .collect()
    }

    /// The user of that name, to set the flags the emulator keeps beside Tableau's attributes
    /// (`owns_content`, `other_sites`).
    pub fn user_flags(&mut self, name: &str) -> Option<&mut EmuUser> {
        self.users.values_mut().find(|u| u.user.name == name)
    }

    /// Mark a user as owning content (or not); false when there is no such user.
    pub fn set_owns_content(&mut self, name: &str, owns: bool) -> bool {
        self.user_flags(name)
            .map(|u| u.owns_content = owns)
            .is_some()
    }

    /// Mark a user as a member of another site of the server too (or not); false when there is
    /// no such user.
    pub fn set_other_sites(&mut self, name: &str, other: bool) -> bool {
        self.user_flags(name)
            .map(|u| u.other_sites = other)
            .is_some()
    }
}
