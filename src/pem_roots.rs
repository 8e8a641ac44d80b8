//! Trusted roots from a PEM file (a private CA), for the TLS clients that take one: the
//! store's PostgreSQL connections (`sslrootcert`) and the audit export's syslog sink
//! (`ca_file`). One reader, so a file one accepts the other accepts too.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

/// Every certificate of the PEM file at `path`; a file that cannot be read, holds a malformed
/// certificate, or none at all is refused, saying why (the caller names the setting).
pub fn root_certificates(path: &std::path::Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| e.to_string())? {
        roots
            .add(cert.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    if roots.is_empty() {
        return Err("no certificate in it".into());
    }
    Ok(roots)
}
