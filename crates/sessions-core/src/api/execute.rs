//! What to run: [`ExecuteRequest`] for code, [`ShellRequest`] for shell pools.

use std::time::Duration;

/// The service's execution cap: a run is cut off after about 220 s whatever the request says.
pub const MAX_EXECUTION_TIMEOUT: Duration = Duration::from_secs(220);

/// The default interval between `GET executions/{id}` polls of an asynchronous execution.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// The default limit on how long an asynchronous execution is polled before giving up.
pub const DEFAULT_POLL_DEADLINE: Duration = Duration::from_secs(600);

/// How the service should read `code` (`codeInputType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum CodeInputType {
    /// The code as plain text (the only kind the legacy family accepts).
    #[default]
    Inline,
    /// The code base64-encoded (current family; semantics undocumented by the service).
    InlineBase64,
    /// The code as text (current family; semantics undocumented by the service).
    InlineText,
}

impl CodeInputType {
    /// The current-family wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            CodeInputType::Inline => "Inline",
            CodeInputType::InlineBase64 => "InlineBase64",
            CodeInputType::InlineText => "InlineText",
        }
    }
}

/// A code execution request for [`Session::execute_with`](crate::api::Session::execute_with).
///
/// ```
/// use std::time::Duration;
/// use sessions_core::api::ExecuteRequest;
/// let req = ExecuteRequest::new("print(1 + 1)").timeout(Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecuteRequest {
    pub(crate) code: String,
    pub(crate) timeout: Duration,
    pub(crate) asynchronous: bool,
    pub(crate) code_input_type: CodeInputType,
    pub(crate) output_streams_max_length: Option<u32>,
    pub(crate) jupyter_format: Option<bool>,
    pub(crate) use_empty_kernel: Option<bool>,
    pub(crate) operation_id: Option<String>,
    pub(crate) poll_interval: Duration,
    pub(crate) poll_deadline: Duration,
}

impl ExecuteRequest {
    /// Run `code` synchronously with the maximum server-side timeout (220 s).
    pub fn new(code: impl Into<String>) -> Self {
        ExecuteRequest {
            code: code.into(),
            timeout: MAX_EXECUTION_TIMEOUT,
            asynchronous: false,
            code_input_type: CodeInputType::Inline,
            output_streams_max_length: None,
            jupyter_format: None,
            use_empty_kernel: None,
            operation_id: None,
            poll_interval: DEFAULT_POLL_INTERVAL,
            poll_deadline: DEFAULT_POLL_DEADLINE,
        }
    }

    /// The server-side time limit (`timeoutInSeconds`).
    ///
    /// Clamped to 1..=220 s: the service stops every run at about 220 s anyway, so a larger value
    /// would only suggest a limit that does not exist. Sub-second parts round up. This is not the
    /// HTTP timeout; configure that on the client.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Run asynchronously: the service answers at once with `Running` and the client polls
    /// `GET executions/{id}` (current family only).
    pub fn asynchronous(mut self, asynchronous: bool) -> Self {
        self.asynchronous = asynchronous;
        self
    }

    /// How `code` is encoded (`codeInputType`).
    pub fn code_input_type(mut self, kind: CodeInputType) -> Self {
        self.code_input_type = kind;
        self
    }

    /// Cap stdout and stderr at this many characters (`outputStreamsMaxLength`,
    /// 2025-10-02-preview only).
    pub fn output_streams_max_length(mut self, max: u32) -> Self {
        self.output_streams_max_length = Some(max);
        self
    }

    /// Return the result as Jupyter's text/plain repr (`returnJupyterFormatExecutionResult`,
    /// 2025-10-02-preview only).
    pub fn jupyter_format(mut self, jupyter: bool) -> Self {
        self.jupyter_format = Some(jupyter);
        self
    }

    /// Run in a fresh kernel without the session's state (`useEmptyKernel`,
    /// 2025-10-02-preview only).
    pub fn use_empty_kernel(mut self, empty: bool) -> Self {
        self.use_empty_kernel = Some(empty);
        self
    }

    /// A caller-chosen execution id, sent as the `operation-id` header.
    pub fn operation_id(mut self, id: impl Into<String>) -> Self {
        self.operation_id = Some(id.into());
        self
    }

