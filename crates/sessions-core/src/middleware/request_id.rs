//! `x-ms-client-request-id`: a UUID v4 per call, with tower-http doing the work.
//!
//! [`RequestIdLayer`] is tower-http's [`SetRequestHeader`] (sets the header when the request has
//! none, with a fresh UUID from [`MakeClientRequestId`]) over its [`PropagateRequestId`]
//! (copies the id onto the response's headers unless the service sent its own). It sits outside
//! the retry layer, so every attempt of one call carries the same id, which lets support
//! correlate them; error messages quote it from the response.
//!
//! `SetRequestHeader` rather than tower-http's `SetRequestId`: that one also stores the id in the
//! request's extensions, which the retry layer's copy would then clone on every call, and nothing
//! here reads it.

use http::{HeaderName, HeaderValue, Request};
use tower::Layer;
use tower_http::request_id::PropagateRequestId;
use tower_http::set_header::{MakeHeaderValue, SetRequestHeader};

/// The header name.
pub const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");

/// Makes a fresh UUID v4 per call, formatted on the stack (no temporary `String`).
#[derive(Debug, Clone, Copy, Default)]
pub struct MakeClientRequestId;

impl<B> MakeHeaderValue<Request<B>> for MakeClientRequestId {
    fn make_header_value(&mut self, _request: &Request<B>) -> Option<HeaderValue> {
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
        HeaderValue::from_str(text).ok()
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
        SetRequestHeader::if_not_present(
            PropagateRequestId::new(inner, CLIENT_REQUEST_ID),
            CLIENT_REQUEST_ID,
            MakeClientRequestId,
        )
    }
}

/// The service of [`RequestIdLayer`]: tower-http's `SetRequestHeader` over `PropagateRequestId`.
pub type RequestId<S> = SetRequestHeader<PropagateRequestId<S>, MakeClientRequestId>;

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
