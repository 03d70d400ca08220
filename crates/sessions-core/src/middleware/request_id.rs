//! `x-ms-client-request-id`: a UUID v4 per call, the same on every attempt, copied onto the
//! response.
//!
//! [`RequestIdLayer`] sets the header when the request has none (a fresh UUID from
//! [`MakeClientRequestId`]) and copies the id onto the response's headers unless the service
//! sent its own. It sits outside the retry layer, so every attempt of one call carries the same
//! id, which lets support correlate them; error messages quote it from the response.
//!
//! Ours rather than tower-http's `SetRequestHeader` over `PropagateRequestId`, which do the same
//! in two layers: those look the header up twice, clone its value twice, and put a `RequestId`
//! into every response's extensions (a map and a box per call) that nothing here reads. Here the
//! id's bytes are shared (one allocation, whatever the number of copies: the request, the retry
//! layer's copy, the response). [`MakeClientRequestId`] still plugs into tower-http's
//! `SetRequestHeader` for stacks that prefer it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::Entry;
use http::{HeaderName, HeaderValue, Request, Response};
use tower::{Layer, Service};
use tower_http::set_header::MakeHeaderValue;

/// The header name.
pub const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");

/// Makes a fresh UUID v4 per call, formatted on the stack (no temporary `String`).
#[derive(Debug, Clone, Copy, Default)]
pub struct MakeClientRequestId;

impl MakeClientRequestId {
    /// A fresh id: its bytes in one shared allocation, so each clone is a reference count.
    fn make() -> Option<HeaderValue> {
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
        HeaderValue::from_maybe_shared(Bytes::from_owner(text)).ok()
    }
}

impl<B> MakeHeaderValue<Request<B>> for MakeClientRequestId {
    fn make_header_value(&mut self, _request: &Request<B>) -> Option<HeaderValue> {
        Self::make()
    }
}

/// Sets `x-ms-client-request-id` on calls that have none and puts it on the response.
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

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestId<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = RequestIdFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        // One lookup: the caller's own id, or a fresh one put in its place.
        let id = match req.headers_mut().entry(CLIENT_REQUEST_ID) {
            Entry::Occupied(e) => Some(e.get().clone()),
            Entry::Vacant(e) => MakeClientRequestId::make().map(|id| e.insert(id).clone()),
        };
        RequestIdFuture {
            inner: self.inner.call(req),
            id,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`RequestId`].
    pub struct RequestIdFuture<F> {
        #[pin]
        inner: F,
        id: Option<HeaderValue>,
    }
}

impl<F, B, E> Future for RequestIdFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = std::task::ready!(this.inner.poll(cx))?;
        // The service's own id wins; otherwise the one that was sent.
        if let (Entry::Vacant(e), Some(id)) =
            (res.headers_mut().entry(CLIENT_REQUEST_ID), this.id.take())
        {
            e.insert(id);
        }
        Poll::Ready(Ok(res))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Response;
    use tower::{Service, ServiceExt};

    /// Answers with the id the request carried in its body, and no header of its own.
    fn echo() -> impl Service<
        Request<()>,
        Response = Response<Option<HeaderValue>>,
        Error = std::convert::Infallible,
    > + Clone {
        tower::service_fn(|req: Request<()>| async move {
            Ok(Response::new(req.headers().get(CLIENT_REQUEST_ID).cloned()))
        })
    }

    #[tokio::test]
    async fn a_fresh_uuid_is_sent_and_put_on_the_response() {
        let res = RequestIdLayer::new()
            .layer(echo())
            .oneshot(Request::new(()))
            .await
            .unwrap();
        let sent = res.body().clone().expect("the request carried an id");
        assert!(uuid::Uuid::parse_str(sent.to_str().unwrap()).is_ok());
        assert_eq!(res.headers().get(CLIENT_REQUEST_ID), Some(&sent));
    }

    #[tokio::test]
    async fn a_callers_own_id_is_kept_and_each_call_gets_its_own() {
        let mut svc = RequestIdLayer::new().layer(echo());
        let mut req = Request::new(());
        req.headers_mut()
            .insert(CLIENT_REQUEST_ID, HeaderValue::from_static("mine-1"));
        let res = svc.ready().await.unwrap().call(req).await.unwrap();
        assert_eq!(res.headers()[CLIENT_REQUEST_ID], "mine-1");
        let a = svc
            .ready()
            .await
            .unwrap()
            .call(Request::new(()))
            .await
            .unwrap();
        let b = svc
            .ready()
            .await
            .unwrap()
            .call(Request::new(()))
            .await
            .unwrap();
        assert_ne!(
            a.headers()[CLIENT_REQUEST_ID],
            b.headers()[CLIENT_REQUEST_ID]
        );
    }

    #[tokio::test]
    async fn the_services_own_id_wins_on_the_response() {
        let svc = tower::service_fn(|_req: Request<()>| async {
            let mut res = Response::new(());
            res.headers_mut()
                .insert(CLIENT_REQUEST_ID, HeaderValue::from_static("theirs"));
            Ok::<_, std::convert::Infallible>(res)
        });
        let res = RequestIdLayer::new()
            .layer(svc)
            .oneshot(Request::new(()))
            .await
            .unwrap();
        assert_eq!(res.headers()[CLIENT_REQUEST_ID], "theirs");
    }
}
