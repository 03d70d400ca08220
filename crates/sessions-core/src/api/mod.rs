//! The typed API: sessions, executions, shell commands, files and pool operations, over both API
//! families (`2024-02-02-preview`/`2024-08-02-preview` and `2024-10-02-preview`+), with one set of
//! result types ([`crate::model`]).
//!
//! Each service operation lives in one file under `ops/` with its input type, how it becomes an
//! `http::Request` (no I/O) and how its answer decodes (bytes in, value out). The handles here
//! ([`Session`], [`Files`], and the pool operations on [`Client`](crate::Client)) only build
//! operations; one place (`send`) sends them, reads the body with its cap and decodes it.
//!
//! ```no_run
//! # async fn demo(client: sessions_core::Client) -> sessions_core::Result<()> {
//! let session = client.new_session();
//! let run = session.execute("1 + 1").await?;
//! assert_eq!(run.result.as_value(), Some(&serde_json::json!(2)));
//! # Ok(()) }
//! ```

mod error_body;
mod files;
mod json;
mod numbers;
pub(crate) mod ops;
mod pool;
mod rfc3339;
pub(crate) mod send;
mod session;
mod wire;

pub use files::Files;
pub use ops::download::{Download, DownloadStream};
pub use ops::execute::{
    CodeInputType, DEFAULT_POLL_DEADLINE, DEFAULT_POLL_INTERVAL, ExecuteRequest,
    MAX_EXECUTION_TIMEOUT,
};
pub use ops::files::ListOptions;
pub use ops::shell::ShellRequest;
pub use ops::upload::Upload;
pub use session::Session;
