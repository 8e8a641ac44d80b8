//! `tableau-scim check-config`: sign in to each tenant's Tableau, read its version and license
//! capacity, check the signed-in user can manage users and, on Tableau Cloud, that new users
//! get a sign-in method of the site.

use std::path::Path;
use std::process::ExitCode;

use crate::config::{self, Config, Deployment, TenantConfig};
use crate::serve::client_for;
use crate::tableau::auth_config::sign_in_verdict;
use crate::tableau::directory_names::is_directory_domain;
use crate::tableau::{SiteRole, TableauClient, TableauError};

/// One tenant's check: what was found, and whether it can work.
pub struct TenantReport {
    /// Tenant id.
    pub id: String,
    /// Lines to print.
    pub lines: Vec<String>,
    /// Whether everything needed works.
    pub ok: bool,
}

/// Check every tenant.
pub async fn check(config: &Config) -> Vec<TenantReport> {
    let mut reports = Vec::new();
    for t in &config.tenants {
        reports.push(check_tenant(t, config).await);
    }
    reports
}

async fn check_tenant(t: &TenantConfig, config: &Config) -> TenantReport {
    let mut report = TenantReport {
        id: t.id.clone(),
        lines: Vec::new(),
        ok: true,
    };
    let client = match client_for(t, config) {
        Ok(c) => c,
        Err(e) => {
            report.lines.push(format!("FAIL {e}"));
            report.ok = false;
            return report;
        }
    };
    report.lines.push(format!(
        "Tableau {} ({:?}), site '{}'",
        t.tableau_url, t.policy.deployment, t.site
    ));
    match client.server_info().await {
        Ok(info) => report.lines.push(format!(
            "ok   server {} with REST API {}",
            info.product_version, info.rest_api_version
        )),
        Err(e) => report.lines.push(format!(
            "warn serverinfo not readable ({e}); the configured api_version is used"
        )),
    }
    match client.session().await {
        Err(e) => {
            report.ok = false;
            report.lines.push(format!("FAIL sign-in: {e}"));
        }
        Ok(session) => {
            report
                .lines
                .push(format!("ok   signed in (site id {})", session.site_id));
            let role = check_admin(&client, &session.user_id, &mut report).await;
            if t.policy.map_assets_to.is_some() && role != Some(SiteRole::ServerAdministrator) {
                report.lines.push(
                    "warn map_assets_to is set, but only a server administrator may transfer content (REST reference, Remove User from Site): Tableau will refuse every removal that names it".into(),
                );
            }
            check_capacity(&client, &mut report).await;
            check_sign_in(&client, t, &mut report).await;
            check_custodian(&client, t, &mut report).await;
            client.sign_out().await;
        }
    }
    if t.policy.deployment == Deployment::Cloud && t.policy.map_assets_to.is_some() {
        report.ok = false;
        report
            .lines
            .push("FAIL map_assets_to is set but Tableau Cloud refuses it".into());
    }
    report
}

/// The signed-in user must be a site administrator to manage users and groups. Returns their
/// site role when it could be read.
async fn check_admin(
    client: &TableauClient,
    user_id: &str,
    report: &mut TenantReport,
) -> Option<SiteRole> {
    match client.get_user(user_id).await {
        Ok(Some(u)) => {
            let admin = matches!(
                u.role(),
                Some(
                    SiteRole::SiteAdministratorCreator
                        | SiteRole::SiteAdministratorExplorer
                        | SiteRole::ServerAdministrator
                )
            );
            if admin {
                report.lines.push(format!(
                    "ok   signed in as {} ({}), who can manage users and groups",
                    u.name, u.site_role
                ));
                if let Some(domain) = u.domain.as_deref().filter(|d| is_directory_domain(d)) {
                    report.lines.push(format!(
                        "ok   identity store: the {domain} directory (Active Directory or LDAP): only its users can be added, its groups' members and names are the directory's (docs/tableau-server-ad.md)"
                    ));
                }
            } else {
                report.ok = false;
                report.lines.push(format!("FAIL signed in as {} ({}): a site administrator is needed to manage users and groups", u.name, u.site_role));
            }
            u.role()
        }
        Ok(None) => {
            report
                .lines
                .push("warn the signed-in user could not be read".into());
            None
        }
        Err(e) => {
            report.ok = false;
            report
                .lines
                .push(format!("FAIL reading the signed-in user: {e}"));
            None
        }
    }
}

