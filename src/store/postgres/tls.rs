//! TLS to PostgreSQL, as libpq's `sslmode` and `sslrootcert` say it (the names managed databases
//! document: Amazon RDS, Azure Database for PostgreSQL, Cloud SQL), over rustls.
//!
//! - `disable`: no TLS;
//! - `prefer` (libpq's default, and ours): TLS when the server offers it, unverified;
//! - `require`: TLS or no connection; the certificate is not checked, unless a root
//!   certificate is given, which makes it `verify-ca` (libpq does the same);
//! - `verify-ca`: the server's chain must lead to `sslrootcert`;
//! - `verify-full`: that, and the certificate must name the host connected to.
//!
//! Both parameters are taken out of the URL before tokio-postgres reads it (it knows neither
//! `verify-*` nor `sslrootcert`).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::StoreError;

/// How the connection to PostgreSQL is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS if the server offers it, unverified.
    Prefer,
    /// TLS, unverified.
    Require,
    /// TLS, the chain verified against the root certificate.
    VerifyCa,
    /// TLS, the chain and the host name verified.
    VerifyFull,
}

/// The TLS settings a store URL carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// `sslmode`.
    pub mode: SslMode,
    /// `sslrootcert`: a PEM file of the certificates to trust.
    pub root_cert: Option<PathBuf>,
}

/// Split `url` into the URL tokio-postgres reads and its TLS settings: `sslmode` and
/// `sslrootcert` are taken out of the query; an unknown mode, or `verify-*` without a root
/// certificate, is refused (libpq would fall back to `~/.postgresql/root.crt`: a file no one
/// configured is not a trust anchor we take).
pub fn split_url(url: &str) -> Result<(String, TlsSettings), StoreError> {
    let bad = |m: String| StoreError::Postgres(m);
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut mode = None;
    let mut root_cert = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => {
                mode = Some(match v {
                    "disable" => SslMode::Disable,
                    "prefer" | "allow" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    other => {
                        return Err(bad(format!(
                            "store_url: sslmode '{}' is not one of disable, prefer, require, verify-ca, verify-full",
                            other.chars().take(40).collect::<String>()
                        )))
                    }
                })
            }
            "sslrootcert" => root_cert = Some(PathBuf::from(percent_decoded(v))),
            _ => rest.push(pair),
        }
    }
    let mode = match (mode.unwrap_or(SslMode::Prefer), &root_cert) {
        (SslMode::Require, Some(_)) => SslMode::VerifyCa,
        (SslMode::VerifyCa | SslMode::VerifyFull, None) => {
            return Err(bad(
                "store_url: sslmode=verify-ca and verify-full need sslrootcert (a PEM file of the CA to trust)".into(),
            ))
        }
        (m, _) => m,
    };
    let url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((url, TlsSettings { mode, root_cert }))
}

/// `%XX` escapes decoded (a path in a URL query); anything malformed is kept as written.
fn percent_decoded(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl TlsSettings {
    /// The mode tokio-postgres negotiates with.
    pub fn pg_mode(&self) -> PgSslMode {
        match self.mode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            _ => PgSslMode::Require,
        }
    }

    /// The rustls connector these settings ask for.
    pub fn connector(&self) -> Result<MakeRustlsConnect, StoreError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = |e: rustls::Error| StoreError::Postgres(format!("TLS to PostgreSQL: {e}"));
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(tls)?;
        let verifier: Arc<dyn ServerCertVerifier> = match (&self.root_cert, self.mode) {
            (Some(path), SslMode::VerifyCa | SslMode::VerifyFull) => {
                let roots = Arc::new(roots_of(path)?);
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|e| StoreError::Postgres(format!("TLS to PostgreSQL: {e}")))?;
                if self.mode == SslMode::VerifyFull {
                    webpki
                } else {
                    Arc::new(AnyName(webpki))
                }
            }
            _ => Arc::new(Unverified(provider)),
        };
        let config = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }
}

/// The certificates of the PEM file at `path`.
fn roots_of(path: &std::path::Path) -> Result<RootCertStore, StoreError> {
    crate::pem_roots::root_certificates(path).map_err(|m| {
        StoreError::Postgres(format!("store_url: sslrootcert {}: {m}", path.display()))
    })
}

/// `verify-ca`: the chain verified, the name not (the certificate may name another host).
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` and `require`: encrypted, the certificate not checked (libpq's meaning); the
/// handshake's signatures are still verified against the certificate's key.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> Result<(String, TlsSettings), String> {
        split_url(url).map_err(|e| e.to_string())
    }

    #[test]
    fn sslmode_and_sslrootcert_leave_the_url_and_follow_libpq() {
        let (url, s) = settings("postgres://u@h:5432/db").expect("parsed");
        assert_eq!(url, "postgres://u@h:5432/db");
        assert_eq!(
            (s.mode, s.root_cert),
            (SslMode::Prefer, None),
            "libpq's default"
        );
        let (url, s) = settings(
            "postgres://u@h/db?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem",
        )
        .expect("parsed");
        assert_eq!(url, "postgres://u@h/db?application_name=x");
        assert_eq!(s.mode, SslMode::VerifyFull);
        assert_eq!(s.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        let (_, s) =
            settings("postgres://u@h/db?sslmode=require&sslrootcert=/ca.pem").expect("parsed");
        assert_eq!(
            s.mode,
            SslMode::VerifyCa,
            "require with a root is verify-ca"
        );
        let (_, s) = settings("postgres://u@h/db?sslmode=disable").expect("parsed");
        assert_eq!(s.pg_mode(), PgSslMode::Disable);
    }

    #[test]
    fn unknown_modes_and_verification_without_a_root_are_refused() {
        let e = settings("postgres://u@h/db?sslmode=verify")
            .err()
            .unwrap_or_default();
        assert!(e.contains("sslmode 'verify'"), "{e}");
        let e = settings("postgres://u@h/db?sslmode=verify-full")
            .err()
            .unwrap_or_default();
        assert!(e.contains("need sslrootcert"), "{e}");
        let e = TlsSettings {
            mode: SslMode::VerifyFull,
            root_cert: Some(PathBuf::from("/nonexistent/ca.pem")),
        }
        .connector()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains("sslrootcert /nonexistent/ca.pem"), "{e}");
    }
}
