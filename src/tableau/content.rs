//! Content a user owns, and the owner changes that hand it to someone else: the kinds a
//! removal would strand and the REST API can transfer (`../shared/reference/tableau-content.md`
//! section 1): projects, workbooks, data sources and flows. Each is listed and changed with
//! its own call; the XML is the same shape for all four (`<kind id name><project/><owner
//! id/></kind>`, tableauserverclient's recorded `workbook_get.xml`, `datasource_get.xml`,
//! `flow_get.xml`, `project_get.xml` and their `*_update.xml`).
//!
//! Not modelled, and reported instead of transferred when the user owns them: collections (no
//! REST owner change exists), subscriptions and favorites (per user, not transferable), and
//! personal access tokens. Virtual connections, custom views and data-driven alerts have owner
//! changes (3.23, 3.18, 3.2) but are not transferred yet; a removal they block answers 409003,
//! which the bridge reports.

use crate::tableau::api_version::ApiVersion;
use crate::tableau::error::TableauError;
use crate::tableau::xml::{esc, Element};

/// A kind of content with an owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContentKind {
    /// `projects`: Update Project takes `<owner>` (tableauserverclient since July 2024, commit
    /// 3c91a2e4; the migration SDK's `ProjectsApiClient.ChangeOwnerAsync`); the minimum version
    /// is not documented, so the owner is read back from the answer.
    Project,
    /// `workbooks`, API 2.0.
    Workbook,
    /// `datasources`, API 2.0 (the project id goes with the owner before 3.15).
    Datasource,
    /// `flows`, API 3.3.
    Flow,
}

impl ContentKind {
    /// Every kind, in the order a transfer takes them: projects first (items inside a project
    /// follow it), then what workbooks connect to, then workbooks (the migration SDK publishes
    /// in this order too: `tableau-content.md` section 9).
    pub const ALL: [ContentKind; 4] = [
        ContentKind::Project,
        ContentKind::Datasource,
        ContentKind::Flow,
        ContentKind::Workbook,
    ];

    /// The element name (`<workbook>`).
    pub fn element(self) -> &'static str {
        match self {
            ContentKind::Project => "project",
            ContentKind::Workbook => "workbook",
            ContentKind::Datasource => "datasource",
            ContentKind::Flow => "flow",
        }
    }

    /// The list element and path segment (`workbooks`).
    pub fn plural(self) -> &'static str {
        match self {
            ContentKind::Project => "projects",
            ContentKind::Workbook => "workbooks",
            ContentKind::Datasource => "datasources",
            ContentKind::Flow => "flows",
        }
    }

    /// Parse an element name or its plural.
    pub fn parse(s: &str) -> Option<ContentKind> {
        ContentKind::ALL
            .into_iter()
            .find(|k| k.element() == s || k.plural() == s)
    }

    /// The version a site needs to hold this kind and its owner change.
    pub fn since(self) -> ApiVersion {
        match self {
            ContentKind::Flow => ApiVersion::FLOWS,
            _ => ApiVersion(2, 0),
        }
    }

    /// Update *Kind*'s code when the item does not exist (tabbycat's extraction of the REST
    /// reference error tables: Update Workbook 404006, Update Data Source 404004, Update Flow
    /// 404027, Update Project 404005).
    pub fn not_found_code(self) -> &'static str {
        match self {
            ContentKind::Project => "404005",
            ContentKind::Workbook => "404006",
            ContentKind::Datasource => "404004",
            ContentKind::Flow => "404027",
        }
    }
}

impl std::fmt::Display for ContentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.element())
    }
}

/// One item with an owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentItem {
    /// Its kind.
    pub kind: ContentKind,
    /// LUID.
    pub id: String,
    /// Name (unique per kind and project).
    pub name: String,
    /// The owner's LUID.
    pub owner_id: String,
    /// The containing project (for a project: its parent), if any.
    pub project_id: Option<String>,
}

