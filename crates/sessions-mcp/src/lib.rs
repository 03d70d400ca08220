//! # sessions-mcp
//!
//! An MCP server over Azure Container Apps dynamic sessions (or a local pool): a
//! `code_interpreter` tool (or `run_shell` on shell pools) and file tools, with each MCP client
//! in its own pool session, deleted when the client goes away. Serve it over stdio
//! ([`McpServer::serve_stdio`]) or streamable HTTP ([`McpServer::serve_http`]), or hand
//! [`McpServer::handler`] to any rmcp transport.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = sessions_core::Client::builder("http://127.0.0.1:8080").no_auth().build()?;
//! sessions_mcp::McpServer::builder(client).build().serve_stdio().await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod content;
mod handler;
pub mod http;
pub mod lease;
mod server;
pub mod tools;

pub use handler::ClientHandler;
pub use server::{McpServer, McpServerBuilder, ServeError};
pub use tools::PoolKind;

// The crate README's snippets are compiled as doctests, so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeSnippets;
