//! User calls: Query Users, Get User, Add User, Update User, Remove User, Get Groups for User.

use reqwest::Method;

use super::funnel::Call;
use super::{
    name_filter, one, read_page, refuse_unassignable, same_name, seg, NameMatch, TableauClient,
};
use crate::tableau::error::TableauError;
use crate::tableau::model::{ApiVersion, Group, NewUser, Page, User, UserUpdate};
use crate::tableau::xml::Element;

impl TableauClient {
    /// One page of users (`fields=_all_`), optionally filtered by name, under the ids the IdP
    /// knows; a user an identity move is making is left out (the page is one shorter).
    pub async fn query_users(
        &self,
        page_number: u32,
        page_size: u32,
        name: Option<(&str, NameMatch)>,
    ) -> Result<Page<User>, TableauError> {
        let mut page = self.query_users_all(page_number, page_size, name).await?;
        page.items = page
            .items
            .into_iter()
            .filter(|u| !self.aliases.is_hidden(&u.id))
            .map(|u| self.aliases.user_in(u))
            .collect();
        Ok(page)
    }

    /// [`Self::query_users`] with every user Tableau listed (paging counts them all), under
    /// Tableau's LUIDs.
    async fn query_users_all(
        &self,
        page_number: u32,
        page_size: u32,
        name: Option<(&str, NameMatch)>,
    ) -> Result<Page<User>, TableauError> {
        let mut call = Call::new(Method::GET, "users", "/users".into())
            .query("pageSize", page_size.to_string())
            .query("pageNumber", page_number.to_string())
            .query("fields", "_all_")
            .query("sort", "name:asc");
        if let Some((n, how)) = name {
            call = call.query("filter", name_filter(n, how)?);
        }
        let root = self.send_xml(&call).await?;
        read_page(&root, "users", "user", User::from_element)
    }

    /// Every user of the site, in pages of the configured size (2,500 users: 3 calls).
    pub async fn all_users(&self) -> Result<Vec<User>, TableauError> {
        self.all_users_as(|u| u).await
    }

    /// Every user of the site, each turned by `each` as its page arrives.
    pub async fn all_users_as<U>(
        &self,
        each: impl FnMut(User) -> U,
    ) -> Result<Vec<U>, TableauError> {
        let mut each = each;
        let all = self
            .all_pages_as(
                |n, size| self.query_users_all(n, size, None),
                |u| (!self.aliases.is_hidden(&u.id)).then(|| each(self.aliases.user_in(u))),
            )
            .await?;
        Ok(all.into_iter().flatten().collect())
    }

