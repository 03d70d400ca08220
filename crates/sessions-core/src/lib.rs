//! # sessions-core
//!
//! The data-plane client for Azure Container Apps dynamic sessions: run code, move files and manage
//! sessions in a session pool, through a tower middleware stack (auth, retry, timeouts) over hyper.
#![deny(missing_docs)]

pub mod api_version;
mod client;
pub mod endpoint;
pub mod error;
pub mod middleware;
pub mod model;
pub mod transport;

pub use api_version::{ApiFamily, ApiVersion};
pub use client::Client;
pub use endpoint::Endpoint;
pub use error::{ApiError, BoxError, Error, Result, TimeoutKind};
pub use model::*;
pub use transport::{Body, Operation, Retryable};
