//! Helpers shared by the `api_*` tests: a loopback hyper server that records what it receives,
//! and a plain (no middleware) client. (Request snapshots are unit tests of each operation.)
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sessions_core::{ApiVersion, Body, Client, Endpoint};

/// What the test server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: http::Method,
    pub uri: http::Uri,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// A loopback server that records every request and answers with `handler`.
pub struct TestServer {
    pub base: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl TestServer {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// A plain client (no auth/retry/timeout layers) for this server.
    pub fn client(&self, version: ApiVersion) -> Client {
        plain_client(&self.base, version)
    }
}

pub fn plain_client(base: &str, version: ApiVersion) -> Client {
    let http =
        hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http::<Body>();
    Client::new(http, Endpoint::parse(base).expect("endpoint"), version)
}

/// Start a server; `handler(seen_request, base_url)` returns the response.
pub async fn serve<F, Fut>(handler: F) -> TestServer
where
    F: Fn(Seen, String) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}/pools/p/");
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let (seen2, base2) = (seen.clone(), base.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (handler, seen, base) = (handler.clone(), seen2.clone(), base2.clone());
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let (handler, seen, base) = (handler.clone(), seen.clone(), base.clone());
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|c| c.to_bytes())
                            .unwrap_or_default();
                        let s = Seen {
                            method: parts.method,
                            uri: parts.uri,
                            headers: parts.headers,
                            body,
                        };
                        seen.lock().unwrap().push(s.clone());
                        Ok::<_, Infallible>(handler(s, base).await)
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    TestServer { base, seen }
}

/// A JSON response.
pub fn json(status: u16, body: serde_json::Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

/// Parse the one `file` part of a multipart body: (filename, content type, content).
pub fn parse_multipart(content_type: &str, body: &[u8]) -> (String, String, Vec<u8>) {
    let boundary = content_type.split("boundary=").nth(1).expect("boundary");
    let open = format!("--{boundary}\r\n");
    let close = format!("\r\n--{boundary}--\r\n");
    assert!(
        body.starts_with(open.as_bytes()),
        "multipart must start with the boundary"
    );
    assert!(
        body.ends_with(close.as_bytes()),
        "multipart must end with the closing boundary"
    );
    let inner = &body[open.len()..body.len() - close.len()];
    let split = inner
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = std::str::from_utf8(&inner[..split]).unwrap();
    let content = inner[split + 4..].to_vec();
    let filename = head
        .split("filename=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let ct = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .unwrap()
        .to_owned();
    assert!(head.contains("name=\"file\""));
    (filename, ct, content)
}
