//! `[tenants.oauth]`: the tenant's OAuth client for the client credentials grant (its id, its
//! secrets as SHA-256 digests or plain from a file or the environment, the tokens' lifetime).

use std::time::Duration;

use super::file::OAuthSection;
use super::secrets::{optional_tokens, TokenKeys};
use super::{err, ConfigError, Env};
use crate::http::oauth::{DEFAULT_LIFETIME, MAX_LIFETIME};
use crate::http::OAuthClientConfig;

/// Longest client id: an id is copied into Entra's form and into every token.
const MAX_CLIENT_ID: usize = 128;

/// `tenants[i].oauth` (`key` names it in messages, `prefix` is the tenant's environment
/// prefix): a printable client id, at least one secret, a lifetime of 1 s to 6 h.
pub(super) fn oauth_client(
    o: &OAuthSection,
    env: &dyn Env,
    key: &str,
    prefix: &str,
) -> Result<OAuthClientConfig, ConfigError> {
    let id = o.client_id.as_str();
    if id.is_empty()
        || id.len() > MAX_CLIENT_ID
        || !id.chars().all(|c| c.is_ascii_graphic() && c != ':')
    {
        return err(format!(
            "{key}.oauth.client_id: 1 to {MAX_CLIENT_ID} printable ASCII characters, no spaces or ':' (Basic authentication splits at the first ':')"
        ));
    }
    let secrets = optional_tokens(
        &o.client_secret_hashes,
        o.client_secrets_file.as_deref(),
        env,
        &TokenKeys {
            hashes: format!("{key}.oauth.client_secret_hashes"),
            file: format!("{key}.oauth.client_secrets_file"),
            env: format!("{prefix}OAUTH_CLIENT_SECRETS"),
        },
    )?;
    if secrets.is_empty() {
        return err(format!(
            "{key}.oauth: no client secret: give client_secret_hashes, client_secrets_file or {prefix}OAUTH_CLIENT_SECRETS"
        ));
    }
    let lifetime = match &o.token_lifetime {
        None => DEFAULT_LIFETIME,
        Some(text) => match humantime::parse_duration(text) {
            Ok(d) if d >= Duration::from_secs(1) && d <= MAX_LIFETIME => d,
            Ok(_) => {
                return err(format!(
                    "{key}.oauth.token_lifetime: '{text}' is not between 1s and 6h (an access token cannot be revoked before it expires)"
                ))
            }
            Err(e) => {
                return err(format!(
                    "{key}.oauth.token_lifetime: '{text}' is not a duration such as \"1h\" ({e})"
                ))
            }
        },
    };
    Ok(OAuthClientConfig {
        client_id: id.to_string(),
        secrets,
        lifetime: Duration::from_secs(lifetime.as_secs().max(1)),
    })
}
