//! The sinks' transports: HTTP (one POST a batch, any 2xx is delivered) and syslog over TCP
//! with TLS (RFC 5425: octet-counted RFC 5424 messages on one kept connection, opened again
//! after a fault). A send either delivers the whole batch or fails, and the batch is sent again.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::AsyncWriteExt;

use super::format;
use super::ExportEvent;

/// How long one delivery may take before it counts as failed.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The body an HTTP sink posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpFormat {
    /// Splunk HTTP Event Collector events, `Authorization: Splunk <token>`.
    Hec,
    /// JSON lines, `Authorization: Bearer <token>`.
    JsonLines,
}

/// Where a sink sends, as configured.
#[derive(Debug, Clone)]
pub enum SinkTarget {
    /// An HTTP collector.
    Http {
        /// Its URL (HEC: `https://splunk:8088/services/collector/event`).
        url: String,
        /// Its body format.
        format: HttpFormat,
        /// Its token, if it takes one.
        token: Option<SecretString>,
        /// A CA (PEM) to trust besides the system's, for a collector with a private CA.
        ca_file: Option<std::path::PathBuf>,
    },
    /// A syslog receiver over TLS.
    Syslog {
        /// `host:port` (6514 is syslog over TLS's port, RFC 5425).
        address: String,
        /// The CA (PEM) its certificate chains to; without one, the system's roots.
        ca_file: Option<std::path::PathBuf>,
    },
}

/// A sink's transport, ready (its parts private to this module).
pub enum Transport {
    #[allow(missing_docs)]
    /// HTTP.
    Http {
        client: reqwest::Client,
        url: String,
        format: HttpFormat,
        token: Option<SecretString>,
    },
    /// Syslog over TLS, the connection kept between batches.
    #[allow(missing_docs)]
    Syslog {
        connector: tokio_rustls::TlsConnector,
        address: String,
        name: ServerName<'static>,
        stream: Option<Box<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>>,
    },
}

fn roots(ca_file: Option<&std::path::Path>) -> Result<rustls::RootCertStore, String> {
    if let Some(path) = ca_file {
        return crate::pem_roots::root_certificates(path)
            .map_err(|e| format!("ca_file {}: {e}", path.display()));
    }
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(c);
    }
    Ok(roots)
}

impl Transport {
    /// The transport for `target`; an unreadable CA file or a malformed address is refused here,
    /// at start.
    pub fn new(target: &SinkTarget) -> Result<Transport, String> {
        match target {
            SinkTarget::Http {
                url,
                format,
                token,
                ca_file,
            } => {
                let mut b = reqwest::Client::builder().timeout(SEND_TIMEOUT);
                if let Some(path) = ca_file {
                    let pem = std::fs::read(path)
                        .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
                    for cert in reqwest::Certificate::from_pem_bundle(&pem)
                        .map_err(|e| format!("ca_file {}: {e}", path.display()))?
                    {
                        b = b.add_root_certificate(cert);
                    }
                }
                Ok(Transport::Http {
                    client: b.build().map_err(|e| e.to_string())?,
                    url: url.clone(),
                    format: *format,
                    token: token.clone(),
                })
            }
            SinkTarget::Syslog { address, ca_file } => {
                let host = address
                    .rsplit_once(':')
                    .map(|(h, _)| h.trim_start_matches('[').trim_end_matches(']'))
                    .ok_or_else(|| format!("address '{address}' is not host:port"))?;
                let name = ServerName::try_from(host.to_string())
                    .map_err(|e| format!("address '{address}': {e}"))?;
                let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| format!("TLS: {e}"))?
                    .with_root_certificates(roots(ca_file.as_deref())?)
                    .with_no_client_auth();
                Ok(Transport::Syslog {
                    connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
                    address: address.clone(),
                    name,
                    stream: None,
                })
            }
        }
    }

    /// Deliver `batch`, all of it, or fail saying why (never naming the token).
    pub async fn send(&mut self, batch: &[&ExportEvent], host: &str) -> Result<(), String> {
        match self {
            Transport::Http {
                client,
                url,
                format,
                token,
            } => {
                let (body, content_type, scheme) = match format {
                    HttpFormat::Hec => {
                        (format::hec_body(batch, host), "application/json", "Splunk")
                    }
                    HttpFormat::JsonLines => (
                        format::json_lines_body(batch),
                        "application/x-ndjson",
                        "Bearer",
                    ),
                };
                let mut r = client
                    .post(url.as_str())
                    .header("content-type", content_type)
                    .body(body);
                if let Some(t) = token {
                    r = r.header("authorization", format!("{scheme} {}", t.expose_secret()));
                }
                let reply = r.send().await.map_err(|e| format!("{}", e.without_url()))?;
                if reply.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("the collector answered {}", reply.status()))
                }
            }
            Transport::Syslog {
                connector,
                address,
                name,
                stream,
            } => {
                let mut frames = String::new();
                for e in batch {
                    frames.push_str(&format::octet_counted(&format::syslog_message(e, host)));
                }
                if stream.is_none() {
                    let tcp = tokio::time::timeout(
                        SEND_TIMEOUT,
                        tokio::net::TcpStream::connect(address.as_str()),
                    )
                    .await
                    .map_err(|_| "connecting timed out".to_string())?
                    .map_err(|e| format!("connecting: {e}"))?;
                    let tls =
                        tokio::time::timeout(SEND_TIMEOUT, connector.connect(name.clone(), tcp))
                            .await
                            .map_err(|_| "the TLS handshake timed out".to_string())?
                            .map_err(|e| format!("TLS: {e}"))?;
                    *stream = Some(Box::new(tls));
                }
                let Some(s) = stream.as_mut() else {
                    return Err("no connection".into());
                };
                let written = tokio::time::timeout(SEND_TIMEOUT, async {
                    s.write_all(frames.as_bytes()).await?;
                    s.flush().await
                })
                .await;
                match written {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => {
                        *stream = None;
                        Err(format!("writing: {e}"))
                    }
                    Err(_) => {
                        *stream = None;
                        Err("writing timed out".into())
                    }
                }
            }
        }
    }
}
