//! The per-attempt timeout: one HTTP attempt, from sending the request to receiving the response
//! headers. When it fires the call fails with [`Error::Timeout`] of kind
//! [`TimeoutKind::Attempt`]; the retry layer then repeats reads and deletes, never code runs.
//!
//! It is separate from the service's own `timeoutInSeconds` (at most 220 s of execution): the
//! default, 250 s, leaves room for the service to answer with `Failed` before we give up.
//! A request can carry an [`AttemptTimeout`] extension to use another value.

use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use tower::{Layer, Service};

use super::ResponseFuture;
use crate::error::{BoxError, Error, TimeoutKind};
use crate::transport::ResponseBody;

/// A per-request override of the per-attempt timeout, put in the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptTimeout(pub Duration);

/// Bounds each attempt.
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    timeout: Duration,
}

impl TimeoutLayer {
    /// The default: 250 s (the service's 220 s execution cap plus margin).
    pub const DEFAULT: Duration = Duration::from_secs(250);

    /// Bound each attempt by `timeout`.
    pub fn new(timeout: Duration) -> Self {
        TimeoutLayer { timeout }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;
    fn layer(&self, inner: S) -> Timeout<S> {
        Timeout {
            inner,
            timeout: self.timeout,
        }
    }
}

/// The service of [`TimeoutLayer`].
#[derive(Debug, Clone)]
pub struct Timeout<S> {
    inner: S,
    timeout: Duration,
}

impl<S, B> Service<Request<B>> for Timeout<S>
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

    fn call(&mut self, req: Request<B>) -> ResponseFuture {
        let after = req
            .extensions()
            .get::<AttemptTimeout>()
            .map_or(self.timeout, |t| t.0);
        let fut = self.inner.call(req);
        Box::pin(async move {
            match tokio::time::timeout(after, fut).await {
                Ok(res) => res,
                Err(_elapsed) => Err(Box::new(Error::Timeout {
                    kind: TimeoutKind::Attempt,
                    after: Some(after),
                }) as BoxError),
            }
        })
    }
}
