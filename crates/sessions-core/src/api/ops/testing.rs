//! What the operations' unit tests share: a fixed endpoint, boundary and identifier, and a
//! rendering of a built request for insta snapshots (method, URI, sorted headers, the
//! [`Operation`], the body).

use http::Request;
use http_body_util::BodyExt;

use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::transport::{Body, Operation};

/// The endpoint used in snapshots.
pub(crate) const ENDPOINT: &str =
    "https://eastus.dynamicsessions.io/subscriptions/sub-1/resourceGroups/rg/sessionPools/pool";

/// The fixed multipart boundary used in snapshots.
pub(crate) const BOUNDARY: &str = "sessions-core-test-boundary";

/// File names that would leave `/mnt/data` (or are no names at all): refused before sending.
pub(crate) const ESCAPING_NAMES: [&str; 7] = [
    "../etc/passwd",
    "/etc/passwd",
    "",
    "a/..",
    "sub/",
    "a\0b",
    "/mnt/database/x",
];

/// A session identifier that needs percent-encoding.
pub(crate) const ID: &str = "user-42|{a}";

pub(crate) fn endpoint() -> Endpoint {
    Endpoint::parse(ENDPOINT).unwrap()
}

/// A session of the snapshot endpoint at the current api-version, identified by [`ID`].
pub(crate) fn current() -> super::Target<'static> {
    static EP: std::sync::LazyLock<Endpoint> = std::sync::LazyLock::new(endpoint);
    super::Target::session(&EP, crate::api_version::ApiVersion::V2025_10_02Preview, ID)
}

/// Render a request for a snapshot. The builders add no secrets; this checks it.
pub(crate) async fn render(req: Request<Body>) -> String {
    let op = Operation::of(&req);
    let (parts, body) = req.into_parts();
    let mut out = format!("{} {}\n", parts.method, parts.uri);
    let mut headers: Vec<_> = parts
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("<binary>")))
        .collect();
    headers.sort();
    for h in headers {
        assert!(
            !h.to_ascii_lowercase().starts_with("authorization"),
            "no secrets in snapshots"
        );
        out.push_str(&h);
        out.push('\n');
    }
    out.push_str(&format!("operation: {} ({:?})\n", op.name, op.retryable));
    let bytes = body.collect().await.expect("body").to_bytes();
    if !bytes.is_empty() {
        out.push('\n');
        out.push_str(&String::from_utf8_lossy(&bytes));
        out.push('\n');
    }
    out
}

/// The message of an [`Error::InvalidInput`]; anything else fails the test.
pub(crate) fn invalid(result: Result<Request<Body>>) -> String {
    match result {
        Err(Error::InvalidInput(m)) => m,
        Err(e) => panic!("expected InvalidInput, got {e:?}"),
        Ok(r) => panic!("expected InvalidInput, got a request to {}", r.uri()),
    }
}

/// Snapshot a built request under `src/api/ops/snapshots/<name>.snap`.
macro_rules! snap {
    ($name:expr, $req:expr) => {{
        let rendered = $crate::api::ops::testing::render($req.expect("request builds")).await;
        insta::with_settings!({ prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!($name, rendered)
        })
    }};
}
pub(crate) use snap;
