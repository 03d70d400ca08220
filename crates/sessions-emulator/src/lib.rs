//! A faithful local Azure Container Apps dynamic-sessions pool.
//!
//! It serves the data-plane protocol of a code-interpreter session pool (Python or shell) on
//! loopback, so that any client that follows the service's protocol (ours, LangChain, Semantic
//! Kernel, AutoGen, LlamaIndex, ...) runs code, keeps state and moves files through it with only
//! the endpoint and token changed.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sessions_emulator::EmulatorError> {
//! let emu = sessions_emulator::Emulator::builder().prewarm(1).start().await?;
//! println!("pool management endpoint: {}", emu.endpoint()); // http://127.0.0.1:PORT/
//! emu.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Routes
//! All under the endpoint's base path (an Azure-style
//! `/subscriptions/{s}/resourceGroups/{g}/sessionPools/{p}/` prefix is accepted and ignored):
//!
//! * current family (2024-10-02-preview, 2025-02-02-preview, 2025-10-02-preview):
//!   `POST executions`, `GET executions/{id}`, `GET|POST files`, `GET|DELETE files/{name}`,
//!   `GET files/{name}/content`; from 2025-02-02-preview also `GET|DELETE session`,
//!   `GET listSessions`, `GET metadata`;
//! * legacy family (2024-02-02-preview, 2024-08-02-preview): `POST code/execute`,
//!   `POST files/upload`, `GET files`, `GET files/content/{name}`;
//! * `.management/getSession`, `.management/listSessions`, `.management/stopSession`
//!   (POST or GET, any known api-version).
//!
//! Errors are `{"error":{"code","message"}}` with an `x-ms-error-code` header.
//!
//! With [`EmulatorBuilder::tls`] (`--tls`) the pool serves https with a certificate generated
//! at start, signed by a CA whose certificate [`EmulatorHandle::ca_certificate_pem`] gives;
//! [`EmulatorBuilder::tls_files`] serves your own.
//!
//! # Decisions where the reference is uncertain
//! * **Status codes**: a code error, timeout or out-of-memory is HTTP 200 with status `Failed`
//!   (legacy `Failure`). Synchronous executions answer 200, asynchronous ones 202 with status
//!   `Running`; `GET executions/{id}` of an unknown id is 404. Deletes answer 204.
//! * **Validation**: a missing/unknown `api-version` or a missing/invalid `identifier` is 400
//!   `SessionRequestValidationFailed`; a known version that lacks the route is 400
//!   `SessionRequestNotSupported`, as are unknown paths and methods. Malformed JSON, a
//!   non-object body, malformed multipart or a missing `file` part are 400
//!   `SessionRequestValidationFailed` with a message naming the problem.
//! * **Identifiers**: the definitions' pattern: 4–128 characters of ASCII letters, digits and
//!   ``_ | } { [ ] : " ; ' < > ? / . , @ # $ % ^ & * ( ) - + = ! ~ ` ``. They never name a host
//!   path (sessions live in slot directories the pool names).
//! * **Body envelope**: `executions` accepts both a flat body and a `properties` envelope;
//!   strict mode rejects the envelope with `SessionPropertiesMissing`. `code/execute` accepts
//!   the envelope and (not in strict mode) a flat body; it also accepts `pythonCode` for
//!   `code`, and an `identifier` inside the body when the query has none. Enum values and
//!   field names are matched case-insensitively.
//! * **Code input**: `Inline` and `InlineText` run the code as given; `InlineBase64` decodes it
//!   from standard base64 first. `useEmptyKernel` is accepted and ignored.
//! * **Timeouts**: `timeoutInSeconds` is capped at 220 s and defaults to 220 s when absent; 0
//!   is rejected. `outputStreamsMaxLength` truncates only when given (no default of 4096).
//! * **Shell pools**: `shellCommand` or `execCommandAndArgs` (shell-quoted and joined) plus
//!   optional `stdin`; `code` gives 400 `SessionPropertiesMissing`, and so does `codeInputType`
//!   before 2025-10-02-preview (whose definitions' shell example sends it); `status`
//!   is the exit code as a string (a timeout or memory kill gives `Failed`); `result` has no
//!   `executionResult`. `code/execute` on a shell pool is `SessionRequestNotSupported`.
//! * **Images**: when the runtime reports an open matplotlib figure on a successful run, the
//!   legacy `result` (and the current `executionResult`) is
//!   `{"type":"image","format":"png","base64_data":...}` instead of the last-expression value.
//!   Several open figures come back as a list of such objects, in figure-number order (the
//!   service's behaviour with several figures is not documented; a list loses none of them).
//! * **Headers**: execution responses carry `operation-id` (the caller's `operation-id` header
//!   whatever its characters, else a UUID) and, on `executions`, an absolute
//!   `Operation-Location: {scheme}://{host}{base path}executions/{id}?api-version=..&identifier=..`
//!   (the id percent-escaped). Both `returnJupyterFormatExecutionResult` and the examples'
//!   `returnJupyterFormat` ask for Jupyter-format results. Python pools
//!   add the `X-Ms-*` timing headers; `x-ms-session-guid` is the session's etag.
//! * **Pool full**: 429 `SessionPoolCapacityExceeded`, no `Retry-After`.
//! * **Files**: `path` may be relative to `/mnt/data` or absolute under it; uploads create the
//!   `path` directory (and directories in the file name) as needed and overwrite an existing
//!   file. A `/mnt/data/` prefix in an upload's file name is stripped. `type` is lowercase
//!   `file`/`directory`; directories report `application/octet-stream` and 4096 bytes; text
//!   types carry `; charset=utf-8`. `directory` (the parent relative to `/mnt/data`, omitted at
//!   the root) is emitted on 2025-10-02-preview only. Listing a missing directory is 404.
//!   `DELETE files/{name}` removes directories recursively and links themselves. Downloads
//!   stream raw bytes with a guessed `Content-Type`, `Content-Length` and `Last-Modified`.
//! * **Legacy files**: `GET files` lists every regular file under `/mnt/data` recursively,
//!   `filename` being the path relative to `/mnt/data`; `lastModifiedTime` has 7 fractional
//!   digits; `$id`s are numbered 1, 2, 3, ... like .NET's reference-preserving serializer.
//! * **Upload limit**: 128 MiB (134 217 728 bytes), 413 `RequestEntityTooLarge`; the rest of
//!   the body is read and discarded so the client receives the answer, and the partial file is
//!   removed.
//! * **Sessions**: every session-scoped call (including `GET session` and file calls)
//!   allocates; `.management/getSession` never does (unknown → 400
//!   `SessionWithIdentifierNotFound`). `DELETE session` answers 204 even for an unknown
//!   identifier; `.management/stopSession` of an unknown identifier is 400
//!   `SessionWithIdentifierNotFound`. Sessions are listed oldest first; pages hold 300 (or the
//!   configured page size), selected by `skip` (or `offset`/`limit`), with an absolute
//!   `nextLink`; `.management/listSessions`'s `count` is the total number of sessions. File
//!   listings come in one page unless a page size is configured, then page the same way.
//! * **Auth**: `audience` mode checks `aud` only (no signature, expiry or issuer checks);
//!   a trailing `/` on the audience is tolerated. Failures are 401 `Unauthorized` with
//!   `WWW-Authenticate: Bearer`.
//! * **Metadata**: the Python version and installed packages come from the configured
//!   interpreter; `jupyterKernel` is there on every pool type (`bash` on shell pools); an extra
//!   `emulator` object reports the isolation in force and the limits.
#![deny(missing_docs)]

mod api_version;
mod auth;
pub mod cli;
mod config;
mod error;
mod execution;
mod files;
pub mod python_env;
mod routes;
// Not part of the API: public only with the `test-internals` feature, for the crate's own
// runtime and attack tests, which drive interpreters without the HTTP layer.
#[cfg(feature = "test-internals")]
#[doc(hidden)]
pub mod runtime;
#[cfg(not(feature = "test-internals"))]
mod runtime;
mod server;
mod sessions;
mod shapes;
mod tls;

pub use cli::{ServeArgs, run_cli};
pub use config::{AuthMode, DEFAULT_MAX_UPLOAD_BYTES, EmulatorConfig, MAX_TIMEOUT, TlsConfig};
pub use runtime::{IsolationMode, IsolationReport, PoolType, Preload, RuntimeError};
pub use server::{Emulator, EmulatorBuilder, EmulatorError, EmulatorHandle};

// The README's snippet is compiled as a doctest, so it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeSnippets;
pub use tls::TlsError;
