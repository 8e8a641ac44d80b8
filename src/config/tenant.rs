//! `[[tenants]]`: one Tableau site each, with its credentials, tokens, role mapping, policies,
//! retry budget and cache lifetimes. Defaults come from the types that use them.

use std::time::Duration;

use super::file::{
    CacheSection, ConnectedAppSection, ReconcileSection, RetrySection, SafetySection, TenantSection,
};
use super::secrets::{optional_tokens, secret, tenant_env_prefix, tokens, TokenKeys};
use super::{err, ConfigError, Env};
use crate::bridge::cache::CacheTtls;
use crate::bridge::mapping::roles::RoleMapping;
use crate::bridge::policy::{Deprovision, Policy};
use crate::bridge::reconcile::{Options, Schedule};
use crate::http::{OAuthClientConfig, TokenDigest};
use crate::tableau::jwt::ConnectedApp;
use crate::tableau::model::ApiVersion;
use crate::tableau::retry::RetryPolicy;
use crate::tableau::{Credentials, Deployment, SiteRole};

/// One tenant's settings.
#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// Tenant id.
    pub id: String,
    /// Tableau URL.
    pub tableau_url: String,
    /// Site content URL.
    pub site: String,
    /// REST API version, or discover.
    pub api_version: Option<String>,
    /// How to sign in.
    pub credentials: Credentials,
    /// Accepted bearer tokens.
    pub tokens: Vec<TokenDigest>,
    /// Role mapping.
    pub roles: RoleMapping,
    /// Policies, Tableau Cloud or Server among them.
    pub policy: Policy,
    /// Retry budget.
    pub retry: RetryPolicy,
    /// Cache lifetimes.
    pub ttls: CacheTtls,
    /// Periodic reconciliation.
    pub reconcile: Schedule,
    /// Tokens that open the admin console for this tenant only.
    pub admin_tokens: Vec<TokenDigest>,
    /// The OAuth client issuing access tokens for SCIM, if any (`[tenants.oauth]`).
    pub oauth: Option<OAuthClientConfig>,
}

impl TenantConfig {
    /// A tenant with every optional setting at its default: the role mapping accepts site-role
    /// names with Viewer as the default role, and renames follow the deployment.
    pub fn new(
        id: &str,
        tableau_url: &str,
        site: &str,
        deployment: Deployment,
        credentials: Credentials,
        tokens: Vec<TokenDigest>,
    ) -> TenantConfig {
        TenantConfig {
            id: id.to_string(),
            tableau_url: tableau_url.trim_end_matches('/').to_string(),
            site: site.to_string(),
            api_version: None,
            credentials,
            tokens,
            roles: RoleMapping::default(),
            policy: Policy {
                deployment,
                ..Policy::default()
            },
            retry: RetryPolicy::default(),
            ttls: CacheTtls::default(),
            reconcile: Schedule::default(),
            admin_tokens: Vec::new(),
            oauth: None,
        }
    }
}

/// The site role `value` names, or an error naming `key` and what is accepted.
fn site_role(value: &str, key: &str) -> Result<SiteRole, ConfigError> {
    match RoleMapping::default().lookup(value) {
        Some(r) => Ok(r),
        None => err(format!(
            "{key}: '{value}' is not a site role tableau-scim can assign; accepted: {}",
            SiteRole::ASSIGNABLE.map(SiteRole::as_str).join(", ")
        )),
    }
}

