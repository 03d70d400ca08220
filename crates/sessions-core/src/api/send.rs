//! The one place the typed API sends: a built request goes through the [`Client`]'s stack, a
//! non-2xx answer becomes an [`Error::Api`], and a body is read up to its cap for the
//! operation's pure decoder. Lists follow their pages here too.

use std::collections::HashSet;

use bytes::{Bytes, BytesMut};
use http::{Request, Response};
use http_body_util::BodyExt;

use super::error_body::{MAX_ERROR_BODY, api_error};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::transport::{Body, ResponseBody};

/// The largest JSON body the typed API reads (image results can be large; files are streamed).
const MAX_JSON_BODY: usize = 32 * 1024 * 1024;

/// The most pages followed before giving up (a guard against a service that never ends a list).
const MAX_PAGES: usize = 1000;

/// Send a request; any non-2xx answer becomes an [`Error::Api`]. The body is left unread (for
/// downloads).
///
/// Not an `async fn`: the request goes into the stack's one boxed future before this returns,
/// so the futures above hold only that box and no copy of the request moves with them.
pub(crate) fn send(
    client: &Client,
    request: Request<Body>,
) -> impl Future<Output = Result<Response<ResponseBody>>> + use<> {
    let response = client.service_send(request);
    async move {
        let response = response.await.map_err(Error::from_box)?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(error_from_response(response).await)
        }
    }
}

/// Send a request, read its body (at most 32 MiB) and decode it with `decode` (sent at once,
/// as by [`send`]).
pub(crate) fn call<T>(
    client: &Client,
    request: Request<Body>,
    decode: impl FnOnce(&http::response::Parts, &[u8]) -> Result<T>,
) -> impl Future<Output = Result<T>> {
    let response = send(client, request);
    async move {
        let (parts, body) = read_body(response.await?).await?;
        decode(&parts, &body)
    }
}

/// Send `first`, decode each page with `decode`, and follow the links built by `next` until a
/// page has none. A repeated link or more than [`MAX_PAGES`] pages is a decode error rather than
/// an endless loop.
pub(crate) async fn pages<T>(
    client: &Client,
    first: Request<Body>,
    what: &str,
    mut decode: impl FnMut(&[u8]) -> Result<(Vec<T>, Option<String>)>,
    next: impl Fn(&str) -> Result<Request<Body>>,
) -> Result<Vec<T>> {
    let mut req = first;
    let mut all = Vec::new();
    let mut seen_links = HashSet::new();
    for _ in 0..MAX_PAGES {
        let (page, link) = call(client, req, |_, body| decode(body)).await?;
        all.extend(page);
        let Some(link) = link else { return Ok(all) };
        if !seen_links.insert(link.clone()) {
            return Err(Error::decode(
                format!("the {what}'s nextLink repeats"),
                link.as_bytes(),
                None,
            ));
        }
        req = next(&link)?;
    }
    Err(Error::decode(
        format!("the {what} has more than {MAX_PAGES} pages"),
        b"",
        None,
    ))
}

/// Read at most `limit` bytes of a body; the flag says whether more was left unread.
pub(crate) async fn read_capped(mut body: ResponseBody, limit: usize) -> Result<(Bytes, bool)> {
    // A body of one frame (the usual JSON answer) is returned as is, without a copy.
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(Error::from_box)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let held = first.as_ref().map_or(0, Bytes::len) + buf.len();
        let room = limit - held;
        if let Some(f) = first.take() {
            buf.reserve(f.len() + data.len().min(room));
            buf.extend_from_slice(&f);
        } else if buf.is_empty() && data.len() <= room {
            first = Some(data);
            continue;
        }
        if data.len() > room {
            buf.extend_from_slice(&data[..room]);
            return Ok((buf.freeze(), true));
        }
        buf.extend_from_slice(&data);
    }
    Ok((first.unwrap_or_else(|| buf.freeze()), false))
}

/// Read a whole JSON body of a successful response, refusing bodies over [`MAX_JSON_BODY`].
async fn read_body(response: Response<ResponseBody>) -> Result<(http::response::Parts, Bytes)> {
    let (parts, body) = response.into_parts();
    let (bytes, truncated) = read_capped(body, MAX_JSON_BODY).await?;
    if truncated {
        return Err(Error::decode(
            format!("the response body is larger than {MAX_JSON_BODY} bytes"),
            &bytes,
            None,
        ));
    }
    Ok((parts, bytes))
}

/// Turn a non-2xx response into an [`Error::Api`], reading at most 64 KiB of its body.
async fn error_from_response(response: Response<ResponseBody>) -> Error {
    let (parts, body) = response.into_parts();
    // A body that fails mid-way still leaves the status and headers worth reporting.
    let bytes = read_capped(body, MAX_ERROR_BODY)
        .await
        .map(|(b, _)| b)
        .unwrap_or_default();
    // The request-id layer copies the id it sent onto the response, where `api_error` finds it.
    api_error(parts.status, &parts.headers, &bytes).into()
}
