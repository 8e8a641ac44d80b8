//! Site calls: Query Site (seats per tier) and the site's authentication configurations
//! (Tableau Cloud).

use reqwest::Method;

use super::funnel::Call;
use super::{one, TableauClient};
use crate::tableau::auth_config::AuthConfiguration;
use crate::tableau::error::TableauError;
use crate::tableau::model::{ApiVersion, SiteInfo};

impl TableauClient {
    /// Query Site: license capacity per tier and, asked for with `includeUsageStatistics`
    /// (without it Tableau leaves `<usage>` out: REST reference, Query Site), the seats in use.
    pub async fn site_info(&self) -> Result<SiteInfo, TableauError> {
        let call = Call::new(Method::GET, "sites/{id}", String::new())
            .query("includeUsageStatistics", "true");
        let root = self.send_xml(&call).await?;
        one(&root, "site", SiteInfo::from_element)
    }

    /// List Authentication Configurations (`GET /sites/{id}/site-auth-configurations`,
    /// tableauserverclient's `sites.list_auth_configurations`, `@api(version="3.24")`); `None`
    /// below 3.24, where a site has one configuration per kind and no such call.
    pub async fn auth_configurations(
        &self,
    ) -> Result<Option<Vec<AuthConfiguration>>, TableauError> {
        if self.api_version().await? < ApiVersion::IDP_CONFIGURATION_ID {
            return Ok(None);
        }
        let call = Call::new(
            Method::GET,
            "sites/{id}/site-auth-configurations",
            "/site-auth-configurations".into(),
        );
        let root = self.send_xml(&call).await?;
        let Some(list) = root.find("siteAuthConfigurations") else {
            return Ok(Some(Vec::new()));
        };
        list.children_named("siteAuthConfiguration")
            .map(AuthConfiguration::from_element)
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}
