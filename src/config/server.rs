//! `[server]`: where and how the process serves. Defaults come from the types that use them
//! (`HttpSettings`, `ClientConfig`), so they are written once.

use std::path::PathBuf;
use std::time::Duration;

use super::file::ServerSection;
use super::secrets::{optional_tokens, TokenKeys};
use super::{err, ConfigError, Env};
use crate::http::guard::GuardSettings;
use crate::http::{HttpSettings, TokenSet};
use crate::logging::LogFormat;
use crate::tableau::ClientConfig;

/// Server-wide settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Listen address.
    pub listen: String,
    /// Directory of the store.
    pub data_dir: PathBuf,
    /// Log format.
    pub log_format: LogFormat,
    /// The HTTP layer: body and page limits, public URL, forwarded headers, header timeout.
    pub http: HttpSettings,
    /// TLS certificate and key (PEM).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Most Tableau calls in flight per tenant.
    pub tableau_concurrency: usize,
    /// Timeout of one Tableau call.
    pub tableau_timeout: Duration,
    /// HTTP worker threads.
    pub workers: usize,
    /// A listener of its own for `/metrics` (and `/readyz` naming tenants), e.g.
    /// `127.0.0.1:9464`; the main listener then does not serve `/metrics`.
    pub metrics_listen: Option<String>,
    /// Tokens that open the admin console for every tenant.
    pub admin_tokens: Vec<crate::http::TokenDigest>,
    /// How long audit rows are kept.
    pub audit_retention: Duration,
    /// PostgreSQL instead of SQLite in `data_dir`: `postgres://user@host:port/db`, its
    /// password apart.
    pub store_url: Option<String>,
    /// The PostgreSQL password (`TABLEAU_SCIM_STORE_PASSWORD` or `store_password_file`).
    pub store_password: Option<secrecy::SecretString>,
    /// A key of the replicas' own, mixed into the key that seals the shared Tableau session
    /// (`TABLEAU_SCIM_SESSION_KEY` or `session_key_file`; [`crate::tableau::SessionSeal`]).
    pub session_key: Option<secrecy::SecretString>,
    /// Where audit entries go besides the store (`[[server.audit_sinks]]`).
    pub audit_sinks: Vec<crate::audit_export::SinkConfig>,
    /// Spans exported over OpenTelemetry (`[server.tracing]`), when set.
    pub tracing: Option<crate::telemetry::TracingConfig>,
    /// Console sign-in through an identity provider (`[server.console_oidc]`), when set.
    pub console_oidc: Option<crate::console::oidc::ConsoleOidcConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "0.0.0.0:8080".into(),
            data_dir: PathBuf::from("./data"),
            log_format: LogFormat::Text,
            http: HttpSettings::default(),
            tls: None,
            tableau_concurrency: ClientConfig::DEFAULT_MAX_IN_FLIGHT,
            tableau_timeout: ClientConfig::DEFAULT_TIMEOUT,
            workers: 2,
            metrics_listen: None,
            admin_tokens: Vec::new(),
            audit_retention: Duration::from_secs(400 * 24 * 3600),
            store_url: None,
            store_password: None,
            session_key: None,
            audit_sinks: Vec::new(),
            tracing: None,
            console_oidc: None,
        }
    }
}

