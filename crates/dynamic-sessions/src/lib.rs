//! # dynamic-sessions
//!
//! Run code and move files in [Azure Container Apps dynamic sessions] — sandboxed
//! code-interpreter sessions in a session pool — and hand that sandbox to an LLM as a
//! code-interpreter tool. The same code runs offline against an embeddable local pool.
//!
//! This crate is the one to depend on. It re-exports:
//!
//! * the client ([`sessions-core`](sessions_core)): [`Client`], [`Session`], [`Files`],
//!   the typed model ([`Execution`], [`FileInfo`], ...) and the one [`Error`] type, at the root;
//! * the LLM tool helpers ([`llm-tools`](llm_tools)) as [`tools`] (feature `tools`, on by default);
//! * the local pool ([`sessions-emulator`](https://docs.rs/sessions-emulator)) as `emulator` (feature `emulator`,
//!   off by default).
//!
//! A program that only runs code may depend on `sessions-core` alone; the API is the same.
//!
//! [Azure Container Apps dynamic sessions]: https://learn.microsoft.com/azure/container-apps/sessions
//!
//! ## Features
//!
//! | Feature | Default | What it adds |
//! |---|---|---|
//! | `tools` | yes | [`tools`]: tool definitions and call handlers for OpenAI Chat Completions and Responses, Anthropic, Gemini and MCP; hosted code-interpreter inputs |
//! | `azure-identity` | yes | `ClientBuilder::default_credential` (Entra ID through `azure_identity`, no reqwest) |
//! | `ring` | yes | rustls with the *ring* crypto provider |
//! | `aws-lc-rs` | no | rustls with the *aws-lc-rs* crypto provider (use with `default-features = false`) |
//! | `webpki-roots` | yes | trust the Mozilla roots bundled in `webpki-roots` |
//! | `native-roots` | no | trust the platform's root certificates |
//! | `emulator` | no | `emulator`: the local session pool, embeddable in tests and examples |
//!
//! ## Connect to a pool
//!
//! The endpoint is the pool's `poolManagementEndpoint`. The default credential chain (Azure CLI,
//! managed identity, workload identity, ...) gets a token for `https://dynamicsessions.io/.default`;
//! the caller needs the *Azure ContainerApps Session Executor* role on the pool.
//!
//! ```no_run
//! # async fn demo() -> Result<(), dynamic_sessions::Error> {
//! use dynamic_sessions::Client;
//!
//! let client = Client::builder(
//!     "https://eastus.dynamicsessions.io/subscriptions/SUB/resourceGroups/RG/sessionPools/POOL",
//! )
//! .default_credential()
//! .build()?;
//! let session = client.session("user-42")?;
//! let run = session.execute("import sys; print(sys.version)").await?;
//! print!("{}", run.stdout);
//! # Ok(()) }
//! ```
//!
//! Every example below runs as written against the local pool: the hidden lines start one
//! (`dynamic_sessions::emulator`, the `emulator` feature) and connect to it without a token
//! (loopback endpoints need none). They name only this crate, tokio and serde_json.
//!
//! ## Run code
//!
//! A session keeps its Python state between calls. A code error is not an [`Error`]: it is an
//! [`Execution`] whose status is `Failed`, with the traceback in `stderr`.
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let pool = dynamic_sessions::emulator::Emulator::builder().prewarm(1).start().await?;
//! # let endpoint = pool.endpoint();
//! use dynamic_sessions::{Client, ExecuteRequest};
//! use std::time::Duration;
//!
//! let client = Client::builder(&endpoint).build()?;
//! let session = client.session("docs-run-code")?;
//!
//! let run = session.execute("x = 6 * 7\nprint(x)").await?;
//! assert!(run.succeeded());
//! assert_eq!(run.stdout, "42\n");
//!
//! // State persists; the last expression is the result, JSON-typed.
//! let run = session.execute_with(ExecuteRequest::new("x + 1").timeout(Duration::from_secs(30))).await?;
//! assert_eq!(run.result.as_value(), Some(&serde_json::json!(43)));
//!
//! let run = session.execute("1 / 0").await?;
//! assert!(!run.succeeded());
//! assert!(run.stderr.contains("ZeroDivisionError"));
//! # pool.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! ### The result, or a figure
//!
//! [`Execution::result`] is the value of the last expression, **unless the code leaves a
//! matplotlib figure open**: then the result is that figure, an [`Image`] (PNG, base64 in
//! `base64_data`), and the expression's value is not returned. Close the figure
//! (`plt.close(fig)`) to get the value back, or save it to a file (`fig.savefig(...)`) and
//! download that. The same holds on Azure's pools and the local one. When several figures are
//! open the local pool returns them all: [`Execution::images`] holds every one, in order, and
//! the result is the last.
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # use dynamic_sessions::emulator::python_env::{resolve_python, Provision};
//! # let python = resolve_python(Provision::CreateVenv)?; // one with matplotlib
//! # let pool = dynamic_sessions::emulator::Emulator::builder().python(python).prewarm(1).start().await?;
//! # let endpoint = pool.endpoint();
//! use dynamic_sessions::Client;
//!
//! let session = Client::builder(&endpoint).build()?.session("docs-figures")?;
//! let drawn = session
//!     .execute("import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\n'the value'")
//!     .await?;
//! let image = drawn.image().expect("the open figure replaced the value");
//! assert_eq!(image.media_type(), "image/png");
//! assert!(!image.base64_data.is_empty());
//!
//! let closed = session.execute("plt.close('all')\n'the value'").await?;
//! assert_eq!(closed.result.as_value(), Some(&serde_json::json!("the value")));
//! # session.delete().await?;
//! # pool.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! ## Move files
//!
//! Files live in the session's `/mnt/data`. Uploads and downloads stream; an upload from a file
//! is re-read from disk if it has to be sent again.
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let pool = dynamic_sessions::emulator::Emulator::builder().prewarm(1).start().await?;
//! # let endpoint = pool.endpoint();
//! # let dir = std::env::temp_dir().join(format!("dynamic-sessions-docs-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let local = dir.join("numbers.csv");
//! # std::fs::write(&local, "n\n1\n2\n3\n")?;
//! use dynamic_sessions::{Client, ListOptions, Upload};
//!
//! let session = Client::builder(&endpoint).build()?.session("docs-files")?;
//! let files = session.files();
//!
//! files.upload(Upload::file(&local)?.name("numbers.csv")).await?;
//! session.execute("open('/mnt/data/total.txt', 'w').write(str(sum(range(4))))").await?;
//!
//! let names: Vec<String> = files.list_with(ListOptions::default()).await?
//!     .iter().map(|f| f.relative_path()).collect();
//! assert!(names.contains(&"total.txt".to_string()));
//!
//! files.download_to("total.txt", dir.join("total.txt")).await?;
//! assert_eq!(std::fs::read_to_string(dir.join("total.txt"))?, "6");
//! files.delete("numbers.csv").await?;
//! # std::fs::remove_dir_all(&dir)?;
//! # pool.shutdown().await;
//! # Ok(()) }
//! ```
//!
#![cfg_attr(feature = "tools", doc = include_str!("../docs/tools.md"))]
//!
//! ## Custom middleware
//!
//! The client is a tower stack. [`ClientBuilder::layer`] puts any layer over
//! `http::Request<Body>` outermost, where it sees each operation once (retries happen inside).
//! [`tower`] and [`http`] are re-exported, so a middleware needs no other dependency; add
//! `tower-http` for its ready-made layers, and `pin-project-lite` to write a `Service` with its
//! own future.
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let pool = dynamic_sessions::emulator::Emulator::builder().prewarm(1).start().await?;
//! # let endpoint = pool.endpoint();
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use dynamic_sessions::http::{HeaderValue, Request};
//! use dynamic_sessions::tower::util::MapRequestLayer;
//! use dynamic_sessions::{Body, Client};
//!
//! let count = Arc::new(AtomicUsize::new(0));
//! let seen = count.clone();
//! let client = Client::builder(&endpoint)
//!     .layer(MapRequestLayer::new(move |mut req: Request<Body>| {
//!         seen.fetch_add(1, Ordering::Relaxed);
//!         req.headers_mut().insert("x-team", HeaderValue::from_static("data-science"));
//!         req
//!     }))
//!     .build()?;
//! client.session("docs-middleware")?.execute("print('hi')").await?;
//! assert_eq!(count.load(Ordering::Relaxed), 1);
//! # pool.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! ## The embedded local pool
//!
//! `sessions-emulator` (the `emulator` feature) serves the same protocol on loopback, running
//! Python (or a shell) in sandboxed worker processes — for tests, examples and offline work.
//!
//! ```toml
//! dynamic-sessions = { version = "0.1", features = ["emulator"] }
//! ```
//!
//! It runs `$SESSIONS_EMULATOR_PYTHON`, else `.venv/bin/python3` in the enclosing Cargo
//! workspace (or the current directory), else `python3`; code that imports numpy, pandas or
//! matplotlib needs them there (a missing one is a failed run with `ModuleNotFoundError`, and
//! start-up warns). `Emulator::builder().provision_python()` creates that `.venv` with them
//! when none has them.
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use dynamic_sessions::Client;
//! use dynamic_sessions::emulator::Emulator; // the `emulator` feature
//!
//! let pool = Emulator::builder().prewarm(1).start().await?;
//! let client = Client::builder(&pool.endpoint()).build()?; // http://127.0.0.1:PORT/
//! let run = client.new_session().execute("1 + 1").await?;
//! assert_eq!(run.result.as_value(), Some(&serde_json::json!(2)));
//! pool.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The same pool runs as a program: `dynsess serve` or `sessions-emulator` print the endpoint
//! to use.
//!
#![cfg_attr(feature = "tools", doc = include_str!("../docs/recipes.md"))]
#![deny(missing_docs)]

