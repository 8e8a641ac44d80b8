//! Configuration: a TOML file, secrets also from environment variables or files, a few common
//! settings overridable from the environment. Unknown keys and bad values are errors that name
//! the key and what is accepted; `load` fails fast on them. Defaults live with the types that
//! use them; each section is read by its own module.

mod audit_sinks;
mod console_oidc;
mod file;
mod oauth;
pub mod reload;
mod secrets;
mod server;
mod tenant;
mod tracing;
pub mod write;

use std::collections::BTreeMap;
use std::path::Path;

pub use crate::tableau::Deployment;
pub use secrets::tenant_env_prefix;
pub use server::{serve_problem, ServerConfig};
pub use tenant::{sign_in_problem, TenantConfig};

use crate::http::TokenDigest;

/// A configuration problem, in words that name the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Server settings.
    pub server: ServerConfig,
    /// Tenants.
    pub tenants: Vec<TenantConfig>,
}

/// Where secrets and overrides come from (the process environment, or a map in tests).
pub trait Env {
    /// A variable's value.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// Load and check a configuration file.
pub fn load(path: &Path, env: &dyn Env) -> Result<Config, ConfigError> {
    load_with_warnings(path, env).map(|(c, _)| c)
}

/// [`load`], and what is worth a warning: secret files that users other than the owner can
/// read (each holds a credential of a Tableau site, a bearer token or a TLS key).
pub fn load_with_warnings(
    path: &Path,
    env: &dyn Env,
) -> Result<(Config, Vec<String>), ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
    let config =
        parse(&text, env).map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))?;
    let mut warnings = Vec::new();
    if let Ok(file) = toml::from_str::<file::FileConfig>(&text) {
        for (key, p) in file.secret_files() {
            if secrets::readable_by_others(&p) {
                warnings.push(format!(
                    "{key}: {} can be read by users other than its owner; chmod 600 it",
                    p.display()
                ));
            }
        }
    }
    Ok((config, warnings))
}

/// Parse and check configuration text: each section, then what spans tenants (an id or a
/// bearer token used twice).
pub fn parse(text: &str, env: &dyn Env) -> Result<Config, ConfigError> {
    let mut file: file::FileConfig =
        toml::from_str(text).map_err(|e| ConfigError(e.to_string().trim().to_string()))?;
    let console_oidc_section = file.server.console_oidc.take();
    let mut server = server::server_config(file.server, env)?;
    if file.tenants.is_empty() {
        return err("no [[tenants]]: configure at least one Tableau site");
    }
    let mut tenants: Vec<TenantConfig> = Vec::new();
    let mut seen_tokens: Vec<(TokenDigest, String)> = Vec::new();
    for (i, section) in file.tenants.into_iter().enumerate() {
        let t = tenant::tenant_config(i, section, env)?;
        let key = format!("tenants[{i}] ({})", t.id);
        if tenants.iter().any(|x| x.id == t.id) {
            return err(format!("{key}: the id is used twice"));
        }
        for d in &t.tokens {
            if let Some((_, other)) = seen_tokens.iter().find(|(x, _)| x == d) {
                return err(format!("{key}: a bearer token is also a token of tenant {other}; each tenant needs its own"));
            }
            seen_tokens.push((d.clone(), t.id.clone()));
        }
        if let Some(problem) = oauth_problem(&t, &tenants, &server) {
            return err(format!("{key}.oauth: {problem}"));
        }
        tenants.push(t);
    }
    if let Some(s) = &console_oidc_section {
        let ids: Vec<String> = tenants.iter().map(|t| t.id.clone()).collect();
        server.console_oidc = Some(console_oidc::console_oidc(
            s,
            server.http.public_url.as_deref(),
            &ids,
            env,
        )?);
    }
    // A SCIM token must not open the console, nor an admin token SCIM: each is its own.
    let admin = server
        .admin_tokens
        .iter()
        .map(|d| (d, "server".to_string()))
        .chain(tenants.iter().flat_map(|t| {
            t.admin_tokens
                .iter()
                .map(|d| (d, format!("tenant {}", t.id)))
        }));
    for (d, whose) in admin {
        if let Some((_, other)) = seen_tokens.iter().find(|(x, _)| x == d) {
            return err(format!(
                "an admin token of {whose} is also a SCIM token of tenant {other}; the console and SCIM need tokens of their own"
            ));
        }
        if server.http.metrics_tokens.contains(d) {
            return err(format!(
                "an admin token of {whose} is also a metrics token; give the console its own"
            ));
        }
    }
    Ok(Config { server, tenants })
}