/// The `[server]` section over the defaults, with the `TABLEAU_SCIM_LISTEN`,
/// `TABLEAU_SCIM_PUBLIC_URL`, `TABLEAU_SCIM_DATA_DIR` and `TABLEAU_SCIM_LOG_FORMAT` overrides.
pub(super) fn server_config(s: ServerSection, env: &dyn Env) -> Result<ServerConfig, ConfigError> {
    let d = ServerConfig::default();
    let tls = match (s.tls_cert.clone(), s.tls_key.clone()) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => return err("server.tls_cert and server.tls_key go together: give both or neither"),
    };
    let log_format = log_format(env, s.log_format.unwrap_or(d.log_format))?;
    let admin_tokens = optional_tokens(
        &s.admin_token_hashes,
        s.admin_tokens_file.as_deref(),
        env,
        &TokenKeys {
            hashes: "server.admin_token_hashes".into(),
            file: "server.admin_tokens_file".into(),
            env: "TABLEAU_SCIM_ADMIN_TOKENS".into(),
        },
    )?;
    let audit_retention = match s.audit_retention_days {
        Some(0) => return err("server.audit_retention_days: must be at least 1"),
        Some(days) => Duration::from_secs(days.saturating_mul(24 * 3600)),
        None => d.audit_retention,
    };
    let store_url = env.var("TABLEAU_SCIM_STORE_URL").or(s.store_url.clone());
    if let Some(url) = &store_url {
        check_store_url(url)?;
    }
    let store_password = super::secrets::secret(
        env,
        "TABLEAU_SCIM_STORE_PASSWORD",
        s.store_password_file.as_deref(),
        None,
        "server.store_password_file",
    )?;
    let session_key = super::secrets::secret(
        env,
        "TABLEAU_SCIM_SESSION_KEY",
        s.session_key_file.as_deref(),
        None,
        "server.session_key_file",
    )?;
    if session_key
        .as_ref()
        .is_some_and(|k| secrecy::ExposeSecret::expose_secret(k).trim().len() < MIN_SESSION_KEY)
    {
        return err(format!("server.session_key_file (or TABLEAU_SCIM_SESSION_KEY): at least {MIN_SESSION_KEY} characters of random (openssl rand -base64 32)"));
    }
    let audit_sinks = super::audit_sinks::audit_sinks(&s.audit_sinks, env)?;
    let tracing = match &s.tracing {
        Some(t) => Some(super::tracing::tracing(t, env)?),
        None => None,
    };
    let http = http_settings(&s, env, tls.is_some(), d.http)?;
    let tableau_concurrency = s.tableau_concurrency.unwrap_or(d.tableau_concurrency);
    if tableau_concurrency == 0 {
        return err("server.tableau_concurrency: must be at least 1");
    }
    Ok(ServerConfig {
        listen: env
            .var("TABLEAU_SCIM_LISTEN")
            .or(s.listen)
            .unwrap_or(d.listen),
        data_dir: env
            .var("TABLEAU_SCIM_DATA_DIR")
            .map(PathBuf::from)
            .or(s.data_dir)
            .unwrap_or(d.data_dir),
        log_format,
        http,
        tls,
        tableau_concurrency,
        tableau_timeout: s
            .tableau_timeout_secs
            .map_or(d.tableau_timeout, Duration::from_secs),
        workers: s.workers.unwrap_or(d.workers),
        metrics_listen: env.var("TABLEAU_SCIM_METRICS_LISTEN").or(s.metrics_listen),
        admin_tokens,
        audit_retention,
        store_url,
        store_password,
        session_key,
        audit_sinks,
        tracing,
        console_oidc: None,
    })
}

/// `TABLEAU_SCIM_LOG_FORMAT` over the file's (or the default) format; anything but `text`
/// or `json` is refused rather than ignored.
fn log_format(env: &dyn Env, configured: LogFormat) -> Result<LogFormat, ConfigError> {
    match env.var("TABLEAU_SCIM_LOG_FORMAT").as_deref() {
        Some("json") => Ok(LogFormat::Json),
        Some("text") => Ok(LogFormat::Text),
        Some(other) => err(format!(
            "TABLEAU_SCIM_LOG_FORMAT: '{other}' is not accepted; use text or json"
        )),
        None => Ok(configured),
    }
}

/// The HTTP layer's settings: the metrics tokens, the authentication guard, the limits (each
/// refused when it would disable itself: 0, or a page over SCIM's 1,000), the public URL
/// (`TABLEAU_SCIM_PUBLIC_URL` first), and whether the server is reached over HTTPS (its own
/// TLS, or an `https://` public URL in front of it).
fn http_settings(
    s: &ServerSection,
    env: &dyn Env,
    own_tls: bool,
    d: HttpSettings,
) -> Result<HttpSettings, ConfigError> {
    let metrics_tokens = optional_tokens(
        &s.metrics_token_hashes,
        s.metrics_tokens_file.as_deref(),
        env,
        &TokenKeys {
            hashes: "server.metrics_token_hashes".into(),
            file: "server.metrics_tokens_file".into(),
            env: "TABLEAU_SCIM_METRICS_TOKENS".into(),
        },
    )?;
    let guard = GuardSettings {
        limit: s.auth_failure_limit.unwrap_or(d.guard.limit),
        block: s.auth_block_secs.map_or(d.guard.block, Duration::from_secs),
        ..d.guard
    };
    if guard.limit == 0 {
        return err("server.auth_failure_limit: must be at least 1");
    }
    let max_in_flight_per_tenant = s
        .max_requests_in_flight_per_tenant
        .unwrap_or(d.max_in_flight_per_tenant);
    if max_in_flight_per_tenant == 0 {
        return err("server.max_requests_in_flight_per_tenant: must be at least 1");
    }
    let max_page_size = s.max_page_size.unwrap_or(d.max_page_size);
    if max_page_size == 0 || max_page_size > 1000 {
        return err(format!(
            "server.max_page_size: {max_page_size} is outside 1..=1000"
        ));
    }
    let public_url = env.var("TABLEAU_SCIM_PUBLIC_URL").or(s.public_url.clone());
    if let Some(u) = &public_url {
        if !(u.starts_with("https://") || u.starts_with("http://")) {
            return err(format!(
                "server.public_url: '{u}' must start with https:// or http://"
            ));
        }
    }
    Ok(HttpSettings {
        metrics_tokens: TokenSet::new(metrics_tokens),
        guard,
        max_in_flight_per_tenant,
        max_body_bytes: s.max_body_bytes.unwrap_or(d.max_body_bytes),
        max_page_size,
        https: own_tls
            || public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
        public_url,
        trust_forwarded_headers: s
            .trust_forwarded_headers
            .unwrap_or(d.trust_forwarded_headers),
        ..d
    })
}