    /// The interval between polls of a running execution (default 500 ms).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How long to keep polling a running execution before returning
    /// [`Error::Timeout`](crate::Error::Timeout) (default 10 minutes).
    pub fn poll_deadline(mut self, deadline: Duration) -> Self {
        self.poll_deadline = deadline;
        self
    }

    /// The code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Whether the execution is asynchronous.
    pub fn is_asynchronous(&self) -> bool {
        self.asynchronous
    }

    /// The `timeoutInSeconds` value that will be sent (clamped to 1..=220).
    pub fn timeout_in_seconds(&self) -> u32 {
        let secs = self.timeout.as_secs() + u64::from(self.timeout.subsec_nanos() > 0);
        secs.clamp(1, MAX_EXECUTION_TIMEOUT.as_secs()) as u32
    }
}

/// A shell command for shell pools, for [`Session::shell_with`](crate::api::Session::shell_with).
///
/// What is sent depends on the version. At 2025-10-02-preview the body follows the definitions:
/// `shellCommand` (or `execCommandAndArgs`), `stdin` when set, and the required
/// `timeoutInSeconds`. Before it, the body is `shellCommand` and `stdin` only: the service
/// rejected shell requests carrying more fields at 2025-02-02-preview (langchain-azure#445), so
/// the timeout is then enforced on the client side alone.
///
/// ```
/// use std::time::Duration;
/// use sessions_core::api::ShellRequest;
/// let req = ShellRequest::new("wc -l").stdin("a\nb\n").timeout(Duration::from_secs(30));
/// let exec = ShellRequest::exec(["ls", "-la", "/mnt/data/my dir"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellRequest {
    pub(crate) command: String,
    pub(crate) exec: Option<Vec<String>>,
    pub(crate) stdin: Option<String>,
    pub(crate) timeout: Option<Duration>,
}

impl ShellRequest {
    /// Run `command` in the session's shell (`shellCommand`).
    pub fn new(command: impl Into<String>) -> Self {
        ShellRequest {
            command: command.into(),
            exec: None,
            stdin: None,
            timeout: None,
        }
    }

    /// Run a program with these arguments, each passed as is with no shell quoting to get
    /// wrong (`execCommandAndArgs`, 2025-10-02-preview). The first item is the program.
    pub fn exec<I, S>(program_and_args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ShellRequest {
            command: String::new(),
            exec: Some(program_and_args.into_iter().map(Into::into).collect()),
            stdin: None,
            timeout: None,
        }
    }

    /// Text fed to the command's standard input (`stdin`).
    pub fn stdin(mut self, stdin: impl Into<String>) -> Self {
        self.stdin = Some(stdin.into());
        self
    }

    /// A deadline for the whole call; when it passes the call returns
    /// [`Error::Timeout`](crate::Error::Timeout) with [`TimeoutKind::Overall`](crate::TimeoutKind).
    /// At 2025-10-02-preview it is also sent as `timeoutInSeconds` (rounded up, 1–220 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The command (`shellCommand`; empty for [`ShellRequest::exec`]).
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The program and arguments of [`ShellRequest::exec`].
    pub fn program_and_args(&self) -> Option<&[String]> {
        self.exec.as_deref()
    }

    /// The `timeoutInSeconds` sent at 2025-10-02-preview: the timeout rounded up, clamped to
    /// 1..=220, or 220 without one.
    pub fn timeout_in_seconds(&self) -> u32 {
        let t = self.timeout.unwrap_or(MAX_EXECUTION_TIMEOUT);
        let secs = t.as_secs() + u64::from(t.subsec_nanos() > 0);
        secs.clamp(1, MAX_EXECUTION_TIMEOUT.as_secs()) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_is_clamped_and_rounded_up() {
        let t = |d| ExecuteRequest::new("").timeout(d).timeout_in_seconds();
        assert_eq!(ExecuteRequest::new("").timeout_in_seconds(), 220);
        assert_eq!(t(Duration::from_secs(1000)), 220);
        assert_eq!(t(Duration::ZERO), 1);
        assert_eq!(t(Duration::from_millis(1500)), 2);
        assert_eq!(t(Duration::from_secs(60)), 60);
    }
}
