//! The service's operations, one file each: its input type, how it becomes an
//! `http::Request<Body>` (no I/O), and how its answer decodes (bytes in, value out).
//!
//! | file | operations |
//! |---|---|
//! | [`execute`] | `POST executions` / `POST code/execute`, `GET executions/{id}` |
//! | [`shell`] | `POST executions` with a shell command |
//! | [`execution`] | decoding the execution resource (shared by the three above) |
//! | [`files`] | `GET files`, `GET files/{name}`, `DELETE files/{name}` |
//! | [`upload`] | `POST files` / `POST files/upload` (multipart) |
//! | [`download`] | `GET files/{name}/content` / `GET files/content/{name}` |
//! | [`session`] | `GET`/`DELETE session`, `POST .management/stopSession` |
//! | [`pool`] | `GET listSessions`, `GET metadata` |
//! | [`paging`] | `GET <nextLink>` |
//! | [`passthrough`] | any request to a custom container |
//!
//! This file holds what they share: where a request goes ([`Target`]), percent-encoding, and
//! building a request in place. Every request carries the `api-version` query parameter and,
//! when session-scoped, the `identifier`; both, and every file name in a path, are
//! percent-encoded (everything but `A–Z a–z 0–9 - . _ ~`). Every request carries an
//! [`Operation`] extension for the middleware. Sending is [`super::send`]'s job alone.

use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::api_version::{ApiFamily, ApiVersion};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::transport::{Body, Operation};
use crate::validate;

pub(crate) mod download;
pub(crate) mod execute;
pub(crate) mod execution;
pub(crate) mod files;
pub(crate) mod paging;
pub(crate) mod passthrough;
pub(crate) mod pool;
pub(crate) mod session;
pub(crate) mod shell;
pub(crate) mod upload;

#[cfg(test)]
mod props;
#[cfg(test)]
pub(crate) mod testing;

/// Characters left as-is in a path segment or query value: RFC 3986 "unreserved".
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `application/json`, as a static header value (no parse, no allocation per request).
const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// The `operation-id` request header (a caller-chosen execution id).
pub(crate) const OPERATION_ID: &str = "operation-id";

/// Percent-encode a path segment or query value (everything but `A–Z a–z 0–9 - . _ ~`):
/// `a b#1&?%ü` becomes `a%20b%231%26%3F%25%C3%BC`.
pub(crate) fn encode_component(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// Append `value`, percent-encoded as by [`encode_component`], without a temporary string.
pub(crate) fn push_component(out: &mut String, value: &str) {
    out.extend(utf8_percent_encode(value, COMPONENT));
}

/// Where a request goes: the pool endpoint, the api-version, and (for session-scoped calls) the
/// session identifier.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    /// The pool management endpoint.
    pub(crate) endpoint: &'a Endpoint,
    /// The api-version of the client.
    pub(crate) api_version: ApiVersion,
    /// The session identifier, for session-scoped operations.
    pub(crate) identifier: Option<&'a str>,
    /// Whether `identifier` was validated already (a [`Session`](crate::api::Session) checks it
    /// once, when it is made), so a request need not check it again.
    pub(crate) identifier_checked: bool,
}

impl<'a> Target<'a> {
    /// A pool-wide target (no identifier).
    pub(crate) fn pool(endpoint: &'a Endpoint, api_version: ApiVersion) -> Self {
        Target {
            endpoint,
            api_version,
            identifier: None,
            identifier_checked: false,
        }
    }

    /// A session-scoped target.
    pub(crate) fn session(
        endpoint: &'a Endpoint,
        api_version: ApiVersion,
        identifier: &'a str,
    ) -> Self {
        Target {
            endpoint,
            api_version,
            identifier: Some(identifier),
            identifier_checked: false,
        }
    }

    /// A session-scoped target whose identifier was validated when its session was made.
    pub(crate) fn checked_session(
        endpoint: &'a Endpoint,
        api_version: ApiVersion,
        identifier: &'a str,
    ) -> Self {
        Target {
            identifier_checked: true,
            ..Target::session(endpoint, api_version, identifier)
        }
    }

    pub(crate) fn identifier(&self) -> Result<&'a str> {
        let id = self
            .identifier
            .ok_or_else(|| Error::invalid("this operation needs a session identifier"))?;
        if !self.identifier_checked {
            validate::validate_identifier(id)?;
        }
        Ok(id)
    }

    fn family(&self) -> ApiFamily {
        self.api_version.family()
    }

    /// `endpoint + path ? api-version & identifier & extra…`; `path` must already be encoded.
    ///
    /// Built from the endpoint's parsed scheme and authority and one string for the path and
    /// query, so only that part is parsed per request (the same URI as parsing the whole URL).
    fn uri(
        &self,
        version: ApiVersion,
        path: &str,
        session: bool,
        extra: &[(&str, &str)],
    ) -> Result<Uri> {
        let origin = self.endpoint.origin();
        let base = match origin {
            Some(o) => o.path.as_str(),
            None => self.endpoint.as_str(),
        };
        let mut url = String::with_capacity(base.len() + path.len() + 96);
        url.push_str(base);
        url.push_str(path);
        url.push_str("?api-version=");
        url.push_str(version.as_str());
        if session {
            url.push_str("&identifier=");
            push_component(&mut url, self.identifier()?);
        }
        for (k, v) in extra {
            url.push('&');
            url.push_str(k);
            url.push('=');
            push_component(&mut url, v);
        }
        let Some(origin) = origin else {
            return parse_uri(url);
        };
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(origin.scheme.clone());
        parts.authority = Some(origin.authority.clone());
        parts.path_and_query = Some(PathAndQuery::try_from(url).map_err(invalid_url)?);
        Uri::from_parts(parts).map_err(invalid_url)
    }
}

