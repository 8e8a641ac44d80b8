//! Secrets and tokens: from the environment, a file, or (least preferred) the file itself.

use std::path::Path;

use secrecy::SecretString;

use super::{err, ConfigError, Env};
use crate::http::TokenDigest;

/// The environment prefix of a tenant: `TABLEAU_SCIM_TENANT_<ID>_`, the id upper-cased with
/// every other character as `_`.
pub fn tenant_env_prefix(id: &str) -> String {
    let id: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("TABLEAU_SCIM_TENANT_{id}_")
}

/// A secret file's content without its trailing line break.
pub(super) fn read_secret_file(path: &Path, key: &str) -> Result<String, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s.trim_end_matches(['\r', '\n']).to_string()),
        Err(e) => err(format!("{key}: cannot read {}: {e}", path.display())),
    }
}

/// Whether users other than the owner can read the file at `path` (its mode gives the group
/// or others any access). Unix only; elsewhere nothing is said.
pub(super) fn readable_by_others(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// A secret from (in order) the environment, a file, or the config value itself.
pub(super) fn secret(
    env: &dyn Env,
    env_name: &str,
    file: Option<&Path>,
    value: Option<&str>,
    key: &str,
) -> Result<Option<SecretString>, ConfigError> {
    if let Some(v) = env.var(env_name) {
        return Ok(Some(SecretString::from(v)));
    }
    if let Some(p) = file {
        return Ok(Some(SecretString::from(read_secret_file(p, key)?)));
    }
    Ok(value.map(|v| SecretString::from(v.to_string())))
}

/// Shorter plain tokens are refused: a SCIM token faces the internet.
const MIN_TOKEN_LEN: usize = 16;

/// A tenant's bearer tokens: SHA-256 digests from the file, plus plain tokens from
/// `tokens_file` (one per line) and `<prefix>TOKENS` (comma-separated), hashed here. At least
/// one is needed.
pub(super) fn tokens(
    hashes: &[String],
    tokens_file: Option<&Path>,
    env: &dyn Env,
    key: &str,
    prefix: &str,
) -> Result<Vec<TokenDigest>, ConfigError> {
    let keys = TokenKeys {
        hashes: format!("{key}.token_hashes"),
        file: format!("{key}.tokens_file"),
        env: format!("{prefix}TOKENS"),
    };
    let tokens = optional_tokens(hashes, tokens_file, env, &keys)?;
    if tokens.is_empty() {
        return err(format!(
            "{key}: no SCIM bearer token: give token_hashes, tokens_file or {prefix}TOKENS"
        ));
    }
    Ok(tokens)
}

/// Where a set of tokens is configured, for messages and the environment.
pub(super) struct TokenKeys {
    /// The key of the SHA-256 digests.
    pub hashes: String,
    /// The key of the file of plain tokens.
    pub file: String,
    /// The environment variable of plain tokens.
    pub env: String,
}

/// Tokens from their digests, a file of plain tokens (one per line) and an environment
/// variable (comma-separated), hashed here; none is fine.
pub(super) fn optional_tokens(
    hashes: &[String],
    tokens_file: Option<&Path>,
    env: &dyn Env,
    keys: &TokenKeys,
) -> Result<Vec<TokenDigest>, ConfigError> {
    let mut tokens = Vec::new();
    for (j, h) in hashes.iter().enumerate() {
        tokens.push(TokenDigest::from_hex(h).ok_or_else(|| {
            ConfigError(format!(
                "{}[{j}]: not 64 hex digits (make one with `tableau-scim hash-token`)",
                keys.hashes
            ))
        })?);
    }
    let mut plain: Vec<String> = Vec::new();
    if let Some(p) = tokens_file {
        plain.extend(
            read_secret_file(p, &keys.file)?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string),
        );
    }
    if let Some(v) = env.var(&keys.env) {
        plain.extend(
            v.split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string),
        );
    }
    for p in plain {
        if p.len() < MIN_TOKEN_LEN {
            return err(format!(
                "{}: a bearer token is shorter than 16 characters; use a long random token",
                keys.hashes
                    .rsplit_once('.')
                    .map_or(keys.hashes.as_str(), |(k, _)| k)
            ));
        }
        tokens.push(TokenDigest::of(&p));
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::BTreeMap;

    #[test]
    fn a_tenant_prefix_is_upper_case_with_underscores() {
        assert_eq!(
            tenant_env_prefix("acme-eu_2"),
            "TABLEAU_SCIM_TENANT_ACME_EU_2_"
        );
    }

    #[test]
    fn a_secret_comes_from_the_environment_then_a_file_then_the_value() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pat");
        std::fs::write(&file, "from-file\n").expect("write");
        let env = BTreeMap::from([("X_SECRET".to_string(), "from-env".to_string())]);
        let none = BTreeMap::new();
        let get = |env: &BTreeMap<String, String>, file: Option<&Path>, value: Option<&str>| {
            secret(env, "X_SECRET", file, value, "k")
                .expect("readable")
                .map(|s| s.expose_secret().to_string())
        };
        assert_eq!(get(&env, Some(&file), Some("v")), Some("from-env".into()));
        assert_eq!(get(&none, Some(&file), Some("v")), Some("from-file".into()));
        assert_eq!(get(&none, None, Some("v")), Some("v".into()));
        assert_eq!(get(&none, None, None), None);
        let missing = secret(
            &none,
            "X",
            Some(&dir.path().join("nope")),
            None,
            "t.pat_secret_file",
        );
        assert!(
            matches!(missing, Err(ConfigError(m)) if m.starts_with("t.pat_secret_file: cannot read"))
        );
    }

    #[test]
    fn tokens_come_hashed_from_the_file_and_plain_from_a_file_or_the_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("tokens");
        std::fs::write(&file, "token-from-file-0123\n\n").expect("write");
        let env = BTreeMap::from([(
            "P_TOKENS".to_string(),
            "token-from-env-00001, token-from-env-00002".to_string(),
        )]);
        let hashed = TokenDigest::of("a-hashed-token-000000").to_hex();
        let got = tokens(&[hashed], Some(&file), &env, "t", "P_").expect("tokens");
        let want: Vec<String> = [
            "a-hashed-token-000000",
            "token-from-file-0123",
            "token-from-env-00001",
            "token-from-env-00002",
        ]
        .iter()
        .map(|t| TokenDigest::of(t).to_hex())
        .collect();
        assert_eq!(
            got.iter().map(TokenDigest::to_hex).collect::<Vec<_>>(),
            want
        );
        let none = BTreeMap::new();
        let refused = |hashes: &[String], env: &BTreeMap<String, String>| {
            tokens(hashes, None, env, "t", "P_").err().map(|e| e.0)
        };
        assert!(refused(&[], &none).is_some_and(|m| m.contains("no SCIM bearer token")));
        assert!(refused(&["xyz".into()], &none).is_some_and(|m| m.starts_with("t.token_hashes[0]")));
        let short = BTreeMap::from([("P_TOKENS".to_string(), "short".to_string())]);
        assert!(refused(&[], &short).is_some_and(|m| m.contains("shorter than 16")));
    }
}
