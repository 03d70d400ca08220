//! The overall deadline of one call: every attempt, every back-off and reading the response
//! body. When it passes the call fails with [`Error::Timeout`] of kind [`TimeoutKind::Overall`].
//!
//! The layer stores a [`Deadline`] in the request's extensions, so the retry layer does not start
//! a back-off that would end after it (it returns the last answer instead). A request can carry an
//! [`OverallTimeout`] extension to use another value.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};

use crate::error::{BoxError, Error, TimeoutKind};
use crate::transport::ResponseBody;

/// A per-request override of the overall timeout, put in the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverallTimeout(pub Duration);

/// The instant a call must be done by (set by [`DeadlineLayer`], read by the retry layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(pub Instant);

/// Bounds a whole call.
#[derive(Debug, Clone, Copy)]
pub struct DeadlineLayer {
    timeout: Duration,
}

impl DeadlineLayer {
    /// The default: 600 s (two full 250 s attempts plus back-off).
    pub const DEFAULT: Duration = Duration::from_secs(600);

    /// Bound each call by `timeout`.
    pub fn new(timeout: Duration) -> Self {
        DeadlineLayer { timeout }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = DeadlineService<S>;
    fn layer(&self, inner: S) -> DeadlineService<S> {
        DeadlineService {
            inner,
            timeout: self.timeout,
        }
    }
}

/// The service of [`DeadlineLayer`].
#[derive(Debug, Clone)]
pub struct DeadlineService<S> {
    inner: S,
    timeout: Duration,
}

fn elapsed(after: Duration) -> BoxError {
    Box::new(overall_timeout(after))
}

fn overall_timeout(after: Duration) -> Error {
    Error::Timeout {
        kind: TimeoutKind::Overall,
        after: Some(after),
    }
}

/// `after` from now; a duration too large to add is as good as no deadline: ~30 years.
fn instant_after(after: Duration) -> Instant {
    Instant::now()
        .checked_add(after)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(1 << 30))
}

/// Bound `call` by `after`, failing as the layer does ([`TimeoutKind::Overall`]): the one way
/// a deadline is enforced outside the stack (a shell command's own limit, the polling of an
/// asynchronous execution), so every path times out alike.
pub(crate) async fn within<T>(
    after: Duration,
    call: impl Future<Output = crate::Result<T>>,
) -> crate::Result<T> {
    match tokio::time::timeout_at(instant_after(after), call).await {
        Ok(result) => result,
        Err(_) => Err(overall_timeout(after)),
    }
}

impl<S, B> Service<Request<B>> for DeadlineService<S>
where
    S: Service<Request<B>, Response = Response<ResponseBody>, Error = BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = BoxError;
    type Future = DeadlineFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let after = req
            .extensions()
            .get::<OverallTimeout>()
            .map_or(self.timeout, |t| t.0);
        let at = instant_after(after);
        req.extensions_mut().insert(Deadline(at));
        DeadlineFuture {
            inner: self.inner.call(req),
            // Built inline: a timer is registered only if the response is not there at once.
            sleep: tokio::time::sleep_until(at),
            at,
            after,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`DeadlineService`].
    pub struct DeadlineFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        sleep: Sleep,
        at: Instant,
        after: Duration,
    }
}

impl<F> Future for DeadlineFuture<F>
where
    F: Future<Output = Result<Response<ResponseBody>, BoxError>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.poll(cx) {
            Poll::Ready(Ok(res)) => {
                let (at, after) = (*this.at, *this.after);
                Poll::Ready(Ok(res.map(|inner| {
                    DeadlineBody {
                        inner,
                        sleep: None,
                        at,
                        after,
                    }
                    .boxed_unsync()
                })))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.sleep.poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(elapsed(*this.after))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// A response body that fails once the deadline has passed while it waits for data. Its
    /// timer is made the first time it waits: a body that is already there needs none.
    struct DeadlineBody {
        inner: ResponseBody,
        #[pin]
        sleep: Option<Sleep>,
        at: Instant,
        after: Duration,
    }
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        // Data that is already there wins over the deadline; only waiting is bounded.
        if let Poll::Ready(frame) = Pin::new(this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if this.sleep.is_none() {
            this.sleep.set(Some(tokio::time::sleep_until(*this.at)));
        }
        match this.sleep.as_pin_mut().map(|sleep| sleep.poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(Some(Err(elapsed(*this.after)))),
            _ => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    /// A body that sends `chunk` after `delay`.
    fn slow_body(delay: Duration, chunk: &'static [u8]) -> ResponseBody {
        let stream = futures_util::stream::once(async move {
            tokio::time::sleep(delay).await;
            Ok::<_, BoxError>(Frame::data(Bytes::from_static(chunk)))
        });
        http_body_util::StreamBody::new(stream).boxed_unsync()
    }

    fn answering(
        delay: Duration,
        body_delay: Duration,
    ) -> impl Service<
        Request<()>,
        Response = Response<ResponseBody>,
        Error = BoxError,
        Future = impl Future<Output = Result<Response<ResponseBody>, BoxError>>,
    > + Clone {
        tower::service_fn(move |_req: Request<()>| async move {
            tokio::time::sleep(delay).await;
            Ok::<_, BoxError>(Response::new(slow_body(body_delay, b"data")))
        })
    }

    fn is_overall(e: &BoxError, after: Duration) -> bool {
        matches!(
            e.downcast_ref::<Error>(),
            Some(Error::Timeout { kind: TimeoutKind::Overall, after: Some(d) }) if *d == after
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_answer_is_an_overall_timeout() {
        let svc = DeadlineLayer::new(Duration::from_secs(1))
            .layer(answering(Duration::from_secs(5), Duration::ZERO));
        let err = svc.oneshot(Request::new(())).await.unwrap_err();
        assert!(is_overall(&err, Duration::from_secs(1)), "{err:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_bounds_the_body_too() {
        let svc = DeadlineLayer::new(Duration::from_secs(2))
            .layer(answering(Duration::from_secs(1), Duration::from_secs(5)));
        let res = svc.oneshot(Request::new(())).await.unwrap();
        let err = res.into_body().collect().await.unwrap_err();
        assert!(is_overall(&err, Duration::from_secs(2)), "{err:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_in_time_and_the_request_override_are_honoured() {
        let svc = DeadlineLayer::new(Duration::from_secs(1))
            .layer(answering(Duration::from_secs(2), Duration::from_secs(2)));
        let mut req = Request::new(());
        req.extensions_mut()
            .insert(OverallTimeout(Duration::from_secs(10)));
        let res = svc.oneshot(req).await.unwrap();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"data");
    }
}
