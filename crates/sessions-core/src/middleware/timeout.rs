//! The per-attempt timeout: one HTTP attempt, from sending the request to receiving the response
//! headers. When it fires the call fails with [`Error::Timeout`] of kind
//! [`TimeoutKind::Attempt`]; the retry layer then repeats reads and deletes, never code runs.
//!
//! It is separate from the service's own `timeoutInSeconds` (at most 220 s of execution): the
//! default, 250 s, leaves room for the service to answer with `Failed` before we give up.
//! A request can carry an [`AttemptTimeout`] extension to use another value.
//!
//! Built like tower's `Timeout` (a `tokio::time::Timeout` around the inner future, no box), but
//! the elapsed error is our typed one and says how long the attempt was allowed.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Request;
use tower::{Layer, Service};

use crate::error::{BoxError, Error, TimeoutKind};

/// A per-request override of the attempt timeout, put in the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptTimeout(pub Duration);

/// Bounds each attempt.
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    timeout: Duration,
}

impl TimeoutLayer {
    /// The default: 250 s.
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
    S: Service<Request<B>, Error = BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = TimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let after = req
            .extensions()
            .get::<AttemptTimeout>()
            .map_or(self.timeout, |t| t.0);
        TimeoutFuture {
            inner: tokio::time::timeout(after, self.inner.call(req)),
            after,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Timeout`].
    pub struct TimeoutFuture<F> {
        #[pin]
        inner: tokio::time::Timeout<F>,
        after: Duration,
    }
}

impl<F, T> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<T, BoxError>>,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match std::task::ready!(this.inner.poll(cx)) {
            Ok(result) => Poll::Ready(result),
            Err(_elapsed) => Poll::Ready(Err(Box::new(Error::Timeout {
                kind: TimeoutKind::Attempt,
                after: Some(*this.after),
            }))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    #[tokio::test(start_paused = true)]
    async fn a_slow_attempt_is_a_typed_attempt_timeout() {
        let slow = tower::service_fn(|_req: Request<()>| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok::<_, BoxError>(())
        });
        let svc = TimeoutLayer::new(Duration::from_secs(1)).layer(slow);
        let err = svc.oneshot(Request::new(())).await.unwrap_err();
        let err = err.downcast::<Error>().unwrap();
        assert!(matches!(
            *err,
            Error::Timeout { kind: TimeoutKind::Attempt, after: Some(d) } if d == Duration::from_secs(1)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn the_request_extension_overrides_the_default() {
        let slow = tower::service_fn(|_req: Request<()>| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, BoxError>(())
        });
        let svc = TimeoutLayer::new(Duration::from_secs(1)).layer(slow);
        let mut req = Request::new(());
        req.extensions_mut()
            .insert(AttemptTimeout(Duration::from_secs(60)));
        assert!(svc.oneshot(req).await.is_ok());
    }
}
