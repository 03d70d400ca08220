//! Shell pools: `POST executions` with `shellCommand` or `execCommandAndArgs` (current family).
//! The answer is an execution resource ([`super::execution`]); its status is the exit code.

use std::time::Duration;

use http::Request;

use super::execute::MAX_EXECUTION_TIMEOUT;
use super::{Target, json_request, needs_current, to_json};
use crate::api::wire;
use crate::api_version::{ApiFamily, ApiVersion};
use crate::error::{Error, Result};
use crate::transport::{Body, Operation};

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

/// `POST executions` with `{"shellCommand", "stdin"?}` only (current family; shell pools).
pub(crate) fn post(t: Target<'_>, req: &ShellRequest) -> Result<Request<Body>> {
    if t.family() == ApiFamily::Legacy {
        return Err(needs_current(t.api_version, "shell commands"));
    }
    let spec_body = t.api_version == ApiVersion::V2025_10_02Preview;
    if let Some(args) = &req.exec {
        if !spec_body {
            return Err(Error::invalid(format!(
                "`execCommandAndArgs` needs api-version 2025-10-02-preview; this client uses {}",
                t.api_version
            )));
        }
        if args.first().is_none_or(|p| p.is_empty()) {
            return Err(Error::invalid(
                "ShellRequest::exec needs at least the program to run",
            ));
        }
    }
    let body = wire::ShellBody {
        shell_command: req.exec.is_none().then_some(req.command.as_str()),
        exec_command_and_args: req.exec.as_deref(),
        stdin: req.stdin.as_deref(),
        // Required by the definitions; sent only where the service is known to take it.
        timeout_in_seconds: spec_body.then(|| req.timeout_in_seconds()),
    };
    let uri = t.uri(t.api_version, "executions", true, &[])?;
    json_request(uri, to_json(&body)?, Operation::not_idempotent("shell"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ops::testing::{ID, endpoint, invalid, snap};

    #[tokio::test]
    async fn snapshots() {
        let ep = endpoint();
        let t = Target::session(&ep, ApiVersion::V2025_10_02Preview, ID);
        snap!(
            "current_shell",
            post(t, &ShellRequest::new("ls -la /mnt/data"))
        );
        snap!(
            "current_shell_stdin",
            post(
                t,
                &ShellRequest::new("cat")
                    .stdin("line 1\nline 2\n")
                    .timeout(Duration::from_secs(5))
            )
        );
        snap!(
            "current_shell_exec",
            post(
                t,
                &ShellRequest::exec(["ls", "-la", "/mnt/data/my dir"])
                    .timeout(Duration::from_secs(9)),
            )
        );
        let t = Target::session(&ep, ApiVersion::V2025_02_02Preview, ID);
        snap!("v20250202_shell", post(t, &ShellRequest::new("echo hi")));
    }

    #[test]
    fn the_legacy_family_has_no_shell() {
        let ep = endpoint();
        let t = Target::session(&ep, ApiVersion::V2024_02_02Preview, ID);
        let m = invalid(post(t, &ShellRequest::new("ls")));
        assert!(m.contains("2024-10-02-preview"), "{m}");
    }
}
