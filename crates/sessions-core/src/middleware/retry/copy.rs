//! The one copy of a request that any resend needs (a retry, or the auth layer's 401 resend).
//!
//! It keeps the parts — method, URI, version, headers and a replay of the body — and, when every
//! extension of the request is one of ours (all `Copy`: [`Operation`], [`Deadline`],
//! [`OverallTimeout`], [`AttemptTimeout`]), those values instead of a clone of the extensions
//! map: the map and its boxed values are then built only for an actual resend. A request with any
//! other extension (a caller's own) has its whole map cloned, so a resend always carries exactly
//! the extensions the first attempt had.

use http::{Extensions, HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version};

use crate::middleware::deadline::{Deadline, OverallTimeout};
use crate::middleware::timeout::AttemptTimeout;
use crate::transport::{Body, Operation};

/// A request kept for a resend.
pub(crate) struct RequestCopy {
    method: Method,
    uri: Uri,
    version: Version,
    /// In the map's order, repeated names included: one allocation where the map's clone makes
    /// two (its index and its entries); the map is rebuilt only for a resend.
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Body,
    extensions: CopiedExtensions,
}

#[derive(Clone)]
enum CopiedExtensions {
    /// Every extension was one of these (each `None` when absent).
    Ours {
        operation: Option<Operation>,
        deadline: Option<Deadline>,
        overall: Option<OverallTimeout>,
        attempt: Option<AttemptTimeout>,
    },
    /// Some other extension was there too: the whole map.
    All(Extensions),
}

impl CopiedExtensions {
    fn of(ext: &Extensions) -> Self {
        let operation = ext.get::<Operation>().copied();
        let deadline = ext.get::<Deadline>().copied();
        let overall = ext.get::<OverallTimeout>().copied();
        let attempt = ext.get::<AttemptTimeout>().copied();
        let ours = [
            operation.is_some(),
            deadline.is_some(),
            overall.is_some(),
            attempt.is_some(),
        ];
        if ours.iter().filter(|&&found| found).count() == ext.len() {
            CopiedExtensions::Ours {
                operation,
                deadline,
                overall,
                attempt,
            }
        } else {
            CopiedExtensions::All(ext.clone())
        }
    }

    fn into_extensions(self) -> Extensions {
        match self {
            CopiedExtensions::All(ext) => ext,
            CopiedExtensions::Ours {
                operation,
                deadline,
                overall,
                attempt,
            } => {
                let mut ext = Extensions::new();
                operation.map(|v| ext.insert(v));
                deadline.map(|v| ext.insert(v));
                overall.map(|v| ext.insert(v));
                attempt.map(|v| ext.insert(v));
                ext
            }
        }
    }
}

impl RequestCopy {
    /// A copy of `req`, or `None` when its body is a one-shot stream. Call it before the
    /// request is sent.
    pub(crate) fn of(req: &Request<Body>) -> Option<Self> {
        Some(RequestCopy {
            body: req.body().try_clone()?,
            method: req.method().clone(),
            uri: req.uri().clone(),
            version: req.version(),
            headers: req
                .headers()
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            extensions: CopiedExtensions::of(req.extensions()),
        })
    }

    /// Another copy of this one (for a further resend).
    pub(crate) fn try_clone(&self) -> Option<Self> {
        Some(RequestCopy {
            body: self.body.try_clone()?,
            method: self.method.clone(),
            uri: self.uri.clone(),
            version: self.version,
            headers: self.headers.clone(),
            extensions: self.extensions.clone(),
        })
    }

    /// The request to send again.
    pub(crate) fn into_request(self) -> Request<Body> {
        let mut req = Request::new(self.body);
        *req.method_mut() = self.method;
        *req.uri_mut() = self.uri;
        *req.version_mut() = self.version;
        let mut headers = HeaderMap::with_capacity(self.headers.len());
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        *req.headers_mut() = headers;
        *req.extensions_mut() = self.extensions.into_extensions();
        req
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn original() -> Request<Body> {
        let mut req = Request::new(Body::from("{\"code\":\"1+1\"}"));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = "http://127.0.0.1:1/executions?api-version=v&identifier=a"
            .parse()
            .unwrap();
        *req.version_mut() = Version::HTTP_10;
        req.headers_mut()
            .insert("x-ms-client-request-id", "id-1".parse().unwrap());
        // A repeated name keeps its values in order, and a sensitive value stays sensitive.
        req.headers_mut().append("x-multi", "b".parse().unwrap());
        req.headers_mut().append("x-multi", "a".parse().unwrap());
        let mut secret = http::HeaderValue::from_static("Bearer t");
        secret.set_sensitive(true);
        req.headers_mut()
            .insert(http::header::AUTHORIZATION, secret);
        req.extensions_mut()
            .insert(Operation::not_idempotent("execute"));
        req.extensions_mut()
            .insert(Deadline(tokio::time::Instant::now()));
        req.extensions_mut()
            .insert(AttemptTimeout(Duration::from_secs(3)));
        req
    }

    fn assert_same_parts(a: &Request<Body>, b: &Request<Body>) {
        assert_eq!(a.method(), b.method());
        assert_eq!(a.uri(), b.uri());
        assert_eq!(a.version(), b.version());
        assert_eq!(a.headers(), b.headers());
        let multi: Vec<_> = b.headers().get_all("x-multi").iter().collect();
        assert_eq!(multi, ["b", "a"]);
        assert!(b.headers()[http::header::AUTHORIZATION].is_sensitive());
        assert_eq!(a.body().as_bytes(), b.body().as_bytes());
        assert_eq!(a.extensions().len(), b.extensions().len());
        assert_eq!(
            a.extensions().get::<Operation>(),
            b.extensions().get::<Operation>()
        );
        assert_eq!(
            a.extensions().get::<Deadline>(),
            b.extensions().get::<Deadline>()
        );
        assert_eq!(
            a.extensions().get::<AttemptTimeout>(),
            b.extensions().get::<AttemptTimeout>()
        );
        assert!(b.extensions().get::<OverallTimeout>().is_none());
    }

    #[test]
    fn a_resend_carries_the_same_parts_and_extensions() {
        let req = original();
        let copy = RequestCopy::of(&req).unwrap();
        assert!(matches!(copy.extensions, CopiedExtensions::Ours { .. }));
        let again = copy.try_clone().unwrap();
        assert_same_parts(&req, &copy.into_request());
        assert_same_parts(&req, &again.into_request());
    }

    #[test]
    fn a_foreign_extension_keeps_the_whole_map() {
        #[derive(Debug, Clone, PartialEq)]
        struct Mine(&'static str);
        let mut req = original();
        req.extensions_mut().insert(Mine("kept"));
        let copy = RequestCopy::of(&req).unwrap();
        assert!(matches!(copy.extensions, CopiedExtensions::All(_)));
        let resent = copy.into_request();
        assert_same_parts(&req, &resent);
        assert_eq!(resent.extensions().get::<Mine>(), Some(&Mine("kept")));
    }

    #[test]
    fn a_one_shot_body_has_no_copy() {
        let stream = futures_util::stream::once(async { Ok(bytes::Bytes::from_static(b"x")) });
        let req = Request::new(Body::stream(Box::pin(stream), Some(1)));
        assert!(RequestCopy::of(&req).is_none());
    }
}
