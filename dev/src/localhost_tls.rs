//! The test certificate authority of `dev/tls/` and a TLS acceptor with the
//! `localhost` / `127.0.0.1` certificate it signed (valid 2020–2126). The authority's private
//! key was thrown away after signing, so nothing else can be made to chain to it.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The test authority, PEM.
pub const TEST_CA: &[u8] = include_bytes!("../tls/ca.pem");
/// Its path, for a process that reads it from disk (`SSL_CERT_FILE`).
pub const TEST_CA_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tls/ca.pem");

/// A TLS acceptor presenting the `localhost` / `127.0.0.1` certificate.
pub fn localhost_acceptor() -> tokio_rustls::TlsAcceptor {
    let certificates = CertificateDer::pem_slice_iter(include_bytes!("../tls/localhost.pem"))
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("../tls/localhost.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certificates, key)
    .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}
