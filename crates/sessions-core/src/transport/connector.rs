//! The default base transport: hyper-util's pooled client over hyper-rustls, with the crypto
//! provider passed explicitly (never installed process-wide).
//!
//! ```no_run
//! use sessions_core::transport::connector::{base_transport, TransportOptions};
//! let pool = base_transport(&TransportOptions::default())?;
//! # Ok::<(), sessions_core::Error>(())
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::host::HostCache;
use super::{Body, HttpService, ResponseBody};
use crate::error::{BoxError, Error, TimeoutKind};

/// Settings of the connection pool.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TransportOptions {
    /// TCP connect timeout (TLS handshake excluded). Default 10 s.
    pub connect_timeout: Duration,
    /// How long an idle pooled connection is kept. Default 90 s.
    pub pool_idle_timeout: Duration,
    /// Idle connections kept per host. Default unlimited (as hyper-util): capping it closes
    /// connections that many concurrent callers would reuse a moment later.
    pub pool_max_idle_per_host: usize,
    /// Root certificates trusted in addition to the default store (see
    /// [`TransportOptions::add_root_certificates`]).
    pub extra_roots: Vec<CertificateDer<'static>>,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            connect_timeout: Duration::from_secs(10),
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_host: usize::MAX,
            extra_roots: Vec::new(),
        }
    }
}

impl TransportOptions {
    /// Set the connect timeout.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Trust these root certificates too (in addition to the default store): PEM text with one
    /// or more `CERTIFICATE` blocks, or one DER-encoded certificate. See
    /// [`parse_root_certificates`].
    pub fn add_root_certificates(mut self, pem_or_der: &[u8]) -> Result<Self, Error> {
        self.extra_roots
            .extend(parse_root_certificates(pem_or_der)?);
        Ok(self)
    }
}

/// Read root certificates: PEM text (`-----BEGIN CERTIFICATE-----` blocks; other blocks such as
/// keys are skipped) or one DER-encoded certificate. Bad input is an
/// [`Error::InvalidInput`] that says what was expected.
pub fn parse_root_certificates(pem_or_der: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let looks_pem = pem_or_der
        .windows(b"-----BEGIN".len())
        .any(|w| w == b"-----BEGIN");
    if !looks_pem {
        // DER: an X.509 certificate is an ASN.1 SEQUENCE (0x30); checked again when added.
        return match pem_or_der.first() {
            Some(0x30) => Ok(vec![CertificateDer::from(pem_or_der.to_vec())]),
            _ => Err(Error::invalid(
                "the root certificate is neither PEM (`-----BEGIN CERTIFICATE-----`) nor DER; \
                 pass the CA certificate file (for `dynsess serve --tls`, the file given to \
                 `--tls-ca-out`)",
            )),
        };
    }
    let certs = CertificateDer::pem_slice_iter(pem_or_der)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::invalid(format!("the root certificate PEM cannot be read ({e})")))?;
    if certs.is_empty() {
        return Err(Error::invalid(
            "the PEM has no `CERTIFICATE` block (is it a key rather than the CA certificate?)",
        ));
    }
    Ok(certs)
}

