//! Following `nextLink` pages, shared by every list operation.

use std::collections::HashSet;

use http::Request;

use super::send_json;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::transport::Body;

/// The most pages followed before giving up (a guard against a service that never ends a list).
const MAX_PAGES: usize = 1000;

/// Send `first`, decode each page with `decode`, and follow `nextLink`s built by `next` until a
/// page has none. A repeated link or more than [`MAX_PAGES`] pages is a decode error rather than
/// an endless loop.
pub(crate) async fn collect_pages<T>(
    client: &Client,
    first: Request<Body>,
    what: &str,
    decode: impl Fn(&[u8]) -> Result<(Vec<T>, Option<String>)>,
    next: impl Fn(&str) -> Result<Request<Body>>,
) -> Result<Vec<T>> {
    let mut req = first;
    let mut all = Vec::new();
    let mut seen_links = HashSet::new();
    for _ in 0..MAX_PAGES {
        let (_, body) = send_json(client, req).await?;
        let (page, link) = decode(&body)?;
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