    /// The user named `name`, if any, and never another: Tableau's filters take `*` as a
    /// wildcard (Tableau's MCP server documents `filter=name:eq:mark*`; the filtering page
    /// supports wildcard searches from Tableau Cloud May 2023 and Server 2022.1.14), so what a
    /// filter answers is kept only when its name is the one asked for ([`same_name`]). One call;
    /// a listing (one call per 1,000 users) when the name cannot be a filter (`*`, `,`, `&`),
    /// or when a case-insensitive lookup meets a Tableau without `cieq` and `eq` found no user
    /// of the same letter case.
    pub async fn find_user_by_name(
        &self,
        name: &str,
        how: NameMatch,
    ) -> Result<Option<User>, TableauError> {
        let wanted = |u: &User| same_name(&u.name, name, how);
        if name_filter(name, how).is_err() {
            return Ok(self.all_users().await?.into_iter().find(wanted));
        }
        let sent = match how {
            NameMatch::CaseInsensitive if !self.filters_any_case().await? => NameMatch::Exact,
            other => other,
        };
        match self.query_users(1, 2, Some((name, sent))).await {
            Ok(page) => {
                if let Some(u) = page.items.into_iter().find(wanted) {
                    return Ok(Some(u));
                }
                if sent == how {
                    return Ok(None);
                }
            }
            Err(e) if sent == NameMatch::CaseInsensitive && e.code() == Some("400065") => {
                tracing::warn!(error = %e, "this Tableau does not filter names with cieq; names are looked up with eq from now on");
                self.no_cieq
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
            Err(e) => return Err(e),
        }
        // Asked without regard to case, of a Tableau that can only compare exactly: a user of
        // another letter case can only be found in a listing.
        Ok(self.all_users().await?.into_iter().find(wanted))
    }

    /// Whether name filters may use `cieq`: from [`ApiVersion::CIEQ`], until Tableau answers it
    /// with 400065 ("The filter query contains a key which is not recognized for this api
    /// version", tableauserverclient issue #753).
    pub async fn filters_any_case(&self) -> Result<bool, TableauError> {
        Ok(!self.no_cieq.load(std::sync::atomic::Ordering::Relaxed)
            && self.api_version().await? >= ApiVersion::CIEQ)
    }

    /// One user by LUID; `None` when Tableau says 404.
    pub async fn get_user(&self, id: &str) -> Result<Option<User>, TableauError> {
        let luid = self.aliases.to_tableau(id);
        let call = Call::new(Method::GET, "users/{id}", format!("/users/{}", seg(&luid)));
        match self.send_xml(&call).await {
            Ok(root) => Ok(root
                .find("user")
                .map(User::from_element)
                .transpose()?
                .map(|u| self.aliases.user_in(u))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Add User to Site. If the request's outcome is unknown (timeout, dropped connection),
    /// the user is looked up by name before anything is sent again.
    pub async fn add_user(&self, new: &NewUser) -> Result<User, TableauError> {
        refuse_unassignable(new.site_role)?;
        let ver = self.api_version().await?;
        if new.idp_configuration_id.is_some() && ver < ApiVersion::IDP_CONFIGURATION_ID {
            return Err(TableauError::Config(format!(
                "idp_configuration_id needs REST API {} or later; this Tableau speaks {ver}: use auth_setting",
                ApiVersion::IDP_CONFIGURATION_ID
            )));
        }
        let body = new.to_request(ver, self.cfg.deployment);
        let call = Call::new(Method::POST, "users", "/users".into()).body(body);
        let mut user = self
            .create_resolving(
                &call,
                "Add User",
                |root| one(root, "user", User::from_element),
                || self.find_user_by_name(&new.name, NameMatch::Exact),
                TableauError::is_user_exists,
            )
            .await?;
        // The answer echoes only some attributes (TSC test/assets/user_add.xml has no email):
        // an email the request carried was set.
        if user.email.is_none() && self.cfg.deployment.adds_email(ver) {
            user.email = new.email.as_deref().map(Into::into);
        }
        Ok(user)
    }

    /// Update User: only the given attributes are sent.
    pub async fn update_user(&self, id: &str, upd: &UserUpdate) -> Result<User, TableauError> {
        if let Some(r) = upd.site_role {
            refuse_unassignable(r)?;
        }
        if (upd.full_name.is_some() || upd.email.is_some()) && !self.cfg.deployment.updates_names()
        {
            return Err(TableauError::Refused(
                "Tableau Cloud does not let Update User change a full name or an email; tableau-scim keeps them".into(),
            ));
        }
        let luid = self.aliases.to_tableau(id);
        let call = Call::new(Method::PUT, "users/{id}", format!("/users/{}", seg(&luid)))
            .body(upd.to_request());
        let root = self.send_xml(&call).await?;
        let mut user = one(&root, "user", read_updated_user)?;
        user.id = id.into();
        Ok(user)
    }

    /// Remove User from Site; `false` when Tableau had no such user (already removed).
    pub async fn remove_user(
        &self,
        id: &str,
        map_assets_to: Option<&str>,
    ) -> Result<bool, TableauError> {
        let luid = self.aliases.to_tableau(id);
        let mut call = Call::new(
            Method::DELETE,
            "users/{id}",
            format!("/users/{}", seg(&luid)),
        );
        if let Some(owner) = map_assets_to {
            call = call.query("mapAssetsTo", self.aliases.to_tableau(owner).into_owned());
        }
        match self.send(&call).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() && e.code() == Some("404002") => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The groups a user belongs to.
    pub async fn groups_of_user(&self, id: &str) -> Result<Vec<Group>, TableauError> {
        let path = format!("/users/{}/groups", seg(&self.aliases.to_tableau(id)));
        self.all_listed(
            "users/{id}/groups",
            path,
            "groups",
            "group",
            Group::from_element,
        )
        .await
    }
}

/// Read the `<user>` of an Update User answer, which carries no `id` (TSC
/// test/assets/user_update.xml); the caller knows it.
fn read_updated_user(e: &Element) -> Result<User, TableauError> {
    let mut with_id = e.clone();
    if with_id.attr("id").is_none() {
        with_id.attrs.push(("id".into(), "(not returned)".into()));
    }
    User::from_element(&with_id)
}
