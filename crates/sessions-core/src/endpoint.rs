//! The pool management endpoint, validated once.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use url::Url;

use crate::error::Error;

/// A session pool's management endpoint, e.g.
/// `https://eastus.dynamicsessions.io/subscriptions/…/sessionPools/my-pool/`.
///
/// Always ends with `/`. Must be `https`, except for loopback hosts (`localhost`, `127.0.0.0/8`,
/// `::1`), which may use `http` (for the local pool). A legacy `/python/execute` suffix is removed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    url: Url,
    /// The URL as `http` parts, parsed once: a request URI is then these plus its own path and
    /// query (`None` if `http` cannot read the URL; each request then parses its whole URL, and
    /// fails there as before).
    origin: Option<Origin>,
}

/// The scheme, authority and path of the endpoint, as `http` reads them.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Origin {
    pub(crate) scheme: http::uri::Scheme,
    pub(crate) authority: http::uri::Authority,
    pub(crate) path: String,
}

impl Origin {
    fn of(url: &Url) -> Option<Origin> {
        let parts = http::Uri::try_from(url.as_str()).ok()?.into_parts();
        Some(Origin {
            scheme: parts.scheme?,
            authority: parts.authority?,
            path: parts.path_and_query?.path().to_owned(),
        })
    }
}

impl Endpoint {
    /// Parse and validate an endpoint.
    pub fn parse(input: &str) -> Result<Endpoint, Error> {
        let input = input.trim();
        let mut url = Url::parse(input).map_err(|e| {
            Error::invalid(format!(
                "the pool endpoint {input:?} is not a URL ({e}); copy `poolManagementEndpoint` from the session pool"
            ))
        })?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::invalid(format!(
                "the pool endpoint {input:?} must not carry a query or fragment; pass only the base URL"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::invalid(
                "the pool endpoint must not embed credentials",
            ));
        }
        let loopback = is_loopback(&url);
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(Error::invalid(format!(
                    "the pool endpoint {input:?} uses http; use https (plain http is allowed only for loopback addresses)"
                )));
            }
            other => {
                return Err(Error::invalid(format!(
                    "the pool endpoint scheme {other:?} is not supported; use https"
                )));
            }
        }
        let mut path = url.path().trim_end_matches('/').to_owned();
        if let Some(stripped) = path.strip_suffix("/python/execute") {
            path = stripped.to_owned();
        }
        path.push('/');
        url.set_path(&path);
        let origin = Origin::of(&url);
        Ok(Endpoint { url, origin })
    }

    /// The URL, ending with `/`.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The URL as a string.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The endpoint as `http` parts (see [`Endpoint`]'s `origin`).
    pub(crate) fn origin(&self) -> Option<&Origin> {
        self.origin.as_ref()
    }

    /// Whether the host is a loopback address (then no token is needed by default).
    pub fn is_loopback(&self) -> bool {
        is_loopback(&self.url)
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({})", self.url)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url.as_str())
    }
}

impl FromStr for Endpoint {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Endpoint::parse(s)
    }
}

impl TryFrom<&str> for Endpoint {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Endpoint::parse(s)
    }
}

impl TryFrom<String> for Endpoint {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Endpoint::parse(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_validates() {
        let e =
            Endpoint::parse("https://x.dynamicsessions.io/subscriptions/s/sessionPools/p").unwrap();
        assert_eq!(
            e.as_str(),
            "https://x.dynamicsessions.io/subscriptions/s/sessionPools/p/"
        );
        let e = Endpoint::parse("https://x.io/pools/p/python/execute").unwrap();
        assert_eq!(e.as_str(), "https://x.io/pools/p/");
        assert!(
            Endpoint::parse("http://127.0.0.1:8080")
                .unwrap()
                .is_loopback()
        );
        assert!(Endpoint::parse("http://localhost:1/").is_ok());
        assert!(Endpoint::parse("http://[::1]:1/").is_ok());
        let err = Endpoint::parse("http://example.com/")
            .unwrap_err()
            .to_string();
        assert!(err.contains("use https"), "{err}");
        assert!(Endpoint::parse("https://x.io/?a=1").is_err());
        assert!(Endpoint::parse("ftp://x.io/").is_err());
        assert!(Endpoint::parse("not a url").is_err());
    }
}
