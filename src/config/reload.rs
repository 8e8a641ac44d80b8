//! What a configuration reload may change in a running server, decided without I/O.
//!
//! A reload replaces credentials, role mappings and policies, and adds and removes tenants:
//! each tenant's SCIM tokens, its OAuth client (id, secrets, lifetime), its admin tokens, the
//! server's admin and metrics tokens, its `[tenants.roles]` and `group_roles`, and its policies (deprovisioning, renames,
//! the breaker, license, custody, sign-in settings). Everything else (a kept tenant's Tableau
//! address, credentials and deployment, listeners, the store, sinks, tracing, cache lifetimes,
//! schedules) is built into running parts, so a file that changes any of it is
//! refused as a whole, naming each key, and the running configuration is kept: a reload never
//! applies half of a file, nor answers "reloaded" for a change it did not make.

use secrecy::{ExposeSecret, SecretString};

use super::{Config, TenantConfig};
use crate::tableau::Credentials;

/// The keys of `new` that differ from `old` and need a restart; empty: `new` may be applied.
pub fn restart_only_changes(old: &Config, new: &Config) -> Vec<String> {
    let mut changed = Vec::new();
    let o = &old.server;
    let n = &new.server;
    let mut same = |key: &str, a: String, b: String| {
        if a != b {
            changed.push(key.to_string());
        }
    };
    same("server.listen", o.listen.clone(), n.listen.clone());
    same("server.data_dir", dbg(&o.data_dir), dbg(&n.data_dir));
    same("server.log_format", dbg(&o.log_format), dbg(&n.log_format));
    // The metrics tokens are replaced by a reload; the rest of the HTTP settings are not.
    let without_tokens = |h: &crate::http::HttpSettings| {
        let mut h = h.clone();
        h.metrics_tokens = crate::http::TokenSet::default();
        dbg(&h)
    };
    same(
        "server (HTTP settings)",
        without_tokens(&o.http),
        without_tokens(&n.http),
    );
    same("server.tls_cert / tls_key", dbg(&o.tls), dbg(&n.tls));
    same(
        "server.tableau_concurrency",
        dbg(&o.tableau_concurrency),
        dbg(&n.tableau_concurrency),
    );
    same(
        "server.tableau_timeout_secs",
        dbg(&o.tableau_timeout),
        dbg(&n.tableau_timeout),
    );
    same("server.workers", dbg(&o.workers), dbg(&n.workers));
    same(
        "server.metrics_listen",
        dbg(&o.metrics_listen),
        dbg(&n.metrics_listen),
    );
    same(
        "server.audit_retention_days",
        dbg(&o.audit_retention),
        dbg(&n.audit_retention),
    );
    same("server.store_url", dbg(&o.store_url), dbg(&n.store_url));
    same(
        "server.store_password",
        secret(o.store_password.as_ref()),
        secret(n.store_password.as_ref()),
    );
    same(
        "server.session_key_file",
        secret(o.session_key.as_ref()),
        secret(n.session_key.as_ref()),
    );
    same(
        "server.audit_sinks",
        sinks(&o.audit_sinks),
        sinks(&n.audit_sinks),
    );
    same(
        "server.tracing",
        tracing(o.tracing.as_ref()),
        tracing(n.tracing.as_ref()),
    );
    same(
        "server.console_oidc (but its roles)",
        console_oidc(o.console_oidc.as_ref()),
        console_oidc(n.console_oidc.as_ref()),
    );
    // Tenants added or removed are the reload's to build or retire; those in both are compared.
    for a in &old.tenants {
        if let Some(b) = new.tenants.iter().find(|b| b.id == a.id) {
            tenant(a, b, &mut changed);
        }
    }
    changed
}

fn tenant(a: &TenantConfig, b: &TenantConfig, changed: &mut Vec<String>) {
    let key = |k: &str| format!("tenants.{}: {k}", a.id);
    let mut same = |k: &str, x: String, y: String| {
        if x != y {
            changed.push(key(k));
        }
    };
    same("tableau_url", a.tableau_url.clone(), b.tableau_url.clone());
    same("site", a.site.clone(), b.site.clone());
    same("api_version", dbg(&a.api_version), dbg(&b.api_version));
    same(
        "Tableau credentials (PAT or Connected App)",
        credentials(&a.credentials),
        credentials(&b.credentials),
    );
    // The client was built for the deployment; the rest of the policies are read per request.
    same(
        "deployment",
        dbg(&a.policy.deployment),
        dbg(&b.policy.deployment),
    );
    same("retry", dbg(&a.retry), dbg(&b.retry));
    same("cache lifetimes", dbg(&a.ttls), dbg(&b.ttls));
    same("reconcile schedule", dbg(&a.reconcile), dbg(&b.reconcile));
}

fn dbg<T: std::fmt::Debug>(v: &T) -> String {
    format!("{v:?}")
}

/// A secret's value, to compare (kept in this function's caller only, never shown: the keys
/// that differ are named, not their values).
fn secret(s: Option<&SecretString>) -> String {
    s.map(|s| s.expose_secret().to_string()).unwrap_or_default()
}

fn credentials(c: &Credentials) -> String {
    match c {
        Credentials::Pat { name, secret: s } => format!("pat {name} {}", s.expose_secret()),
        Credentials::ConnectedApp(app) => format!("{app:?} {}", app.secret_value.expose_secret()),
    }
}

fn sinks(s: &[crate::audit_export::SinkConfig]) -> String {
    s.iter()
        .map(|s| {
            let token = match &s.target {
                crate::audit_export::SinkTarget::Http { token, .. } => secret(token.as_ref()),
                crate::audit_export::SinkTarget::Syslog { .. } => String::new(),
            };
            format!("{s:?} {token}")
        })
        .collect()
}

