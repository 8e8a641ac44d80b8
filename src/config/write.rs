//! A configuration file written from a [`Config`]: the demo writes one beside its store, so
//! `reconcile` and `check-config` can be tried on the demo's site. Secrets go to files of
//! their own beside it (readable by the owner only) and are referenced, never written inline.

use std::io;
use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;
use toml::{Table, Value};

use super::{Config, TenantConfig};
use crate::bridge::policy::OnSignInGrants;
use crate::bridge::policy::{Deprovision, OnLicenseExhausted, RejectedUser, Rename};
use crate::tableau::{Credentials, Deployment};

/// The file name [`write`] uses.
pub const CONFIG_FILE: &str = "tableau-scim.toml";

/// Write `config` as `dir/tableau-scim.toml` (and its secrets beside it); returns its path.
pub fn write(config: &Config, dir: &Path) -> io::Result<PathBuf> {
    let mut root = Table::new();
    root.insert("server".into(), Value::Table(server(config)));
    let mut tenants = Vec::new();
    for t in &config.tenants {
        tenants.push(Value::Table(tenant(t, dir)?));
    }
    root.insert("tenants".into(), Value::Array(tenants));
    let text = toml::to_string(&root).map_err(io::Error::other)?;
    let path = dir.join(CONFIG_FILE);
    std::fs::write(
        &path,
        format!("# Written by tableau-scim demo: the demo's own configuration.\n{text}"),
    )?;
    Ok(path)
}

fn server(config: &Config) -> Table {
    let s = &config.server;
    let mut t = Table::new();
    t.insert("listen".into(), s.listen.clone().into());
    if let Some(url) = &s.http.public_url {
        t.insert("public_url".into(), url.clone().into());
    }
    t.insert("data_dir".into(), s.data_dir.display().to_string().into());
    t.insert(
        "tableau_concurrency".into(),
        int(s.tableau_concurrency as u64),
    );
    t.insert(
        "tableau_timeout_secs".into(),
        int(s.tableau_timeout.as_secs()),
    );
    t
}

