//! # sessions-core
//!
//! The data-plane client for Azure Container Apps dynamic sessions: run code, move files and manage
//! sessions in a session pool, through a tower middleware stack (auth, retry, timeouts) over hyper.
#![deny(missing_docs)]

pub mod api;
pub mod api_version;
pub mod auth;
mod builder;
mod client;
pub mod endpoint;
pub mod error;
pub mod middleware;
pub mod model;
pub mod transport;
pub mod validate;

pub use api::{
    CodeInputType, Download, DownloadStream, ExecuteRequest, Files, ListOptions, Session,
    ShellRequest, Upload,
};
pub use api_version::{ApiFamily, ApiVersion};
pub use auth::{AccessToken, TokenSource};
pub use builder::ClientBuilder;
pub use client::Client;
pub use endpoint::Endpoint;
pub use error::{ApiError, BoxError, Error, Result, TimeoutKind};
pub use middleware::retry::RetryConfig;
pub use model::{
    Execution, ExecutionResult, ExecutionStatus, ExecutionTimings, FileInfo, FileKind, Image,
    NameVersion, PoolMetadata, SessionInfo,
};
pub use transport::{Body, Operation, Retryable};

// The crate README's snippets are compiled as doctests, so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeSnippets;
