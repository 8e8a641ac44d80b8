//! How a new Tableau Cloud user signs in: the site's authentication configurations and whether
//! a tenant's `auth_setting` or `idp_configuration_id` names exactly one of them.
//!
//! Tableau Cloud sites hold several authentication configurations from REST API 3.24
//! (November 2024, Tableau 2024.3: Cloud help `saml_config_site.htm`; tableauserverclient's
//! `list_auth_configurations` is `@api(version="3.24")`). With more than one SAML configuration,
//! a user added with `authSetting="SAML"` shows as "Unspecified" and cannot sign in
//! (SP-initiated) until an administrator picks one (tableauserverclient issue #1598), so such a
//! setting must name the configuration by `idpConfigurationId` instead.

use super::error::TableauError;
use super::xml::Element;

/// One authentication configuration of a site (List Authentication Configurations:
/// `<siteAuthConfiguration authSetting enabled idpConfigurationId idpConfigurationName
/// knownProviderAlias>`, every attribute optional in `ts-api_3_29.xsd`; tableauserverclient's
/// `site_auth_configurations.xml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfiguration {
    /// `SAML`, `OpenID` (TSC's recording writes `OIDC`), ...
    pub auth_setting: String,
    /// Whether users can sign in with it.
    pub enabled: bool,
    /// Its id, what `idpConfigurationId` names.
    pub id: String,
    /// Its name, as the site's settings show it.
    pub name: String,
    /// The provider Tableau knows it as (`Salesforce`), if any.
    pub known_provider_alias: Option<String>,
}

impl AuthConfiguration {
    /// Read a `<siteAuthConfiguration>`; a missing `enabled` is taken as enabled.
    pub fn from_element(e: &Element) -> Result<AuthConfiguration, TableauError> {
        let id = e.attr("idpConfigurationId").ok_or_else(|| {
            TableauError::Protocol("a <siteAuthConfiguration> without idpConfigurationId".into())
        })?;
        Ok(AuthConfiguration {
            auth_setting: e.attr("authSetting").unwrap_or_default().to_string(),
            enabled: e.attr("enabled").is_none_or(|v| v != "false"),
            id: id.to_string(),
            name: e
                .attr("idpConfigurationName")
                .unwrap_or_default()
                .to_string(),
            known_provider_alias: e.attr("knownProviderAlias").map(str::to_string),
        })
    }

    /// Whether this configuration is of the kind `auth_setting` names (case-insensitive;
    /// `OpenID` and `OIDC` are one kind: the schema writes the first, TSC's recording the
    /// second).
    pub fn is_kind(&self, auth_setting: &str) -> bool {
        let norm = |s: &str| {
            let s = s.to_ascii_lowercase();
            if s == "oidc" {
                "openid".to_string()
            } else {
                s
            }
        };
        norm(&self.auth_setting) == norm(auth_setting)
    }

    fn described(&self) -> String {
        format!("{} ({} '{}')", self.id, self.auth_setting, self.name)
    }
}

/// The sign-in method Tableau Cloud gives users without a configuration of the site: Tableau
/// with MFA (TSC `UserItem.Auth`; the default `authSetting` in its recordings).
pub const TABLEAU_ID_WITH_MFA: &str = "TableauIDWithMFA";

