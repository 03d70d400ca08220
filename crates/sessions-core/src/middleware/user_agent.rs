//! Sets `User-Agent: [<product> ]sessions-core/<version> (Language=Rust)` on requests that have none.
//!
//! ```
//! use sessions_core::middleware::user_agent::UserAgentLayer;
//! let layer = UserAgentLayer::with_product("dynsess/0.1.0").unwrap();
//! assert!(layer.value().to_str().unwrap().starts_with("dynsess/0.1.0 sessions-core/"));
//! ```

use std::task::{Context, Poll};

use http::header::USER_AGENT;
use http::{HeaderValue, Request};
use tower::{Layer, Service};

use crate::error::Error;

/// This crate's own product token: `sessions-core/<version> (Language=Rust)`.
pub fn default_user_agent() -> String {
    format!(
        "{}/{} (Language=Rust)",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION")
    )
}

/// Adds the `User-Agent` header unless the request already has one.
#[derive(Debug, Clone)]
pub struct UserAgentLayer {
    value: HeaderValue,
}

impl Default for UserAgentLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl UserAgentLayer {
    /// Our own product token only.
    pub fn new() -> Self {
        // The crate name and version are plain ASCII, so this never fails.
        let value = HeaderValue::from_str(&default_user_agent())
            .unwrap_or_else(|_| HeaderValue::from_static("sessions-core"));
        UserAgentLayer { value }
    }

    /// `product` (e.g. `"dynsess/0.1.0"`) followed by our product token.
    pub fn with_product(product: &str) -> Result<Self, Error> {
        let product = product.trim();
        if product.is_empty() {
            return Ok(Self::new());
        }
        let value = HeaderValue::from_str(&format!("{product} {}", default_user_agent())).map_err(
            |_| Error::invalid(format!("the user agent {product:?} must be visible ASCII")),
        )?;
        Ok(UserAgentLayer { value })
    }

    /// The header value that will be sent.
    pub fn value(&self) -> &HeaderValue {
        &self.value
    }
}

impl<S> Layer<S> for UserAgentLayer {
    type Service = UserAgent<S>;
    fn layer(&self, inner: S) -> UserAgent<S> {
        UserAgent {
            inner,
            value: self.value.clone(),
        }
    }
}

/// The service of [`UserAgentLayer`].
#[derive(Debug, Clone)]
pub struct UserAgent<S> {
    inner: S,
    value: HeaderValue,
}

impl<S, B> Service<Request<B>> for UserAgent<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        req.headers_mut()
            .entry(USER_AGENT)
            .or_insert_with(|| self.value.clone());
        self.inner.call(req)
    }
}
