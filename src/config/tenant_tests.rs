//! Tests of `[[tenants]]`: each setting read, defaulted or refused with a message that names it.

use super::*;
use crate::bridge::policy::{Deprovision, OnLicenseExhausted};
use secrecy::ExposeSecret;
use std::collections::BTreeMap;

const TOKEN: &str = "a-tenant-token-0123456789";

/// A Cloud tenant `acme` with `extra` keys; its token (and, with `pat_env`, its PAT
/// secret) from the environment.
fn parse_env(extra: &str, pat_env: bool) -> Result<TenantConfig, String> {
    let auth = if extra.contains("auth_setting") || extra.contains("idp_configuration_id") {
        ""
    } else {
        "auth_setting = \"SAML\"\n"
    };
    let text = format!(
        "id = \"acme\"\ntableau_url = \"https://tableau.example.com/\"\nsite = \"acme\"\ndeployment = \"cloud\"\n{auth}{extra}"
    );
    let section: TenantSection = toml::from_str(&text).map_err(|e| e.to_string())?;
    let mut env = BTreeMap::from([(
        "TABLEAU_SCIM_TENANT_ACME_TOKENS".to_string(),
        TOKEN.to_string(),
    )]);
    if pat_env {
        env.insert(
            "TABLEAU_SCIM_TENANT_ACME_PAT_SECRET".to_string(),
            "pat-secret".to_string(),
        );
    }
    tenant_config(0, section, &env).map_err(|e| e.0)
}

fn parse(extra: &str) -> Result<TenantConfig, String> {
    parse_env(extra, true)
}

#[test]
fn a_minimal_tenant_takes_every_default() {
    let t = parse("pat_name = \"scim\"").expect("valid");
    assert_eq!(
        t.tableau_url, "https://tableau.example.com",
        "no trailing slash"
    );
    assert!(matches!(&t.credentials, Credentials::Pat { name, secret }
        if name == "scim" && secret.expose_secret() == "pat-secret"));
    assert_eq!(t.tokens, vec![TokenDigest::of(TOKEN)]);
    assert_eq!(t.roles.default_role(), SiteRole::Viewer);
    let d = Policy::default();
    assert_eq!(
        (
            t.policy.deprovision,
            t.policy.on_license_exhausted,
            t.policy.deployment
        ),
        (d.deprovision, d.on_license_exhausted, Deployment::Cloud),
        "the policy knows the deployment"
    );
    let r = RetryPolicy::default();
    assert_eq!(
        (t.retry.max_attempts, t.retry.max_total),
        (r.max_attempts, r.max_total)
    );
    assert_eq!(t.ttls.users, CacheTtls::default().users);
    assert_eq!(
        t.reconcile.every, None,
        "no periodic reconciliation unless asked"
    );
}

#[test]
fn reconciliation_is_a_duration_and_a_choice_to_repair() {
    let t = parse(
        "pat_name = \"scim\"\n[reconcile]\nevery = \"1h\"\napply = true\nrecreate_missing = true",
    )
    .expect("valid");
    assert_eq!(t.reconcile.every, Some(Duration::from_secs(3600)));
    assert!(t.reconcile.options.apply && t.reconcile.options.recreate_missing);
    let t = parse("pat_name = \"scim\"\n[reconcile]\nevery = \"30m\"").expect("valid");
    assert_eq!(t.reconcile.every, Some(Duration::from_secs(1800)));
    assert!(
        !t.reconcile.options.apply,
        "a report unless asked to repair"
    );
    for (extra, needle) in [
        (
            "every = \"10s\"",
            "reconcile.every: '10s' is shorter than a minute",
        ),
        (
            "every = \"hourly\"",
            "reconcile.every: 'hourly' is not a duration",
        ),
        (
            "every = \"1h\"\nrecreate_missing = true",
            "recreate_missing needs apply = true",
        ),
        ("apply = true", "need every"),
    ] {
        match parse(&format!("pat_name = \"scim\"\n[reconcile]\n{extra}")) {
            Err(m) => assert!(m.contains(needle), "{extra}: {m}"),
            Ok(_) => panic!("{extra} must be refused"),
        }
    }
}

