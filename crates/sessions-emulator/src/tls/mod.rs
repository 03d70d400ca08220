//! https for the local pool: a certificate generated at start (signed by a CA generated with
//! it, whose certificate clients trust), or the caller's own PEM files; served with rustls.

mod listener;

pub use listener::PoolListener;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::TlsConfig;

/// Names every generated certificate covers.
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Lifetime of a generated certificate: the longest browsers and Apple platforms accept.
const VALIDITY_DAYS: u64 = 397;

/// Why https could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file could not be read or holds no usable PEM.
    #[error("cannot use the TLS {what} file {path}: {reason}")]
    File {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong, and what to do.
        reason: String,
    },
    /// rustls refused the certificate and key (for instance, they do not match).
    #[error("the TLS certificate and key cannot be served: {0}")]
    Config(String),
    /// Generating the CA or the certificate failed.
    #[error("cannot generate the TLS certificate: {0}")]
    Generate(String),
    /// The CA certificate could not be written.
    #[error("cannot write the CA certificate to {path}: {source}")]
    WriteCa {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// What serving https needs: the rustls configuration, and the generated CA (if any).
#[derive(Debug)]
pub struct Prepared {
    /// The server configuration.
    pub server: Arc<ServerConfig>,
    /// The generated CA certificate (PEM) and where it was written.
    pub ca: Option<(String, PathBuf)>,
}

/// Prepare https as `config` says; `data_dir` receives the CA when no path is given, and
/// `host` (the bound host) is added to the generated certificate's names.
pub fn prepare(config: &TlsConfig, data_dir: &Path, host: &str) -> Result<Prepared, TlsError> {
    match config {
        TlsConfig::Files { cert, key } => Ok(Prepared {
            server: server_config(read_certs(cert)?, read_key(key)?)?,
            ca: None,
        }),
        TlsConfig::Generated { ca_out } => {
            let generated = generate(host)?;
            let path = ca_out
                .clone()
                .unwrap_or_else(|| data_dir.join("tls-ca.pem"));
            write_ca(&path, &generated.ca_pem)?;
            Ok(Prepared {
                server: server_config(vec![generated.cert], generated.key)?,
                ca: Some((generated.ca_pem, path)),
            })
        }
    }
}

fn write_ca(path: &Path, pem: &str) -> Result<(), TlsError> {
    let fail = |source| TlsError::WriteCa {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    std::fs::write(path, pem).map_err(fail)
}

fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            TlsError::Config(format!(
                "{e}; check that the key belongs to the certificate"
            ))
        })?;
    // The pool serves HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_pem(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::File {
        what,
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_pem(path, "certificate")?;
    let bad = |reason: String| TlsError::File {
        what: "certificate",
        path: path.to_path_buf(),
        reason,
    };
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("{e}; pass a PEM file")))?;
    if certs.is_empty() {
        return Err(bad(
            "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_string(),
        ));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read_pem(path, "private key")?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| TlsError::File {
        what: "private key",
        path: path.to_path_buf(),
        reason: format!("{e}; pass a PEM PKCS#8, PKCS#1 or SEC1 private key"),
    })
}

/// A generated CA and the certificate it signed.
struct Generated {
    ca_pem: String,
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

fn generate(host: &str) -> Result<Generated, TlsError> {
    let err = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let now = SystemTime::now();
    let not_before = now - Duration::from_secs(86_400);
    let not_after = now + Duration::from_secs(VALIDITY_DAYS * 86_400);

    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.distinguished_name.push(
        DnType::CommonName,
        format!(
            "sessions-emulator local CA {}",
            crate::shapes::rfc3339(now, 0)
        ),
    );
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    (ca.not_before, ca.not_after) = (not_before.into(), not_after.into());
    let ca_key = KeyPair::generate().map_err(err)?;
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;

    let mut names: Vec<String> = LOOPBACK_NAMES.iter().map(|n| n.to_string()).collect();
    let host = host.trim_matches(|c| c == '[' || c == ']');
    let unspecified = host
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_unspecified());
    if !host.is_empty() && !unspecified && !names.iter().any(|n| n == host) {
        names.push(host.to_string());
    }
    let mut leaf = CertificateParams::new(names).map_err(err)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "sessions-emulator");
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    (leaf.not_before, leaf.not_after) = (not_before.into(), not_after.into());
    let leaf_key = KeyPair::generate().map_err(err)?;
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).map_err(err)?;

    Ok(Generated {
        ca_pem: ca_cert.pem(),
        cert: leaf_cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
    })
}
