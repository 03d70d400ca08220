//! Custom-container pools: any request, passed through to the session's container.

use http::header::CONTENT_LENGTH;
use http::{Method, Request};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

use super::{Target, parse_uri, push_component};
use crate::error::{Error, Result};
use crate::transport::{Body, Operation};

/// Characters encoded in a caller-supplied pass-through path: only those a URI cannot hold
/// (`%`, `/`, `?`, `&`, `=` and the other delimiters keep their meaning).
const LOOSE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']')
    .add(b'\\');

/// A custom-container pass-through request: `endpoint + path`, keeping any query in `path` and
/// adding `identifier` (no `api-version`: the container defines its own API).
///
/// `path` must be relative to the endpoint (a leading `/` is allowed and means the same), must not
/// contain `..` segments (even percent-encoded), a fragment, `\` or control characters, and must
/// not set `identifier` itself. Characters a URI cannot hold (space, non-ASCII, …) are
/// percent-encoded; existing `%XX` escapes are kept.
pub(crate) fn request(
    t: Target<'_>,
    method: Method,
    path: &str,
    body: Body,
) -> Result<Request<Body>> {
    let identifier = t.identifier()?;
    let bad = |why: &str| Error::invalid(format!("the pass-through path {path:?} {why}"));
    if path.contains("://") || path.starts_with("//") {
        return Err(bad("must be relative to the pool endpoint"));
    }
    if path.chars().any(char::is_control) || path.contains('\\') || path.contains('#') {
        return Err(bad(
            "must not contain control characters, `\\` or a fragment",
        ));
    }
    check_percent_escapes(path)
        .map_err(|()| bad("has a `%` that is not followed by two hex digits"))?;
    let path = path.strip_prefix('/').unwrap_or(path);
    let (p, q) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    for segment in p.split('/') {
        let decoded = percent_decode_str(segment).decode_utf8_lossy();
        if decoded == ".." || decoded == "." {
            return Err(bad("must not contain `.` or `..` segments"));
        }
    }
    let mut url = format!("{}{}?", t.endpoint.as_str(), utf8_percent_encode(p, LOOSE));
    if let Some(q) = q.filter(|q| !q.is_empty()) {
        let sets_identifier = q.split('&').any(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            percent_decode_str(key).decode_utf8_lossy() == "identifier"
        });
        if sets_identifier {
            return Err(bad(
                "sets `identifier`; the session's identifier is added automatically",
            ));
        }
        url.push_str(&utf8_percent_encode(q, LOOSE).to_string());
        url.push('&');
    }
    url.push_str("identifier=");
    push_component(&mut url, identifier);
    let operation = if method.is_idempotent() {
        Operation::idempotent("passthrough")
    } else {
        Operation::not_idempotent("passthrough")
    };
    let len = body.content_length();
    let mut builder = Request::builder().method(method).uri(parse_uri(url)?);
    if let Some(n) = len.filter(|n| *n > 0) {
        builder = builder.header(CONTENT_LENGTH, n);
    }
    let mut request = builder
        .body(body)
        .map_err(|e| Error::invalid(format!("could not build the request: {e}")))?;
    request.extensions_mut().insert(operation);
    Ok(request)
}

fn check_percent_escapes(s: &str) -> std::result::Result<(), ()> {
    let b = s.as_bytes();
    for (i, _) in s.match_indices('%') {
        let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
        if !(hex(i + 1) && hex(i + 2)) {
            return Err(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ops::testing::{current, invalid, snap};

    #[tokio::test]
    async fn snapshots() {
        let t = current();
        snap!(
            "current_passthrough_post",
            request(
                t,
                Method::POST,
                "/api/run job?verbose=1&x=a b",
                Body::from(r#"{"x":1}"#)
            )
        );
        snap!(
            "current_passthrough_get",
            request(t, Method::GET, "health", Body::empty())
        );
    }

    #[test]
    fn paths_stay_under_the_endpoint() {
        let t = current();
        for path in [
            "../x",
            "a/%2e%2e/b",
            "https://evil.example/x",
            "//evil/x",
            "a#frag",
            "a?identifier=x",
            "a%zz",
        ] {
            invalid(request(t, Method::GET, path, Body::empty()));
        }
    }
}
