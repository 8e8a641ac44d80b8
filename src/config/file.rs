//! The configuration file as written: every key optional where it has a default, unknown keys
//! refused (`deny_unknown_fields`), so a typo is an error that names the key.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::bridge::policy::OnSignInGrants;
use crate::bridge::policy::{Deprovision, OnLicenseExhausted, RejectedUser, Rename};
use crate::logging::LogFormat;
use crate::tableau::Deployment;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub tenants: Vec<TenantSection>,
}

impl FileConfig {
    /// Every file the configuration reads a secret from, with the key naming it.
    pub fn secret_files(&self) -> Vec<(String, PathBuf)> {
        let s = &self.server;
        let mut out: Vec<(String, PathBuf)> = [
            ("server.tls_key", &s.tls_key),
            ("server.metrics_tokens_file", &s.metrics_tokens_file),
            ("server.admin_tokens_file", &s.admin_tokens_file),
            ("server.store_password_file", &s.store_password_file),
            ("server.session_key_file", &s.session_key_file),
            (
                "server.console_oidc.client_secret_file",
                &s.console_oidc
                    .as_ref()
                    .and_then(|o| o.client_secret_file.clone()),
            ),
        ]
        .into_iter()
        .filter_map(|(k, p)| p.clone().map(|p| (k.to_string(), p)))
        .collect();
        if let Some(p) = s
            .tracing
            .as_ref()
            .and_then(|t| t.authorization_file.clone())
        {
            out.push(("server.tracing.authorization_file".to_string(), p));
        }
        for (i, a) in s.audit_sinks.iter().enumerate() {
            if let Some(p) = &a.token_file {
                out.push((format!("server.audit_sinks[{i}].token_file"), p.clone()));
            }
        }
        for (i, t) in self.tenants.iter().enumerate() {
            let key = |k: &str| format!("tenants[{i}] ({}).{k}", t.id);
            for (k, p) in [
                ("pat_secret_file", &t.pat_secret_file),
                ("tokens_file", &t.tokens_file),
                ("admin_tokens_file", &t.admin_tokens_file),
            ] {
                if let Some(p) = p {
                    out.push((key(k), p.clone()));
                }
            }
            if let Some(p) = t
                .connected_app
                .as_ref()
                .and_then(|c| c.secret_value_file.clone())
            {
                out.push((key("connected_app.secret_value_file"), p));
            }
            if let Some(p) = t.oauth.as_ref().and_then(|o| o.client_secrets_file.clone()) {
                out.push((key("oauth.client_secrets_file"), p));
            }
        }
        out
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct ServerSection {
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
    pub max_body_bytes: Option<usize>,
    pub max_page_size: Option<usize>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub trust_forwarded_headers: Option<bool>,
    pub tableau_concurrency: Option<usize>,
    pub tableau_timeout_secs: Option<u64>,
    pub workers: Option<usize>,
    pub metrics_listen: Option<String>,
    #[serde(default)]
    pub metrics_token_hashes: Vec<String>,
    pub metrics_tokens_file: Option<PathBuf>,
    pub auth_failure_limit: Option<u32>,
    pub auth_block_secs: Option<u64>,
    pub max_requests_in_flight_per_tenant: Option<usize>,
    #[serde(default)]
    pub admin_token_hashes: Vec<String>,
    pub admin_tokens_file: Option<PathBuf>,
    pub audit_retention_days: Option<u64>,
    pub store_url: Option<String>,
    pub store_password_file: Option<PathBuf>,
    pub session_key_file: Option<PathBuf>,
    #[serde(default)]
    pub audit_sinks: Vec<AuditSinkSection>,
    pub tracing: Option<TracingSection>,
    pub console_oidc: Option<ConsoleOidcSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConsoleOidcSection {
    pub issuer: String,
    pub client_id: String,
    pub client_secret_file: Option<PathBuf>,
    pub console_url: Option<String>,
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub groups_claim: Option<String>,
    pub session_lifetime_secs: Option<u64>,
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub roles: Vec<ConsoleRoleSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConsoleRoleSection {
    pub group: String,
    pub role: String,
    #[serde(default)]
    pub tenants: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConnectedAppSection {
    pub client_id: String,
    pub secret_id: String,
    pub secret_value: Option<String>,
    pub secret_value_file: Option<PathBuf>,
    pub username: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RetrySection {
    pub max_attempts: Option<u32>,
    pub base_delay_ms: Option<u64>,
    pub max_delay_ms: Option<u64>,
    pub max_total_secs: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct CacheSection {
    pub users_ttl_secs: Option<u64>,
    pub groups_ttl_secs: Option<u64>,
    pub members_ttl_secs: Option<u64>,
    pub names_refresh_secs: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct SafetySection {
    pub enabled: Option<bool>,
    pub window: Option<String>,
    pub max_changes: Option<u64>,
    pub max_share: Option<f64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct ReconcileSection {
    pub every: Option<String>,
    pub apply: Option<bool>,
    pub recreate_missing: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TenantSection {
    pub id: String,
    pub tableau_url: String,
    pub allow_http: Option<bool>,
    pub site: String,
    pub deployment: Deployment,
    pub api_version: Option<String>,
    pub pat_name: Option<String>,
    pub pat_secret: Option<String>,
    pub pat_secret_file: Option<PathBuf>,
    pub connected_app: Option<ConnectedAppSection>,
    #[serde(default)]
    pub token_hashes: Vec<String>,
    pub tokens_file: Option<PathBuf>,
    pub auth_setting: Option<String>,
    pub idp_configuration_id: Option<String>,
    pub default_role: Option<String>,
    #[serde(default)]
    pub roles: BTreeMap<String, String>,
    #[serde(default)]
    pub group_roles: BTreeMap<String, String>,
    pub deprovision: Option<Deprovision>,
    pub rename: Option<Rename>,
    pub on_license_exhausted: Option<OnLicenseExhausted>,
    pub rejected_user: Option<RejectedUser>,
    pub on_sign_in_grants: Option<OnSignInGrants>,
    pub manage_unprovisioned_admins: Option<bool>,
    pub map_assets_to: Option<String>,
    pub custodian: Option<String>,
    pub custody_to_manager: Option<bool>,
    pub custody_on_deactivation: Option<bool>,
    pub approve_admin_grants: Option<bool>,
    pub group_minimum_site_role: Option<String>,
    #[serde(default)]
    pub retry: RetrySection,
    #[serde(default)]
    pub cache: CacheSection,
    #[serde(default)]
    pub reconcile: ReconcileSection,
    #[serde(default)]
    pub safety: SafetySection,
    #[serde(default)]
    pub admin_token_hashes: Vec<String>,
    pub admin_tokens_file: Option<PathBuf>,
    pub oauth: Option<OAuthSection>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum AuditSinkKind {
    Syslog,
    Http,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum AuditSinkFormat {
    Hec,
    JsonLines,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditSinkSection {
    pub name: Option<String>,
    pub kind: AuditSinkKind,
    pub address: Option<String>,
    pub url: Option<String>,
    pub format: Option<AuditSinkFormat>,
    pub token_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    pub queue: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TracingSection {
    pub otlp_endpoint: String,
    pub service_name: Option<String>,
    pub sample_ratio: Option<f64>,
    pub authorization_file: Option<PathBuf>,
    pub queue: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OAuthSection {
    pub client_id: String,
    #[serde(default)]
    pub client_secret_hashes: Vec<String>,
    pub client_secrets_file: Option<PathBuf>,
    pub token_lifetime: Option<String>,
}
