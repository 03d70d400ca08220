//! The HTTP plumbing under the typed API: bodies, the boxed service type, and the
//! per-request [`Operation`] marker that the middleware reads.

mod body;
pub mod connector;

pub use body::{Body, ByteStream, ResponseBody, StreamFactory};

use crate::error::BoxError;

/// The type-erased service every layer of the stack is wrapped into.
///
/// It is `Clone + Send + Sync`, so a [`crate::Client`] is cheap to clone and needs no background task.
pub type HttpService =
    tower::util::BoxCloneSyncService<http::Request<Body>, http::Response<ResponseBody>, BoxError>;

/// A type-erased layer over [`HttpService`], as taken by `ClientBuilder::layer`.
pub type BoxLayer = tower::util::BoxCloneSyncServiceLayer<
    HttpService,
    http::Request<Body>,
    http::Response<ResponseBody>,
    BoxError,
>;

/// Whether an operation may be sent again after a failure that happened after it may have reached
/// the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retryable {
    /// Reads and deletes: safe to repeat after connect errors, timeouts, 408, 429 and 5xx.
    Idempotent,
    /// Running code or uploading: repeated only when the service surely did not process it
    /// (the connection was never established, or the answer was 429).
    OnlyIfNotProcessed,
}

/// Describes the operation a request belongs to. Stored in the request's extensions by the typed
/// API; read by the retry, tracing and timeout layers. Requests without it are classified by their
/// method (GET/HEAD/PUT/DELETE/OPTIONS are idempotent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// A stable name such as `"execute"` or `"files.upload"`, used as the tracing span name.
    pub name: &'static str,
    /// How the retry layer may treat it.
    pub retryable: Retryable,
}

impl Operation {
    /// An idempotent operation (reads and deletes).
    pub const fn idempotent(name: &'static str) -> Self {
        Operation {
            name,
            retryable: Retryable::Idempotent,
        }
    }

    /// An operation that runs code or writes: retried only when surely not processed.
    pub const fn not_idempotent(name: &'static str) -> Self {
        Operation {
            name,
            retryable: Retryable::OnlyIfNotProcessed,
        }
    }

    /// The operation of a request: its extension, or one derived from the method.
    pub fn of<B>(req: &http::Request<B>) -> Operation {
        if let Some(op) = req.extensions().get::<Operation>() {
            return *op;
        }
        if req.method().is_idempotent() {
            Operation::idempotent("http")
        } else {
            Operation::not_idempotent("http")
        }
    }
}
