//! Tableau objects as the REST API shows them, read from and written to its XML.

pub use super::api_version::ApiVersion;
use compact_str::CompactString;

use super::deployment::Deployment;
use super::error::TableauError;
use super::site_role::{LicenseTier, SiteRole};
use super::xml::{element, ts_request, Element};

/// A user on a site ([XSD329] `userType`).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct User {
    /// LUID.
    pub id: CompactString,
    /// User name (the sign-in email on Tableau Cloud).
    pub name: CompactString,
    /// Site role exactly as Tableau wrote it; see [`User::role`].
    pub site_role: CompactString,
    /// Display name.
    pub full_name: Option<CompactString>,
    /// Email.
    pub email: Option<CompactString>,
    /// Authentication setting (`SAML`, `OpenID`, `ServerDefault`, `TableauIDWithMFA`, ...).
    pub auth_setting: Option<CompactString>,
    /// Identity-provider configuration (Tableau Cloud, API 3.24+).
    pub idp_configuration_id: Option<CompactString>,
    /// Last sign-in, xs:dateTime.
    pub last_login: Option<CompactString>,
    /// Domain name (`local`, `TABID_WITH_MFA`, an AD domain).
    pub domain: Option<CompactString>,
}

impl User {
    /// The site role, if it is one we know (legacy names read as modern ones).
    pub fn role(&self) -> Option<SiteRole> {
        self.site_role.parse().ok()
    }

    /// Read a `<user>` element.
    pub fn from_element(e: &Element) -> Result<User, TableauError> {
        let get = |k: &str| e.attr(k).filter(|v| !v.is_empty()).map(CompactString::from);
        Ok(User {
            id: get("id").ok_or_else(|| TableauError::Protocol("a <user> without id".into()))?,
            name: get("name").unwrap_or_default(),
            site_role: get("siteRole").unwrap_or_default(),
            full_name: get("fullName"),
            email: get("email"),
            auth_setting: get("authSetting"),
            idp_configuration_id: get("idpConfigurationId"),
            last_login: get("lastLogin"),
            domain: e
                .child("domain")
                .and_then(|d| d.attr("name"))
                .map(CompactString::from),
        })
    }
}

/// A local or AD group ([XSD329] `groupType`).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Group {
    /// LUID.
    pub id: String,
    /// Name, unique per site.
    pub name: String,
    /// Minimum site role granted to members on sign-in, if set.
    pub minimum_site_role: Option<String>,
    /// Member count (with `fields=_all_`).
    pub user_count: Option<u64>,
    /// Domain (`local` for local groups).
    pub domain: Option<String>,
}

impl Group {
    /// Read a `<group>` element. The minimum site role is the `minimumSiteRole` attribute
    /// ([XSD329]) or, as TSC reads it, the `siteRole` of an `<import>` child, which Tableau
    /// returns for local groups too since 2020.3 (TSC `models/group_item.py`), or the
    /// `siteRole` of the `<group>` itself, as a Create Group answer carries it (TSC's recorded
    /// `group_create.xml`).
    pub fn from_element(e: &Element) -> Result<Group, TableauError> {
        let import = e.child("import");
        Ok(Group {
            id: e
                .attr("id")
                .ok_or_else(|| TableauError::Protocol("a <group> without id".into()))?
                .to_string(),
            name: e.attr("name").unwrap_or_default().to_string(),
            minimum_site_role: e
                .attr("minimumSiteRole")
                .or_else(|| import.and_then(|i| i.attr("siteRole")))
                .or_else(|| e.attr("siteRole"))
                .map(str::to_string),
            user_count: e.attr("userCount").and_then(|c| c.parse().ok()),
            domain: e
                .child("domain")
                .and_then(|d| d.attr("name"))
                .or_else(|| import.and_then(|i| i.attr("domainName")))
                .map(str::to_string),
        })
    }

    /// Whether this is the built-in "All Users" group, which cannot be renamed or deleted and
    /// which every user belongs to.
    pub fn is_all_users(&self) -> bool {
        self.name == ALL_USERS
    }
}

/// The built-in group every user of a site belongs to.
pub const ALL_USERS: &str = "All Users";