/// `tenants[i]` over the defaults. Checks within the tenant; checks across tenants (ids and
/// tokens used twice) are the caller's.
pub(super) fn tenant_config(
    i: usize,
    t: TenantSection,
    env: &dyn Env,
) -> Result<TenantConfig, ConfigError> {
    if t.id.is_empty()
        || !t
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return err(format!(
            "tenants[{i}].id: '{}' must be non-empty letters, digits, '-' or '_'",
            t.id
        ));
    }
    let key = format!("tenants[{i}] ({})", t.id);
    if let Some(problem) = tableau_url_problem(&t.tableau_url, t.allow_http.unwrap_or(false)) {
        return err(format!("{key}.tableau_url: '{}' {problem}", t.tableau_url));
    }
    if let Some(v) = &t.api_version {
        if ApiVersion::parse(v).is_none_or(|v| v < ApiVersion::MINIMUM) {
            return err(format!(
                "{key}.api_version: '{v}' is not a REST API version of at least 3.7 (such as 3.24)"
            ));
        }
    }
    if t.deployment == Deployment::Cloud && t.map_assets_to.is_some() {
        return err(format!(
            "{key}.map_assets_to: Tableau Cloud refuses mapAssetsTo; remove it"
        ));
    }
    if let Some(problem) = custody_problem(&t) {
        return err(format!("{key}: {problem}"));
    }
    if t.auth_setting.is_some() && t.idp_configuration_id.is_some() {
        return err(format!(
            "{key}: give auth_setting or idp_configuration_id, not both"
        ));
    }
    if let Some(problem) = sign_in_problem(
        t.deployment,
        t.auth_setting.as_deref(),
        t.idp_configuration_id.as_deref(),
    ) {
        return err(format!("{key}: {problem}"));
    }
    let prefix = tenant_env_prefix(&t.id);
    let credentials = credentials(&t, env, &key, &prefix)?;
    let oauth = t
        .oauth
        .as_ref()
        .map(|o| super::oauth::oauth_client(o, env, &key, &prefix))
        .transpose()?;
    // With an OAuth client, static bearer tokens are optional: the IdP may use either.
    let tokens = if oauth.is_some() {
        optional_tokens(
            &t.token_hashes,
            t.tokens_file.as_deref(),
            env,
            &TokenKeys {
                hashes: format!("{key}.token_hashes"),
                file: format!("{key}.tokens_file"),
                env: format!("{prefix}TOKENS"),
            },
        )?
    } else {
        tokens(
            &t.token_hashes,
            t.tokens_file.as_deref(),
            env,
            &key,
            &prefix,
        )?
    };
    let mut c = TenantConfig::new(
        &t.id,
        &t.tableau_url,
        &t.site,
        t.deployment,
        credentials,
        tokens,
    );
    c.api_version = t.api_version.clone();
    c.roles = role_mapping(&t, &key)?;
    c.policy = policy(&t, c.policy, &key)?;
    c.retry = retry(&t.retry);
    c.ttls = ttls(&t.cache);
    c.reconcile = reconcile(&t.reconcile, &key)?;
    c.admin_tokens = optional_tokens(
        &t.admin_token_hashes,
        t.admin_tokens_file.as_deref(),
        env,
        &TokenKeys {
            hashes: format!("{key}.admin_token_hashes"),
            file: format!("{key}.admin_tokens_file"),
            env: format!("{prefix}ADMIN_TOKENS"),
        },
    )?;
    c.oauth = oauth;
    Ok(c)
}

/// Why the users a tenant adds could not sign in, if they could not: on Tableau Cloud Add User
/// needs a sign-in method ("auth_setting ... is a required attribute ... for Tableau Cloud",
/// tableauserverclient `docs/api-ref.md` since its commit 62d5c22b; a Cloud Add User without
/// it answered 400003, TSC issue #990; other copies of the reference say it defaults to
/// TableauIDWithMFA, which sends an MFA invitation instead of single sign-on), and refuses
/// `ServerDefault` (400003, TSC `users_endpoint.add` docstring). Which configuration of the
/// site a setting names is checked against the site itself by `check-config` and readiness
/// ([`crate::tableau::auth_config::sign_in_verdict`]).
pub fn sign_in_problem(
    deployment: Deployment,
    auth_setting: Option<&str>,
    idp_configuration_id: Option<&str>,
) -> Option<String> {
    if deployment != Deployment::Cloud {
        return None;
    }
    match (auth_setting, idp_configuration_id) {
        (None, None) => Some(
            "Tableau Cloud needs a sign-in method for the users tableau-scim adds: set auth_setting (TableauIDWithMFA, SAML or OpenID) or idp_configuration_id (one of the site's authentication configurations, which `tableau-scim check-config` lists); without one Tableau Cloud refuses Add User or invites new users to Tableau with MFA instead of single sign-on".into(),
        ),
        (Some(a), _) if a.eq_ignore_ascii_case("ServerDefault") => Some(
            "auth_setting: Tableau Cloud refuses ServerDefault (400003); use TableauIDWithMFA, SAML or OpenID, or idp_configuration_id".into(),
        ),
        _ => None,
    }
}

/// Why a Tableau URL cannot be used, if it cannot: HTTPS is required (a PAT secret and a
/// session token travel in every request), except to a loopback address (a local emulator) or
/// where the tenant says `allow_http = true` (a Tableau Server reached through a tunnel the
/// operator trusts).
pub fn tableau_url_problem(url: &str, allow_http: bool) -> Option<String> {
    let parsed = match reqwest::Url::parse(url) {
        Ok(u) => u,
        Err(e) => return Some(format!("is not a URL ({e})")),
    };
    match parsed.scheme() {
        "https" => None,
        "http" => {
            let host = parsed.host_str().unwrap_or("");
            let loopback = host == "localhost"
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            (!loopback && !allow_http).then(|| {
                "must start with https:// (http:// only for a loopback address, or with allow_http = true): credentials travel in every request".to_string()
            })
        }
        _ => Some("must start with https://".into()),
    }
}

