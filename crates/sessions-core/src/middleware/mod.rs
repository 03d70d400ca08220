//! The layers of the default stack, one concern per module.
//!
//! The default stack, outermost first (what [`ClientBuilder`](crate::ClientBuilder) builds):
//!
//! | layer | module | why there |
//! |---|---|---|
//! | your layers (`ClientBuilder::layer`) | | see every call once, in call order |
//! | `User-Agent` | [`user_agent`] (tower-http `SetRequestHeader`) | once per call |
//! | `x-ms-client-request-id` | [`request_id`] (ours: sets the id and copies it onto the response in one layer, without tower-http's per-response extension) | outside retry: every attempt carries the same id |
//! | a tracing span per operation | [`trace`] | spans the retries |
//! | overall deadline | [`deadline`] | bounds retries and back-off, and the response body |
//! | retry | [`retry`] | |
//! | bearer auth | [`auth`] | inside retry: each attempt gets a fresh token; on a 401 with a new token the retry layer resends once |
//! | `Authorization` marked sensitive | tower-http `SetSensitiveRequestHeaders` | whoever set it, it never reaches `Debug` output or logs |
//! | per-attempt timeout | [`timeout`] | ours rather than tower's: the error says which limit fired and after how long |
//! | connection pool | [`crate::transport::connector`] | hyper-util over hyper-rustls |
//!
//! Ours are only what is specific to this service, or what tower-http does at a cost every call
//! pays: the retry rules that never re-run code, the token cache with its 401 resend, the
//! deadlines, and the request id. The overall deadline is also the one
//! mechanism behind a shell command's own limit and the polling of asynchronous executions.
//!
//! Composed this way a call makes one boxed future (in [`HttpService`](crate::transport::HttpService)) and one copy of
//! the request (kept by the retry layer for any resend, the 401 resend included), and clones no
//! boxed service.
//!
//! Every piece is public, so a stack with one layer swapped can be rebuilt by hand and wrapped
//! with [`Client::from_service`](crate::Client::from_service):
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use sessions_core::auth::{StaticToken, TokenCache};
//! use sessions_core::middleware::{auth, deadline, request_id, retry, timeout, trace, user_agent};
//! use sessions_core::transport::{connector, HttpService};
//! use sessions_core::{ApiVersion, Client, Endpoint};
//! use tower::Layer;
//!
//! # fn main() -> Result<(), sessions_core::Error> {
//! let mut svc: HttpService = connector::base_transport(&connector::TransportOptions::default())?;
//! svc = HttpService::new(timeout::TimeoutLayer::new(Duration::from_secs(250)).layer(svc));
//! let sensitive = tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer::new([
//!     http::header::AUTHORIZATION,
//! ]);
//! svc = HttpService::new(sensitive.layer(svc));
//! let cache = Arc::new(TokenCache::new(Arc::new(StaticToken::new("token"))));
//! svc = HttpService::new(auth::AuthLayer::new(cache).layer(svc));
//! svc = HttpService::new(retry::RetryLayer::new(retry::RetryConfig::default()).layer(svc));
//! svc = HttpService::new(deadline::DeadlineLayer::new(Duration::from_secs(600)).layer(svc));
//! svc = HttpService::new(trace::TraceLayer::new().layer(svc));
//! svc = HttpService::new(request_id::RequestIdLayer::new().layer(svc));
//! svc = HttpService::new(user_agent::UserAgentLayer::new().layer(svc));
//! let endpoint = Endpoint::parse("https://eastus.dynamicsessions.io/subscriptions/s/resourceGroups/g/sessionPools/p")?;
//! let client = Client::from_service(svc, endpoint, ApiVersion::default());
//! # Ok(()) }
//! ```

pub mod auth;
pub mod deadline;
pub mod request_id;
pub mod retry;
pub mod timeout;
pub mod trace;
pub mod user_agent;