/// `<pagination pageNumber pageSize totalAvailable>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagination {
    /// 1-based page number.
    pub page_number: u32,
    /// Page size.
    pub page_size: u32,
    /// Total items across pages.
    pub total_available: u64,
}

impl Pagination {
    /// Read `<pagination>`.
    pub fn from_element(e: &Element) -> Result<Pagination, TableauError> {
        let num = |k: &str| -> Result<u64, TableauError> {
            e.attr(k)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| TableauError::Protocol(format!("<pagination> without {k}")))
        };
        Ok(Pagination {
            page_number: u32::try_from(num("pageNumber")?).unwrap_or(u32::MAX),
            page_size: u32::try_from(num("pageSize")?).unwrap_or(u32::MAX),
            total_available: num("totalAvailable")?,
        })
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Paging information.
    pub pagination: Pagination,
}

/// A site's license capacity and usage (tableau-rest.md section 4.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SiteInfo {
    /// Site LUID.
    pub id: String,
    /// Site name.
    pub name: String,
    /// Content URL.
    pub content_url: String,
    /// Creator seats, if limited.
    pub tier_creator_capacity: Option<u64>,
    /// Explorer seats, if limited.
    pub tier_explorer_capacity: Option<u64>,
    /// Viewer seats, if limited.
    pub tier_viewer_capacity: Option<u64>,
    /// Creators in use; `None`: Tableau did not say (`<usage>` is optional, and so are its
    /// per-tier counts: `ts-api_3_29.xsd` `siteType`, where only `numUsers` and `storage` are
    /// required). Unknown, never zero.
    pub num_creators: Option<u64>,
    /// Explorers in use, if said.
    pub num_explorers: Option<u64>,
    /// Viewers in use, if said.
    pub num_viewers: Option<u64>,
    /// Users on the site, if `<usage>` came.
    pub num_users: Option<u64>,
}

impl SiteInfo {
    /// Read `<site>` with its `<usage>`.
    pub fn from_element(e: &Element) -> Result<SiteInfo, TableauError> {
        let opt = |k: &str| e.attr(k).and_then(|v| v.parse().ok());
        let usage = e.child("usage");
        let used = |k: &str| usage.and_then(|u| u.attr(k)).and_then(|v| v.parse().ok());
        Ok(SiteInfo {
            id: e
                .attr("id")
                .ok_or_else(|| TableauError::Protocol("a <site> without id".into()))?
                .to_string(),
            name: e.attr("name").unwrap_or_default().to_string(),
            content_url: e.attr("contentUrl").unwrap_or_default().to_string(),
            tier_creator_capacity: opt("tierCreatorCapacity"),
            tier_explorer_capacity: opt("tierExplorerCapacity"),
            tier_viewer_capacity: opt("tierViewerCapacity"),
            num_creators: used("numCreators"),
            num_explorers: used("numExplorers"),
            num_viewers: used("numViewers"),
            num_users: used("numUsers"),
        })
    }

    /// Whether a seat of `tier` may be free: a tier without a capacity attribute is not limited
    /// (Tableau Server with core-based licensing, tableau-rest.md section 4.3), and a tier whose
    /// use Tableau did not report is not known to be full (a write then meets Tableau's own
    /// answer, 409014, if it is).
    pub fn seat_free(&self, tier: LicenseTier) -> bool {
        let (capacity, used) = self.tier(tier);
        match (capacity, used) {
            (Some(c), Some(u)) => u < c,
            _ => true,
        }
    }

    /// A tier's capacity (`None`: not limited) and use (`None`: not reported).
    pub fn tier(&self, tier: LicenseTier) -> (Option<u64>, Option<u64>) {
        match tier {
            LicenseTier::Creator => (self.tier_creator_capacity, self.num_creators),
            LicenseTier::Explorer => (self.tier_explorer_capacity, self.num_explorers),
            LicenseTier::Viewer => (self.tier_viewer_capacity, self.num_viewers),
        }
    }
}

/// What `GET /api/{ver}/serverinfo` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// Product version, e.g. `2024.2.0`.
    pub product_version: String,
    /// Highest REST API version, e.g. `3.24`.
    pub rest_api_version: String,
}