fn tracing(t: Option<&crate::telemetry::TracingConfig>) -> String {
    t.map(|t| format!("{t:?} {}", secret(t.authorization.as_ref())))
        .unwrap_or_default()
}

/// The section but its grants (a reload replaces those).
fn console_oidc(c: Option<&crate::console::oidc::ConsoleOidcConfig>) -> String {
    c.map(|c| {
        let mut c = c.clone();
        c.grants.clear();
        format!("{c:?} {}", c.client_secret.expose_secret())
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::TokenDigest;
    use std::collections::BTreeMap;

    fn config(extra_server: &str, tenant_tail: &str) -> Config {
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:8080\"\n{extra_server}\n[[tenants]]\nid = \"acme\"\ntableau_url = \"https://t.example\"\nsite = \"acme\"\ndeployment = \"cloud\"\nauth_setting = \"SAML\"\npat_name = \"p\"\npat_secret = \"pat-secret-1\"\n{tenant_tail}"
        );
        super::super::parse(&text, &BTreeMap::new()).expect("a valid configuration")
    }

    fn tokens(t: &str) -> String {
        format!("token_hashes = [\"{}\"]\n", TokenDigest::of(t).to_hex())
    }

    #[test]
    fn credentials_may_change_and_anything_else_is_named() {
        let old = config("", &tokens("token-one-0123456789"));
        let rotated = config(
            &format!(
                "admin_token_hashes = [\"{}\"]\n",
                TokenDigest::of("admin-0123456789abc").to_hex()
            ),
            &(tokens("token-two-0123456789")
                + "[tenants.oauth]\nclient_id = \"entra\"\nclient_secret_hashes = [\""
                + &TokenDigest::of("client-secret-012345").to_hex()
                + "\"]\n"),
        );
        assert_eq!(restart_only_changes(&old, &rotated), Vec::<String>::new());
        let mut monitored = old.clone();
        monitored.server.http.metrics_tokens =
            crate::http::TokenSet::new(vec![TokenDigest::of("metrics-token-0123456")]);
        assert_eq!(
            restart_only_changes(&old, &monitored),
            Vec::<String>::new(),
            "metrics tokens reload"
        );
        let mut bigger = old.clone();
        bigger.server.http.max_body_bytes += 1;
        assert_eq!(
            restart_only_changes(&old, &bigger),
            vec!["server (HTTP settings)"]
        );

        let moved = config("workers = 3\n", &tokens("token-one-0123456789"));
        assert_eq!(restart_only_changes(&old, &moved), vec!["server.workers"]);
        let mut pat = config("", &tokens("token-one-0123456789"));
        pat.tenants[0].credentials = Credentials::Pat {
            name: "p".into(),
            secret: "pat-secret-2".to_string().into(),
        };
        let named = restart_only_changes(&old, &pat);
        assert_eq!(
            named,
            vec!["tenants.acme: Tableau credentials (PAT or Connected App)"]
        );
        assert!(
            !named.concat().contains("pat-secret"),
            "values are never named"
        );
        let roles = config(
            "",
            &(tokens("token-one-0123456789") + "[tenants.roles]\n\"analyst\" = \"Explorer\"\n"),
        );
        assert_eq!(
            restart_only_changes(&old, &roles),
            Vec::<String>::new(),
            "roles reload"
        );
        let mut server = old.clone();
        server.tenants[0].policy.deployment = crate::tableau::Deployment::Server;
        assert_eq!(
            restart_only_changes(&old, &server),
            vec!["tenants.acme: deployment"]
        );
        let mut more = old.clone();
        more.tenants.push(old.tenants[0].clone());
        more.tenants[1].id = "globex".into();
        more.tenants[1].site = "globex".into();
        assert_eq!(
            restart_only_changes(&old, &more),
            Vec::<String>::new(),
            "a tenant added is the reload's to build"
        );
        let mut fewer = more.clone();
        fewer.tenants.remove(0);
        fewer.tenants[0].tableau_url = "https://other.example".into();
        assert_eq!(
            restart_only_changes(&more, &fewer),
            vec!["tenants.globex: tableau_url"],
            "a tenant removed is not compared; one kept is"
        );
    }

    #[test]
    fn a_console_providers_roles_reload_and_the_rest_of_it_is_named() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let secret = dir.path().join("oidc-secret");
        std::fs::write(&secret, "console-client-secret").expect("the secret file");
        let oidc = |role: &str, client: &str| {
            format!(
                "public_url = \"https://scim.example.com\"\n[server.console_oidc]\nissuer = \"https://login.example.com\"\nclient_id = \"{client}\"\nclient_secret_file = \"{}\"\n[[server.console_oidc.roles]]\ngroup = \"ops\"\nrole = \"{role}\"\ntenants = [\"*\"]\n",
                secret.display()
            )
        };
        let t = tokens("token-one-0123456789");
        let old = config(&oidc("view", "console"), &t);
        let regranted = config(&oidc("operate", "console"), &t);
        assert_eq!(restart_only_changes(&old, &regranted), Vec::<String>::new());
        let other_client = config(&oidc("view", "another"), &t);
        assert_eq!(
            restart_only_changes(&old, &other_client),
            vec!["server.console_oidc (but its roles)"]
        );
        let without = config("public_url = \"https://scim.example.com\"\n", &t);
        assert_eq!(
            restart_only_changes(&old, &without),
            vec!["server.console_oidc (but its roles)"],
            "turning sign-in through a provider on or off needs a restart"
        );
    }
}
