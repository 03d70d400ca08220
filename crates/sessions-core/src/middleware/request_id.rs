//! Sets `x-ms-client-request-id` (a UUID v4) on requests that have none.
//!
//! It sits outside the retry layer, so every attempt of one call carries the same id, which lets
//! support correlate them. The id is also put in the response's extensions as a
//! [`ClientRequestId`], so error messages can quote it.

use std::task::{Context, Poll};

use http::{HeaderName, HeaderValue, Request, Response};
use tower::{Layer, Service};

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
    type Future = WithRequestId<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> WithRequestId<S::Future> {
        // A caller's own id is kept as sent, even when it is not text (then recorded as "").
        let id = match req.headers().get(CLIENT_REQUEST_ID) {
            Some(existing) => Id::Given(existing.to_str().unwrap_or_default().to_owned()),
            None => {
                let id = uuid::Uuid::new_v4();
                let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
                let text = id.hyphenated().encode_lower(&mut text);
                if let Ok(value) = HeaderValue::from_str(text) {
                    req.headers_mut().insert(CLIENT_REQUEST_ID, value);
                }
                Id::Generated(id)
            }
        };
        WithRequestId {
            inner: self.inner.call(req),
            id: Some(id),
        }
    }
}

/// The id of one call, kept as a UUID (no allocation) until the response needs its text.
enum Id {
    Generated(uuid::Uuid),
    Given(String),
}

impl Id {
    fn into_string(self) -> String {
        match self {
            Id::Generated(id) => id.hyphenated().to_string(),
            Id::Given(s) => s,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`RequestId`]: the inner response, with the [`ClientRequestId`] attached.
    pub struct WithRequestId<F> {
        #[pin]
        inner: F,
        id: Option<Id>,
    }
}

impl<F> std::future::Future for WithRequestId<F>
where
    F: std::future::Future<Output = Result<http::Response<ResponseBody>, BoxError>>,
{
    type Output = F::Output;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = std::task::ready!(this.inner.poll(cx))?;
        if let Some(id) = this.id.take() {
            res.extensions_mut()
                .insert(ClientRequestId(id.into_string()));
        }
        Poll::Ready(Ok(res))
    }
}