/// The shortest period between reconciliations: each lists the whole site.
const RECONCILE_MIN: Duration = Duration::from_secs(60);

/// `[tenants.safety]`: the breaker of mass changes; a window of at least a minute, a share
/// between 0 and 1.
fn safety(
    s: &SafetySection,
    d: crate::bridge::safety::plan::Safety,
    key: &str,
) -> Result<crate::bridge::safety::plan::Safety, ConfigError> {
    let window = match &s.window {
        None => d.window,
        Some(text) => match humantime::parse_duration(text) {
            Ok(w) if w >= Duration::from_secs(60) => w,
            Ok(_) => {
                return err(format!(
                    "{key}.safety.window: '{text}' is shorter than a minute"
                ))
            }
            Err(e) => {
                return err(format!(
                    "{key}.safety.window: '{text}' is not a duration such as \"1h\" ({e})"
                ))
            }
        },
    };
    let max_share = s.max_share.unwrap_or(d.max_share);
    if !(0.0..=1.0).contains(&max_share) {
        return err(format!(
            "{key}.safety.max_share: {max_share} is not a share between 0 and 1"
        ));
    }
    Ok(crate::bridge::safety::plan::Safety {
        enabled: s.enabled.unwrap_or(d.enabled),
        window,
        max_changes: s.max_changes.unwrap_or(d.max_changes).max(1),
        max_share,
    })
}

/// `[tenants.reconcile]`: `every` as a duration (`"30m"`, `"1h"`, `"1d"`), at least a minute;
/// `recreate_missing` only with `apply`.
fn reconcile(r: &ReconcileSection, key: &str) -> Result<Schedule, ConfigError> {
    let every = match &r.every {
        None => None,
        Some(text) => match humantime::parse_duration(text) {
            Ok(d) if d >= RECONCILE_MIN => Some(d),
            Ok(_) => {
                return err(format!(
                    "{key}.reconcile.every: '{text}' is shorter than a minute; each run lists the whole site"
                ))
            }
            Err(e) => {
                return err(format!(
                    "{key}.reconcile.every: '{text}' is not a duration such as \"30m\", \"1h\" or \"1d\" ({e})"
                ))
            }
        },
    };
    let apply = r.apply.unwrap_or(false);
    let recreate_missing = r.recreate_missing.unwrap_or(false);
    if recreate_missing && !apply {
        return err(format!(
            "{key}.reconcile.recreate_missing needs apply = true"
        ));
    }
    if every.is_none() && (r.apply.is_some() || r.recreate_missing.is_some()) {
        return err(format!(
            "{key}.reconcile: apply and recreate_missing need every (how often to reconcile)"
        ));
    }
    Ok(Schedule {
        every,
        options: Options {
            apply,
            recreate_missing,
        },
    })
}

/// A PAT (name and secret) or a Connected App, never both.
fn credentials(
    t: &TenantSection,
    env: &dyn Env,
    key: &str,
    prefix: &str,
) -> Result<Credentials, ConfigError> {
    let pat_secret = secret(
        env,
        &format!("{prefix}PAT_SECRET"),
        t.pat_secret_file.as_deref(),
        t.pat_secret.as_deref(),
        &format!("{key}.pat_secret"),
    )?;
    match (&t.pat_name, pat_secret, &t.connected_app) {
        (Some(name), Some(secret), None) => Ok(Credentials::Pat {
            name: name.clone(),
            secret,
        }),
        (None, None, Some(ca)) => connected_app(ca, env, key, prefix),
        (Some(_), None, None) => err(format!("{key}: pat_name is set but no secret: give pat_secret, pat_secret_file or {prefix}PAT_SECRET")),
        (None, Some(_), None) => err(format!("{key}: a PAT secret is given without pat_name")),
        (None, None, None) => err(format!("{key}: no Tableau credentials: give pat_name with a secret, or [tenants.connected_app]")),
        _ => err(format!("{key}: give a PAT or a connected app, not both")),
    }
}

fn connected_app(
    ca: &ConnectedAppSection,
    env: &dyn Env,
    key: &str,
    prefix: &str,
) -> Result<Credentials, ConfigError> {
    let value = secret(
        env,
        &format!("{prefix}CONNECTED_APP_SECRET"),
        ca.secret_value_file.as_deref(),
        ca.secret_value.as_deref(),
        &format!("{key}.connected_app.secret_value"),
    )?
    .ok_or_else(|| {
        ConfigError(format!(
            "{key}.connected_app: give secret_value, secret_value_file or {prefix}CONNECTED_APP_SECRET"
        ))
    })?;
    Ok(Credentials::ConnectedApp(ConnectedApp {
        client_id: ca.client_id.clone(),
        secret_id: ca.secret_id.clone(),
        secret_value: value,
        username: ca.username.clone(),
    }))
}

