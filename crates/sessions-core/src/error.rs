//! The one error type of the crate, and the service's error body.
//!
//! Every variant says what went wrong *and* what to do about it: a 403 names the role to assign,
//! a 401 the token scope, a decode error shows a snippet of the body it could not read.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

/// A boxed error from a tower service or body.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A convenient alias for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which timeout fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Establishing the TCP/TLS connection took too long.
    Connect,
    /// One HTTP attempt (request sent, response headers received) took too long.
    Attempt,
    /// The whole operation, retries and back-off included, passed its deadline.
    Overall,
    /// Fetching a token from the token source took too long.
    TokenLoad,
    /// Reading the response body took too long.
    Body,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Connect => "connect",
            TimeoutKind::Attempt => "per-attempt",
            TimeoutKind::Overall => "overall",
            TimeoutKind::TokenLoad => "token load",
            TimeoutKind::Body => "response body",
        })
    }
}

/// An error answer from the service (any non-2xx status). Built by the client only; it may gain
/// fields, so it cannot be constructed or destructured exhaustively outside this crate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The service's error code (`error.code` in the body, or the `x-ms-error-code` header).
    pub code: Option<String>,
    /// The service's message, or a short description of the status when the body had none.
    pub message: String,
    /// The request id to quote to support (`x-ms-request-id`, or our `x-ms-client-request-id`).
    pub request_id: Option<String>,
    /// The raw body as received (lossy UTF-8, at most 64 KiB).
    pub body: String,
}

impl ApiError {
    /// What the caller should do about this error, when there is a well-known fix.
    pub fn hint(&self) -> Option<&'static str> {
        match self.status.as_u16() {
            401 => Some(
                "the token was missing, expired, or for the wrong audience: request it for the scope \
                 `https://dynamicsessions.io/.default`",
            ),
            403 => Some(
                "the caller lacks the \"Azure ContainerApps Session Executor\" role on the session \
                 pool (assign it, then wait a few minutes for it to propagate and fetch a new token)",
            ),
            404 => Some("check the pool endpoint and the file name or execution id"),
            413 => {
                Some("the upload exceeds the service's 128 MB limit: split or compress the file")
            }
            429 => Some(
                "the pool is at its session limit or rate limit: delete sessions you no longer need \
                 (Session::delete) or retry later",
            ),
            // The service says this both for a body that does not fit the api-version and for
            // code sent to a shell pool (which takes `shellCommand`): name both causes.
            _ if self.code.as_deref() == Some("SessionPropertiesMissing") => Some(
                "the pool did not find the fields it expects in the body: on a shell pool run \
                 commands with Session::shell (code execution is for Python/Node pools); otherwise \
                 the body shape does not match the api-version (current versions take a flat body \
                 on `executions`, legacy versions a `properties` envelope on `code/execute`)",
            ),
            _ => None,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the service answered {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        if let Some(hint) = self.hint() {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

/// Every error this crate returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The service answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),

    /// A token could not be obtained from the token source.
    #[error(
        "could not get an access token: {message}; check the credential (az login, managed identity, or workload identity) and that it can request `https://dynamicsessions.io/.default`"
    )]
    Auth {
        /// What went wrong, without any secret.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// A timeout fired.
    #[error("the {kind} timeout{} elapsed; raise it in ClientBuilder if the work is expected to take longer", after.map(|d| format!(" of {d:?}")).unwrap_or_default())]
    Timeout {
        /// Which timeout.
        kind: TimeoutKind,
        /// Its configured length, when known.
        after: Option<Duration>,
    },

    /// The connection could not be established (DNS, TCP, TLS).
    #[error(
        "could not connect to the pool endpoint: {}; check the endpoint URL and the network",
        root_causes(&**source)
    )]
    Connect {
        /// The underlying error.
        #[source]
        source: BoxError,
    },

