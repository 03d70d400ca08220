//! The CLI's error: always one line, printed as `error: ...` with exit code 1.

use std::fmt;
use std::process::ExitCode;

/// A failure of a command. Its message is one line.
#[derive(Debug)]
pub struct Error {
    message: String,
    broken_pipe: bool,
}

/// The result of a command.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with this message.
    pub fn msg(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            broken_pipe: false,
        }
    }

    /// An I/O error with what was being done.
    pub fn io(context: impl fmt::Display, err: std::io::Error) -> Self {
        Error {
            broken_pipe: err.kind() == std::io::ErrorKind::BrokenPipe,
            message: format!("{context}: {err}"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the source said.
        let mut first = true;
        for line in self
            .message
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(line)?;
            first = false;
        }
        Ok(())
    }
}

impl From<dynamic_sessions::Error> for Error {
    fn from(e: dynamic_sessions::Error) -> Self {
        // Name the root cause (e.g. "Connection refused") when the message does not already.
        let mut message = e.to_string();
        let mut root: Option<&(dyn std::error::Error + 'static)> = None;
        let mut cur = std::error::Error::source(&e);
        while let Some(s) = cur {
            root = Some(s);
            cur = s.source();
        }
        if let Some(root) = root {
            let cause = root.to_string();
            if !cause.is_empty() && !message.contains(&cause) {
                message.push_str(&format!(" (cause: {cause})"));
            }
        }
        Error::msg(message)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error {
            broken_pipe: e.kind() == std::io::ErrorKind::BrokenPipe,
            message: e.to_string(),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::msg(format!("invalid JSON: {e}"))
    }
}

/// Print the error on stderr and pick the exit code.
pub fn report(e: &Error) -> ExitCode {
    if e.broken_pipe {
        // The reader went away (e.g. `| head`): not worth a message.
        return ExitCode::from(1);
    }
    eprintln!("error: {e}");
    ExitCode::from(1)
}

impl From<dynamic_sessions::BoxError> for Error {
    fn from(e: dynamic_sessions::BoxError) -> Self {
        Error::from(dynamic_sessions::Error::from_box(e))
    }
}
