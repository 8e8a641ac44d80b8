//! Content with owners: projects, workbooks, data sources and flows, and the rules of their
//! owner changes (`../shared/reference/tableau-content.md`; codes from the REST reference's
//! error tables as tabbycat's `src/api-errors.js` extracted them).
//!
//! Not enforced, because the sources disagree or are silent: whether a Viewer or an
//! Unlicensed user may be given ownership (the Cloud and Server "Manage Content Ownership"
//! pages list different roles; Tableau's migration SDK assumes Viewers cannot own), and the
//! minimum version of Update Project's `<owner>`.

use super::{api_error, luid, ApiError, SiteState};
use crate::tableau::api_version::ApiVersion;
use crate::tableau::content::{ContentItem, ContentKind};

/// The project every site has, owned by the site's administrator here ("The default project
/// that was automatically created by Tableau", tableauserverclient's recorded
/// `project_get.xml`; on a real site it is owned by the system user, which the migration SDK
/// filters out: `SystemOwnershipFilter.cs`).
pub const DEFAULT_PROJECT: &str = "Default";

impl SiteState {
    /// Every item of `kind`, by name.
    pub fn items_of(&self, kind: ContentKind) -> Vec<ContentItem> {
        let mut items: Vec<ContentItem> = self
            .content
            .values()
            .filter(|i| i.kind == kind)
            .cloned()
            .collect();
        items.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        items
    }

    /// The name of the project an item is in (for a project: its parent's).
    pub fn project_name(&self, item: &ContentItem) -> Option<&str> {
        let p = item.project_id.as_deref()?;
        self.content.get(p).map(|p| p.name.as_str())
    }

    /// Every item's name and its owner's name (`None`: the owner is no user of the site), by
    /// item name: what tests read after a transfer.
    pub fn content_owners(&self) -> Vec<(String, Option<String>)> {
        let mut out: Vec<(String, Option<String>)> = self
            .content
            .values()
            .map(|i| {
                let owner = self.users.get(&i.owner_id).map(|u| u.user.name.to_string());
                (i.name.clone(), owner)
            })
            .collect();
        out.sort();
        out
    }

    /// What `user_id` owns of `kind`.
    pub fn owned_items(&self, kind: ContentKind, user_id: &str) -> Vec<ContentItem> {
        let mut items = self.items_of(kind);
        items.retain(|i| i.owner_id == user_id);
        items
    }

    /// Whether a user owns anything a removal would strand: a modelled item, or what the
    /// `owns-content` flag stands for (content Tableau cannot transfer, such as a collection).
    pub fn owns_anything(&self, user_id: &str) -> bool {
        self.users.get(user_id).is_some_and(|u| u.owns_content)
            || self.content.values().any(|i| i.owner_id == user_id)
    }

    /// Seed an item owned by the user named `owner` (control API): in the project named
    /// `project` (made, owned by the site's administrator, if there is none), or in the
    /// default project; a project is nested in `project`, or top-level. Returns the item, or `None` when there is no such user.
    pub fn seed_item(
        &mut self,
        owner: &str,
        kind: ContentKind,
        name: &str,
        project: Option<&str>,
    ) -> Option<ContentItem> {
        let owner_id = self.user_flags(owner)?.user.id.to_string();
        let project_id = match kind {
            // A project named with a parent is nested in it; without one it is top-level.
            ContentKind::Project => project.map(|p| self.project_named(p)),
            _ => Some(self.project_named(project.unwrap_or(DEFAULT_PROJECT))),
        };
        let item = ContentItem {
            kind,
            id: luid(),
            name: name.to_string(),
            owner_id,
            project_id,
        };
        self.content.insert(item.id.clone(), item.clone());
        Some(item)
    }

    /// The id of the top-level project named `name`, made (owned by the administrator) when
    /// missing.
    fn project_named(&mut self, name: &str) -> String {
        if let Some(p) = self
            .content
            .values()
            .find(|i| i.kind == ContentKind::Project && i.name == name)
        {
            return p.id.clone();
        }
        let p = ContentItem {
            kind: ContentKind::Project,
            id: luid(),
            name: name.to_string(),
            owner_id: self.admin_id.clone(),
            project_id: None,
        };
        let id = p.id.clone();
        self.content.insert(id.clone(), p);
        id
    }