/// Why tenant `t`'s OAuth client cannot be served beside `earlier` tenants, if it cannot: the
/// client id names the tenant at `/oauth/token`, so it is one tenant's only; a client secret
/// that is also a SCIM token would let the secret itself through as a bearer token; and
/// replicas on a shared store must sign tokens with a key they share, or a token issued by
/// one is refused by the others.
fn oauth_problem(
    t: &TenantConfig,
    earlier: &[TenantConfig],
    server: &ServerConfig,
) -> Option<String> {
    let o = t.oauth.as_ref()?;
    if let Some(other) = earlier
        .iter()
        .find(|x| x.oauth.as_ref().is_some_and(|x| x.client_id == o.client_id))
    {
        return Some(format!(
            "the client id '{}' is also tenant {}'s; each tenant needs its own",
            o.client_id, other.id
        ));
    }
    let scim_tokens = earlier.iter().chain([t]).flat_map(|x| x.tokens.iter());
    if o.secrets
        .iter()
        .any(|s| scim_tokens.clone().any(|d| d == s))
    {
        return Some(
            "a client secret is also a SCIM bearer token; give the client a secret of its own"
                .into(),
        );
    }
    let shared_store = server
        .store_url
        .as_deref()
        .is_some_and(|u| u.starts_with("postgres"));
    (shared_store && server.session_key.is_none()).then(|| {
        "replicas on a shared store_url need server.session_key_file (or TABLEAU_SCIM_SESSION_KEY): access tokens are signed with it, so that every replica accepts what any of them issued".into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: &str = "[[tenants]]\nid = \"acme\"\ntableau_url = \"https://t.example\"\nsite = \"acme\"\ndeployment = \"cloud\"\nauth_setting = \"SAML\"\npat_name = \"p\"\npat_secret = \"s\"\n";

    fn hash(t: &str) -> String {
        TokenDigest::of(t).to_hex()
    }

    #[test]
    fn oauth_clients_are_each_tenants_own_and_replicas_need_a_shared_key() {
        let oauth = |id: &str, secret: &str| {
            format!(
                "[tenants.oauth]\nclient_id = \"{id}\"\nclient_secret_hashes = [\"{}\"]\n",
                hash(secret)
            )
        };
        let tenant = |id: &str, token: &str| {
            TENANT.replace("id = \"acme\"", &format!("id = \"{id}\""))
                + &format!("token_hashes = [\"{}\"]\n", hash(token))
        };
        let env = BTreeMap::new();
        let two = format!(
            "{}{}{}{}",
            tenant("a", "token-a-0123456789"),
            oauth("entra", "secret-a-0123456789"),
            tenant("b", "token-b-0123456789"),
            oauth("entra", "secret-b-0123456789")
        );
        assert!(
            parse(&two, &env).is_err_and(|e| e.0.contains("client id 'entra' is also tenant a's"))
        );
        let reused = format!(
            "{}{}",
            tenant("a", "token-a-0123456789"),
            oauth("entra", "token-a-0123456789")
        );
        assert!(parse(&reused, &env).is_err_and(|e| e.0.contains("also a SCIM bearer token")));
        let one = format!(
            "{}{}",
            tenant("a", "token-a-0123456789"),
            oauth("entra", "secret-a-0123456789")
        );
        assert!(parse(&one, &env).is_ok());
        let replicas = format!("[server]\nstore_url = \"postgres://scim@db/scim\"\n{one}");
        assert!(parse(&replicas, &env).is_err_and(|e| e.0.contains("session_key_file")));
        let keyed = BTreeMap::from([("TABLEAU_SCIM_SESSION_KEY".to_string(), "k".repeat(40))]);
        assert!(parse(&replicas, &keyed).is_ok());
        // With an OAuth client, static tokens are optional.
        let no_token = format!("{TENANT}{}", oauth("entra", "secret-a-0123456789"));
        assert!(parse(&no_token, &env).is_ok());
        assert!(parse(TENANT, &env).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn secret_files_others_can_read_are_warned_about() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("a directory");
        let secret = dir.path().join("pat");
        std::fs::write(&secret, "s3cret").expect("write");
        let config = dir.path().join("config.toml");
        let text = format!(
            "[[tenants]]\nid = \"acme\"\ntableau_url = \"https://t.example\"\nsite = \"acme\"\ndeployment = \"server\"\npat_name = \"p\"\npat_secret_file = \"{}\"\ntoken_hashes = [\"{}\"]\n",
            secret.display(),
            hash("scim-token-of-acme")
        );
        std::fs::write(&config, text).expect("write");
        let env = BTreeMap::new();
        for (mode, warned) in [(0o644, true), (0o600, false)] {
            std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(mode))
                .expect("chmod");
            let (_, warnings) = load_with_warnings(&config, &env).expect("valid");
            assert_eq!(
                warnings
                    .iter()
                    .any(|w| w.contains("pat_secret_file") && w.contains("chmod 600")),
                warned,
                "{mode:o}: {warnings:?}"
            );
        }
    }

    #[test]
    fn admin_tokens_are_read_and_never_shared_with_scim_or_metrics() {
        let env = BTreeMap::new();
        let text = format!(
            "[server]\nadmin_token_hashes = [\"{}\"]\n{TENANT}token_hashes = [\"{}\"]\nadmin_token_hashes = [\"{}\"]\n",
            hash("server-admin-token"),
            hash("scim-token-of-acme"),
            hash("acme-admin-token")
        );
        let c = parse(&text, &env).expect("valid");
        assert_eq!(
            c.server.admin_tokens,
            vec![TokenDigest::of("server-admin-token")]
        );
        assert_eq!(
            c.tenants[0].admin_tokens,
            vec![TokenDigest::of("acme-admin-token")]
        );
        assert_eq!(c.server.audit_retention.as_secs(), 400 * 24 * 3600);
        let shared = format!(
            "{TENANT}token_hashes = [\"{}\"]\nadmin_token_hashes = [\"{}\"]\n",
            hash("one-token-for-both"),
            hash("one-token-for-both")
        );
        assert!(
            parse(&shared, &env).is_err_and(|e| e.0.contains("also a SCIM token of tenant acme"))
        );
        let metrics = format!(
            "[server]\nmetrics_token_hashes = [\"{h}\"]\nadmin_token_hashes = [\"{h}\"]\n{TENANT}token_hashes = [\"{}\"]\n",
            hash("scim-token-of-acme"),
            h = hash("metrics-and-admin")
        );
        assert!(parse(&metrics, &env).is_err_and(|e| e.0.contains("also a metrics token")));
        let zero = format!(
            "[server]\naudit_retention_days = 0\n{TENANT}token_hashes = [\"{}\"]\n",
            hash("scim-token-of-acme")
        );
        assert!(parse(&zero, &env).is_err_and(|e| e.0.contains("audit_retention_days")));
    }
}
