//! Adds `Authorization: Bearer <token>` from a [`TokenCache`], and on a 401 drops the token,
//! fetches a new one and sends the request once more.
//!
//! The header value is marked sensitive, so `Debug` output and tracing of headers print
//! `Sensitive` instead of the token.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::AUTHORIZATION;
use http::{Request, Response, StatusCode};
use tower::{Layer, Service, ServiceExt};

use super::{ResponseFuture, try_clone_request};
use crate::auth::TokenCache;
use crate::error::BoxError;
use crate::transport::{Body, ResponseBody};

/// Authenticates requests with bearer tokens.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    cache: Arc<TokenCache>,
}

impl AuthLayer {
    /// Use tokens from `cache`.
    pub fn new(cache: Arc<TokenCache>) -> Self {
        AuthLayer { cache }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;
    fn layer(&self, inner: S) -> Auth<S> {
        Auth {
            inner,
            cache: self.cache.clone(),
        }
    }
}

/// The service of [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct Auth<S> {
    inner: S,
    cache: Arc<TokenCache>,
}

impl<S> Service<Request<Body>> for Auth<S>
where
    S: Service<Request<Body>, Response = Response<ResponseBody>, Error = BoxError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<ResponseBody>;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> ResponseFuture {
        // Use the service that was polled ready (leaving a clone behind); the same service is
        // driven ready again for the one 401 resend.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let cache = self.cache.clone();
        Box::pin(async move {
            let header = cache.header().await?;
            // Keep a copy before sending: a buffered body is consumed by the send.
            let again = try_clone_request(&req);
            req.headers_mut().insert(AUTHORIZATION, header.clone());
            let res = inner.call(req).await?;
            if res.status() != StatusCode::UNAUTHORIZED {
                return Ok(res);
            }
            cache.invalidate_if(&header);
            // A 401 means the service rejected the request before processing it, so sending it
            // again is safe even for code runs and uploads ("never run code twice" holds). Only
            // once, and only with a different token: the same token would be rejected again.
            let Some(mut again) = again else {
                return Ok(res);
            };
            let fresh = cache.header().await?;
            if fresh == header {
                return Ok(res);
            }
            drop(res);
            tracing::debug!("401: retrying once with a new token");
            again.headers_mut().insert(AUTHORIZATION, fresh);
            inner.ready().await?.call(again).await
        })
    }
}
