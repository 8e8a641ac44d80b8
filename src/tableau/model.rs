//! Tableau objects as the REST API shows them, read from and written to its XML.

use compact_str::CompactString;

use super::deployment::Deployment;
use super::error::TableauError;
use super::site_role::SiteRole;
use super::xml::{element, ts_request, Element};

/// A user on a site ([XSD329] `userType`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
    /// Identity-provider configuration (Tableau Cloud, API 3.25+).
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
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
    /// Creators in use.
    pub num_creators: u64,
    /// Explorers in use.
    pub num_explorers: u64,
    /// Viewers in use.
    pub num_viewers: u64,
    /// Users on the site.
    pub num_users: u64,
}

impl SiteInfo {
    /// Read `<site>` with its `<usage>`.
    pub fn from_element(e: &Element) -> Result<SiteInfo, TableauError> {
        let opt = |k: &str| e.attr(k).and_then(|v| v.parse().ok());
        let usage = e.child("usage");
        let used = |k: &str| {
            usage
                .and_then(|u| u.attr(k))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
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

/// A REST API version, compared numerically (`3.9` < `3.21`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(pub u32, pub u32);

impl ApiVersion {
    /// Bulk add/remove of group members (`<users>` bodies, `PUT .../users/remove`).
    pub const BULK_GROUP_MEMBERS: ApiVersion = ApiVersion(3, 21);
    /// `email` on Add User (Tableau Cloud).
    pub const EMAIL_ON_ADD_USER: ApiVersion = ApiVersion(3, 26);
    /// `idpConfigurationId` on Add/Update User (Tableau Cloud).
    pub const IDP_CONFIGURATION_ID: ApiVersion = ApiVersion(3, 25);
    /// `isUat` on a JWT sign-in (Unified Access Tokens, Tableau Cloud December 2025;
    /// tableau-rest.md section 1.1).
    pub const IS_UAT: ApiVersion = ApiVersion(3, 27);
    /// Oldest version we speak: PAT sign-in is 3.6, Get Groups for User 3.7, JWT 3.17.
    pub const MINIMUM: ApiVersion = ApiVersion(3, 7);

    /// Parse `3.21`.
    pub fn parse(s: &str) -> Option<ApiVersion> {
        let (major, minor) = s.trim().split_once('.')?;
        Some(ApiVersion(major.parse().ok()?, minor.parse().ok()?))
    }
}

impl std::fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
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
    /// `idpConfigurationId` (Tableau Cloud, API 3.25+).
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
    /// an `idpConfigurationId`, which needs 3.25, is refused by the client before this.
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
mod tests {
    use super::*;
    use crate::tableau::xml::parse;

    #[test]
    fn reads_tscs_user_list_sample() {
        // tableau-rest.md section 7, TSC test/assets/user_get.xml (verbatim).
        let doc = r#"<?xml version='1.0' encoding='UTF-8'?>
<tsResponse xmlns="http://tableau.com/api" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://tableau.com/api http://tableau.com/api/ts-api-2.3.xsd">
    <pagination pageNumber="1" pageSize="100" totalAvailable="2" />
    <users>
        <user id="dd2239f6-ddf1-4107-981a-4cf94e415794" name="alice" siteRole="Publisher" lastLogin="2016-08-16T23:17:06Z" externalAuthUserId="" fullName="alice cook" email="alicecook@test.com" />
        <user id="2a47bbf8-8900-4ebb-b0a4-2723bd7c46c3" name="Bob" siteRole="Interactor" externalAuthUserId="" fullName="Bob Smith" email="bob@test.com" />
    </users>
</tsResponse>"#;
        let root = parse(doc).map_err(|e| e.to_string());
        let root = root.as_ref().map_err(Clone::clone);
        let Ok(root) = root else {
            panic!("parse failed")
        };
        let page = root.child("pagination").map(Pagination::from_element);
        assert_eq!(
            page.and_then(Result::ok).map(|p| p.total_available),
            Some(2)
        );
        let users: Vec<User> = root
            .find("users")
            .map(|u| {
                u.children_named("user")
                    .filter_map(|e| User::from_element(e).ok())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].name, "alice");
        assert_eq!(
            users[0].role(),
            Some(SiteRole::ExplorerCanPublish),
            "legacy Publisher"
        );
        assert_eq!(
            users[1].role(),
            Some(SiteRole::Explorer),
            "legacy Interactor"
        );
        assert_eq!(users[0].last_login.as_deref(), Some("2016-08-16T23:17:06Z"));
    }

    #[test]
    fn reads_group_list_all_fields_site_and_server_info() {
        let doc = r#"<tsResponse xmlns="http://tableau.com/api"><pagination pageNumber="1" pageSize="100" totalAvailable="3"/>
  <groups>
    <group id="ef8b19c0-43b6-11e6-af50-63f5805dbe3c" name="All Users" userCount="2"><domain name="local"/></group>
    <group id="e7833b48-c6f7-47b5-a2a7-36e7dd232758" name="Another group" minimumSiteRole="Explorer"><domain name="local"/></group>
  </groups></tsResponse>"#;
        let root = parse(doc).ok();
        let groups: Vec<Group> = root
            .as_ref()
            .and_then(|r| r.find("groups"))
            .map(|g| {
                g.children_named("group")
                    .filter_map(|e| Group::from_element(e).ok())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(groups.len(), 2);
        assert!(groups[0].is_all_users());
        assert_eq!(groups[0].user_count, Some(2));
        assert_eq!(groups[1].minimum_site_role.as_deref(), Some("Explorer"));
        assert_eq!(groups[1].domain.as_deref(), Some("local"));
        // TSC's reading: the minimum role in an <import> child.
        let tsc_shape = r#"<group id="g" name="G"><import domainName="local" siteRole="Viewer" grantLicenseMode="onLogin"/></group>"#;
        let g = parse(tsc_shape)
            .ok()
            .map(|e| Group::from_element(&e))
            .and_then(Result::ok);
        assert_eq!(
            g.map(|g| (g.minimum_site_role, g.domain)),
            Some((Some("Viewer".into()), Some("local".into())))
        );

        let site = r#"<tsResponse xmlns="http://tableau.com/api"><site id="s1" name="Acme" contentUrl="acme" tierCreatorCapacity="5" tierExplorerCapacity="10"><usage numCreators="5" numExplorers="3" numViewers="0" numUsers="9"/></site></tsResponse>"#;
        let s = parse(site)
            .ok()
            .and_then(|r| r.find("site").map(SiteInfo::from_element))
            .and_then(Result::ok);
        assert_eq!(
            s.as_ref().map(|s| (
                s.tier_creator_capacity,
                s.tier_viewer_capacity,
                s.num_creators
            )),
            Some((Some(5), None, 5))
        );

        let info = r#"<tsResponse><serverInfo><productVersion build="10100.16.1024.2100">10.1.0</productVersion><restApiVersion>3.10</restApiVersion></serverInfo></tsResponse>"#;
        let i = parse(info)
            .ok()
            .and_then(|r| r.find("serverInfo").map(ServerInfo::from_element))
            .and_then(Result::ok);
        assert_eq!(i.map(|i| i.rest_api_version), Some("3.10".to_string()));
    }

    #[test]
    fn error_envelope_and_html_errors() {
        let e = crate::tableau::xml::parse_error(
            409,
            r#"<?xml version='1.0' encoding='UTF-8'?><tsResponse xmlns="http://tableau.com/api"><error code="409000"><summary>Conflict</summary><detail>User &apos;alice&apos; already exists</detail></error></tsResponse>"#,
        );
        assert!(e.is_user_exists());
        assert!(e.to_string().contains("User 'alice' already exists"));
        let html =
            crate::tableau::xml::parse_error(429, "<html><body>Too Many Requests</body></html>");
        assert_eq!(html.code(), Some("429000"));
    }

    #[test]
    fn request_bodies_have_tableaus_shapes() {
        let new = NewUser {
            name: "a&b@x.com".into(),
            site_role: SiteRole::Viewer,
            auth_setting: Some("SAML".into()),
            idp_configuration_id: Some("idp-1".into()),
            email: Some("a@x.com".into()),
        };
        let server = NewUser {
            idp_configuration_id: None,
            ..new.clone()
        };
        assert_eq!(
            server.to_request(ApiVersion(3, 27), Deployment::Server),
            r#"<tsRequest><user name="a&amp;b@x.com" siteRole="Viewer" authSetting="SAML"/></tsRequest>"#,
            "no email on Tableau Server"
        );
        assert_eq!(
            new.to_request(ApiVersion(3, 26), Deployment::Cloud),
            r#"<tsRequest><user name="a&amp;b@x.com" siteRole="Viewer" idpConfigurationId="idp-1" email="a@x.com"/></tsRequest>"#
        );
        let upd = UserUpdate {
            site_role: Some(SiteRole::Creator),
            full_name: Some("O'Neil".into()),
            ..UserUpdate::default()
        };
        assert_eq!(
            upd.to_request(),
            r#"<tsRequest><user fullName="O&apos;Neil" siteRole="Creator"/></tsRequest>"#
        );
        assert_eq!(
            group_request("Sales", Some(SiteRole::Explorer)),
            r#"<tsRequest><group name="Sales" minimumSiteRole="Explorer"/></tsRequest>"#
        );
        assert_eq!(
            members_request(&["u1".into(), "u2".into()]),
            r#"<tsRequest><users><user id="u1"/><user id="u2"/></users></tsRequest>"#
        );
        assert_eq!(
            member_request("u1"),
            r#"<tsRequest><user id="u1"/></tsRequest>"#
        );
    }

    #[test]
    fn api_versions_compare_numerically() {
        assert!(ApiVersion::parse("3.9") < ApiVersion::parse("3.21"));
        assert_eq!(
            ApiVersion::parse("3.21"),
            Some(ApiVersion::BULK_GROUP_MEMBERS)
        );
        assert_eq!(ApiVersion::parse("x"), None);
    }
}
