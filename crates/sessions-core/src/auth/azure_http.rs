//! An azure_core [`HttpClient`](azure_core::http::HttpClient) over our hyper stack, so the
//! azure_identity credentials that call an identity endpoint (managed identity, workload identity)
//! need neither reqwest nor a second TLS provider.

use std::collections::HashMap;
use std::fmt;

use azure_core::error::ErrorKind;
use azure_core::http::headers::{HeaderName, HeaderValue, Headers};
use azure_core::http::{AsyncRawResponse, HttpClient, Request, StatusCode};
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use http_body_util::BodyDataStream;
use tower::ServiceExt;

use crate::transport::{Body, HttpService};

/// Sends azure_core requests through an [`HttpService`] (normally the connection pool with a
/// per-attempt timeout; never the auth layer, which would recurse).
#[derive(Clone)]
pub struct HyperHttpClient {
    service: HttpService,
}

impl HyperHttpClient {
    /// Wrap a service.
    pub fn new(service: HttpService) -> Self {
        HyperHttpClient { service }
    }
}

impl fmt::Debug for HyperHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HyperHttpClient")
    }
}

fn io_error(message: impl Into<String>) -> azure_core::Error {
    azure_core::Error::with_message(ErrorKind::Io, message.into())
}

#[async_trait::async_trait]
impl HttpClient for HyperHttpClient {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let body = match request.body().clone() {
            azure_core::http::Body::Bytes(b) => b,
            azure_core::http::Body::SeekableStream(mut s) => {
                // Identity requests are small forms: buffer them.
                s.reset().await?;
                let chunks: Vec<Bytes> = s.try_collect().await?;
                chunks.concat().into()
            }
        };
        let mut builder = http::Request::builder()
            .method(request.method().as_str())
            .uri(request.url().as_str());
        for (name, value) in request.headers().iter() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let req = builder
            .body(Body::full(body))
            .map_err(|e| azure_core::Error::new(ErrorKind::DataConversion, e))?;
        let res = self
            .service
            .clone()
            .oneshot(req)
            .await
            .map_err(|e| azure_core::Error::new(ErrorKind::Io, crate::Error::from_box(e)))?;
        let (parts, body) = res.into_parts();
        let mut headers = HashMap::new();
        for (name, value) in &parts.headers {
            let value = value
                .to_str()
                .map_err(|_| io_error("a response header is not text"))?;
            headers.insert(
                HeaderName::from(name.as_str().to_owned()),
                HeaderValue::from(value.to_owned()),
            );
        }
        let stream = BodyDataStream::new(body)
            .map(|r| r.map_err(|e| azure_core::Error::new(ErrorKind::Io, e)));
        Ok(AsyncRawResponse::new(
            StatusCode::from(parts.status.as_u16()),
            Headers::from(headers),
            Box::pin(stream),
        ))
    }
}
