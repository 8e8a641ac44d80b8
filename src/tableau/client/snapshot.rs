//! Reading a whole site for a preview: users, groups and their members, content owners.

use super::TableauClient;
use crate::tableau::content::ContentKind;
use crate::tableau::error::TableauError;
use crate::tableau::snapshot::SiteSnapshot;

impl TableauClient {
    /// The site as it stands ([`SiteSnapshot`]): one listing of users, one of groups, one of
    /// each group's members, one of each content kind the version knows (paged), and the
    /// site's authentication configurations where the version has them. Reads only.
    pub async fn snapshot(&self) -> Result<SiteSnapshot, TableauError> {
        let signed_in_user = self.session().await?.user_id.clone();
        let users = self.all_users().await?;
        let mut groups = Vec::new();
        for g in self.all_groups().await? {
            let members = self.group_members(&g.id).await?;
            groups.push((g, members.into_iter().map(|u| u.id.to_string()).collect()));
        }
        let mut content = Vec::new();
        for kind in ContentKind::ALL {
            content.extend(self.site_content(kind).await?);
        }
        let auth_configurations = self.auth_configurations().await?.unwrap_or_default();
        Ok(SiteSnapshot {
            users,
            groups,
            content,
            signed_in_user,
            api_version: self.api_version().await?.to_string(),
            auth_configurations,
        })
    }
}
