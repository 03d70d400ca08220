//! [`Client`]: a cheap-to-clone handle on the middleware stack, the pool endpoint and the
//! api-version. This file only sends requests; the typed operations (sessions, the pool) are
//! in [`crate::api`], the builder in `builder.rs`, so neither layer imports the other.

use std::fmt;
use std::sync::Arc;

use http_body_util::BodyExt;

use crate::api_version::ApiVersion;
use crate::endpoint::Endpoint;
use crate::error::{BoxError, Error, Result};
use crate::transport::{Body, HttpService, ResponseBody, ResponseFuture};

/// A client for one session pool.
///
/// Cheap to clone (an `Arc`); share it freely between tasks. Build one with
/// [`Client::builder`](crate::ClientBuilder), or wrap a completely custom tower service with
/// [`Client::new`].
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    service: HttpService,
    endpoint: Endpoint,
    api_version: ApiVersion,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("api_version", &self.inner.api_version)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Wrap any tower service that speaks `http::Request<Body>` → `http::Response<B>`.
    ///
    /// Nothing is added: no auth, retry or timeouts. Use this to run a completely custom stack
    /// (for example the default layers rebuilt with one swapped; see [`crate::middleware`]).
    pub fn new<S, B>(service: S, endpoint: Endpoint, api_version: ApiVersion) -> Self
    where
        S: tower::Service<http::Request<Body>, Response = http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        use tower::ServiceExt;
        let service = service
            .map_response(|res: http::Response<B>| {
                res.map(|b| b.map_err(Into::into).boxed_unsync())
            })
            .map_err(Into::into);
        Self::from_service(HttpService::new(service), endpoint, api_version)
    }

    /// Wrap an already boxed service.
    pub fn from_service(service: HttpService, endpoint: Endpoint, api_version: ApiVersion) -> Self {
        Client {
            inner: Arc::new(Inner {
                service,
                endpoint,
                api_version,
            }),
        }
    }

    /// The pool management endpoint (always ends with `/`).
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// The api-version sent on every request.
    pub fn api_version(&self) -> ApiVersion {
        self.inner.api_version
    }

    /// A copy of this client that uses another api-version (shares the same stack).
    pub fn with_api_version(&self, api_version: ApiVersion) -> Client {
        Client::from_service(
            self.inner.service.clone(),
            self.inner.endpoint.clone(),
            api_version,
        )
    }

    /// The boxed service (to reuse the stack elsewhere).
    pub fn service(&self) -> HttpService {
        self.inner.service.clone()
    }

    /// Hand a request to the stack: it moves into the call's one boxed future at once.
    pub(crate) fn service_send(&self, request: http::Request<Body>) -> ResponseFuture {
        self.inner.service.send(request)
    }

    /// Send a request through the stack and return the response, whatever its status.
    ///
    /// Errors from the stack are turned back into typed [`Error`]s.
    pub async fn send(&self, request: http::Request<Body>) -> Result<http::Response<ResponseBody>> {
        self.inner
            .service
            .send(request)
            .await
            .map_err(Error::from_box)
    }
}
