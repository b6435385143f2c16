//! The TLS acceptor for servers that speak HTTPS (`reference --tls-cert`, HTTPS upstreams in tests).

use std::sync::Arc;

/// PEM files that do not make a TLS identity: which file, and why.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(String);

/// A TLS acceptor from PEM files (certificate chain, private key), on rustls with ring.
pub fn tls_acceptor(
    cert_pem: &std::path::Path,
    key_pem: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_pem)
        .map_err(|e| TlsError(format!("cannot read certificate '{}': {e}", cert_pem.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError(format!("'{}' is not a PEM certificate chain: {e}", cert_pem.display())))?;
    let key = PrivateKeyDer::from_pem_file(key_pem)
        .map_err(|e| TlsError(format!("'{}' is not a PEM private key: {e}", key_pem.display())))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(format!("TLS setup: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError(format!("the certificate and key do not make a TLS identity: {e}")))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