/// The default root store of the enabled features plus `extra`; each extra one must parse.
fn root_store(extra: &[CertificateDer<'static>]) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    #[cfg(feature = "webpki-roots")]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    #[cfg(feature = "native-roots")]
    {
        // A platform store that fails to load is not fatal: the extra roots are what was asked for.
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
    }
    for cert in extra {
        roots.add(cert.clone()).map_err(|e| {
            Error::invalid(format!(
                "the root certificate cannot be used as a trust anchor ({e})"
            ))
        })?;
    }
    Ok(roots)
}

/// The rustls crypto provider: the application's process default if it installed one, else
/// aws-lc-rs (feature `aws-lc-rs`) or ring (feature `ring`, the default).
pub(crate) fn crypto_provider() -> Result<Arc<CryptoProvider>, Error> {
    if let Some(p) = CryptoProvider::get_default() {
        return Ok(p.clone());
    }
    #[cfg(feature = "aws-lc-rs")]
    {
        Ok(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
    }
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    {
        Ok(Arc::new(rustls::crypto::ring::default_provider()))
    }
    #[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
    {
        Err(Error::invalid(
            "no rustls crypto provider: enable the `ring` or `aws-lc-rs` feature, or install a process default",
        ))
    }
}

/// An HTTPS-or-HTTP connector (http is needed for loopback pools and identity endpoints; the
/// pool endpoint itself is checked by [`Endpoint`](crate::Endpoint)).
pub(crate) fn https_connector(
    options: &TransportOptions,
) -> Result<HttpsConnector<HttpConnector>, Error> {
    let connect_timeout = options.connect_timeout;
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    http.enforce_http(false);
    let provider = crypto_provider()?;
    let tls = |e: String| Error::invalid(format!("could not set up TLS: {e}"));
    if !options.extra_roots.is_empty() {
        // Our own config: the default store and the extra roots together.
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls(e.to_string()))?
            .with_root_certificates(root_store(&options.extra_roots)?)
            .with_no_client_auth();
        return Ok(hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http));
    }
    #[cfg(feature = "native-roots")]
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|e| tls(e.to_string()))?;
    #[cfg(all(feature = "webpki-roots", not(feature = "native-roots")))]
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(provider)
        .map_err(|e| tls(e.to_string()))?;
    #[cfg(not(any(feature = "webpki-roots", feature = "native-roots")))]
    let builder = {
        // No root store compiled in: only loopback http works (or pass your own base_service).
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls(e.to_string()))?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
    };
    Ok(builder
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http))
}

/// The default base transport (hyper-util's pooled client, HTTP/1.1 and HTTP/2, TLS via rustls),
/// boxed. Connect failures become [`Error::Connect`], connect timeouts [`Error::Timeout`] of kind
/// [`TimeoutKind::Connect`]. Needs no tokio runtime to build (only to send).
pub fn base_transport(options: &TransportOptions) -> Result<HttpService, Error> {
    Ok(HttpService::new(pooled(options)?))
}

/// The default base transport as a concrete service, for the default stack to compose without
/// a boxed boundary.
pub(crate) fn pooled(options: &TransportOptions) -> Result<Pooled, Error> {
    let connector = https_connector(options)?;
    let client: HyperClient<_, Body> = HyperClient::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(options.pool_idle_timeout)
        .pool_max_idle_per_host(options.pool_max_idle_per_host)
        .build(connector);
    Ok(Pooled {
        shared: Arc::new(PooledShared {
            client,
            host: HostCache::default(),
        }),
        connect_timeout: options.connect_timeout,
    })
}

/// hyper-util's pooled client behind one `Arc` with the `Host` cache: cloning it (with the
/// stack, for each call and for the retry layer's resend) is one reference count, and
/// hyper-util sends through `&self`.
#[derive(Clone)]
pub(crate) struct Pooled {
    shared: Arc<PooledShared>,
    connect_timeout: Duration,
}

struct PooledShared {
    client: HyperClient<HttpsConnector<HttpConnector>, Body>,
    /// `Host` for plain-http requests, made once (see [`super::host`]).
    host: HostCache,
}

impl tower::Service<http::Request<Body>> for Pooled {
    type Response = http::Response<ResponseBody>;
    type Error = BoxError;
    type Future = PooledFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // hyper-util's client is always ready: it waits for a connection inside the call.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<Body>) -> PooledFuture {
        self.shared.host.set_host(&mut request);
        PooledFuture {
            inner: self.shared.client.request(request),
            connect_timeout: self.connect_timeout,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Pooled`]: hyper-util's, with the body boxed and the error typed.
    pub(crate) struct PooledFuture {
        #[pin]
        inner: hyper_util::client::legacy::ResponseFuture,
        connect_timeout: Duration,
    }
}

impl Future for PooledFuture {
    type Output = Result<http::Response<ResponseBody>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        Poll::Ready(match std::task::ready!(this.inner.poll(cx)) {
            Ok(res) => Ok(res.map(|b| b.map_err(|e| Box::new(e) as BoxError).boxed_unsync())),
            Err(e) => Err(map_error(e, *this.connect_timeout)),
        })
    }
}

fn map_error(e: hyper_util::client::legacy::Error, connect_timeout: Duration) -> BoxError {
    if !e.is_connect() {
        return Box::new(e);
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(inner) = cur {
        if inner
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::TimedOut)
        {
            return Box::new(Error::Timeout {
                kind: TimeoutKind::Connect,
                after: Some(connect_timeout),
            });
        }
        cur = inner.source();
    }
    Box::new(Error::Connect {
        source: Box::new(e),
    })
}
