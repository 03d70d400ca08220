//! `GET <nextLink>`: the next page of any list.

use http::{Method, Request};

use super::{Target, empty_request, encode_component, parse_uri};
use crate::error::{Error, Result};
use crate::transport::{Body, Operation};
use crate::validate;

/// `GET <nextLink>`: the next page of a list. The link may be absolute or relative to the
/// endpoint but must stay on the endpoint's origin (the token must not leak elsewhere);
/// `api-version` and `identifier` are added when the link lacks them.
pub(crate) fn next(t: Target<'_>, next_link: &str, operation: Operation) -> Result<Request<Body>> {
    let base = t.endpoint.url();
    let mut url = base.join(next_link).map_err(|e| {
        Error::decode(
            format!("the nextLink is not a URL ({e})"),
            next_link.as_bytes(),
            None,
        )
    })?;
    if url.scheme() != base.scheme()
        || url.host() != base.host()
        || url.port_or_known_default() != base.port_or_known_default()
    {
        return Err(Error::decode(
            "the nextLink points to another host than the pool endpoint; refusing to send the token there",
            next_link.as_bytes(),
            None,
        ));
    }
    url.set_fragment(None);
    let has = |key: &str| url.query_pairs().any(|(k, _)| k == key);
    let mut extra = Vec::new();
    if !has("api-version") {
        extra.push(format!("api-version={}", t.api_version.as_str()));
    }
    if let Some(id) = t.identifier
        && !has("identifier")
    {
        validate::validate_identifier(id)?;
        extra.push(format!("identifier={}", encode_component(id)));
    }
    let mut s = url.to_string();
    if !extra.is_empty() {
        s.push(if url.query().is_some() { '&' } else { '?' });
        s.push_str(&extra.join("&"));
    }
    empty_request(Method::GET, parse_uri(s)?, operation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ops::testing::{current, snap};

    #[tokio::test]
    async fn snapshots() {
        let t = current();
        snap!(
            "current_next_page",
            next(
                t,
                "https://eastus.dynamicsessions.io/subscriptions/sub-1/resourceGroups/rg/sessionPools/pool/files?$skipToken=abc",
                Operation::idempotent("files.list"),
            )
        );
    }

    #[test]
    fn next_page_stays_on_the_endpoint_origin() {
        let t = current();
        let op = Operation::idempotent("files.list");
        assert!(matches!(
            next(t, "https://evil.example/files?x=1", op),
            Err(Error::Decode { .. })
        ));
        // Relative links resolve against the endpoint and get api-version + identifier.
        let req = next(t, "files?page=2", op).unwrap();
        assert_eq!(
            req.uri().to_string(),
            "https://eastus.dynamicsessions.io/subscriptions/sub-1/resourceGroups/rg/sessionPools/pool/files?page=2&api-version=2025-10-02-preview&identifier=user-42%7C%7Ba%7D"
        );
    }
}
