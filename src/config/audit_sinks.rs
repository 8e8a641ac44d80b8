//! `[[server.audit_sinks]]`: where audit entries go besides the store (syslog over TLS, an HTTP
//! collector), each with its token (a file, or `TABLEAU_SCIM_AUDIT_SINK_<NAME>_TOKEN`) and queue.

use super::file::{AuditSinkFormat, AuditSinkKind, AuditSinkSection};
use super::{err, ConfigError, Env};
use crate::audit_export::{HttpFormat, SinkConfig, SinkTarget, DEFAULT_QUEUE};

/// The largest queue a sink may have: 1,000,000 entries is about 300 MiB.
const MAX_QUEUE: usize = 1_000_000;

/// Every sink, named (`sink0`, ... unless named), checked.
pub(super) fn audit_sinks(
    sections: &[AuditSinkSection],
    env: &dyn Env,
) -> Result<Vec<SinkConfig>, ConfigError> {
    let mut out: Vec<SinkConfig> = Vec::new();
    for (i, a) in sections.iter().enumerate() {
        let key = format!("server.audit_sinks[{i}]");
        let name = a.name.clone().unwrap_or_else(|| format!("sink{i}"));
        if name.is_empty()
            || name.len() > 32
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return err(format!("{key}.name: 1 to 32 letters, digits, '-' or '_'"));
        }
        if out.iter().any(|s| s.name == name) {
            return err(format!("{key}.name: '{name}' is used twice"));
        }
        let queue = a.queue.unwrap_or(DEFAULT_QUEUE);
        if queue == 0 || queue > MAX_QUEUE {
            return err(format!("{key}.queue: between 1 and {MAX_QUEUE} entries"));
        }
        let env_name = format!(
            "TABLEAU_SCIM_AUDIT_SINK_{}_TOKEN",
            name.to_ascii_uppercase().replace('-', "_")
        );
        let token = super::secrets::secret(
            env,
            &env_name,
            a.token_file.as_deref(),
            None,
            &format!("{key}.token_file"),
        )?;
        let target = match a.kind {
            AuditSinkKind::Syslog => {
                if a.url.is_some() || a.format.is_some() || token.is_some() {
                    return err(format!("{key}: a syslog sink takes address and ca_file, not url, format or a token"));
                }
                let Some(address) = a.address.clone() else {
                    return err(format!(
                        "{key}.address: a syslog sink needs host:port (6514 for syslog over TLS)"
                    ));
                };
                if address
                    .rsplit_once(':')
                    .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
                {
                    return err(format!("{key}.address: '{address}' is not host:port"));
                }
                SinkTarget::Syslog {
                    address,
                    ca_file: a.ca_file.clone(),
                }
            }
            AuditSinkKind::Http => {
                if a.address.is_some() {
                    return err(format!("{key}: an http sink takes url, not address"));
                }
                let Some(url) = a.url.clone() else {
                    return err(format!("{key}.url: an http sink needs the collector's URL"));
                };
                if let Some(problem) = super::tenant::tableau_url_problem(&url, false) {
                    return err(format!("{key}.url: '{url}' {problem}"));
                }
                let format = match a.format.unwrap_or(AuditSinkFormat::Hec) {
                    AuditSinkFormat::Hec => HttpFormat::Hec,
                    AuditSinkFormat::JsonLines => HttpFormat::JsonLines,
                };
                SinkTarget::Http {
                    url,
                    format,
                    token,
                    ca_file: a.ca_file.clone(),
                }
            }
        };
        out.push(SinkConfig {
            name,
            target,
            queue,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn parse(text: &str, env: &BTreeMap<String, String>) -> Result<Vec<SinkConfig>, String> {
        #[derive(serde::Deserialize)]
        struct F {
            audit_sinks: Vec<AuditSinkSection>,
        }
        let f: F = toml::from_str(text).map_err(|e| e.to_string())?;
        audit_sinks(&f.audit_sinks, env).map_err(|e| e.0)
    }

    #[test]
    fn sinks_are_read_with_their_tokens_and_refused_naming_the_key() {
        let env = BTreeMap::from([(
            "TABLEAU_SCIM_AUDIT_SINK_SPLUNK_TOKEN".to_string(),
            "hec-token".to_string(),
        )]);
        let sinks = parse(
            "[[audit_sinks]]\nname = \"splunk\"\nkind = \"http\"\nurl = \"https://splunk.example.com:8088/services/collector/event\"\n[[audit_sinks]]\nkind = \"syslog\"\naddress = \"siem.example.com:6514\"\nqueue = 50\n",
            &env,
        )
        .expect("valid");
        assert_eq!(sinks.len(), 2);
        assert!(matches!(
            &sinks[0].target,
            SinkTarget::Http {
                format: HttpFormat::Hec,
                token: Some(_),
                ..
            }
        ));
        assert_eq!(sinks[0].queue, DEFAULT_QUEUE);
        assert_eq!((sinks[1].name.as_str(), sinks[1].queue), ("sink1", 50));
        assert!(
            !format!("{sinks:?}").contains("hec-token"),
            "the token is not shown"
        );
        for (text, names) in [
            ("kind = \"syslog\"\n", "address"),
            ("kind = \"syslog\"\naddress = \"siem\"\n", "address"),
            ("kind = \"http\"\n", "url"),
            (
                "kind = \"http\"\nurl = \"http://siem.example.com/\"\n",
                "https",
            ),
            (
                "kind = \"http\"\nurl = \"https://s.example.com\"\nqueue = 0\n",
                "queue",
            ),
            (
                "kind = \"http\"\nurl = \"https://s.example.com\"\nname = \"a b\"\n",
                "name",
            ),
            ("kind = \"kafka\"\n", "kind"),
        ] {
            match parse(&format!("[[audit_sinks]]\n{text}"), &BTreeMap::new()) {
                Err(m) => assert!(m.contains(names), "{text}: {m}"),
                Ok(_) => panic!("{text} was accepted"),
            }
        }
    }
}
