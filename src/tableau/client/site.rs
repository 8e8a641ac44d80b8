//! Site calls beyond Query Site: the site's authentication configurations (Tableau Cloud).

use reqwest::Method;

use super::funnel::Call;
use super::TableauClient;
use crate::tableau::auth_config::AuthConfiguration;
use crate::tableau::error::TableauError;
use crate::tableau::model::ApiVersion;

impl TableauClient {
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
