//! Sets `x-ms-client-request-id` (a UUID v4) on requests that have none.
//!
//! It sits outside the retry layer, so every attempt of one call carries the same id, which lets
//! support correlate them. The id is also put in the response's extensions as a
//! [`ClientRequestId`], so error messages can quote it.

use std::task::{Context, Poll};

use http::{HeaderName, HeaderValue, Request, Response};
use tower::{Layer, Service};

use super::ResponseFuture;
use crate::error::BoxError;
use crate::transport::ResponseBody;

/// The header name.
pub const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");

/// The client request id of a call, found in the extensions of its request and response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequestId(pub String);

impl ClientRequestId {
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Adds `x-ms-client-request-id`.
#[derive(Debug, Clone, Default)]
pub struct RequestIdLayer {
    _priv: (),
}

impl RequestIdLayer {
    /// The layer.
    pub fn new() -> Self {
        RequestIdLayer { _priv: () }
    }
}

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestId<S>;
    fn layer(&self, inner: S) -> RequestId<S> {
        RequestId { inner }
    }
}

/// The service of [`RequestIdLayer`].
#[derive(Debug, Clone)]
pub struct RequestId<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for RequestId<S>
where
    S: Service<Request<B>, Response = Response<ResponseBody>, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response<ResponseBody>;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> ResponseFuture {
        let value = req
            .headers_mut()
            .entry(CLIENT_REQUEST_ID)
            .or_insert_with(|| {
                let id = uuid::Uuid::new_v4().hyphenated().to_string();
                // A UUID is always a valid header value.
                HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
            })
            .clone();
        let id = ClientRequestId(value.to_str().unwrap_or_default().to_owned());
        req.extensions_mut().insert(id.clone());
        let fut = self.inner.call(req);
        Box::pin(async move {
            let mut res = fut.await?;
            res.extensions_mut().insert(id);
            Ok(res)
        })
    }
}
