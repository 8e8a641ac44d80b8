//! The XML the emulator answers with, in the shapes Tableau writes (TSC's recorded responses
//! under `test/assets/`). Only the emulator writes responses; the client only reads them.

use crate::tableau::content::{ContentItem, ContentKind};
use crate::tableau::model::{Group, Pagination, User};
use crate::tableau::xml::{element, NAMESPACE};

/// Wrap a response body in `<tsResponse>` with the API namespace, as Tableau does.
pub fn ts_response(inner: &str) -> String {
    format!(
        "<?xml version='1.0' encoding='UTF-8'?><tsResponse xmlns=\"{NAMESPACE}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"{NAMESPACE} https://help.tableau.com/samples/en-us/rest_api/ts-api_3_24.xsd\">{inner}</tsResponse>"
    )
}

/// A `<user>` as Get User and the user listings show it (TSC `user_get.xml`, and
/// `user_get_all_fields.xml` for `locale` and `language`).
pub fn user_xml(u: &User) -> String {
    let domain = u
        .domain
        .as_deref()
        .map(|d| element("domain", &[("name", Some(d))], None));
    element(
        "user",
        &[
            ("id", Some(&u.id)),
            ("name", Some(&u.name)),
            ("siteRole", Some(&u.site_role)),
            ("fullName", u.full_name.as_deref()),
            ("email", u.email.as_deref()),
            ("authSetting", u.auth_setting.as_deref()),
            ("idpConfigurationId", u.idp_configuration_id.as_deref()),
            ("lastLogin", u.last_login.as_deref()),
            ("externalAuthUserId", Some("")),
            ("locale", Some("")),
            ("language", Some("en")),
        ],
        domain.as_deref(),
    )
}

/// A `<user>` of an Add User to Group answer (TSC `group_add_user.xml`, and inside `<users>`
/// of `group_users_added.xml`).
pub fn member_xml(u: &User) -> String {
    element(
        "user",
        &[
            ("id", Some(&u.id)),
            ("name", Some(&u.name)),
            ("siteRole", Some(&u.site_role)),
            ("externalAuthUserId", Some("")),
        ],
        None,
    )
}

/// The `<user>` of an Add User answer (TSC `user_add.xml`: no fullName, no email).
pub fn added_user_xml(u: &User) -> String {
    element(
        "user",
        &[
            ("id", Some(&u.id)),
            ("name", Some(&u.name)),
            ("siteRole", Some(&u.site_role)),
            ("authSetting", u.auth_setting.as_deref()),
            ("idpConfigurationId", u.idp_configuration_id.as_deref()),
            ("externalAuthUserId", Some("")),
        ],
        None,
    )
}

/// The `<user>` of an Update User answer, which carries no id (TSC `user_update.xml`).
pub fn updated_user_xml(u: &User) -> String {
    element(
        "user",
        &[
            ("name", Some(&u.name)),
            ("fullName", u.full_name.as_deref()),
            ("email", u.email.as_deref()),
            ("siteRole", Some(&u.site_role)),
            ("authSetting", u.auth_setting.as_deref()),
        ],
        None,
    )
}

/// A `<group>`: `<domain>`, and `<import>` carrying the minimum site role when one is set, as
/// TSC reads it (`models/group_item.py`).
pub fn group_xml(g: &Group) -> String {
    let count = g.user_count.map(|c| c.to_string());
    let domain_name = g.domain.as_deref().unwrap_or("local");
    let mut inner = element("domain", &[("name", Some(domain_name))], None);
    if let Some(role) = g.minimum_site_role.as_deref() {
        inner.push_str(&element(
            "import",
            &[
                ("domainName", Some(domain_name)),
                ("siteRole", Some(role)),
                ("grantLicenseMode", Some("onLogin")),
            ],
            None,
        ));
    }
    element(
        "group",
        &[
            ("id", Some(&g.id)),
            ("name", Some(&g.name)),
            ("minimumSiteRole", g.minimum_site_role.as_deref()),
            ("userCount", count.as_deref()),
        ],
        Some(&inner),
    )
}

/// List Authentication Configurations' answer (the shape of tableauserverclient's
/// `site_auth_configurations.xml`).
pub fn auth_configurations_xml(
    configs: &[crate::tableau::auth_config::AuthConfiguration],
) -> String {
    let items: String = configs
        .iter()
        .map(|c| {
            let enabled = c.enabled.to_string();
            element(
                "siteAuthConfiguration",
                &[
                    ("authSetting", Some(&c.auth_setting)),
                    ("enabled", Some(&enabled)),
                    ("idpConfigurationId", Some(&c.id)),
                    ("idpConfigurationName", Some(&c.name)),
                    ("knownProviderAlias", c.known_provider_alias.as_deref()),
                ],
                None,
            )
        })
        .collect();
    format!("<siteAuthConfigurations>{items}</siteAuthConfigurations>")
}

/// `<pagination>`.
pub fn pagination_xml(p: &Pagination) -> String {
    format!(
        "<pagination pageNumber=\"{}\" pageSize=\"{}\" totalAvailable=\"{}\"/>",
        p.page_number, p.page_size, p.total_available
    )
}

/// A `<workbook>`, `<datasource>`, `<flow>` or `<project>` as the listings and the Update
/// answers show it (TSC's recorded `workbook_get.xml`, `datasource_get.xml`, `flow_get.xml`,
/// `project_get.xml` and their `*_update.xml`): its project as a `<project id name>` child,
/// or a project's parent as `parentProjectId`, and the owner as `<owner id>`.
pub fn content_xml(item: &ContentItem, project_name: Option<&str>) -> String {
    let owner = element("owner", &[("id", Some(&item.owner_id))], None);
    let (parent, inner) = match (item.kind, &item.project_id) {
        (ContentKind::Project, p) => (p.as_deref(), owner),
        (_, Some(p)) => (
            None,
            format!(
                "{}{owner}",
                element("project", &[("id", Some(p)), ("name", project_name)], None)
            ),
        ),
        (_, None) => (None, owner),
    };
    element(
        item.kind.element(),
        &[
            ("id", Some(&item.id)),
            ("name", Some(&item.name)),
            ("contentUrl", Some(&item.name)),
            ("parentProjectId", parent),
        ],
        Some(&inner),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tableau::xml::parse;

    #[test]
    fn what_the_emulator_writes_the_client_reads_back() {
        let u = User {
            id: "u1".into(),
            name: "a&b@x.com".into(),
            site_role: "Viewer".into(),
            full_name: Some("O'Neil \"Q\" <x>".into()),
            domain: Some("local".into()),
            ..User::default()
        };
        let root = parse(&ts_response(&user_xml(&u))).ok();
        let back = root
            .as_ref()
            .and_then(|r| r.find("user"))
            .map(User::from_element)
            .and_then(Result::ok);
        assert_eq!(back, Some(u));
        let g = Group {
            id: "g1".into(),
            name: "Sales".into(),
            minimum_site_role: Some("Explorer".into()),
            user_count: Some(3),
            domain: Some("local".into()),
        };
        let root = parse(&ts_response(&group_xml(&g))).ok();
        let back = root
            .as_ref()
            .and_then(|r| r.find("group"))
            .map(Group::from_element)
            .and_then(Result::ok);
        assert_eq!(back, Some(g));
        let p = Pagination {
            page_number: 2,
            page_size: 100,
            total_available: 250,
        };
        let root = parse(&ts_response(&pagination_xml(&p))).ok();
        let back = root
            .as_ref()
            .and_then(|r| r.find("pagination"))
            .map(Pagination::from_element)
            .and_then(Result::ok);
        assert_eq!(back, Some(p));
    }
}
