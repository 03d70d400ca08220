//! [`Session`]: one session identifier on a [`Client`], and the operations scoped to it.

use std::sync::Arc;

use super::execute::{ExecuteRequest, ShellRequest};
use super::files::Files;
use super::request::{self, Target};
use super::{decode, send_checked, send_json};
use crate::api_version::ApiFamily;
use crate::client::Client;
use crate::error::{Error, Result, TimeoutKind};
use crate::model::{Execution, SessionInfo};
use crate::validate;

impl Client {
    /// A handle on the session with this identifier (validated as the service's definitions
    /// say: 4–128 characters, ASCII letters, digits and
    /// [`IDENTIFIER_PUNCTUATION`](crate::validate::IDENTIFIER_PUNCTUATION), so `user@contoso.com`
    /// and `tenant:42` work).
    ///
    /// Nothing is sent: the service allocates the session on its first request.
    pub fn session(&self, identifier: impl Into<String>) -> Result<Session> {
        let identifier = identifier.into();
        validate::validate_identifier(&identifier)?;
        Ok(Session {
            client: self.clone(),
            identifier: identifier.into(),
        })
    }

    /// A handle on a new session with a fresh random identifier (a UUID v4).
    pub fn new_session(&self) -> Session {
        let identifier = uuid::Uuid::new_v4().hyphenated().to_string();
        Session {
            client: self.clone(),
            identifier: identifier.into(),
        }
    }
}

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
    /// The session identifier.
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    /// The client this session uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Where this session's requests go (for the builders in [`request`]).
    pub fn target(&self) -> Target<'_> {
        Target::session(
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
        let first = self.post_execution(&request).await?;
        self.wait(first, &request).await
    }

    /// Start an asynchronous execution and return at once (status `Running`, usually); poll it
    /// with [`Session::get_execution`]. Current family only.
    pub async fn start_execution(&self, request: ExecuteRequest) -> Result<Execution> {
        self.post_execution(&request.asynchronous(true)).await
    }

    /// Read an execution by id (`GET executions/{id}`). Current family only.
    pub async fn get_execution(&self, id: &str) -> Result<Execution> {
        let req = request::get_execution(self.target(), id)?;
        self.execution_response(req).await
    }

    /// Run a shell command (shell pools). The exit code is [`Execution::exit_code`].
    pub async fn shell(&self, command: impl Into<String>) -> Result<Execution> {
        self.shell_with(ShellRequest::new(command)).await
    }

    /// Run a shell command with stdin and/or a client-side deadline.
    pub async fn shell_with(&self, request: ShellRequest) -> Result<Execution> {
        let req = request::shell(self.target(), &request)?;
        let call = self.execution_response(req);
        match request.timeout {
            Some(limit) => tokio::time::timeout(limit, call)
                .await
                .map_err(|_| Error::Timeout {
                    kind: TimeoutKind::Overall,
                    after: Some(limit),
                })?,
            None => call.await,
        }
    }

    /// The session's files in `/mnt/data`.
    pub fn files(&self) -> Files {
        Files::new(self.clone())
    }

    /// The session's state (`GET session`).
    ///
    /// This route exists from 2025-02-02-preview; on clients set to an older version the call
    /// is sent with `api-version=2025-10-02-preview` (see [`request::management_version`]).
    pub async fn info(&self) -> Result<SessionInfo> {
        let req = request::get_session(self.target())?;
        let (_, body) = send_json(&self.client, req).await?;
        decode::decode_session(&body, &self.identifier)
    }

    /// Delete the session at once, freeing its slot in the pool (`DELETE session`, 204).
    ///
    /// Same version rule as [`Session::info`]. Reusing the identifier afterwards gives a new,
    /// empty session. Not supported by custom-container pools.
    pub async fn delete(&self) -> Result<()> {
        let req = request::delete_session(self.target())?;
        send_checked(&self.client, req).await.map(drop)
    }

    /// Stop the session's container (`POST .management/stopSession`, 200 with a line of text,
    /// which is returned). This is the custom-container pools' way to end a session; on
    /// code-interpreter pools use [`Session::delete`]. Same version rule as [`Session::info`].
    pub async fn stop(&self) -> Result<String> {
        let req = request::stop_session(self.target())?;
        let (_, body) = send_json(&self.client, req).await?;
        Ok(String::from_utf8_lossy(&body).trim().to_owned())
    }

    async fn post_execution(&self, request: &ExecuteRequest) -> Result<Execution> {
        let req = request::execute(self.target(), request)?;
        self.execution_response(req).await
    }

    async fn execution_response(
        &self,
        req: http::Request<crate::transport::Body>,
    ) -> Result<Execution> {
        let (parts, body) = send_json(&self.client, req).await?;
        decode::decode_execution(
            self.client.api_version().family(),
            parts.status,
            &parts.headers,
            &body,
            &self.identifier,
        )
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
        let deadline = tokio::time::Instant::now() + request.poll_deadline;
        while !execution.status.is_terminal() {
            if tokio::time::Instant::now() + request.poll_interval > deadline {
                return Err(Error::Timeout {
                    kind: TimeoutKind::Overall,
                    after: Some(request.poll_deadline),
                });
            }
            tokio::time::sleep(request.poll_interval).await;
            execution = self.get_execution(&id).await?;
        }
        if execution.timings == Default::default() {
            execution.timings = first_timings;
        }
        if execution.id.is_empty() {
            execution.id = id;
        }
        Ok(execution)
    }
}