pub use sessions_core::*;

/// The [`http`](https://docs.rs/http) crate, re-exported: the request and response types that
/// [`ClientBuilder::layer`] middleware sees, and [`StatusCode`](http::StatusCode) for
/// [`Error::status`].
pub use http;

/// The [`tower`](https://docs.rs/tower) crate (features `util`, `retry`, `timeout`), re-exported
/// for middleware: [`Layer`](tower::Layer), [`Service`](tower::Service),
/// [`tower::util::MapRequestLayer`] and friends.
pub use tower;

/// LLM tool helpers: a code-interpreter tool backed by a session, for OpenAI Chat Completions and
/// Responses, Anthropic, Gemini and MCP; and hosted code-interpreter inputs.
///
/// This is the [`llm-tools`](llm_tools) crate.
#[cfg(feature = "tools")]
pub mod tools {
    pub use llm_tools::*;
}

/// The local session pool: [`Emulator`](emulator::Emulator) for tests and examples,
/// [`ServeArgs`](emulator::ServeArgs) and [`run_cli`](emulator::run_cli) for a program.
///
/// This is the [`sessions-emulator`](sessions_emulator) crate.
#[cfg(feature = "emulator")]
pub mod emulator {
    pub use sessions_emulator::*;
}

// The README's and the guides' Rust snippets are compiled (and run) as doctests, so they cannot
// drift from the API; tests/docs_compiled.rs checks that every guide with Rust code is listed.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeSnippets;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeSnippets;

#[cfg(doctest)]
#[doc = include_str!("../../../docs/api-versions.md")]
struct ApiVersionsGuideSnippets;

#[cfg(doctest)]
#[doc = include_str!("../../../docs/emulator.md")]
struct EmulatorGuideSnippets;
