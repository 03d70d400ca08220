//! One tracing span per call (`sessions_core.request`), covering every retry.
//!
//! Recorded: the operation name (`otel.name`), method, URL path and query (the session identifier
//! is in the query; it is not a secret), the client request id, the final status, the number of
//! retries (`http.retry_count`, recorded by the retry layer) and the error, if any. Never recorded:
//! headers (so never the token), request or response bodies (so never code or file contents).

use std::task::{Context, Poll};

use http::{Request, Response};
use tower::{Layer, Service};
use tracing::Instrument;
use tracing::field::Empty;

use super::ResponseFuture;
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
    S::Future: Send + 'static,
{
    type Response = Response<ResponseBody>;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> ResponseFuture {
        let op = Operation::of(&req);
        let span = tracing::info_span!(
            "sessions_core.request",
            otel.name = op.name,
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
            return Box::pin(self.inner.call(req));
        }
        let fut = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        let record = span.clone();
        Box::pin(
            async move {
                let result = fut.await;
                match &result {
                    Ok(res) => {
                        record.record("http.response.status_code", res.status().as_u16());
                        tracing::debug!(status = res.status().as_u16(), "response");
                    }
                    Err(e) => {
                        record.record("error", tracing::field::display(e));
                        tracing::debug!(error = %e, "request failed");
                    }
                }
                result
            }
            .instrument(span),
        )
    }
}
