//! [`Session`]: one session identifier on a [`Client`]. It only builds operations
//! ([`super::ops`]) and hands them to [`super::send`].

use std::sync::Arc;

use super::files::Files;
use super::ops::execute::{self, ExecuteRequest};
use super::ops::shell::{self, ShellRequest};
use super::ops::{Target, execution, passthrough, session};
use super::send;
use crate::api_version::ApiFamily;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::middleware::deadline;
use crate::model::{Execution, SessionInfo};
use crate::transport::{Body, ResponseBody};

/// One session of a pool: run code and shell commands, move files, inspect or delete it.
///
/// Cheap to clone (a [`Client`] and an `Arc<str>`). Every call carries the identifier as the
/// `identifier` query parameter; the service creates the session on first use.
///
/// ```no_run
/// # async fn demo(client: sessions_core::Client) -> sessions_core::Result<()> {
/// use sessions_core::api::{ExecuteRequest, Upload};
///
/// let session = client.session("user-42")?;
/// let run = session.execute("import math; math.pi * 2").await?;
/// if run.succeeded() {
///     println!("{:?} ({} of stdout)", run.result, run.stdout.len());
/// } else {
///     eprintln!("failed: {}", run.stderr);
/// }
///
/// session.files().upload(Upload::text("data.csv", "a,b\n1,2\n")).await?;
/// let run = session
///     .execute_with(ExecuteRequest::new("import pandas as pd; pd.read_csv('/mnt/data/data.csv').sum()"))
///     .await?;
/// # let _ = run;
/// session.delete().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Session {
    client: Client,
    identifier: Arc<str>,
}

impl Session {
    /// A handle on `identifier` (already validated, or generated).
    pub(crate) fn new(client: Client, identifier: Arc<str>) -> Self {
        Session { client, identifier }
    }

