//! Fetching URL inputs: http(s) only, a size limit, a timeout, and no loopback or private
//! addresses unless allowed.
//!
//! The address check runs twice: once up front for a clear error, and again in the connector's
//! resolver for every connection, so a DNS answer that changes between the two (rebinding) or a
//! redirect to an internal host is still refused.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use url::Url;

use super::input::redact_url;

/// Limits for fetching URL inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Largest body accepted, in bytes (64 MiB).
    pub max_bytes: u64,
    /// Time allowed for the whole fetch, redirects and body included (30 s).
    pub timeout: Duration,
    /// Allow loopback, private, link-local and other non-public addresses (off).
    pub allow_private_addresses: bool,
    /// Redirects followed (5).
    pub max_redirects: usize,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        FetchPolicy {
            max_bytes: 64 * 1024 * 1024,
            timeout: Duration::from_secs(30),
            allow_private_addresses: false,
            max_redirects: 5,
        }
    }
}

/// A fetched body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The body.
    pub bytes: Bytes,
    /// The `Content-Type`, when sent.
    pub media_type: Option<String>,
    /// The URL after redirects.
    pub final_url: Url,
}

/// Why a fetch failed. URLs are shown without query strings (they may carry tokens).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Not http or https.
    #[error("only http and https URLs can be fetched, not {0}")]
    Scheme(String),
    /// The host is or resolves to a restricted address.
    #[error(
        "{host} resolves to {address}, a loopback or private address; allow private addresses in FetchPolicy to fetch it"
    )]
    Restricted {
        /// The host.
        host: String,
        /// The refused address.
        address: IpAddr,
    },
    /// The host could not be resolved.
    #[error("could not resolve {host}: {error}")]
    Resolve {
        /// The host.
        host: String,
        /// The resolver's message.
        error: String,
    },
    /// The server answered with an error status.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL (redacted).
        url: String,
        /// The status.
        status: u16,
    },
    /// The body is larger than the limit.
    #[error("the body is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// Too many redirects, or a redirect without a usable location.
    #[error("bad redirect: {0}")]
    Redirect(String),
    /// The fetch took longer than the timeout.
    #[error("the fetch did not finish within {0:?}")]
    Timeout(Duration),
    /// TLS setup, connection or protocol failure.
    #[error("the request failed: {0}")]
    Request(String),
}

/// Fetch `url` under `policy`.
pub async fn fetch(url: &Url, policy: &FetchPolicy) -> Result<Fetched, FetchError> {
    match tokio::time::timeout(policy.timeout, fetch_following_redirects(url, policy)).await {
        Ok(result) => result,
        Err(_) => Err(FetchError::Timeout(policy.timeout)),
    }
}

async fn fetch_following_redirects(url: &Url, policy: &FetchPolicy) -> Result<Fetched, FetchError> {
    let client = build_client(policy.allow_private_addresses)?;
    let mut current = url.clone();
    for _ in 0..=policy.max_redirects {
        check_destination(&current, policy.allow_private_addresses).await?;
        let request = http::Request::get(current.as_str())
            .header(
                http::header::USER_AGENT,
                concat!("llm-tools/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::<Bytes>::new())
            .map_err(|e| FetchError::Request(e.to_string()))?;
        let response = client
            .request(request)
            .await
            .map_err(|e| describe_client_error(&e))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    FetchError::Redirect(format!("HTTP {status} without a Location header"))
                })?;
            current = current
                .join(location)
                .map_err(|e| FetchError::Redirect(format!("bad Location ({e})")))?;
            continue;
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                url: redact_url(&current),
                status: status.as_u16(),
            });
        }
        let media_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let declared = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > policy.max_bytes) {
            return Err(FetchError::TooLarge {
                limit: policy.max_bytes,
            });
        }
        let bytes = read_limited(response.into_body(), policy.max_bytes).await?;
        return Ok(Fetched {
            bytes,
            media_type,
            final_url: current,
        });
    }
    Err(FetchError::Redirect(format!(
        "more than {} redirects",
        policy.max_redirects
    )))
}

