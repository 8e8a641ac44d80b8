//! `[server.tracing]`: the OTLP/HTTP collector spans go to, with the `Authorization` header a
//! hosted one asks for (a file, or `TABLEAU_SCIM_OTLP_AUTHORIZATION`).

use super::file::TracingSection;
use super::{err, ConfigError, Env};
use crate::telemetry::{TracingConfig, DEFAULT_QUEUE};

/// The largest span queue: a span is about 1 KiB, so 100,000 is about 100 MiB.
const MAX_QUEUE: usize = 100_000;

/// The section, checked. The endpoint is `https://`, or `http://` to a loopback address or
/// when no `Authorization` header travels (a collector beside us, in the same pod or host).
pub(super) fn tracing(t: &TracingSection, env: &dyn Env) -> Result<TracingConfig, ConfigError> {
    let key = "server.tracing";
    let authorization = super::secrets::secret(
        env,
        "TABLEAU_SCIM_OTLP_AUTHORIZATION",
        t.authorization_file.as_deref(),
        None,
        &format!("{key}.authorization_file"),
    )?;
    if let Some(problem) =
        super::tenant::tableau_url_problem(&t.otlp_endpoint, authorization.is_none())
    {
        // The shared check speaks of a tenant's allow_http, which this section has not.
        let problem = if t.otlp_endpoint.starts_with("http://") {
            "must start with https:// when the collector takes an authorization header (http:// only for a loopback address): the header travels with every export".to_string()
        } else {
            problem
        };
        return err(format!(
            "{key}.otlp_endpoint: '{}' {problem}",
            t.otlp_endpoint
        ));
    }
    let sample_ratio = t.sample_ratio.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&sample_ratio) {
        return err(format!(
            "{key}.sample_ratio: between 0 and 1 (the share of traces kept)"
        ));
    }
    let queue = t.queue.unwrap_or(DEFAULT_QUEUE);
    if queue == 0 || queue > MAX_QUEUE {
        return err(format!("{key}.queue: between 1 and {MAX_QUEUE} spans"));
    }
    let service_name = t
        .service_name
        .clone()
        .unwrap_or_else(|| "tableau-scim".to_string());
    if service_name.is_empty() || service_name.len() > 64 {
        return err(format!("{key}.service_name: 1 to 64 characters"));
    }
    Ok(TracingConfig {
        endpoint: t.otlp_endpoint.clone(),
        service_name,
        sample_ratio,
        authorization,
        queue,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn parse(text: &str, env: &BTreeMap<String, String>) -> Result<TracingConfig, String> {
        let t: TracingSection = toml::from_str(text).map_err(|e| e.to_string())?;
        tracing(&t, env).map_err(|e| e.0)
    }

    #[test]
    fn the_collector_is_read_with_its_header_and_refused_naming_the_key() {
        let local = parse(
            "otlp_endpoint = \"http://otel-collector:4318/v1/traces\"\n",
            &BTreeMap::new(),
        )
        .expect("plain http without a header");
        assert_eq!(
            (local.service_name.as_str(), local.sample_ratio, local.queue),
            ("tableau-scim", 1.0, DEFAULT_QUEUE)
        );
        let env = BTreeMap::from([(
            "TABLEAU_SCIM_OTLP_AUTHORIZATION".to_string(),
            "Basic b3RscC1zZWNyZXQ=".to_string(),
        )]);
        let hosted = parse(
            "otlp_endpoint = \"https://otlp.example.com/v1/traces\"\nsample_ratio = 0.25\n",
            &env,
        )
        .expect("https with a header");
        assert!(hosted.authorization.is_some());
        assert!(!format!("{hosted:?}").contains("b3RscC1zZWNyZXQ"));
        for (text, names) in [
            (
                "otlp_endpoint = \"http://otlp.example.com/v1/traces\"\n",
                "https:// when the collector takes an authorization header",
            ),
            (
                "otlp_endpoint = \"https://o.example.com\"\nsample_ratio = 2.0\n",
                "sample_ratio",
            ),
            (
                "otlp_endpoint = \"https://o.example.com\"\nqueue = 0\n",
                "queue",
            ),
            (
                "otlp_endpoint = \"https://o.example.com\"\nservice_name = \"\"\n",
                "service_name",
            ),
        ] {
            match parse(text, &env) {
                Err(m) => assert!(m.contains(names), "{text}: {m}"),
                Ok(_) => panic!("{text} was accepted"),
            }
        }
    }
}