/// `deprovision = "transfer"`: the custodian must be a user of the site whose site role can
/// own content ([`SiteRole::can_own_content`]); otherwise every departure without a manager
/// who can take the content falls back to removal, and Tableau keeps content owners
/// Unlicensed.
async fn check_custodian(client: &TableauClient, t: &TenantConfig, report: &mut TenantReport) {
    let Some(name) = t.policy.custodian.as_deref() else {
        return;
    };
    match client
        .find_user_by_name(name, crate::tableau::NameMatch::CaseInsensitive)
        .await
    {
        Ok(Some(u)) if u.role().is_some_and(SiteRole::can_own_content) => {
            report.lines.push(format!(
                "ok   custodian {} ({}) can receive departing users' content",
                u.name, u.site_role
            ))
        }
        Ok(Some(u)) => {
            report.ok = false;
            report.lines.push(format!(
                "FAIL custodian {} is {}, a site role that cannot own content: give the account Creator, ExplorerCanPublish or a site administrator role, or name another",
                u.name, u.site_role
            ));
        }
        Ok(None) => {
            report.ok = false;
            report
                .lines
                .push(format!("FAIL custodian '{name}' is not a user of the site"));
        }
        Err(e) => report
            .lines
            .push(format!("warn custodian '{name}' not readable: {e}")),
    }
}

/// License capacity from Query Site, which readiness calls too: a refusal (a connected app
/// without the content read scope) means readiness would never pass.
async fn check_capacity(client: &TableauClient, report: &mut TenantReport) {
    match client.site_info().await {
        Ok(site) => {
            let cap = |c: Option<u64>| c.map_or("unlimited".to_string(), |v| v.to_string());
            let used = |c: Option<u64>| c.map_or("?".to_string(), |v| v.to_string());
            report.lines.push(format!(
                "ok   licenses: Creator {}/{}, Explorer {}/{}, Viewer {}/{} (used/capacity; ? where Tableau did not say), {} users",
                used(site.num_creators), cap(site.tier_creator_capacity), used(site.num_explorers), cap(site.tier_explorer_capacity),
                used(site.num_viewers), cap(site.tier_viewer_capacity), used(site.num_users)
            ));
        }
        Err(e @ TableauError::Api { status: 401, .. }) => {
            report.ok = false;
            report.lines.push(format!(
                "FAIL Query Site, which readiness calls, was refused: {e}"
            ));
        }
        Err(e) => report
            .lines
            .push(format!("warn site capacity not readable: {e}")),
    }
}

/// On Tableau Cloud from REST 3.24, the site's authentication configurations, and whether the
/// tenant's `auth_setting` or `idp_configuration_id` names exactly one of them (otherwise new
/// users could not sign in: [`sign_in_verdict`]); the ids to choose from are printed.
async fn check_sign_in(client: &TableauClient, t: &TenantConfig, report: &mut TenantReport) {
    if t.policy.deployment != Deployment::Cloud {
        return;
    }
    let (auth, idp) = (
        t.policy.auth_setting.as_deref(),
        t.policy.idp_configuration_id.as_deref(),
    );
    match client.auth_configurations().await {
        Ok(None) => report.lines.push(format!(
            "ok   REST API below 3.24: one authentication configuration per kind; new users get {}",
            auth.or(idp).unwrap_or("no sign-in method")
        )),
        Ok(Some(configs)) => {
            report.lines.push(format!(
                "ok   {} authentication configuration(s) on the site:",
                configs.len()
            ));
            for c in &configs {
                report.lines.push(format!(
                    "       {}  {} '{}'{}",
                    c.id,
                    c.auth_setting,
                    c.name,
                    if c.enabled { "" } else { " (disabled)" }
                ));
            }
            match sign_in_verdict(auth, idp, &configs) {
                Ok(m) => report.lines.push(format!("ok   {m}")),
                Err(m) => {
                    report.ok = false;
                    report.lines.push(format!("FAIL {m}"));
                }
            }
        }
        Err(e) => {
            report.ok = false;
            report.lines.push(format!(
                "FAIL the site's authentication configurations, which readiness reads, could not be listed: {e}"
            ));
        }
    }
}

/// The `check-config` command: exit non-zero on any problem.
pub async fn run(path: &Path) -> ExitCode {
    let (config, warnings) = match config::load_with_warnings(path, &config::ProcessEnv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tableau-scim check-config: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "configuration {}: {} tenant(s), listening on {}",
        path.display(),
        config.tenants.len(),
        config.server.listen
    );
    for w in &warnings {
        println!("  warn {w}");
    }
    let mut all_ok = true;
    if let Some(problem) = config::serve_problem(&config.server) {
        all_ok = false;
        println!("server: PROBLEM: {problem}");
    }
    if let Some(url) = &config.server.store_url {
        let known = crate::store::PgStore::schema_version();
        match crate::store::PgStore::schema_version_at(url, config.server.store_password.as_ref())
            .await
        {
            Ok(found) if found > known => {
                all_ok = false;
                println!("store {url}: PROBLEM: schema version {found} is newer than this build's {known}; this build would refuse to start");
            }
            Ok(found) if found < known => println!(
                "store {url}: OK, schema version {found}; serve migrates it to {known} at start"
            ),
            Ok(found) => println!("store {url}: OK, schema version {found}"),
            Err(e) => {
                all_ok = false;
                println!("store {url}: PROBLEM: {e}");
            }
        }
    }
    for r in check(&config).await {
        println!("tenant {}: {}", r.id, if r.ok { "OK" } else { "PROBLEM" });
        for l in &r.lines {
            println!("  {l}");
        }
        all_ok &= r.ok;
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
