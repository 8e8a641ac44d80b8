//! Group calls: Query Groups, Create Group, Update Group, Delete Group, and membership (one
//! bulk call from API 3.21, one call per member before).

use reqwest::Method;

use super::funnel::Call;
use super::{
    name_filter, one, read_page, refuse_unassignable, same_name, seg, NameMatch, TableauClient,
};
use crate::tableau::error::TableauError;
use crate::tableau::model::{
    group_request, member_request, members_request, ApiVersion, Group, Page, User,
};
use crate::tableau::site_role::SiteRole;

impl TableauClient {
    /// One page of groups, optionally filtered by exact name.
    pub async fn query_groups(
        &self,
        page_number: u32,
        page_size: u32,
        name: Option<&str>,
    ) -> Result<Page<Group>, TableauError> {
        let mut call = Call::new(Method::GET, "groups", "/groups".into())
            .query("pageSize", page_size.to_string())
            .query("pageNumber", page_number.to_string())
            .query("fields", "_all_")
            .query("sort", "name:asc");
        if let Some(n) = name {
            call = call.query("filter", name_filter(n, NameMatch::Exact)?);
        }
        let root = self.send_xml(&call).await?;
        read_page(&root, "groups", "group", Group::from_element)
    }

    /// Every group of the site.
    pub async fn all_groups(&self) -> Result<Vec<Group>, TableauError> {
        self.all_pages(|n, size| self.query_groups(n, size, None))
            .await
    }

    /// The group named `name`, if any, and never another (a `*` in a filter is a wildcard, so
    /// only a group of exactly that name is kept; a name that cannot be a filter is found in
    /// the listing).
    pub async fn find_group_by_name(&self, name: &str) -> Result<Option<Group>, TableauError> {
        let wanted = |g: &Group| same_name(&g.name, name, NameMatch::Exact);
        if name_filter(name, NameMatch::Exact).is_err() {
            return Ok(self.all_groups().await?.into_iter().find(wanted));
        }
        Ok(self
            .query_groups(1, 2, Some(name))
            .await?
            .items
            .into_iter()
            .find(wanted))
    }

    /// Create a local group. An unknown outcome is resolved by looking the name up.
    pub async fn create_group(
        &self,
        name: &str,
        minimum_site_role: Option<SiteRole>,
    ) -> Result<Group, TableauError> {
        if let Some(r) = minimum_site_role {
            refuse_unassignable(r)?;
        }
        let call = Call::new(Method::POST, "groups", "/groups".into())
            .body(group_request(name, minimum_site_role));
        self.create_resolving(
            &call,
            "Create Group",
            |root| one(root, "group", Group::from_element),
            || self.find_group_by_name(name),
            TableauError::is_group_exists,
        )
        .await
    }

    /// Rename a local group or change its minimum site role.
    pub async fn update_group(
        &self,
        id: &str,
        name: &str,
        minimum_site_role: Option<SiteRole>,
    ) -> Result<Group, TableauError> {
        let call = Call::new(Method::PUT, "groups/{id}", format!("/groups/{}", seg(id)))
            .body(group_request(name, minimum_site_role));
        let root = self.send_xml(&call).await?;
        one(&root, "group", Group::from_element)
    }

    /// Delete a group; `false` when it was already gone.
    pub async fn delete_group(&self, id: &str) -> Result<bool, TableauError> {
        let call = Call::new(
            Method::DELETE,
            "groups/{id}",
            format!("/groups/{}", seg(id)),
        );
        match self.send(&call).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every member of a group.
    pub async fn group_members(&self, id: &str) -> Result<Vec<User>, TableauError> {
        let path = format!("/groups/{}/users", seg(id));
        let members = self
            .all_listed(
                "groups/{id}/users",
                path,
                "users",
                "user",
                User::from_element,
            )
            .await?;
        Ok(members
            .into_iter()
            .filter(|u| !self.aliases.is_hidden(&u.id))
            .map(|u| self.aliases.user_in(u))
            .collect())
    }

    /// Add users to a group: one bulk call from API 3.21, one call each before. A user who
    /// is already a member is not an error.
    pub async fn add_members(
        &self,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<(), TableauError> {
        if user_ids.is_empty() {
            return Ok(());
        }
        let user_ids = &self.aliases.all_to_tableau(user_ids);
        let path = format!("/groups/{}/users", seg(group_id));
        if user_ids.len() > 1 && self.api_version().await? >= ApiVersion::BULK_GROUP_MEMBERS {
            let call = Call::new(Method::POST, "groups/{id}/users", path.clone())
                .body(members_request(user_ids))
                .idempotent(true);
            match self.send(&call).await {
                Ok(_) => return Ok(()),
                // Some were members already: fall back to one by one, where 409 is success.
                Err(TableauError::Api { status: 409, .. }) => {}
                Err(e) => return Err(e),
            }
        }
        for id in user_ids {
            // Adding twice gives 409 "already a member", so a repeat after an unknown outcome is
            // harmless: the call is idempotent in effect.
            let call = Call::new(Method::POST, "groups/{id}/users", path.clone())
                .body(member_request(id))
                .idempotent(true);
            match self.send(&call).await {
                Ok(_) => {}
                Err(TableauError::Api { status: 409, .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Remove users from a group: one bulk call from API 3.21, one call each before. A user
    /// who is not a member is not an error.
    pub async fn remove_members(
        &self,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<(), TableauError> {
        if user_ids.is_empty() {
            return Ok(());
        }
        let user_ids = &self.aliases.all_to_tableau(user_ids);
        if user_ids.len() > 1 && self.api_version().await? >= ApiVersion::BULK_GROUP_MEMBERS {
            let call = Call::new(
                Method::PUT,
                "groups/{id}/users/remove",
                format!("/groups/{}/users/remove", seg(group_id)),
            )
            .body(members_request(user_ids));
            return match self.send(&call).await {
                Ok(_) => Ok(()),
                Err(e) if e.code() == Some("404002") => {
                    self.remove_members_one_by_one(group_id, user_ids).await
                }
                Err(e) => Err(e),
            };
        }
        self.remove_members_one_by_one(group_id, user_ids).await
    }

    async fn remove_members_one_by_one(
        &self,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<(), TableauError> {
        for id in user_ids {
            let call = Call::new(
                Method::DELETE,
                "groups/{id}/users/{id}",
                format!("/groups/{}/users/{}", seg(group_id), seg(id)),
            );
            match self.send(&call).await {
                Ok(_) => {}
                Err(e) if e.code() == Some("404002") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
