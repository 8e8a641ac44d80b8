//! `[server.console_oidc]`: the identity provider admins sign in to the console with, and
//! which of its groups open what (`[[server.console_oidc.roles]]`).

use std::time::Duration;

use super::file::ConsoleOidcSection;
use super::{err, ConfigError, Env};
use crate::console::oidc::{ConsoleOidcConfig, Role, RoleGrant};
use crate::console::session::Scope;

/// The longest console session a sign-in opens: a working day and then some.
const MAX_SESSION: Duration = Duration::from_secs(24 * 3600);
/// The default: the same as an admin token's.
const DEFAULT_SESSION: Duration = crate::console::SESSION_TTL;

/// The section, checked against `tenants` (the ids a grant may name) with `public_url` as the
/// console's address when `console_url` is not set.
pub(super) fn console_oidc(
    s: &ConsoleOidcSection,
    public_url: Option<&str>,
    tenants: &[String],
    env: &dyn Env,
) -> Result<ConsoleOidcConfig, ConfigError> {
    let key = "server.console_oidc";
    if let Some(problem) = super::tenant::tableau_url_problem(&s.issuer, false) {
        return err(format!("{key}.issuer: '{}' {problem}", s.issuer));
    }
    let Some(console_url) = s.console_url.as_deref().or(public_url) else {
        return err(format!("{key}.console_url: where browsers reach the console (https://scim.example.com), or set server.public_url"));
    };
    let console_url = console_url.trim_end_matches('/').to_string();
    if let Some(problem) = super::tenant::tableau_url_problem(&console_url, false) {
        return err(format!("{key}.console_url: '{console_url}' {problem}"));
    }
    if s.client_id.trim().is_empty() {
        return err(format!(
            "{key}.client_id: the console's client id at the provider"
        ));
    }
    let Some(client_secret) = super::secrets::secret(
        env,
        "TABLEAU_SCIM_CONSOLE_OIDC_SECRET",
        s.client_secret_file.as_deref(),
        None,
        &format!("{key}.client_secret_file"),
    )?
    else {
        return err(format!("{key}.client_secret_file (or TABLEAU_SCIM_CONSOLE_OIDC_SECRET): the console's client secret"));
    };
    if secrecy::ExposeSecret::expose_secret(&client_secret)
        .trim()
        .is_empty()
    {
        return err(format!(
            "{key}.client_secret_file (or TABLEAU_SCIM_CONSOLE_OIDC_SECRET): it is empty"
        ));
    }
    if s.roles.is_empty() {
        return err(format!("{key}.roles: grant at least one group a role ([[server.console_oidc.roles]] group, role, tenants), or nobody can sign in"));
    }
    let mut grants = Vec::new();
    for (i, r) in s.roles.iter().enumerate() {
        let at = format!("{key}.roles[{i}]");
        if r.group.is_empty() {
            return err(format!(
                "{at}.group: the group's name as the provider sends it"
            ));
        }
        let Some(role) = Role::parse(&r.role) else {
            return err(format!("{at}.role: 'view' or 'operate', not '{}'", r.role));
        };
        let scope = if r.tenants.iter().any(|t| t == "*") {
            Scope::All
        } else if r.tenants.is_empty() {
            return err(format!(
                "{at}.tenants: the tenant ids, or [\"*\"] for every tenant"
            ));
        } else {
            if let Some(unknown) = r.tenants.iter().find(|t| !tenants.contains(t)) {
                return err(format!("{at}.tenants: no tenant has the id '{unknown}'"));
            }
            Scope::Tenants(r.tenants.clone())
        };
        grants.push(RoleGrant {
            group: r.group.clone(),
            role,
            tenants: scope,
        });
    }
    let session_ttl = match s.session_lifetime_secs {
        Some(0) => return err(format!("{key}.session_lifetime_secs: at least 1")),
        Some(n) if Duration::from_secs(n) > MAX_SESSION => {
            return err(format!(
                "{key}.session_lifetime_secs: at most {} (24 hours)",
                MAX_SESSION.as_secs()
            ))
        }
        Some(n) => Duration::from_secs(n),
        None => DEFAULT_SESSION,
    };
    let scopes = s.scopes.clone().unwrap_or_else(|| {
        ["openid", "email", "profile", "groups"]
            .map(String::from)
            .to_vec()
    });
    Ok(ConsoleOidcConfig {
        issuer: s.issuer.clone(),
        client_id: s.client_id.clone(),
        client_secret,
        console_url,
        name: s
            .name
            .clone()
            .unwrap_or_else(|| "your identity provider".into()),
        scopes,
        groups_claim: s.groups_claim.clone().unwrap_or_else(|| "groups".into()),
        grants,
        session_ttl,
        ca_file: s.ca_file.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn parse(text: &str, env: &BTreeMap<String, String>) -> Result<ConsoleOidcConfig, String> {
        let s: ConsoleOidcSection = toml::from_str(text).map_err(|e| e.to_string())?;
        let tenants = vec!["acme".to_string(), "globex".to_string()];
        console_oidc(&s, Some("https://scim.example.com/"), &tenants, env).map_err(|e| e.0)
    }

    const BASE: &str = "issuer = \"https://login.example.com\"\nclient_id = \"console\"\n";

    #[test]
    fn the_provider_and_its_grants_are_read_and_refused_naming_the_key() {
        let env = BTreeMap::from([(
            "TABLEAU_SCIM_CONSOLE_OIDC_SECRET".to_string(),
            "oidc-client-secret-value".to_string(),
        )]);
        let ok = parse(
            &format!("{BASE}[[roles]]\ngroup = \"ops\"\nrole = \"operate\"\ntenants = [\"acme\"]\n[[roles]]\ngroup = \"all\"\nrole = \"view\"\ntenants = [\"*\"]\n"),
            &env,
        )
        .expect("a provider with two grants");
        assert_eq!(
            ok.console_url, "https://scim.example.com",
            "public_url, no trailing slash"
        );
        assert_eq!(ok.grants[0].tenants, Scope::Tenants(vec!["acme".into()]));
        assert_eq!(
            (ok.grants[1].role, &ok.grants[1].tenants),
            (Role::View, &Scope::All)
        );
        assert_eq!(
            (ok.groups_claim.as_str(), ok.session_ttl),
            ("groups", DEFAULT_SESSION)
        );
        assert!(!format!("{ok:?}").contains("oidc-client-secret-value"));
        let grant = "[[roles]]\ngroup = \"g\"\nrole = \"view\"\ntenants = [\"*\"]\n";
        for (text, names, env) in [
            (
                format!("{BASE}{grant}"),
                "client_secret_file",
                BTreeMap::new(),
            ),
            (
                format!("{BASE}{grant}"),
                "it is empty",
                BTreeMap::from([(
                    "TABLEAU_SCIM_CONSOLE_OIDC_SECRET".to_string(),
                    " ".to_string(),
                )]),
            ),
            (BASE.to_string(), "roles", env.clone()),
            (
                format!("{BASE}[[roles]]\ngroup = \"g\"\nrole = \"admin\"\ntenants = [\"*\"]\n"),
                "roles[0].role",
                env.clone(),
            ),
            (
                format!(
                    "{BASE}[[roles]]\ngroup = \"g\"\nrole = \"view\"\ntenants = [\"initech\"]\n"
                ),
                "no tenant has the id 'initech'",
                env.clone(),
            ),
            (
                format!("{BASE}[[roles]]\ngroup = \"g\"\nrole = \"view\"\ntenants = []\n"),
                "roles[0].tenants",
                env.clone(),
            ),
            (
                format!("issuer = \"http://login.example.com\"\nclient_id = \"c\"\n{grant}"),
                "server.console_oidc.issuer",
                env.clone(),
            ),
            (
                format!("{BASE}session_lifetime_secs = 0\n{grant}"),
                "session_lifetime_secs",
                env.clone(),
            ),
            (
                format!("{BASE}console_url = \"http://scim.example.com\"\n{grant}"),
                "console_url",
                env.clone(),
            ),
        ] {
            match parse(&text, &env) {
                Err(m) => assert!(m.contains(names), "{text}: {m}"),
                Ok(_) => panic!("{text} was accepted"),
            }
        }
        let local = parse(
            &format!("issuer = \"http://localhost:4010\"\nclient_id = \"c\"\nconsole_url = \"http://127.0.0.1:8080\"\nsession_lifetime_secs = 5\n{grant}"),
            &env,
        )
        .expect("loopback http for a provider and console on this machine");
        assert_eq!(local.session_ttl, Duration::from_secs(5));
    }
}
