//! The `Host` header of a plain-http request, set as hyper-util would set it, at less cost.
//!
//! hyper-util's client adds `Host` to every HTTP/1 request that has none: the URI's host, plus
//! `:port` when the port is not the scheme's default, built with `format!` and two parses of the
//! port per request. For a plain-http request with a port (the local pool on loopback) that
//! value is exactly the URI's authority, so it is made from there once per authority and
//! reused. The header lands
//! where hyper-util would put it (appended after the others, only when absent), so the bytes on
//! the wire are the same.
//!
//! Only plain `http`: it is always HTTP/1 here (no ALPN, so never HTTP/2, where hyper-util adds
//! no `Host`). Anything else (https, userinfo, a bracketed IPv6 host, port 80, an empty port)
//! is left to hyper-util.

use std::sync::Mutex;

use http::header::{Entry, HOST};
use http::uri::Scheme;
use http::{HeaderValue, Request, Uri};

/// The last `Host` value made, by authority: a client talks to one pool, so the value is made
/// once and then cloned (a reference count) instead of copied and validated per request.
#[derive(Debug, Default)]
pub(crate) struct HostCache {
    last: Mutex<Option<(Box<str>, HeaderValue)>>,
}

impl HostCache {
    /// Set `Host` on a plain-http request whose authority is `host:port` with a non-default
    /// port, unless the request already has one.
    pub(crate) fn set_host<B>(&self, request: &mut Request<B>) {
        let Some(value) = plain_http_authority(request.uri()).and_then(|a| self.value(a)) else {
            return;
        };
        if let Entry::Vacant(e) = request.headers_mut().entry(HOST) {
            e.insert(value);
        }
    }

    fn value(&self, authority: &str) -> Option<HeaderValue> {
        // A poisoned lock only means another thread panicked mid-update: leave it to hyper-util.
        let mut last = self.last.lock().ok()?;
        if let Some((text, value)) = last.as_ref()
            && **text == *authority
        {
            return Some(value.clone());
        }
        let value = HeaderValue::from_str(authority).ok()?;
        *last = Some((authority.into(), value.clone()));
        Some(value)
    }
}

/// The authority of a plain-http URI when it is the very `Host` value hyper-util would make:
/// no userinfo, no bracketed IPv6 host, and a port written canonically (no leading zero: the
/// value carries the port as a number) that is not 80 (hyper-util leaves that out).
fn plain_http_authority(uri: &Uri) -> Option<&str> {
    if uri.scheme() != Some(&Scheme::HTTP) {
        return None;
    }
    let authority = uri.authority()?.as_str();
    let bytes = authority.as_bytes();
    let mut colon = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'@' | b'[' => return None,
            b':' => colon = Some(i),
            _ => {}
        }
    }
    let colon = colon?;
    let port = &bytes[colon + 1..];
    let canonical = colon > 0
        && matches!(port, [b'1'..=b'9', ..])
        && port.iter().all(u8::is_ascii_digit)
        && port.len() <= 5;
    let number = std::str::from_utf8(port).ok()?.parse::<u16>().ok();
    (canonical && number.is_some_and(|n| n != 80)).then_some(authority)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http_body_util::Full;
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    fn host_for(uri: &str) -> Option<String> {
        let mut req = Request::new(());
        *req.uri_mut() = uri.parse().unwrap();
        HostCache::default().set_host(&mut req);
        req.headers()
            .get(HOST)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn only_plain_http_with_a_non_default_port_is_set_here() {
        assert_eq!(
            host_for("http://127.0.0.1:8080/x?y=1").as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(
            host_for("http://localhost:1/").as_deref(),
            Some("localhost:1")
        );
        for left_to_hyper_util in [
            "http://localhost/x",
            "http://localhost:80/x",
            "http://localhost:080/x",
            "http://localhost:08080/x",
            "https://x.io:8443/x",
            "http://[::1]:8080/x",
            "http://u@localhost:8080/x",
            "/relative",
        ] {
            assert_eq!(host_for(left_to_hyper_util), None, "{left_to_hyper_util}");
        }
        let mut req = Request::new(());
        *req.uri_mut() = "http://127.0.0.1:8080/".parse().unwrap();
        req.headers_mut()
            .insert(HOST, HeaderValue::from_static("mine"));
        HostCache::default().set_host(&mut req);
        assert_eq!(req.headers()[HOST], "mine");
        // One cache, several authorities: each request gets its own.
        let cache = HostCache::default();
        for uri in ["http://a:1/", "http://b:2/", "http://a:1/", "http://a:11/"] {
            let mut req = Request::new(());
            *req.uri_mut() = uri.parse().unwrap();
            cache.set_host(&mut req);
            let want = uri.trim_start_matches("http://").trim_end_matches('/');
            assert_eq!(req.headers()[HOST], want);
        }
    }

    /// The bytes a loopback server receives for one request.
    async fn received<F: Future<Output = ()>>(send: impl FnOnce(String) -> F) -> Vec<u8> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/executions?api-version=v",
            listener.local_addr().unwrap()
        );
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            // Headers and the 2-byte body: read until the body is in.
            while !got.ends_with(b"\r\n\r\n{}") {
                let n = socket.read(&mut buf).await.unwrap();
                assert!(n > 0, "the client closed early");
                got.extend_from_slice(&buf[..n]);
            }
            socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .await
                .unwrap();
            got
        });
        tokio::time::timeout(std::time::Duration::from_secs(10), send(url))
            .await
            .unwrap();
        server.await.unwrap()
    }

    fn request(url: &str) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(Bytes::from_static(b"{}")));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = url.parse().unwrap();
        let h = req.headers_mut();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert("x-ms-client-request-id", HeaderValue::from_static("id"));
        req
    }

    #[tokio::test]
    async fn the_wire_bytes_are_hyper_utils_own() {
        let client: Client<_, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build(HttpConnector::new());
        let theirs = received(|url| {
            let sent = client.request(request(&url));
            async move {
                sent.await.unwrap();
            }
        })
        .await;
        let ours = received(|url| {
            let mut req = request(&url);
            HostCache::default().set_host(&mut req);
            let sent = client.request(req);
            async move {
                sent.await.unwrap();
            }
        })
        .await;
        let text = String::from_utf8_lossy(&ours);
        assert!(text.contains("\r\nhost: 127.0.0.1:"), "{text}");
        // The port differs between the two servers; everything else is byte for byte.
        let without_port = |raw: &[u8]| {
            let text = String::from_utf8_lossy(raw).into_owned();
            let start = text.find("host: 127.0.0.1:").unwrap() + "host: 127.0.0.1:".len();
            let end = start + text[start..].find("\r\n").unwrap();
            format!("{}PORT{}", &text[..start], &text[end..])
        };
        assert_eq!(without_port(&ours), without_port(&theirs));
    }
}
