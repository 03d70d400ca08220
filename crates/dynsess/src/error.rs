//! The CLI's error: one line on stderr (`error: ...`), or one JSON object there under `--json`,
//! with exit code 1 (2 for usage errors; 5 and 6 for `handle` input that cannot be answered).

use std::fmt;
use std::process::ExitCode;

use serde::Serialize;

/// What kind of failure, as the stable `code` of a JSON error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The service answered with an error status (`status`, `service_code` say which).
    Api,
    /// No token could be obtained.
    Auth,
    /// A timeout fired.
    Timeout,
    /// The endpoint could not be reached (DNS, TCP, TLS).
    Connect,
    /// The service's answer could not be read.
    Decode,
    /// Bad input (a flag, an id, a name), refused before anything was sent.
    InvalidInput,
    /// A local file or stream could not be read or written.
    Io,
    /// Any other transport failure.
    Transport,
    /// The command line could not be parsed.
    Usage,
    /// `handle`: the input is not the format named by `--format` (or is a stream without
    /// `--stream`, or a stream that cannot be read). Exit code 5.
    WrongFormat,
    /// `handle --stream`: the stream ended before the model's turn did. Exit code 6.
    UnfinishedStream,
}

/// What the service said, for [`ErrorCode::Api`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApiDetails {
    /// The HTTP status, e.g. 404.
    pub status: u16,
    /// The service's error code, e.g. `SessionRequestValidationFailed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_code: Option<String>,
    /// The request id to quote to support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// What to do about it, when there is a well-known fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<&'static str>,
}

/// A failure of a command. Its message is one line.
#[derive(Debug)]
pub struct Error {
    code: ErrorCode,
    message: String,
    api: Option<ApiDetails>,
    broken_pipe: bool,
}

/// The result of a command.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of the given kind.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            api: None,
            broken_pipe: false,
        }
    }

    /// Bad input from the user.
    pub fn msg(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::InvalidInput, message)
    }

    /// An I/O error with what was being done.
    pub fn io(context: impl fmt::Display, err: std::io::Error) -> Self {
        Error {
            broken_pipe: err.kind() == std::io::ErrorKind::BrokenPipe,
            ..Error::new(ErrorCode::Io, format!("{context}: {err}"))
        }
    }

    /// The kind of failure.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The error as the JSON printed under `--json`:
    /// `{"error": {"code", "message", "status"?, "service_code"?, "request_id"?, "hint"?}}`.
    pub fn to_json(&self) -> serde_json::Value {
        #[derive(Serialize)]
        struct Body<'a> {
            code: ErrorCode,
            message: String,
            #[serde(flatten)]
            api: Option<&'a ApiDetails>,
        }
        serde_json::json!({ "error": Body {
            code: self.code,
            message: self.to_string(),
            api: self.api.as_ref(),
        }})
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
        use dynamic_sessions::Error as E;
        let code = match &e {
            E::Api(_) => ErrorCode::Api,
            E::Auth { .. } => ErrorCode::Auth,
            E::Timeout { .. } => ErrorCode::Timeout,
            E::Connect { .. } => ErrorCode::Connect,
            E::Decode { .. } => ErrorCode::Decode,
            E::InvalidInput(_) => ErrorCode::InvalidInput,
            E::Io { .. } => ErrorCode::Io,
            _ => ErrorCode::Transport,
        };
        let api = e.as_api().map(|api| ApiDetails {
            status: api.status.as_u16(),
            service_code: api.code.clone(),
            request_id: api.request_id.clone(),
            hint: api.hint(),
        });
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
        Error {
            api,
            ..Error::new(code, message)
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error {
            broken_pipe: e.kind() == std::io::ErrorKind::BrokenPipe,
            ..Error::new(ErrorCode::Io, e.to_string())
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        match e.io_error_kind() {
            // Writing JSON failed, e.g. the reader of stdout went away.
            Some(kind) => Error::io("writing JSON", std::io::Error::from(kind)),
            None => Error::msg(format!("invalid JSON: {e}")),
        }
    }
}

impl From<dynamic_sessions::BoxError> for Error {
    fn from(e: dynamic_sessions::BoxError) -> Self {
        Error::from(dynamic_sessions::Error::from_box(e))
    }
}

/// Print the error on stderr (as JSON when `json`) and pick the exit code.
pub fn report(e: &Error, json: bool) -> ExitCode {
    let exit = ExitCode::from(match e.code() {
        ErrorCode::Usage => 2,
        ErrorCode::WrongFormat => 5,
        ErrorCode::UnfinishedStream => 6,
        _ => 1,
    });
    if e.broken_pipe {
        // The reader went away (e.g. `| head`): not worth a message.
        return exit;
    }
    if json {
        eprintln!("{}", e.to_json());
    } else {
        eprintln!("error: {e}");
    }
    exit
}

/// A clap error under `--json`: help and version print as usual, anything else is a usage error.
pub fn usage(e: clap::Error) -> Error {
    // clap's rendering is "error: <what>\n\n<usage>\n\nFor more information, try '--help'.".
    let rendered = e.render().to_string();
    let what = rendered
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error:")
        .trim();
    Error::new(ErrorCode::Usage, what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_error_has_a_code_and_a_one_line_message() {
        let e = Error::msg("no pool endpoint:\n  pass --endpoint");
        assert_eq!(
            e.to_json(),
            serde_json::json!({"error": {"code": "invalid_input",
                "message": "no pool endpoint: pass --endpoint"}})
        );
        let e = Error::from(dynamic_sessions::Error::Timeout {
            kind: dynamic_sessions::TimeoutKind::Overall,
            after: None,
        });
        assert_eq!(e.to_json()["error"]["code"], "timeout");
    }

    #[test]
    fn usage_errors_exit_2_and_others_1() {
        assert_eq!(
            report(&Error::new(ErrorCode::Usage, "x"), true),
            ExitCode::from(2)
        );
        assert_eq!(report(&Error::msg("x"), false), ExitCode::from(1));
    }
}