/// Stream the body, stopping as soon as it passes the limit.
async fn read_limited(mut body: hyper::body::Incoming, limit: u64) -> Result<Bytes, FetchError> {
    let mut buffer = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| FetchError::Request(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if buffer.len() as u64 + data.len() as u64 > limit {
                return Err(FetchError::TooLarge { limit });
            }
            buffer.extend_from_slice(&data);
        }
    }
    Ok(buffer.freeze())
}

type FetchClient =
    Client<hyper_rustls::HttpsConnector<HttpConnector<GuardedResolver>>, Empty<Bytes>>;

fn build_client(allow_private: bool) -> Result<FetchClient, FetchError> {
    let mut http = HttpConnector::new_with_resolver(GuardedResolver { allow_private });
    http.enforce_http(false);
    http.set_connect_timeout(Some(Duration::from_secs(10)));
    // The provider is passed explicitly: never install a process-wide default.
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(Arc::new(rustls::crypto::ring::default_provider()))
        .map_err(|e| FetchError::Request(format!("TLS setup failed: {e}")))?
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

fn describe_client_error(error: &hyper_util::client::legacy::Error) -> FetchError {
    // Surface the resolver's refusal as it was raised, not as a generic connect error.
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<io::Error>()
            && io.kind() == io::ErrorKind::PermissionDenied
        {
            return FetchError::Request(io.to_string());
        }
        source = err.source();
    }
    FetchError::Request(error.to_string())
}

/// Check the scheme and every address of the host.
async fn check_destination(url: &Url, allow_private: bool) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::Scheme(url.scheme().to_owned()));
    }
    if allow_private {
        return Ok(());
    }
    let host = url
        .host_str()
        .ok_or_else(|| FetchError::Request("the URL has no host".into()))?;
    let addresses: Vec<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        _ => tokio::net::lookup_host((host, url.port_or_known_default().unwrap_or(443)))
            .await
            .map_err(|e| FetchError::Resolve {
                host: host.to_owned(),
                error: e.to_string(),
            })?
            .map(|a| a.ip())
            .collect(),
    };
    match addresses.into_iter().find(|ip| is_restricted(*ip)) {
        Some(address) => Err(FetchError::Restricted {
            host: host.to_owned(),
            address,
        }),
        None => Ok(()),
    }
}

/// Whether an address is anything but a public unicast address.
pub fn is_restricted(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
                || (a == 198 && (18..20).contains(&b)) // benchmarking
                || a >= 240 // reserved
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_restricted(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first == 0x0064 && v6.segments()[1] == 0xff9b) // NAT64 can reach IPv4 internals
                || first == 0x2001 && v6.segments()[1] == 0x0db8 // documentation
        }
    }
}

/// A resolver that refuses restricted addresses for every connection the client makes.
#[derive(Clone)]
struct GuardedResolver {
    allow_private: bool,
}

impl tower::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, io::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private && let Some(bad) = addresses.iter().find(|a| is_restricted(a.ip())) {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "{host} resolves to {}, a loopback or private address",
                        bad.ip()
                    ),
                ));
            }
            Ok(addresses.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restricted_addresses_are_recognised() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(is_restricted(bad.parse().unwrap()), "{bad}");
        }
        for good in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(!is_restricted(good.parse().unwrap()), "{good}");
        }
    }

    #[tokio::test]
    async fn loopback_and_other_schemes_are_refused() {
        let policy = FetchPolicy::default();
        let err = fetch(&Url::parse("http://127.0.0.1:9/x").unwrap(), &policy)
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Restricted { .. }), "{err}");
        let err = fetch(&Url::parse("http://localhost:9/x").unwrap(), &policy)
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Restricted { .. }), "{err}");
        let err = fetch(&Url::parse("ftp://example.com/x").unwrap(), &policy)
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Scheme(_)), "{err}");
    }
}
