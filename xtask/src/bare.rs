//! The floor: a bare `hyper_util::client::legacy::Client` over `HttpConnector`, with nothing on
//! top (no auth layer, retry, timeouts or tracing). It sends a prepared request verbatim, reads the
//! full body and parses it into a `serde_json::Value` (our client decodes too).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};

use crate::canned_server::IDENT;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type StreamBody = UnsyncBoxBody<Bytes, std::io::Error>;

/// A request to send again and again: method, absolute URI, headers, buffered body.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub method: http::Method,
    pub uri: http::Uri,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Prepared {
    /// The execute request our client sends to the current family, written by hand. Used only
    /// when no request from our client could be captured.
    pub fn execute_fallback(endpoint: &str, code: &str) -> Prepared {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Bearer bench-token"),
        );
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        let body = serde_json::json!({
            "codeInputType": "Inline",
            "executionType": "Synchronous",
            "code": code,
            "timeoutInSeconds": 220,
        });
        Prepared {
            method: http::Method::POST,
            uri: format!("{endpoint}executions?api-version=2025-10-02-preview&identifier={IDENT}")
                .parse()
                .unwrap(),
            headers,
            body: Bytes::from(serde_json::to_vec(&body).unwrap()),
        }
    }

    /// The same request aimed at another server (`endpoint` ends with `/`), with another
    /// identifier.
    pub fn retarget(&self, endpoint: &str, identifier: &str) -> Prepared {
        let pq = self.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let (path, query) = pq.split_once('?').unwrap_or((pq, ""));
        let route = path.rsplit('/').next().unwrap_or("executions");
        let query: Vec<String> = query
            .split('&')
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                if kv.starts_with("identifier=") {
                    format!("identifier={identifier}")
                } else {
                    kv.to_owned()
                }
            })
            .collect();
        let mut out = self.clone();
        out.uri = format!("{endpoint}{route}?{}", query.join("&"))
            .parse()
            .unwrap();
        out.headers.remove(http::header::HOST);
        out
    }
}

fn connector() -> HttpConnector {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http
}

/// A bare client for buffered requests.
#[derive(Clone)]
pub struct Bare {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for Bare {
    fn default() -> Self {
        Self::new()
    }
}

impl Bare {
    pub fn new() -> Bare {
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(connector());
        Bare { client }
    }

    /// Send `p`, read the whole body and parse it as JSON. Returns the response headers too.
    pub async fn send_json(
        &self,
        p: &Prepared,
    ) -> Result<(http::HeaderMap, serde_json::Value), BoxError> {
        let mut req = http::Request::new(Full::new(p.body.clone()));
        *req.method_mut() = p.method.clone();
        *req.uri_mut() = p.uri.clone();
        *req.headers_mut() = p.headers.clone();
        let res = self.client.request(req).await?;
        let (parts, body) = res.into_parts();
        let bytes = body.collect().await?.to_bytes();
        if !parts.status.is_success() {
            return Err(
                format!("HTTP {}: {}", parts.status, String::from_utf8_lossy(&bytes)).into(),
            );
        }
        let value: serde_json::Value = serde_json::from_slice(&bytes)?;
        Ok((parts.headers, value))
    }
}

/// A bare client for streamed request bodies (uploads) and streamed downloads.
#[derive(Clone)]
pub struct BareStream {
    client: Client<HttpConnector, StreamBody>,
}

impl Default for BareStream {
    fn default() -> Self {
        Self::new()
    }
}

impl BareStream {
    pub fn new() -> BareStream {
        BareStream {
            client: Client::builder(TokioExecutor::new()).build(connector()),
        }
    }

    pub async fn request(
        &self,
        req: http::Request<StreamBody>,
    ) -> Result<http::Response<hyper::body::Incoming>, BoxError> {
        Ok(self.client.request(req).await?)
    }
}