/// Whether new users created with `auth_setting` or `idp_configuration_id` can sign in on a site
/// with `configs`: `Ok` with what they get, or `Err` with why not and the ids to choose from.
/// Tableau with MFA needs no configuration; `SAML` or `OpenID` must match exactly one enabled
/// configuration (more is "Unspecified", TSC issue #1598; none, nothing to sign in with); an id
/// must be one of the enabled configurations.
pub fn sign_in_verdict(
    auth_setting: Option<&str>,
    idp_configuration_id: Option<&str>,
    configs: &[AuthConfiguration],
) -> Result<String, String> {
    let enabled: Vec<&AuthConfiguration> = configs.iter().filter(|c| c.enabled).collect();
    let choices = || {
        if enabled.is_empty() {
            "the site has no enabled authentication configuration".to_string()
        } else {
            let list: Vec<String> = enabled.iter().map(|c| c.described()).collect();
            format!("set idp_configuration_id to one of: {}", list.join(", "))
        }
    };
    if let Some(id) = idp_configuration_id {
        return match enabled.iter().find(|c| c.id.eq_ignore_ascii_case(id)) {
            Some(c) => Ok(format!("new users sign in with {}", c.described())),
            None => Err(format!(
                "idp_configuration_id '{id}' is not an enabled authentication configuration of the site; {}",
                choices()
            )),
        };
    }
    let Some(setting) = auth_setting else {
        return Err(format!(
            "neither auth_setting nor idp_configuration_id is set; {}",
            choices()
        ));
    };
    if setting.eq_ignore_ascii_case(TABLEAU_ID_WITH_MFA) {
        return Ok(format!("new users sign in with {TABLEAU_ID_WITH_MFA}"));
    }
    let matching: Vec<&&AuthConfiguration> =
        enabled.iter().filter(|c| c.is_kind(setting)).collect();
    match matching.as_slice() {
        [one] => Ok(format!("new users sign in with {}", one.described())),
        [] => Err(format!(
            "auth_setting '{setting}' names no enabled configuration of the site; {}",
            choices()
        )),
        many => Err(format!(
            "auth_setting '{setting}' is ambiguous: the site has {} {setting} configurations, and a user added so is \"Unspecified\" and cannot sign in (tableauserverclient issue #1598); {}",
            many.len(),
            choices()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(kind: &str, id: &str, enabled: bool) -> AuthConfiguration {
        AuthConfiguration {
            auth_setting: kind.into(),
            enabled,
            id: id.into(),
            name: format!("{kind} {id}"),
            known_provider_alias: None,
        }
    }

    #[test]
    fn reads_tscs_recorded_configurations() {
        let doc = r#"<tsResponse xmlns="http://tableau.com/api"><siteAuthConfigurations><siteAuthConfiguration authSetting="OIDC" enabled="true" idpConfigurationId="00000000-0000-0000-0000-000000000000" idpConfigurationName="Initial Salesforce" knownProviderAlias="Salesforce"/><siteAuthConfiguration authSetting="SAML" enabled="true" idpConfigurationId="11111111-1111-1111-1111-111111111111" idpConfigurationName="Initial SAML"/></siteAuthConfigurations></tsResponse>"#;
        let root = crate::tableau::xml::parse(doc).map_err(|e| e.to_string());
        let list = root.and_then(|r| {
            r.find("siteAuthConfigurations")
                .map(|l| {
                    l.children_named("siteAuthConfiguration")
                        .map(AuthConfiguration::from_element)
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| e.to_string())
                })
                .unwrap_or_else(|| Err("no list".into()))
        });
        let list = list.unwrap_or_default();
        assert_eq!(list.len(), 2);
        assert!(list[0].is_kind("OpenID"), "OIDC is OpenID");
        assert_eq!(list[1].name, "Initial SAML");
    }

    #[test]
    fn a_sign_in_method_must_name_one_enabled_configuration() {
        let one_saml = [config("SAML", "s1", true), config("OpenID", "o1", true)];
        let two_saml = [config("SAML", "s1", true), config("SAML", "s2", true)];
        assert!(sign_in_verdict(Some("TableauIDWithMFA"), None, &[]).is_ok());
        assert!(sign_in_verdict(Some("saml"), None, &one_saml).is_ok_and(|m| m.contains("s1")));
        assert!(sign_in_verdict(Some("OIDC"), None, &one_saml).is_ok_and(|m| m.contains("o1")));
        let ambiguous = sign_in_verdict(Some("SAML"), None, &two_saml);
        assert!(
            ambiguous
                .as_ref()
                .is_err_and(|m| m.contains("ambiguous") && m.contains("s1") && m.contains("s2")),
            "{ambiguous:?}"
        );
        assert!(sign_in_verdict(None, Some("S2"), &two_saml).is_ok_and(|m| m.contains("s2")));
        assert!(sign_in_verdict(None, Some("x"), &two_saml)
            .is_err_and(|m| m.contains("'x'") && m.contains("s1")));
        assert!(sign_in_verdict(Some("OpenID"), None, &two_saml)
            .is_err_and(|m| m.contains("no enabled configuration")));
        let disabled = [config("SAML", "s1", true), config("SAML", "s2", false)];
        assert!(
            sign_in_verdict(Some("SAML"), None, &disabled).is_ok(),
            "a disabled one does not count"
        );
        assert!(sign_in_verdict(None, Some("s2"), &disabled).is_err());
        assert!(sign_in_verdict(None, None, &one_saml)
            .is_err_and(|m| m.contains("auth_setting") && m.contains("idp_configuration_id")));
    }
}