/// The shortest session key taken: 32 characters of base64 are 192 bits.
const MIN_SESSION_KEY: usize = 32;

/// A PostgreSQL URL that parses and holds no password: the password, like every secret, comes
/// from the environment or a file, so the configuration file can be read by anyone who may
/// read it.
fn check_store_url(url: &str) -> Result<(), ConfigError> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return err("server.store_url: must be a postgres:// URL (without it, the store is SQLite in data_dir)");
    }
    // libpq's sslmode and sslrootcert, which tokio-postgres does not read, checked and taken
    // out first; the CA file is read now, so a wrong path stops the start, not the first query.
    let (url, tls) =
        crate::store::postgres::tls::split_url(url).map_err(|e| ConfigError(e.to_string()))?;
    if let Err(e) = tls.connector() {
        return err(e.to_string());
    }
    match url.parse::<tokio_postgres::Config>() {
        Ok(c) if c.get_password().is_some() => err(
            "server.store_url: holds a password; give it in TABLEAU_SCIM_STORE_PASSWORD or server.store_password_file instead",
        ),
        Ok(_) => Ok(()),
        Err(e) => err(format!("server.store_url: {e}")),
    }
}

/// What stops `serve` that the demo and tests may do without: `public_url` unset. Without it
/// the server would not know the origin IdPs reach it at, and the only alternatives are the
/// client's `Host` header (anyone can write one into `Location` and `meta.location`) or the
/// socket's address (wrong behind a proxy).
pub fn serve_problem(server: &ServerConfig) -> Option<String> {
    server.http.public_url.is_none().then(|| {
        "server.public_url is required: the origin IdPs reach this server at, e.g. \
         \"https://scim.example.com\" (it is written into Location and meta.location; \
         or set TABLEAU_SCIM_PUBLIC_URL)"
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::BTreeMap;

    fn section(toml_text: &str) -> ServerSection {
        toml::from_str(toml_text).expect("a server section")
    }

    fn parse(toml_text: &str, env: &[(&str, &str)]) -> Result<ServerConfig, String> {
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        server_config(section(toml_text), &env).map_err(|e| e.0)
    }

    #[test]
    fn a_session_key_is_long_enough_or_refused_without_being_shown() {
        let key = "0123456789abcdefghijklmnopqrstuvwxyzABCD";
        let c = parse("", &[("TABLEAU_SCIM_SESSION_KEY", key)]).expect("a key");
        assert_eq!(
            c.session_key
                .as_ref()
                .map(|k| k.expose_secret().to_string()),
            Some(key.to_string())
        );
        let short = parse("", &[("TABLEAU_SCIM_SESSION_KEY", "short-key-123")]);
        assert!(
            short
                .as_ref()
                .is_err_and(|e| e.contains("at least 32") && !e.contains("short-key-123")),
            "{short:?}"
        );
        assert!(parse("", &[]).is_ok_and(|c| c.session_key.is_none()));
    }

    #[test]
    fn an_empty_section_is_the_defaults() {
        let c = parse("", &[]).expect("defaults");
        let d = ServerConfig::default();
        assert_eq!(
            (
                c.listen,
                c.data_dir,
                c.workers,
                c.tableau_concurrency,
                c.tableau_timeout
            ),
            (
                d.listen,
                d.data_dir,
                d.workers,
                d.tableau_concurrency,
                d.tableau_timeout
            )
        );
        assert_eq!(c.http.max_page_size, HttpSettings::default().max_page_size);
        assert_eq!(
            c.http.max_body_bytes,
            HttpSettings::default().max_body_bytes
        );
        assert_eq!(c.tableau_timeout, ClientConfig::DEFAULT_TIMEOUT);
    }

    #[test]
    fn a_postgres_store_takes_its_password_apart_from_the_url() {
        assert_eq!(
            parse("", &[]).map(|c| c.store_url),
            Ok(None),
            "SQLite by default"
        );
        let c = parse(
            "store_url = \"postgres://scim@db.internal:5432/tableau_scim\"",
            &[("TABLEAU_SCIM_STORE_PASSWORD", "pw-from-env")],
        )
        .expect("valid");
        assert_eq!(
            c.store_url.as_deref(),
            Some("postgres://scim@db.internal:5432/tableau_scim")
        );
        let tls = parse(
            "store_url = \"postgres://scim@db.internal/t?sslmode=require&application_name=x\"",
            &[],
        );
        assert!(tls.is_ok(), "{tls:?}");
        assert_eq!(
            c.store_password
                .as_ref()
                .map(|p| p.expose_secret().to_string()),
            Some("pw-from-env".into())
        );
        for (url, needle) in [
            ("postgres://scim:secret@db/x", "holds a password"),
            ("mysql://db/x", "must be a postgres:// URL"),
            (
                "postgres://scim@db/x?sslmode=verify-full",
                "need sslrootcert",
            ),
            (
                "postgres://scim@db/x?sslmode=on",
                "sslmode 'on' is not one of",
            ),
            (
                "postgres://scim@db/x?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
                "sslrootcert /nonexistent/ca.pem",
            ),
        ] {
            let e = parse(&format!("store_url = \"{url}\""), &[]);
            assert!(
                e.as_ref()
                    .is_err_and(|m| m.contains(needle) && !m.contains("secret@")),
                "{url}: {e:?}"
            );
        }
    }

    #[test]
    fn keys_set_what_they_name_and_the_environment_overrides() {
        let c = parse(
            "listen = \"127.0.0.1:9\"\nmax_page_size = 50\ntableau_timeout_secs = 7\nworkers = 4\nlog_format = \"json\"\ntrust_forwarded_headers = true",
            &[("TABLEAU_SCIM_LISTEN", "0.0.0.0:1"), ("TABLEAU_SCIM_PUBLIC_URL", "https://scim.example.com")],
        )
        .expect("valid");
        assert_eq!(c.listen, "0.0.0.0:1");
        assert_eq!(c.http.max_page_size, 50);
        assert_eq!(
            c.http.public_url.as_deref(),
            Some("https://scim.example.com")
        );
        assert!(c.http.trust_forwarded_headers);
        assert_eq!((c.tableau_timeout, c.workers), (Duration::from_secs(7), 4));
        assert_eq!(c.log_format, LogFormat::Json);
        let text = parse(
            "log_format = \"json\"",
            &[("TABLEAU_SCIM_LOG_FORMAT", "text")],
        );
        assert_eq!(text.map(|c| c.log_format), Ok(LogFormat::Text));
        let guarded = parse(
            "metrics_listen = \"127.0.0.1:9464\"\nauth_failure_limit = 5\nauth_block_secs = 60\nmax_requests_in_flight_per_tenant = 8",
            &[("TABLEAU_SCIM_METRICS_TOKENS", "metrics-token-0123456789")],
        )
        .expect("valid");
        assert_eq!(guarded.metrics_listen.as_deref(), Some("127.0.0.1:9464"));
        assert!(guarded
            .http
            .metrics_tokens
            .accepts("metrics-token-0123456789"));
        assert_eq!(
            (
                guarded.http.guard.limit,
                guarded.http.guard.block,
                guarded.http.max_in_flight_per_tenant
            ),
            (5, Duration::from_secs(60), 8)
        );
        let safe = parse("", &[]).expect("defaults");
        assert!(
            safe.metrics_listen.is_none() && safe.http.metrics_tokens.is_empty(),
            "no metrics on the internet by default"
        );
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, env, needle) in [
            ("max_page_size = 0", vec![], "server.max_page_size"),
            ("max_page_size = 1001", vec![], "server.max_page_size"),
            (
                "tableau_concurrency = 0",
                vec![],
                "server.tableau_concurrency",
            ),
            (
                "tls_cert = \"c.pem\"",
                vec![],
                "server.tls_cert and server.tls_key",
            ),
            (
                "public_url = \"scim.example.com\"",
                vec![],
                "server.public_url",
            ),
            (
                "",
                vec![("TABLEAU_SCIM_LOG_FORMAT", "xml")],
                "TABLEAU_SCIM_LOG_FORMAT",
            ),
            (
                "auth_failure_limit = 0",
                vec![],
                "server.auth_failure_limit",
            ),
            (
                "max_requests_in_flight_per_tenant = 0",
                vec![],
                "server.max_requests_in_flight_per_tenant",
            ),
            (
                "metrics_token_hashes = [\"nothex\"]",
                vec![],
                "server.metrics_token_hashes[0]",
            ),
        ] {
            match parse(text, &env) {
                Err(m) => assert!(m.starts_with(needle), "{text}: {m}"),
                Ok(_) => panic!("{text} must be refused"),
            }
        }
    }
}
