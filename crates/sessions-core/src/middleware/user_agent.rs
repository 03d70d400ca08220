//! Sets `User-Agent: [<product> ]sessions-core/<version> (Language=Rust)` on requests that have none.
//!
//! ```
//! use sessions_core::middleware::user_agent::UserAgentLayer;
//! let layer = UserAgentLayer::with_product("dynsess/0.1.0").unwrap();
//! assert!(layer.value().to_str().unwrap().starts_with("dynsess/0.1.0 sessions-core/"));
//! ```

use http::HeaderValue;
use http::header::USER_AGENT;
use tower::Layer;
use tower_http::set_header::SetRequestHeader;

use crate::error::Error;

const DEFAULT_USER_AGENT: &str = concat!(
    env!("CARGO_PKG_NAME"),
    "/",
    env!("CARGO_PKG_VERSION"),
    " (Language=Rust)"
);

/// This crate's own product token: `sessions-core/<version> (Language=Rust)`.
pub fn default_user_agent() -> String {
    DEFAULT_USER_AGENT.to_owned()
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
        // Static, so each call's copy (and the retry layer's) is not a reference count.
        UserAgentLayer {
            value: HeaderValue::from_static(DEFAULT_USER_AGENT),
        }
    }

    /// `product` (e.g. `"dynsess/0.1.0"`) followed by our product token.
    pub fn with_product(product: &str) -> Result<Self, Error> {
        let product = product.trim();
        if product.is_empty() {
            return Ok(Self::new());
        }
        let value =
            HeaderValue::from_str(&format!("{product} {DEFAULT_USER_AGENT}")).map_err(|_| {
                Error::invalid(format!("the user agent {product:?} must be visible ASCII"))
            })?;
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
        SetRequestHeader::if_not_present(inner, USER_AGENT, self.value.clone())
    }
}

/// The service of [`UserAgentLayer`]: tower-http's `SetRequestHeader`, which leaves a caller's
/// own `User-Agent` alone.
pub type UserAgent<S> = SetRequestHeader<S, HeaderValue>;

#[cfg(test)]
mod tests {
    use super::*;
    use http::Request;
    use tower::Service;
    use tower::ServiceExt;

    fn echo_user_agent() -> impl Service<
        Request<()>,
        Response = http::Response<Option<HeaderValue>>,
        Error = std::convert::Infallible,
    > {
        tower::service_fn(|req: Request<()>| async move {
            Ok(http::Response::new(req.headers().get(USER_AGENT).cloned()))
        })
    }

    #[tokio::test]
    async fn sets_ours_with_the_product_first() {
        let layer = UserAgentLayer::with_product("app/1").unwrap();
        let sent = layer
            .layer(echo_user_agent())
            .oneshot(Request::new(()))
            .await;
        let sent = sent.unwrap().into_body().unwrap();
        assert_eq!(
            sent.to_str().unwrap(),
            format!("app/1 {}", default_user_agent())
        );
    }

    #[tokio::test]
    async fn keeps_a_callers_own() {
        let mut req = Request::new(());
        req.headers_mut()
            .insert(USER_AGENT, HeaderValue::from_static("mine/2"));
        let sent = UserAgentLayer::new()
            .layer(echo_user_agent())
            .oneshot(req)
            .await;
        assert_eq!(sent.unwrap().into_body().unwrap(), "mine/2");
    }

    #[test]
    fn rejects_a_product_that_is_not_a_header_value() {
        assert!(UserAgentLayer::with_product("bad\nvalue").is_err());
    }
}
