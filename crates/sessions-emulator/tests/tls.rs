//! https: a generated CA and certificate, your own certificate files, clear errors for bad
//! files, and `--tls` on the command line. Clients here are rustls clients that trust only
//! the certificate they are given.

mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use sessions_emulator::EmulatorError;

const V: &str = "2025-10-02-preview";

/// A client that trusts only the certificates in `pem`.
fn https_client(
    pem: &str,
) -> Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new()).build(https)
}

/// Send a request; the status, the `Operation-Location` header and the body text.
async fn send(
    client: &Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        Full<Bytes>,
    >,
    method: http::Method,
    url: &str,
    body: &str,
) -> Result<(u16, Option<String>, String), String> {
    let req = http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let resp = client.request(req).await.map_err(|e| format!("{e:?}"))?;
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("operation-location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Ok((
        status,
        location,
        String::from_utf8_lossy(&body).into_owned(),
    ))
}

#[tokio::test]
async fn generated_certificate_is_served_and_signed_by_the_written_ca() {
    let data = tempfile::tempdir().unwrap();
    let pool = builder().data_dir(data.path()).tls().start().await.unwrap();
    let endpoint = pool.endpoint().to_string();
    assert!(endpoint.starts_with("https://127.0.0.1:"), "{endpoint}");
    let pem = pool
        .ca_certificate_pem()
        .expect("a generated CA")
        .to_string();
    let path = pool.ca_certificate_path().unwrap();
    assert_eq!(path, data.path().join("tls-ca.pem"));
    assert_eq!(std::fs::read_to_string(path).unwrap(), pem);

    let client = https_client(&pem);
    let url = format!("{endpoint}executions?api-version={V}&identifier=tls-1");
    let (status, location, body) = send(
        &client,
        http::Method::POST,
        &url,
        r#"{"code":"6 * 7","timeoutInSeconds":30}"#,
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"executionResult\":42"), "{body}");
    // Links carry the scheme the pool serves.
    assert!(
        location
            .unwrap()
            .starts_with(&format!("{endpoint}executions/"))
    );

    // The certificate covers `localhost` too.
    let port = pool.local_addr().port();
    let (status, _, body) = send(
        &client,
        http::Method::GET,
        &format!("https://localhost:{port}/metadata?api-version={V}"),
        "",
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");

    // A client that does not trust the CA is refused by its own TLS check.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let stranger = https_client(&other.cert.pem());
    let err = send(
        &stranger,
        http::Method::GET,
        &format!("{endpoint}metadata?api-version={V}"),
        "",
    )
    .await
    .unwrap_err();
    assert!(
        err.contains("UnknownIssuer") || err.contains("certificate"),
        "{err}"
    );
    pool.shutdown().await;
}

#[tokio::test]
async fn the_ca_goes_where_it_is_asked_and_own_certificates_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let ca_out = dir.path().join("nested/ca.pem");
    let pool = builder()
        .prewarm(0)
        .tls_ca_out(&ca_out)
        .start()
        .await
        .unwrap();
    assert_eq!(pool.ca_certificate_path(), Some(ca_out.as_path()));
    assert!(
        std::fs::read_to_string(&ca_out)
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    pool.shutdown().await;

    // Your own certificate and key (as Azurite takes them).
    let own = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, own.cert.pem()).unwrap();
    std::fs::write(&key, own.key_pair.serialize_pem()).unwrap();
    let pool = builder()
        .prewarm(0)
        .tls_files(&cert, &key)
        .start()
        .await
        .unwrap();
    assert!(pool.endpoint().starts_with("https://"));
    assert!(pool.ca_certificate_pem().is_none());
    let client = https_client(&own.cert.pem());
    let (status, _, body) = send(
        &client,
        http::Method::GET,
        &format!("{}metadata?api-version={V}", pool.endpoint()),
        "",
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    pool.shutdown().await;
}

#[tokio::test]
async fn bad_certificate_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let own = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let garbage = dir.path().join("garbage.pem");
    let wrong_key = dir.path().join("wrong-key.pem");
    std::fs::write(&cert, own.cert.pem()).unwrap();
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    std::fs::write(&wrong_key, other.key_pair.serialize_pem()).unwrap();
    let missing = dir.path().join("missing.pem");

    let start_err = |c: &std::path::Path, k: &std::path::Path| {
        let b = builder().prewarm(0).tls_files(c, k);
        async move {
            match b.start().await {
                Ok(_) => panic!("started with bad TLS files"),
                Err(e) => e,
            }
        }
    };
    let e = start_err(&missing, &wrong_key).await;
    assert!(matches!(e, EmulatorError::Tls(_)), "{e:?}");
    assert!(e.to_string().contains("missing.pem"), "{e}");
    let e = start_err(&garbage, &wrong_key).await;
    assert!(e.to_string().contains("no PEM certificate"), "{e}");
    let e = start_err(&cert, &garbage).await;
    assert!(e.to_string().contains("private key"), "{e}");
    let e = start_err(&cert, &wrong_key).await;
    assert!(
        e.to_string().contains("key belongs to the certificate"),
        "{e}"
    );
}

#[tokio::test]
async fn the_command_line_prints_the_https_endpoint_first() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sessions-emulator"))
        .args(["--prewarm", "0", "--tls", "--tls-ca-out"])
        .arg(&ca)
        .arg("--python")
        .arg(python())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(std::time::Duration::from_secs(60), stdout.next_line())
        .await
        .expect("the endpoint within 60 s")
        .unwrap()
        .unwrap();
    assert!(first.starts_with("https://127.0.0.1:"), "{first}");
    let client = https_client(&std::fs::read_to_string(&ca).unwrap());
    let (status, _, body) = send(
        &client,
        http::Method::GET,
        &format!("{first}metadata?api-version={V}"),
        "",
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    // SIGTERM by its id: a graceful shutdown that removes its temporary data directory.
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .expect("it stops within 30 s")
        .unwrap();
    assert!(status.success(), "{status}");
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr)
        .await
        .unwrap();
    assert!(stderr.contains(&ca.display().to_string()), "{stderr}");
}