    /// The session identifier.
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    /// The client this session uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Where this session's requests go.
    fn target(&self) -> Target<'_> {
        // The identifier was validated when the session was made.
        Target::checked_session(
            self.client.endpoint(),
            self.client.api_version(),
            &self.identifier,
        )
    }

    /// Run code synchronously with the maximum server-side timeout (220 s).
    ///
    /// A code error is not an `Err`: it is an [`Execution`] with status `Failed` and the
    /// traceback in `stderr` (the service answers 200).
    pub async fn execute(&self, code: impl Into<String>) -> Result<Execution> {
        self.execute_with(ExecuteRequest::new(code)).await
    }

    /// Run code as described by `request`. An asynchronous execution (or a synchronous one the
    /// service answered with a non-terminal status) is polled with `GET executions/{id}` every
    /// `poll_interval` until it is over.
    pub async fn execute_with(&self, request: ExecuteRequest) -> Result<Execution> {
        let first = self
            .execution_response(execute::post(self.target(), &request)?)
            .await?;
        if first.status.is_terminal() || self.client.api_version().family() == ApiFamily::Legacy {
            return Ok(first);
        }
        // Polling is the rare path: boxed, so the common call's future stays small.
        Box::pin(self.wait(first, &request)).await
    }

    /// Start an asynchronous execution and return at once (status `Running`, usually); poll it
    /// with [`Session::get_execution`]. Current family only.
    pub async fn start_execution(&self, request: ExecuteRequest) -> Result<Execution> {
        let request = request.asynchronous(true);
        self.execution_response(execute::post(self.target(), &request)?)
            .await
    }

    /// Read an execution by id (`GET executions/{id}`). Current family only.
    pub async fn get_execution(&self, id: &str) -> Result<Execution> {
        let req = execute::get(self.target(), id)?;
        self.execution_response(req).await
    }

    /// Run a shell command (shell pools). The exit code is [`Execution::exit_code`].
    pub async fn shell(&self, command: impl Into<String>) -> Result<Execution> {
        self.shell_with(ShellRequest::new(command)).await
    }

    /// Run a shell command with stdin and/or a client-side deadline.
    pub async fn shell_with(&self, request: ShellRequest) -> Result<Execution> {
        let req = shell::post(self.target(), &request)?;
        let call = self.execution_response(req);
        match request.timeout {
            Some(limit) => deadline::within(limit, call).await,
            None => call.await,
        }
    }

    /// The session's files in `/mnt/data`.
    pub fn files(&self) -> Files {
        Files::new(self.client.clone(), self.identifier.clone())
    }

    /// The session's state (`GET session`).
    ///
    /// This route exists from 2025-02-02-preview; on clients set to an older version the call
    /// is sent with `api-version=2025-10-02-preview`.
    pub async fn info(&self) -> Result<SessionInfo> {
        let req = session::get(self.target())?;
        send::call(&self.client, req, |_, body| {
            session::decode(body, &self.identifier)
        })
        .await
    }

    /// Delete the session at once, freeing its slot in the pool (`DELETE session`, 204).
    ///
    /// Same version rule as [`Session::info`]. Reusing the identifier afterwards gives a new,
    /// empty session. Not supported by custom-container pools.
    pub async fn delete(&self) -> Result<()> {
        let req = session::delete(self.target())?;
        send::send(&self.client, req).await.map(drop)
    }

    /// Stop the session's container (`POST .management/stopSession`, 200 with a line of text,
    /// which is returned). This is the custom-container pools' way to end a session; on
    /// code-interpreter pools use [`Session::delete`]. Same version rule as [`Session::info`].
    pub async fn stop(&self) -> Result<String> {
        let req = session::stop(self.target())?;
        send::call(&self.client, req, |_, body| Ok(session::decode_stop(body))).await
    }

    /// Send any request to this session's container (custom-container pools): `endpoint + path`
    /// with the session's `identifier` added to the query, through the same stack (auth, retry,
    /// timeouts) as every other call.
    ///
    /// `path` is relative to the pool endpoint and may carry its own query; it must not contain
    /// `..` or set `identifier`. Any status is returned as-is, with the body unread: the
    /// container's API is its own. Non-idempotent methods are retried only when the request
    /// surely did not reach the service.
    ///
    /// ```no_run
    /// # async fn demo(session: sessions_core::api::Session) -> sessions_core::Result<()> {
    /// use sessions_core::Body;
    /// let response = session
    ///     .request(http::Method::POST, "api/execute?verbose=1", Body::from(r#"{"code":"1+1"}"#))
    ///     .await?;
    /// println!("{}", response.status());
    /// # Ok(()) }
    /// ```
    pub async fn request(
        &self,
        method: http::Method,
        path: &str,
        body: Body,
    ) -> Result<http::Response<ResponseBody>> {
        let req = passthrough::request(self.target(), method, path, body)?;
        self.client.send(req).await
    }

    /// Send an execution request and decode the answer (not an `async fn`, so the request is
    /// not carried along: see [`send::send`]).
    fn execution_response(
        &self,
        req: http::Request<Body>,
    ) -> impl Future<Output = Result<Execution>> + '_ {
        let family = self.client.api_version().family();
        send::call(&self.client, req, move |parts, body| {
            execution::decode(family, parts.status, &parts.headers, body, &self.identifier)
        })
    }

    /// Poll until the execution is terminal, keeping the first response's timing headers when
    /// the polls carry none.
    async fn wait(&self, mut execution: Execution, request: &ExecuteRequest) -> Result<Execution> {
        if execution.status.is_terminal() || self.client.api_version().family() == ApiFamily::Legacy
        {
            return Ok(execution);
        }
        if execution.id.is_empty() {
            return Err(Error::decode(
                "the execution is still running but the service sent no id (no `id`, no `operation-id` header) to poll",
                b"",
                None,
            ));
        }
        let id = execution.id.clone();
        let first_timings = execution.timings.clone();
        let polls = async {
            while !execution.status.is_terminal() {
                tokio::time::sleep(request.poll_interval).await;
                execution = self.get_execution(&id).await?;
            }
            Ok(())
        };
        deadline::within(request.poll_deadline, polls).await?;
        if execution.timings == Default::default() {
            execution.timings = first_timings;
        }
        if execution.id.is_empty() {
            execution.id = id;
        }
        Ok(execution)
    }
}