    /// The response could not be decoded.
    #[error("could not decode the service's response ({message}); body starts with: {snippet:?}")]
    Decode {
        /// What could not be decoded.
        message: String,
        /// The first bytes of the body (lossy UTF-8, at most 512 characters).
        snippet: String,
        /// The JSON error, when it was one.
        #[source]
        source: Option<serde_json::Error>,
    },

    /// The caller's input was rejected before anything was sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// A local file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, e.g. "opening /tmp/x.csv".
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// Any other transport failure (a broken connection, or an error from custom middleware).
    #[error("transport error: {0}")]
    Transport(#[source] BoxError),
}

impl Error {
    /// The API error, when this is one.
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<StatusCode> {
        self.as_api().map(|e| e.status)
    }

    /// Build a decode error with a snippet of the offending body.
    pub fn decode(
        message: impl Into<String>,
        body: &[u8],
        source: Option<serde_json::Error>,
    ) -> Self {
        let text = String::from_utf8_lossy(body);
        let snippet: String = text.chars().take(512).collect();
        Error::Decode {
            message: message.into(),
            snippet,
            source,
        }
    }

    /// Build an invalid-input error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidInput(message.into())
    }

    /// Build an I/O error with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Turn an error that came out of the tower stack back into a typed error.
    pub fn from_box(err: BoxError) -> Error {
        let err = match err.downcast::<Error>() {
            Ok(e) => return *e,
            Err(e) => e,
        };
        if err.is::<tower::timeout::error::Elapsed>() {
            return Error::Timeout {
                kind: TimeoutKind::Attempt,
                after: None,
            };
        }
        if is_connect_error(&*err) {
            return Error::Connect { source: err };
        }
        Error::Transport(err)
    }
}

/// Whether an error (anywhere in its source chain) is a failure to establish the connection,
/// which guarantees the request never reached the service.
pub(crate) fn is_connect_error(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        let hyper_connect = e
            .downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(|h| h.is_connect());
        let ours = e.downcast_ref::<Error>().is_some_and(|e| {
            matches!(
                e,
                Error::Connect { .. }
                    | Error::Timeout {
                        kind: TimeoutKind::Connect,
                        ..
                    }
            )
        });
        if hyper_connect || ours {
            return true;
        }
        cur = e.source();
    }
    false
}

/// The messages of an error and its sources, deduplicated, joined with ": "
/// (hyper's own message alone, "client error (Connect)", hides the cause).
fn root_causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        let msg = e.to_string();
        if !parts.iter().any(|p| p.contains(&msg)) {
            parts.push(msg);
        }
        cur = e.source();
    }
    parts.join(": ")
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("client error (Connect)")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn connect_errors_name_their_root_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let err = Error::Connect {
            source: Box::new(Outer(io)),
        };
        let msg = err.to_string();
        assert!(
            msg.contains("client error (Connect): Connection refused"),
            "{msg}"
        );
        assert!(msg.contains("check the endpoint URL"), "{msg}");
    }

    #[test]
    fn api_errors_say_what_to_do() {
        let e = ApiError {
            status: StatusCode::FORBIDDEN,
            code: None,
            message: "denied".into(),
            request_id: Some("r-1".into()),
            body: String::new(),
        };
        let msg = Error::from(e).to_string();
        assert!(
            msg.contains("Azure ContainerApps Session Executor") && msg.contains("r-1"),
            "{msg}"
        );
    }

    #[test]
    fn session_properties_missing_names_the_shell_pool_cause_too() {
        // Code sent to a shell pool gets this code as well as a body of the wrong shape.
        let e = ApiError {
            status: StatusCode::BAD_REQUEST,
            code: Some("SessionPropertiesMissing".into()),
            message: "The properties are missing.".into(),
            request_id: None,
            body: String::new(),
        };
        let hint = e.hint().unwrap();
        assert!(hint.contains("Session::shell"), "{hint}");
        assert!(hint.contains("api-version"), "{hint}");
    }
}