impl ContentItem {
    /// Read a `<workbook>`, `<datasource>`, `<flow>` or `<project>`: the owner is the `id` of
    /// its `<owner>` child; the project is the `id` of its `<project>` child, or a project's
    /// `parentProjectId` (tableauserverclient's recorded `project_get.xml`).
    pub fn from_element(kind: ContentKind, e: &Element) -> Result<ContentItem, TableauError> {
        let missing = |what: &str| TableauError::Protocol(format!("a <{kind}> without {what}"));
        Ok(ContentItem {
            kind,
            id: e.attr("id").ok_or_else(|| missing("id"))?.to_string(),
            name: e.attr("name").unwrap_or_default().to_string(),
            owner_id: e
                .child("owner")
                .and_then(|o| o.attr("id"))
                .ok_or_else(|| missing("an <owner id>"))?
                .to_string(),
            project_id: match kind {
                ContentKind::Project => e.attr("parentProjectId").map(str::to_string),
                _ => e
                    .child("project")
                    .and_then(|p| p.attr("id"))
                    .map(str::to_string),
            },
        })
    }
}

/// The body of Update *Kind* that changes only the owner: `<owner id>` alone, so nothing else
/// of the item is touched (tableauserverclient's `update_req` also writes tags and, for data
/// sources, `isCertified`, which would clear a certification: `tableau-content.md` 4.2).
/// Before 3.15 a data source's project goes with it.
pub fn owner_request(item: &ContentItem, new_owner: &str, version: ApiVersion) -> String {
    let project = match (&item.project_id, item.kind) {
        (Some(p), ContentKind::Datasource)
            if version < ApiVersion::DATASOURCE_OWNER_WITHOUT_PROJECT =>
        {
            format!("<project id=\"{}\"/>", esc(p))
        }
        _ => String::new(),
    };
    format!(
        "<tsRequest><{kind}>{project}<owner id=\"{owner}\"/></{kind}></tsRequest>",
        kind = item.kind.element(),
        owner = esc(new_owner)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tableau::xml;

    fn item(kind: ContentKind) -> ContentItem {
        ContentItem {
            kind,
            id: "i".into(),
            name: "n".into(),
            owner_id: "old".into(),
            project_id: Some("p".into()),
        }
    }

    #[test]
    fn owner_requests_carry_only_the_owner_and_a_data_source_its_project_before_3_15() {
        assert_eq!(
            owner_request(&item(ContentKind::Workbook), "new", ApiVersion(3, 14)),
            "<tsRequest><workbook><owner id=\"new\"/></workbook></tsRequest>"
        );
        assert_eq!(
            owner_request(&item(ContentKind::Datasource), "new", ApiVersion(3, 14)),
            "<tsRequest><datasource><project id=\"p\"/><owner id=\"new\"/></datasource></tsRequest>"
        );
        assert_eq!(
            owner_request(&item(ContentKind::Datasource), "new", ApiVersion(3, 15)),
            "<tsRequest><datasource><owner id=\"new\"/></datasource></tsRequest>"
        );
    }

    #[test]
    fn items_read_owner_and_project_and_a_project_its_parent() {
        let root = xml::parse(
            "<tsResponse><project id=\"c\" name=\"Child\" parentProjectId=\"top\"><owner id=\"u\"/></project></tsResponse>",
        )
        .unwrap();
        let p =
            ContentItem::from_element(ContentKind::Project, root.find("project").unwrap()).unwrap();
        assert_eq!(
            (p.owner_id.as_str(), p.project_id.as_deref()),
            ("u", Some("top"))
        );
        let root = xml::parse("<tsResponse><flow id=\"f\" name=\"F\"/></tsResponse>").unwrap();
        assert!(ContentItem::from_element(ContentKind::Flow, root.find("flow").unwrap()).is_err());
    }

    #[test]
    fn kinds_parse_from_element_or_plural_and_transfer_projects_first() {
        assert_eq!(
            ContentKind::parse("datasources"),
            Some(ContentKind::Datasource)
        );
        assert_eq!(ContentKind::parse("flow"), Some(ContentKind::Flow));
        assert_eq!(ContentKind::parse("collection"), None);
        assert_eq!(ContentKind::ALL[0], ContentKind::Project);
    }
}