#[test]
fn every_section_of_a_tenant_is_read() {
    let t = parse(
        "pat_name = \"scim\"\napi_version = \"3.24\"\ndefault_role = \"explorer\"\ndeprovision = \"unlicense\"\non_license_exhausted = \"reject\"\non_sign_in_grants = \"refuse\"\ngroup_minimum_site_role = \"Viewer\"\n[roles]\nadmin = \"SiteAdministratorCreator\"\n[group_roles]\nCreators = \"Creator\"\n[retry]\nmax_attempts = 0\nbase_delay_ms = 5\n[cache]\nmembers_ttl_secs = 9",
    )
    .expect("valid");
    assert_eq!(t.api_version.as_deref(), Some("3.24"));
    assert_eq!(t.roles.default_role(), SiteRole::Explorer);
    assert_eq!(
        t.roles.lookup("ADMIN"),
        Some(SiteRole::SiteAdministratorCreator)
    );
    assert!(t.roles.group_grants("creators"));
    assert_eq!(t.policy.deprovision, Deprovision::Unlicense);
    assert_eq!(t.policy.on_license_exhausted, OnLicenseExhausted::Reject);
    assert_eq!(
        t.policy.on_sign_in_grants,
        crate::bridge::policy::OnSignInGrants::Refuse
    );
    assert_eq!(t.policy.group_minimum_site_role, Some(SiteRole::Viewer));
    assert_eq!(t.retry.max_attempts, 1, "at least one attempt");
    assert_eq!(t.retry.base_delay, Duration::from_millis(5));
    assert_eq!(t.ttls.members, Duration::from_secs(9));
}

#[test]
fn bad_tenants_are_refused_naming_the_key() {
    let no_secret = parse_env("pat_name = \"scim\"", false);
    assert!(no_secret.is_err_and(|m| m.contains("pat_name is set but no secret")));
    let nothing = parse_env("", false);
    assert!(nothing.is_err_and(|m| m.contains("tenants[0] (acme): no Tableau credentials")));
    for (extra, needle) in [
        ("pat_secret = \"s\"", "a PAT secret is given without pat_name"),
        ("pat_name = \"scim\"\nconnected_app = { client_id = \"c\", secret_id = \"s\", secret_value = \"v\", username = \"u\" }", "give a PAT or a connected app, not both"),
        ("pat_name = \"scim\"\napi_version = \"3.2\"", "tenants[0] (acme).api_version"),
        ("pat_name = \"scim\"\ndefault_role = \"Wizard\"", "tenants[0] (acme).default_role: 'Wizard'"),
        ("pat_name = \"scim\"\nmap_assets_to = \"x\"", "Tableau Cloud refuses mapAssetsTo"),
        ("pat_name = \"scim\"\nauth_setting = \"SAML\"\nidp_configuration_id = \"i\"", "not both"),
        ("pat_name = \"scim\"\n[roles]\nx = \"ServerAdministrator\"", "tenants[0] (acme).roles.x"),
        ("pat_name = \"scim\"\ndeprovision = \"transfer\"\ncustody_to_manager = false", "needs a recipient"),
        ("pat_name = \"scim\"\ncustodian = \"keeper@example.com\"", "custodian is used only with deprovision = \"transfer\""),
        ("pat_name = \"scim\"\ncustody_to_manager = true", "custody_to_manager is used only"),
        ("pat_name = \"scim\"\ncustody_on_deactivation = true", "custody_on_deactivation is used only"),
    ] {
        match parse(extra) {
            Err(m) => assert!(m.contains(needle), "{extra}: {m}"),
            Ok(_) => panic!("{extra} must be refused"),
        }
    }
}

#[test]
fn transfer_deprovisioning_takes_a_custodian_and_asks_the_manager_first_by_default() {
    let t = parse(
        "pat_name = \"scim\"\ndeprovision = \"transfer\"\ncustodian = \"keeper@example.com\"",
    )
    .unwrap();
    assert_eq!(t.policy.deprovision, Deprovision::Transfer);
    assert_eq!(t.policy.custodian.as_deref(), Some("keeper@example.com"));
    assert!(t.policy.custody_to_manager);
    let only_manager = parse("pat_name = \"scim\"\ndeprovision = \"transfer\"").unwrap();
    assert_eq!(only_manager.policy.custodian, None);
}