    /// Update *Kind* with an `<owner id>` (and, for a data source, perhaps its `<project
    /// id>`) at API `version`. Rules: an unknown item is the kind's not-found code (404006
    /// workbook, 404004 data source, 404027 flow, 404005 project); an owner who is not a user
    /// of the site is 404002 "Owner not found"; a body's project that is not the item's is
    /// 404005; before 3.15 a data source's owner change without its project is 403141
    /// (tableauserverclient issue #1072 and PR #1203; the summary text is assumed).
    pub fn change_owner(
        &mut self,
        kind: ContentKind,
        id: &str,
        owner_id: &str,
        project_id: Option<&str>,
        version: ApiVersion,
    ) -> Result<ContentItem, ApiError> {
        let Some(item) = self.content.get_mut(id).filter(|i| i.kind == kind) else {
            return Err(api_error(
                404,
                kind.not_found_code(),
                "Resource Not Found",
                format!("The {kind} ID '{id}' doesn't correspond to an existing {kind}."),
            ));
        };
        if !self.users.contains_key(owner_id) {
            return Err(api_error(
                404,
                "404002",
                "Owner not found",
                format!("The owner ID '{owner_id}' doesn't correspond to an existing user."),
            ));
        }
        if let Some(p) = project_id {
            if item.project_id.as_deref() != Some(p) {
                return Err(api_error(
                    404,
                    "404005",
                    "Project not found",
                    format!("The project ID '{p}' doesn't match the {kind}'s project."),
                ));
            }
        }
        if kind == ContentKind::Datasource
            && version < ApiVersion::DATASOURCE_OWNER_WITHOUT_PROJECT
            && project_id.is_none()
        {
            return Err(api_error(
                403,
                "403141",
                "Forbidden",
                "Before 3.15 the data source's project id must accompany a new owner.",
            ));
        }
        item.owner_id = owner_id.to_string();
        Ok(item.clone())
    }

    /// `mapAssetsTo`: everything `from` owns goes to `to`.
    pub(super) fn map_assets(&mut self, from: &str, to: &str) {
        for item in self.content.values_mut().filter(|i| i.owner_id == from) {
            item.owner_id = to.to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Flavor;
    use super::*;
    use crate::tableau::SiteRole;

    fn site() -> SiteState {
        SiteState::new(
            "s",
            Flavor::Cloud,
            "admin@example.com",
            SiteRole::SiteAdministratorCreator,
        )
    }

    #[test]
    fn owner_changes_follow_the_reference_error_tables() {
        let mut s = site();
        let admin = s.admin_id.clone();
        let wb = s
            .seed_item(
                "admin@example.com",
                ContentKind::Workbook,
                "Sales",
                Some("Finance"),
            )
            .unwrap();
        let ds = s
            .seed_item("admin@example.com", ContentKind::Datasource, "Orders", None)
            .unwrap();
        let v = ApiVersion(3, 24);
        let e = s
            .change_owner(ContentKind::Flow, &wb.id, &admin, None, v)
            .unwrap_err();
        assert_eq!(e.code, "404027", "a workbook's id is no flow");
        let e = s
            .change_owner(ContentKind::Workbook, &wb.id, "nobody", None, v)
            .unwrap_err();
        assert_eq!(e.code, "404002");
        let e = s
            .change_owner(
                ContentKind::Datasource,
                &ds.id,
                &admin,
                None,
                ApiVersion(3, 14),
            )
            .unwrap_err();
        assert_eq!(e.code, "403141");
        let p = ds.project_id.as_deref();
        assert!(s
            .change_owner(
                ContentKind::Datasource,
                &ds.id,
                &admin,
                p,
                ApiVersion(3, 14)
            )
            .is_ok());
        let e = s
            .change_owner(ContentKind::Workbook, &wb.id, &admin, Some("other"), v)
            .unwrap_err();
        assert_eq!(e.code, "404005");
    }

    #[test]
    fn seeded_items_land_in_named_or_default_projects_and_count_as_owned() {
        let mut s = site();
        let admin = s.admin_id.clone();
        let a = s
            .seed_item("admin@example.com", ContentKind::Flow, "Prep", Some("Ops"))
            .unwrap();
        let b = s
            .seed_item(
                "admin@example.com",
                ContentKind::Flow,
                "Prep 2",
                Some("Ops"),
            )
            .unwrap();
        assert_eq!(a.project_id, b.project_id);
        assert_eq!(s.items_of(ContentKind::Project).len(), 1);
        assert_eq!(s.owned_items(ContentKind::Flow, &admin).len(), 2);
        assert!(s
            .seed_item("nobody", ContentKind::Flow, "x", None)
            .is_none());
    }
}
