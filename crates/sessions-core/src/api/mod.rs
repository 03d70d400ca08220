//! The typed API: sessions, executions, shell commands, files and pool operations, over both API
//! families (`2024-02-02-preview`/`2024-08-02-preview` and `2024-10-02-preview`+), with one set of
//! result types ([`crate::model`]).
//!
//! Requests are built without I/O in [`request`] and decoded without I/O in [`decode`]; the
//! handles here ([`Session`], [`Files`]) only send them through the [`Client`]'s stack.
//!
//! ```no_run
//! # async fn demo(client: sessions_core::Client) -> sessions_core::Result<()> {
//! let session = client.new_session();
//! let run = session.execute("1 + 1").await?;
//! assert_eq!(run.result.as_value(), Some(&serde_json::json!(2)));
//! # Ok(()) }
//! ```

pub mod decode;
mod download;
mod execute;
mod files;
mod numbers;
mod paging;
mod passthrough;
mod pool;
pub mod request;
mod rfc3339;
mod session;
mod upload;
mod wire;

pub use download::Download;
pub use execute::{
    CodeInputType, DEFAULT_POLL_DEADLINE, DEFAULT_POLL_INTERVAL, ExecuteRequest,
    MAX_EXECUTION_TIMEOUT, ShellRequest,
};
pub use files::{Files, ListOptions};
pub use rfc3339::parse_rfc3339;
pub use session::Session;
pub use upload::Upload;

use bytes::Bytes;

use crate::client::Client;
use crate::error::Result;
use crate::transport::{Body, ResponseBody};

/// Send a request; any non-2xx answer becomes an [`crate::Error::Api`].
pub(crate) async fn send_checked(
    client: &Client,
    request: http::Request<Body>,
) -> Result<http::Response<ResponseBody>> {
    let sent_id = request
        .headers()
        .get(decode::CLIENT_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = client.send(request).await?;
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(decode::error_from_response(response, sent_id.as_deref()).await)
    }
}

/// Send a request and read its (JSON) body, size-capped.
pub(crate) async fn send_json(
    client: &Client,
    request: http::Request<Body>,
) -> Result<(http::response::Parts, Bytes)> {
    let response = send_checked(client, request).await?;
    decode::read_json_body(response).await
}