fn role_mapping(t: &TenantSection, key: &str) -> Result<RoleMapping, ConfigError> {
    let mut table = Vec::new();
    for (idp, role) in &t.roles {
        table.push((idp.clone(), site_role(role, &format!("{key}.roles.{idp}"))?));
    }
    let mut groups = Vec::new();
    for (g, role) in &t.group_roles {
        groups.push((
            g.clone(),
            site_role(role, &format!("{key}.group_roles.{g}"))?,
        ));
    }
    let default = match &t.default_role {
        Some(r) => site_role(r, &format!("{key}.default_role"))?,
        None => RoleMapping::default().default_role(),
    };
    Ok(RoleMapping::new(table, groups, default))
}

/// What is wrong with the custody settings, if anything: `deprovision = "transfer"` needs a
/// recipient (a `custodian`, or the manager with `custody_to_manager`), cannot be combined
/// with `map_assets_to` (which hands everything to one account at removal), and the custody
/// settings mean nothing under another policy: refused rather than silently ignored.
fn custody_problem(t: &TenantSection) -> Option<&'static str> {
    let transfer = t.deprovision == Some(Deprovision::Transfer);
    if transfer && t.map_assets_to.is_some() {
        Some("deprovision = \"transfer\" hands content over itself; remove map_assets_to")
    } else if transfer && t.custodian.is_none() && !t.custody_to_manager.unwrap_or(true) {
        Some("deprovision = \"transfer\" needs a recipient: set custodian, or custody_to_manager = true")
    } else if t.custodian.is_some() && !transfer {
        Some("custodian is used only with deprovision = \"transfer\"")
    } else if t.custody_to_manager.is_some() && !transfer {
        Some("custody_to_manager is used only with deprovision = \"transfer\"")
    } else if t.custody_on_deactivation.is_some() && !transfer {
        Some("custody_on_deactivation is used only with deprovision = \"transfer\"")
    } else {
        None
    }
}

fn policy(t: &TenantSection, d: Policy, key: &str) -> Result<Policy, ConfigError> {
    let group_minimum_site_role = match &t.group_minimum_site_role {
        Some(r) => Some(site_role(r, &format!("{key}.group_minimum_site_role"))?),
        None => d.group_minimum_site_role,
    };
    Ok(Policy {
        safety: safety(&t.safety, d.safety, key)?,
        approve_admin_grants: t.approve_admin_grants.unwrap_or(d.approve_admin_grants),
        deprovision: t.deprovision.unwrap_or(d.deprovision),
        rename: t.rename.unwrap_or(d.rename),
        on_license_exhausted: t.on_license_exhausted.unwrap_or(d.on_license_exhausted),
        rejected_user: t.rejected_user.unwrap_or(d.rejected_user),
        on_sign_in_grants: t.on_sign_in_grants.unwrap_or(d.on_sign_in_grants),
        manage_unprovisioned_admins: t
            .manage_unprovisioned_admins
            .unwrap_or(d.manage_unprovisioned_admins),
        map_assets_to: t.map_assets_to.clone().or(d.map_assets_to),
        custodian: t.custodian.clone().or(d.custodian),
        custody_to_manager: t.custody_to_manager.unwrap_or(d.custody_to_manager),
        custody_on_deactivation: t
            .custody_on_deactivation
            .unwrap_or(d.custody_on_deactivation),
        auth_setting: t.auth_setting.clone().or(d.auth_setting),
        idp_configuration_id: t.idp_configuration_id.clone().or(d.idp_configuration_id),
        group_minimum_site_role,
        deployment: d.deployment,
    })
}

fn retry(r: &RetrySection) -> RetryPolicy {
    let d = RetryPolicy::default();
    RetryPolicy {
        max_attempts: r.max_attempts.unwrap_or(d.max_attempts).max(1),
        base_delay: r.base_delay_ms.map_or(d.base_delay, Duration::from_millis),
        max_delay: r.max_delay_ms.map_or(d.max_delay, Duration::from_millis),
        max_total: r.max_total_secs.map_or(d.max_total, Duration::from_secs),
    }
}

fn ttls(c: &CacheSection) -> CacheTtls {
    let d = CacheTtls::default();
    CacheTtls {
        users: c.users_ttl_secs.map_or(d.users, Duration::from_secs),
        groups: c.groups_ttl_secs.map_or(d.groups, Duration::from_secs),
        members: c.members_ttl_secs.map_or(d.members, Duration::from_secs),
        names: c.names_refresh_secs.map_or(d.names, Duration::from_secs),
    }
}

#[cfg(test)]
#[path = "tenant_tests.rs"]
mod tests;
