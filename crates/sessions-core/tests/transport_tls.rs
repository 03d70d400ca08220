//! Extra root certificates: a real https server on loopback whose certificate is signed by a CA
//! made here with rcgen; the client trusts it only when told to.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sessions_core::{Client, Error};
use tokio::net::TcpListener;

/// A CA (its PEM and DER) and a server certificate for 127.0.0.1 and localhost signed by it.
struct Pki {
    ca_pem: String,
    ca_der: Vec<u8>,
    server_cert: CertificateDer<'static>,
    server_key: PrivateKeyDer<'static>,
}

fn pki() -> Pki {
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "sessions-core test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let mut server = CertificateParams::default();
    server.subject_alt_names = vec![
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SanType::DnsName("localhost".try_into().unwrap()),
    ];
    let server_key = KeyPair::generate().unwrap();
    let server_cert = server.signed_by(&server_key, &ca_cert, &ca_key).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        ca_der: ca_cert.der().to_vec(),
        server_cert: server_cert.der().clone(),
        server_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
    }
}

/// An https server on 127.0.0.1 answering every request with a `metadata` body; it stops when
/// the returned handle is dropped (aborted) and accepts at most 16 connections.
async fn serve(pki: &Pki) -> (String, tokio::task::JoinHandle<()>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![pki.server_cert.clone()], pki.server_key.clone_key())
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        for _ in 0..16 {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that does not trust us fails the handshake: nothing to serve then.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc =
                    hyper::service::service_fn(|_req: Request<hyper::body::Incoming>| async {
                        let body = Full::new(Bytes::from_static(
                            br#"{"runtimes":[{"name":"python","version":"3.12"}]}"#,
                        ));
                        Ok::<_, std::convert::Infallible>(Response::new(body))
                    });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    (url, task)
}

#[tokio::test]
async fn an_extra_root_in_pem_der_or_a_file_is_trusted() {
    let pki = pki();
    let (url, server) = serve(&pki).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let clients = [
        Client::builder(&url).add_root_certificate(pki.ca_pem.clone()),
        Client::builder(&url).add_root_certificate(pki.ca_der.clone()),
        Client::builder(&url).add_root_certificate_file(&ca_file),
    ];
    for builder in clients {
        let metadata = builder.build().unwrap().metadata().await.unwrap();
        assert_eq!(metadata.runtimes[0].name, "python");
    }
    server.abort();
}

#[tokio::test]
async fn without_the_root_the_server_is_not_trusted() {
    let pki = pki();
    let (url, server) = serve(&pki).await;
    let err = Client::builder(&url)
        .build()
        .unwrap()
        .metadata()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "the message names the certificate: {err}"
    );
    server.abort();
}

#[test]
fn bad_roots_are_refused_with_a_message_that_says_what_to_pass() {
    let build = |bytes: &[u8]| match Client::builder("https://127.0.0.1:9/")
        .add_root_certificate(bytes.to_vec())
        .build()
    {
        Err(Error::InvalidInput(m)) => m,
        other => panic!("expected InvalidInput, got {other:?}"),
    };
    assert!(build(b"not a certificate").contains("neither PEM"));
    let key_only = KeyPair::generate().unwrap().serialize_pem();
    assert!(build(key_only.as_bytes()).contains("no `CERTIFICATE` block"));
    let broken = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    assert!(build(broken.as_bytes()).contains("PEM"));
    // A DER-looking blob that is no certificate is refused when it is added.
    assert!(build(&[0x30, 0x03, 0x01, 0x01, 0xff]).contains("trust anchor"));
    let missing = Client::builder("https://127.0.0.1:9/")
        .add_root_certificate_file("/nonexistent/ca.pem")
        .build();
    assert!(matches!(missing, Err(Error::Io { .. })), "{missing:?}");
}