impl ServerInfo {
    /// Read `<serverInfo>`.
    pub fn from_element(e: &Element) -> Result<ServerInfo, TableauError> {
        Ok(ServerInfo {
            product_version: e
                .child("productVersion")
                .map(|p| p.text.trim().to_string())
                .unwrap_or_default(),
            rest_api_version: e
                .child("restApiVersion")
                .map(|p| p.text.trim().to_string())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    TableauError::Protocol("<serverInfo> without restApiVersion".into())
                })?,
        })
    }
}

/// Add User to Site (`POST .../users`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// User name (an email on Tableau Cloud).
    pub name: String,
    /// Requested site role; Tableau may give less when no seat is free.
    pub site_role: SiteRole,
    /// `authSetting`; never together with `idpConfigurationId`.
    pub auth_setting: Option<String>,
    /// `idpConfigurationId` (Tableau Cloud, API 3.24+).
    pub idp_configuration_id: Option<String>,
    /// `email` (Tableau Cloud, API 3.26+; otherwise set by Update User).
    pub email: Option<String>,
}

/// Update User (`PUT .../users/{id}`): only the given attributes change. There is no `name`:
/// Tableau cannot rename a user through REST (the Update User body of tableauserverclient's
/// `UserRequest.update_req` and of the migration SDK's `UpdateUserRequest` carry `fullName`,
/// `email`, `password`, `siteRole`, `authSetting`, `idpConfigurationId`; Salesforce knowledge
/// article 001473865: delete and re-create the user).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserUpdate {
    /// New display name.
    pub full_name: Option<String>,
    /// New email.
    pub email: Option<String>,
    /// New site role.
    pub site_role: Option<SiteRole>,
    /// New authentication setting.
    pub auth_setting: Option<String>,
    /// New identity-provider configuration.
    pub idp_configuration_id: Option<String>,
}

impl UserUpdate {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == UserUpdate::default()
    }

    /// The Update User body: only the given attributes.
    pub fn to_request(&self) -> String {
        ts_request(&element(
            "user",
            &[
                ("fullName", self.full_name.as_deref()),
                ("email", self.email.as_deref()),
                ("siteRole", self.site_role.map(SiteRole::as_str)),
                ("authSetting", self.auth_setting.as_deref()),
                ("idpConfigurationId", self.idp_configuration_id.as_deref()),
            ],
            None,
        ))
    }
}

impl NewUser {
    /// The Add User body for API version `ver` on `deployment`: `email` only on Tableau Cloud
    /// from 3.26 (elsewhere Update User sets it). Older servers refuse attributes their schema
    /// lacks ("Payload is either malformed or incomplete", tableauserverclient issue #740);
    /// an `idpConfigurationId`, which needs 3.24, is refused by the client before this.
    pub fn to_request(&self, ver: ApiVersion, deployment: Deployment) -> String {
        let email = self.email.as_deref().filter(|_| deployment.adds_email(ver));
        let (auth, idp) = match &self.idp_configuration_id {
            Some(idp) => (None, Some(idp.as_str())),
            None => (self.auth_setting.as_deref(), None),
        };
        ts_request(&element(
            "user",
            &[
                ("name", Some(&self.name)),
                ("siteRole", Some(self.site_role.as_str())),
                ("authSetting", auth),
                ("idpConfigurationId", idp),
                ("email", email),
            ],
            None,
        ))
    }
}

/// The Create Group and Update Group body.
pub fn group_request(name: &str, minimum_site_role: Option<SiteRole>) -> String {
    ts_request(&element(
        "group",
        &[
            ("name", Some(name)),
            ("minimumSiteRole", minimum_site_role.map(SiteRole::as_str)),
        ],
        None,
    ))
}

/// The Add User to Group body for one user.
pub fn member_request(user_id: &str) -> String {
    ts_request(&element("user", &[("id", Some(user_id))], None))
}

/// The bulk Add Users to Group / Remove Users from Group body (API 3.21).
pub fn members_request(user_ids: &[String]) -> String {
    let users: String = user_ids
        .iter()
        .map(|id| element("user", &[("id", Some(id))], None))
        .collect();
    ts_request(&format!("<users>{users}</users>"))
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
