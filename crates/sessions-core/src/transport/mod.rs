//! The HTTP plumbing under the typed API: bodies, the boxed service type, and the
//! per-request [`Operation`] marker that the middleware reads.

mod body;
pub mod connector;
mod host;

pub use body::{Body, ByteStream, ResponseBody, StreamFactory};

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::error::BoxError;

/// The type-erased service a [`crate::Client`] sends through: the default stack, or any tower
/// service you wrap with [`HttpService::new`].
///
/// Cloning it is one reference-count increment (the stack is shared, never copied into a new
/// box), and each call makes exactly one boxed future. The stack is cloned for the call (for the
/// default stack a handful of reference counts, no allocation); when it is ready at once, as
/// the default stack always is, it is called there and dropped, and the box holds only the
/// call's future; otherwise the box drives it with `oneshot`. It is `Clone + Send + Sync`, so a
/// [`crate::Client`] needs no background task.
#[derive(Clone)]
pub struct HttpService {
    inner: Arc<dyn SendShared>,
}

/// The future of one call through an [`HttpService`].
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<ResponseBody>, BoxError>> + Send + 'static>>;

/// A stack that can be called through a shared reference (by cloning itself into the future).
trait SendShared: Send + Sync {
    fn send(&self, request: http::Request<Body>) -> ResponseFuture;
}

impl<S> SendShared for S
where
    S: tower::Service<
            http::Request<Body>,
            Response = http::Response<ResponseBody>,
            Error = BoxError,
        > + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    fn send(&self, request: http::Request<Body>) -> ResponseFuture {
        let mut svc = self.clone();
        // The default stack is ready at once (hyper-util's client waits for a connection inside
        // the call), so the call is made here and the box holds only its future. A service that
        // is not ready yet is driven by `oneshot` inside the box, with the task's own waker.
        match svc.poll_ready(&mut Context::from_waker(std::task::Waker::noop())) {
            Poll::Ready(Ok(())) => Box::pin(svc.call(request)),
            Poll::Ready(Err(e)) => Box::pin(std::future::ready(Err(e))),
            Poll::Pending => Box::pin(tower::ServiceExt::oneshot(svc, request)),
        }
    }
}

impl HttpService {
    /// Erase the type of `service`.
    pub fn new<S>(service: S) -> Self
    where
        S: tower::Service<
                http::Request<Body>,
                Response = http::Response<ResponseBody>,
                Error = BoxError,
            > + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        HttpService {
            inner: Arc::new(service),
        }
    }

    /// Send one request through the stack (no `poll_ready` needed: the future drives it).
    pub fn send(&self, request: http::Request<Body>) -> ResponseFuture {
        self.inner.send(request)
    }
}

impl fmt::Debug for HttpService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HttpService")
    }
}

impl tower::Service<http::Request<Body>> for HttpService {
    type Response = http::Response<ResponseBody>;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Readiness of the wrapped stack is driven inside each call's future.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> ResponseFuture {
        self.send(request)
    }
}

/// A type-erased layer over [`HttpService`], as taken by `ClientBuilder::layer`.
#[derive(Clone)]
pub(crate) struct BoxLayer {
    wrap: Arc<dyn Fn(HttpService) -> HttpService + Send + Sync>,
}

impl BoxLayer {
    /// Erase the type of `layer`.
    pub(crate) fn new<L>(layer: L) -> Self
    where
        L: tower::Layer<HttpService> + Send + Sync + 'static,
        L::Service: tower::Service<
                http::Request<Body>,
                Response = http::Response<ResponseBody>,
                Error = BoxError,
            > + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as tower::Service<http::Request<Body>>>::Future: Send + 'static,
    {
        BoxLayer {
            wrap: Arc::new(move |inner| HttpService::new(layer.layer(inner))),
        }
    }
}

impl tower::Layer<HttpService> for BoxLayer {
    type Service = HttpService;
    fn layer(&self, inner: HttpService) -> HttpService {
        (self.wrap)(inner)
    }
}

impl fmt::Debug for BoxLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoxLayer")
    }
}

/// Whether an operation may be sent again after a failure that happened after it may have reached
/// the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Retryable {
    /// Reads and deletes: safe to repeat after connect errors, timeouts, 408, 429 and 5xx.
    Idempotent,
    /// Running code or uploading: repeated only when the service surely did not process it
    /// (the connection was never established, or the answer was 429).
    OnlyIfNotProcessed,
}

/// Describes the operation a request belongs to. Stored in the request's extensions by the typed
/// API; read by the retry, tracing and timeout layers. Requests without it are classified by their
/// method (GET/HEAD/PUT/DELETE/OPTIONS are idempotent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Operation {
    /// A stable name such as `"execute"` or `"files.upload"`, used as the tracing span name.
    pub name: &'static str,
    /// How the retry layer may treat it.
    pub retryable: Retryable,
}

impl Operation {
    /// An idempotent operation (reads and deletes).
    pub const fn idempotent(name: &'static str) -> Self {
        Operation {
            name,
            retryable: Retryable::Idempotent,
        }
    }

    /// An operation that runs code or writes: retried only when surely not processed.
    pub const fn not_idempotent(name: &'static str) -> Self {
        Operation {
            name,
            retryable: Retryable::OnlyIfNotProcessed,
        }
    }

    /// The operation of a request: its extension, or one derived from the method.
    pub fn of<B>(req: &http::Request<B>) -> Operation {
        if let Some(op) = req.extensions().get::<Operation>() {
            return *op;
        }
        if req.method().is_idempotent() {
            Operation::idempotent("http")
        } else {
            Operation::not_idempotent("http")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Not ready on its first `poll_ready` (it wakes the task at once), ready after; counts calls.
    #[derive(Clone)]
    struct NotReadyAtFirst {
        polls: Arc<AtomicUsize>,
        calls: Arc<AtomicUsize>,
        fail: bool,
    }

    impl tower::Service<http::Request<Body>> for NotReadyAtFirst {
        type Response = http::Response<ResponseBody>;
        type Error = BoxError;
        type Future = std::future::Ready<Result<http::Response<ResponseBody>, BoxError>>;

        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
            if self.polls.fetch_add(1, Ordering::SeqCst) == 0 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if self.fail {
                return Poll::Ready(Err("not ready, ever".into()));
            }
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _req: http::Request<Body>) -> Self::Future {
            self.calls.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok(http::Response::new(ResponseBody::default())))
        }
    }

    fn service(fail: bool) -> (HttpService, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let (polls, calls) = (Arc::default(), Arc::default());
        let svc = NotReadyAtFirst {
            polls: Arc::clone(&polls),
            calls: Arc::clone(&calls),
            fail,
        };
        (HttpService::new(svc), polls, calls)
    }

    #[tokio::test]
    async fn a_service_not_ready_at_once_is_driven_ready_inside_the_call() {
        let (svc, polls, calls) = service(false);
        let res = svc.send(http::Request::new(Body::empty())).await.unwrap();
        assert_eq!(res.status(), http::StatusCode::OK);
        // Polled once when sent (Pending), then by `oneshot` with the task's waker.
        assert_eq!(polls.load(Ordering::SeqCst), 2);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "called once");
    }

    #[tokio::test]
    async fn a_readiness_error_is_the_calls_error_and_nothing_is_sent() {
        let (svc, _, calls) = service(true);
        let err = svc
            .send(http::Request::new(Body::empty()))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "not ready, ever");
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
}
