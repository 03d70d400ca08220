//! One tracing span per call (`sessions_core.request`), covering every retry.
//!
//! Recorded: the operation name (`otel.name`), method, URL path and query (the session identifier
//! is in the query; it is not a secret), the client request id, the final status, the number of
//! retries (`http.retry_count`, recorded by the retry layer) and the error, if any. Never recorded:
//! headers (so never the token), request or response bodies (so never code or file contents).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower::{Layer, Service};
use tracing::Span;
use tracing::field::Empty;

use super::request_id::CLIENT_REQUEST_ID;
use crate::error::BoxError;
use crate::transport::{Operation, ResponseBody};

/// Opens a span per call.
#[derive(Debug, Clone, Default)]
pub struct TraceLayer {
    _priv: (),
}

impl TraceLayer {
    /// The layer.
    pub fn new() -> Self {
        TraceLayer { _priv: () }
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = Trace<S>;
    fn layer(&self, inner: S) -> Trace<S> {
        Trace { inner }
    }
}

/// The service of [`TraceLayer`].
#[derive(Debug, Clone)]
pub struct Trace<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for Trace<S>
where
    S: Service<Request<B>, Response = Response<ResponseBody>, Error = BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = BoxError;
    type Future = TraceFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        // Field values are computed only when a subscriber wants the span.
        let span = tracing::info_span!(
            "sessions_core.request",
            otel.name = Operation::of(&req).name,
            otel.kind = "client",
            http.request.method = %req.method(),
            url.path = req.uri().path(),
            url.query = req.uri().query().unwrap_or(""),
            client_request_id = req.headers().get(CLIENT_REQUEST_ID).and_then(|v| v.to_str().ok()),
            http.response.status_code = Empty,
            http.retry_count = Empty,
            error = Empty,
        );
        if span.is_disabled() {
            // No subscriber wants it: skip the instrumentation entirely.
            return TraceFuture {
                inner: self.inner.call(req),
                span: None,
            };
        }
        let inner = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        TraceFuture {
            inner,
            span: Some(span),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Trace`]: polls the inner future inside the span, and records the outcome.
    pub struct TraceFuture<F> {
        #[pin]
        inner: F,
        span: Option<Span>,
    }
}

impl<F> Future for TraceFuture<F>
where
    F: Future<Output = Result<Response<ResponseBody>, BoxError>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(span) = this.span.as_ref() else {
            return this.inner.poll(cx);
        };
        let _entered = span.enter();
        let result = std::task::ready!(this.inner.poll(cx));
        match &result {
            Ok(res) => {
                span.record("http.response.status_code", res.status().as_u16());
                tracing::debug!(status = res.status().as_u16(), "response");
            }
            Err(e) => {
                span.record("error", tracing::field::display(e));
                tracing::debug!(error = %e, "request failed");
            }
        }
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use tower::ServiceExt;
    use tracing_subscriber::layer::SubscriberExt;

    /// Collects the names of the spans that are open when events fire.
    #[derive(Clone, Default)]
    struct Spans(Arc<Mutex<Vec<String>>>);

    impl<S> tracing_subscriber::Layer<S> for Spans
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        fn on_event(
            &self,
            _event: &tracing::Event<'_>,
            ctx: tracing_subscriber::layer::Context<'_, S>,
        ) {
            if let Some(span) = ctx.lookup_current() {
                self.0.lock().unwrap().push(span.name().to_owned());
            }
        }
    }

    #[tokio::test]
    async fn events_inside_the_call_belong_to_the_request_span() {
        let spans = Spans::default();
        let subscriber = tracing_subscriber::registry().with(spans.clone());
        let _guard = tracing::subscriber::set_default(subscriber);
        let inner = tower::service_fn(|_req: Request<()>| async {
            tracing::info!("inside");
            Ok::<_, BoxError>(Response::new(ResponseBody::default()))
        });
        let res = TraceLayer::new()
            .layer(inner)
            .oneshot(Request::new(()))
            .await;
        assert!(res.is_ok());
        let seen = spans.0.lock().unwrap().clone();
        assert!(!seen.is_empty());
        assert!(
            seen.iter().all(|name| name == "sessions_core.request"),
            "{seen:?}"
        );
    }
}