/// `METHOD files/{name}{suffix}` with the directory in `path` (current family only).
pub(crate) fn file_request(
    t: Target<'_>,
    method: Method,
    name: &str,
    suffix: &str,
    operation: Operation,
    what: &str,
) -> Result<Request<Body>> {
    if t.family() == ApiFamily::Legacy {
        return Err(needs_current(t.api_version, what));
    }
    let (dir, name) = validate::split_file_path(name)?;
    let path = format!("files/{}{suffix}", encode_component(&name));
    let extra: &[(&str, &str)] = if dir.is_empty() {
        &[]
    } else {
        &[("path", &dir)]
    };
    let uri = t.uri(t.api_version, &path, true, extra)?;
    empty_request(method, uri, operation)
}

fn needs_current(version: ApiVersion, what: &str) -> Error {
    Error::invalid(format!(
        "{what} needs api-version 2024-10-02-preview or later; this client uses {version} (use Client::with_api_version)"
    ))
}

pub(crate) fn parse_uri(url: String) -> Result<Uri> {
    // From the String itself: no copy of the URL.
    Uri::try_from(url).map_err(invalid_url)
}

fn invalid_url(e: impl std::fmt::Display) -> Error {
    Error::invalid(format!("could not build a request URL ({e})"))
}

fn empty_request(method: Method, uri: Uri, operation: Operation) -> Result<Request<Body>> {
    Ok(request(method, uri, Body::empty(), operation, |h| {
        h.insert(http::header::ACCEPT, APPLICATION_JSON);
    }))
}

/// A request built in place (no builder conversions), with room for the headers the stack adds
/// (User-Agent, request id, Authorization) so the map does not grow on the way.
fn request(
    method: Method,
    uri: Uri,
    body: Body,
    operation: Operation,
    headers: impl FnOnce(&mut http::HeaderMap),
) -> Request<Body> {
    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = http::HeaderMap::with_capacity(8);
    headers(request.headers_mut());
    request.extensions_mut().insert(operation);
    request
}

fn to_json(body: &impl serde::Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(body).map_err(encoding_failed)
}

fn encoding_failed(e: serde_json::Error) -> Error {
    Error::invalid(format!("could not encode the body: {e}"))
}

fn json_request(uri: Uri, bytes: Vec<u8>, operation: Operation) -> Result<Request<Body>> {
    let len = HeaderValue::from(bytes.len());
    Ok(request(
        Method::POST,
        uri,
        Body::full(bytes),
        operation,
        |h| {
            h.insert(http::header::ACCEPT, APPLICATION_JSON);
            h.insert(CONTENT_TYPE, APPLICATION_JSON);
            h.insert(CONTENT_LENGTH, len);
        },
    ))
}

/// A header's value as trimmed text (see [`header_text`]). A `HeaderName` constant is looked up
/// without parsing the name first, as a `&str` would be.
pub(crate) fn header(headers: &HeaderMap, name: impl http::header::AsHeaderName) -> Option<String> {
    headers.get(name).and_then(header_text)
}

/// A header's value as trimmed text; `None` when it is empty or not visible ASCII.
pub(crate) fn header_text(value: &HeaderValue) -> Option<String> {
    value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uri_from_the_endpoints_parts_is_the_whole_url_parsed() {
        let endpoints = [
            "https://eastus.dynamicsessions.io/subscriptions/s/resourceGroups/g/sessionPools/p",
            "http://127.0.0.1:8080",
            "http://[::1]:9/pools/p%20q/",
            "https://x.io:443/a/python/execute",
        ];
        for e in endpoints {
            let endpoint = Endpoint::parse(e).unwrap();
            assert!(endpoint.origin().is_some(), "{e}");
            let t = Target::session(&endpoint, ApiVersion::default(), "user@contoso.com");
            let uri = t
                .uri(t.api_version, "files/a%20b", true, &[("path", "d/e")])
                .unwrap();
            let whole = format!(
                "{}files/a%20b?api-version={}&identifier=user%40contoso.com&path=d%2Fe",
                endpoint.as_str(),
                t.api_version.as_str()
            );
            assert_eq!(uri, parse_uri(whole.clone()).unwrap(), "{e}");
            assert_eq!(uri.to_string(), whole);
        }
    }
}