#[test]
fn a_cloud_tenant_needs_a_sign_in_method_for_new_users() {
    let no_method = sign_in_problem(Deployment::Cloud, None, None);
    assert!(no_method
        .as_deref()
        .is_some_and(|m| m.contains("auth_setting") && m.contains("idp_configuration_id")));
    assert!(
        sign_in_problem(Deployment::Cloud, Some("ServerDefault"), None)
            .is_some_and(|m| m.contains("ServerDefault"))
    );
    assert_eq!(sign_in_problem(Deployment::Cloud, Some("SAML"), None), None);
    assert_eq!(sign_in_problem(Deployment::Cloud, None, Some("0f1e")), None);
    assert_eq!(
        sign_in_problem(Deployment::Server, None, None),
        None,
        "Server has its own"
    );
    let text = "id = \"acme\"\ntableau_url = \"https://t.example.com\"\nsite = \"acme\"\ndeployment = \"cloud\"\npat_name = \"scim\"";
    let section: TenantSection = toml::from_str(text).expect("toml");
    let env = BTreeMap::from([
        (
            "TABLEAU_SCIM_TENANT_ACME_TOKENS".to_string(),
            TOKEN.to_string(),
        ),
        (
            "TABLEAU_SCIM_TENANT_ACME_PAT_SECRET".to_string(),
            "s".to_string(),
        ),
    ]);
    let refused = tenant_config(0, section, &env).map_err(|e| e.0);
    assert!(
        refused.as_ref().is_err_and(
            |m| m.starts_with("tenants[0] (acme): Tableau Cloud needs a sign-in method")
        ),
        "{refused:?}"
    );
}

#[test]
fn tableau_is_reached_over_https_unless_local_or_allowed() {
    assert_eq!(
        tableau_url_problem("https://prod-useast-b.online.tableau.com", false),
        None
    );
    for local in [
        "http://127.0.0.1:8090",
        "http://localhost:8090",
        "http://[::1]:8090",
    ] {
        assert_eq!(tableau_url_problem(local, false), None, "{local}");
    }
    assert!(tableau_url_problem("http://tableau.corp.example", false)
        .is_some_and(|m| m.contains("https://") && m.contains("allow_http")));
    assert_eq!(
        tableau_url_problem("http://tableau.corp.example", true),
        None
    );
    assert!(tableau_url_problem("ftp://x", true).is_some());
    assert!(tableau_url_problem("not a url", true).is_some());
}

#[test]
fn a_connected_app_reads_its_secret_like_a_pat() {
    let t = parse_env("[connected_app]\nclient_id = \"c\"\nsecret_id = \"s\"\nsecret_value = \"v\"\nusername = \"admin@example.com\"", false)
        .expect("valid");
    assert!(matches!(&t.credentials, Credentials::ConnectedApp(app)
        if app.secret_value.expose_secret() == "v" && app.username == "admin@example.com"));
}

#[test]
fn an_oauth_client_is_read_with_its_secrets_and_lifetime_or_refused_naming_the_key() {
    let secret_digest = TokenDigest::of("client-secret-0123456789").to_hex();
    let t = parse(&format!(
        "pat_name = \"p\"\n[oauth]\nclient_id = \"entra\"\nclient_secret_hashes = [\"{secret_digest}\"]\ntoken_lifetime = \"2h\"\n"
    ))
    .expect("valid");
    let o = t.oauth.expect("an OAuth client");
    assert_eq!(o.client_id, "entra");
    assert_eq!(o.secrets, vec![TokenDigest::of("client-secret-0123456789")]);
    assert_eq!(o.lifetime, Duration::from_secs(7200));
    let d = parse(&format!("pat_name = \"p\"\n[oauth]\nclient_id = \"entra\"\nclient_secret_hashes = [\"{secret_digest}\"]\n"))
        .expect("valid");
    assert_eq!(d.oauth.map(|o| o.lifetime), Some(Duration::from_secs(3600)));
    for (extra, names) in [
        (
            "client_id = \"a:b\"\nclient_secret_hashes = [\"HASH\"]\n",
            "oauth.client_id",
        ),
        (
            "client_id = \"\"\nclient_secret_hashes = [\"HASH\"]\n",
            "oauth.client_id",
        ),
        ("client_id = \"entra\"\n", "no client secret"),
        (
            "client_id = \"entra\"\nclient_secret_hashes = [\"HASH\"]\ntoken_lifetime = \"7h\"\n",
            "oauth.token_lifetime",
        ),
        (
            "client_id = \"entra\"\nclient_secret_hashes = [\"HASH\"]\ntoken_lifetime = \"soon\"\n",
            "oauth.token_lifetime",
        ),
        (
            "client_id = \"entra\"\nclient_secret_hashes = [\"xyz\"]\n",
            "oauth.client_secret_hashes",
        ),
    ] {
        let text = format!(
            "pat_name = \"p\"\n[oauth]\n{}",
            extra.replace("HASH", &secret_digest)
        );
        match parse(&text) {
            Err(m) => assert!(m.contains(names), "{extra}: {m}"),
            Ok(_) => panic!("{extra} was accepted"),
        }
    }
}