fn int(n: u64) -> Value {
    Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// A secret in a file of its own, readable by its owner only.
fn secret_file(dir: &Path, name: &str, secret: &str) -> io::Result<String> {
    let path = dir.join(name);
    std::fs::write(&path, secret)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(path.display().to_string())
}

fn tenant(c: &TenantConfig, dir: &Path) -> io::Result<Table> {
    let mut t = Table::new();
    t.insert("id".into(), c.id.clone().into());
    t.insert("tableau_url".into(), c.tableau_url.clone().into());
    t.insert("site".into(), c.site.clone().into());
    let deployment = match c.policy.deployment {
        Deployment::Cloud => "cloud",
        Deployment::Server => "server",
    };
    t.insert("deployment".into(), deployment.into());
    if let Some(v) = &c.api_version {
        t.insert("api_version".into(), v.clone().into());
    }
    match &c.credentials {
        Credentials::Pat { name, secret } => {
            t.insert("pat_name".into(), name.clone().into());
            let file = secret_file(dir, &format!("{}.pat-secret", c.id), secret.expose_secret())?;
            t.insert("pat_secret_file".into(), file.into());
        }
        Credentials::ConnectedApp(app) => {
            let mut a = Table::new();
            a.insert("client_id".into(), app.client_id.clone().into());
            a.insert("secret_id".into(), app.secret_id.clone().into());
            let file = secret_file(
                dir,
                &format!("{}.connected-app-secret", c.id),
                app.secret_value.expose_secret(),
            )?;
            a.insert("secret_value_file".into(), file.into());
            a.insert("username".into(), app.username.clone().into());
            t.insert("connected_app".into(), Value::Table(a));
        }
    }
    let hashes: Vec<Value> = c.tokens.iter().map(|d| d.to_hex().into()).collect();
    t.insert("token_hashes".into(), Value::Array(hashes));
    let admin: Vec<Value> = c.admin_tokens.iter().map(|d| d.to_hex().into()).collect();
    if !admin.is_empty() {
        t.insert("admin_token_hashes".into(), Value::Array(admin));
    }
    t.insert(
        "default_role".into(),
        c.roles.default_role().as_str().into(),
    );
    let p = &c.policy;
    let deprovision = match p.deprovision {
        Deprovision::Remove => "remove",
        Deprovision::Unlicense => "unlicense",
        Deprovision::Transfer => "transfer",
    };
    t.insert("deprovision".into(), deprovision.into());
    let rename = match p.rename {
        Rename::Move => "move",
        Rename::Refuse => "refuse",
    };
    t.insert("rename".into(), rename.into());
    t.insert("approve_admin_grants".into(), p.approve_admin_grants.into());
    let exhausted = match p.on_license_exhausted {
        OnLicenseExhausted::Downgrade => "downgrade",
        OnLicenseExhausted::Reject => "reject",
    };
    t.insert("on_license_exhausted".into(), exhausted.into());
    let rejected = match p.rejected_user {
        RejectedUser::Unlicensed => "unlicensed",
        RejectedUser::Remove => "remove",
    };
    t.insert("rejected_user".into(), rejected.into());
    let grants = match p.on_sign_in_grants {
        OnSignInGrants::Remove => "remove",
        OnSignInGrants::Refuse => "refuse",
    };
    t.insert("on_sign_in_grants".into(), grants.into());
    t.insert(
        "manage_unprovisioned_admins".into(),
        p.manage_unprovisioned_admins.into(),
    );
    for (key, v) in [
        ("map_assets_to", &p.map_assets_to),
        ("custodian", &p.custodian),
        ("auth_setting", &p.auth_setting),
        ("idp_configuration_id", &p.idp_configuration_id),
    ] {
        if let Some(v) = v {
            t.insert(key.into(), v.clone().into());
        }
    }
    if p.deprovision == Deprovision::Transfer {
        t.insert("custody_to_manager".into(), p.custody_to_manager.into());
        t.insert(
            "custody_on_deactivation".into(),
            p.custody_on_deactivation.into(),
        );
    }
    if let Some(r) = p.group_minimum_site_role {
        t.insert("group_minimum_site_role".into(), r.as_str().into());
    }
    let (roles, group_roles) = c.roles.entries();
    for (key, entries) in [("roles", roles), ("group_roles", group_roles)] {
        let table: Table = entries
            .into_iter()
            .map(|(k, r)| (k.to_string(), Value::from(r.as_str())))
            .collect();
        t.insert(key.into(), Value::Table(table));
    }
    let mut retry = Table::new();
    retry.insert("max_attempts".into(), int(u64::from(c.retry.max_attempts)));
    retry.insert("base_delay_ms".into(), int(millis(c.retry.base_delay)));
    retry.insert("max_delay_ms".into(), int(millis(c.retry.max_delay)));
    retry.insert(
        "max_total_secs".into(),
        int(c.retry.max_total.as_secs().max(1)),
    );
    t.insert("retry".into(), Value::Table(retry));
    let mut cache = Table::new();
    cache.insert("users_ttl_secs".into(), int(c.ttls.users.as_secs()));
    cache.insert("groups_ttl_secs".into(), int(c.ttls.groups.as_secs()));
    cache.insert("members_ttl_secs".into(), int(c.ttls.members.as_secs()));
    cache.insert("names_refresh_secs".into(), int(c.ttls.names.as_secs()));
    t.insert("cache".into(), Value::Table(cache));
    if let Some(every) = c.reconcile.every {
        let mut r = Table::new();
        r.insert(
            "every".into(),
            humantime::format_duration(every).to_string().into(),
        );
        r.insert("apply".into(), c.reconcile.options.apply.into());
        r.insert(
            "recreate_missing".into(),
            c.reconcile.options.recreate_missing.into(),
        );
        t.insert("reconcile".into(), Value::Table(r));
    }
    let s = c.policy.safety;
    let mut safety = Table::new();
    safety.insert("enabled".into(), s.enabled.into());
    safety.insert(
        "window".into(),
        humantime::format_duration(s.window).to_string().into(),
    );
    safety.insert("max_changes".into(), int(s.max_changes));
    safety.insert("max_share".into(), s.max_share.into());
    t.insert("safety".into(), Value::Table(safety));
    Ok(t)
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::mapping::roles::RoleMapping;
    use crate::http::TokenDigest;
    use crate::tableau::SiteRole;
    use secrecy::SecretString;
    use std::collections::BTreeMap;
    use std::time::Duration;

    #[test]
    fn a_written_configuration_reads_back_the_same_and_holds_no_secret() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut t = TenantConfig::new(
            "acme",
            "http://127.0.0.1:9",
            "acme",
            Deployment::Server,
            Credentials::Pat {
                name: "scim".into(),
                secret: SecretString::from("pat-secret-value".to_string()),
            },
            vec![TokenDigest::of("a-token")],
        );
        t.roles = RoleMapping::new(
            [("tableau-creator".to_string(), SiteRole::Creator)],
            [("Admins".to_string(), SiteRole::SiteAdministratorExplorer)],
            SiteRole::Explorer,
        );
        t.policy.deprovision = Deprovision::Unlicense;
        t.reconcile.every = Some(Duration::from_secs(3600));
        t.reconcile.options.apply = true;
        let config = Config {
            server: crate::config::ServerConfig {
                data_dir: dir.path().to_path_buf(),
                ..Default::default()
            },
            tenants: vec![t],
        };
        let path = write(&config, dir.path()).expect("written");
        let text = std::fs::read_to_string(&path).expect("readable");
        assert!(!text.contains("pat-secret-value"), "{text}");
        let back = crate::config::load(&path, &BTreeMap::new()).expect("reads back");
        let b = &back.tenants[0];
        assert!(matches!(&b.credentials, Credentials::Pat { name, secret }
            if name == "scim" && secret.expose_secret() == "pat-secret-value"));
        assert_eq!(b.tokens, vec![TokenDigest::of("a-token")]);
        assert_eq!(b.roles.lookup("TABLEAU-CREATOR"), Some(SiteRole::Creator));
        assert!(b.roles.group_grants("admins"));
        assert_eq!(b.roles.default_role(), SiteRole::Explorer);
        assert_eq!(b.policy.deprovision, Deprovision::Unlicense);
        assert_eq!(b.reconcile, config.tenants[0].reconcile);
        assert_eq!(back.server.data_dir, dir.path());
    }
}
