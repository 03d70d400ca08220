//! Running code: `POST executions` (current family) or `POST code/execute` (legacy), and
//! reading an execution back with `GET executions/{id}`. The answers decode in
//! [`super::execution`].

use std::time::Duration;

use http::{HeaderValue, Request};

use super::{
    OPERATION_ID, Target, empty_request, encode_component, encoding_failed, json_request,
    needs_current, to_json,
};
use crate::api::wire;
use crate::api_version::{ApiFamily, ApiVersion};
use crate::error::{Error, Result};
use crate::transport::{Body, Operation};

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

/// `POST executions` (current) or `POST code/execute` (legacy).
pub(crate) fn post(t: Target<'_>, req: &ExecuteRequest) -> Result<Request<Body>> {
    check_2510_fields(t.api_version, req)?;
    let (path, body) = match t.family() {
        ApiFamily::Legacy => {
            if req.asynchronous {
                return Err(needs_current(t.api_version, "asynchronous execution"));
            }
            if req.code_input_type != CodeInputType::Inline {
                return Err(needs_current(
                    t.api_version,
                    "a code input type other than Inline",
                ));
            }
            let body = wire::LegacyExecuteBody {
                properties: wire::LegacyExecuteProperties {
                    code_input_type: "inline",
                    execution_type: "synchronous",
                    code: &req.code,
                    timeout_in_seconds: req.timeout_in_seconds(),
                },
            };
            ("code/execute", to_json(&body)?)
        }
        ApiFamily::Current => {
            let body = wire::CurrentExecuteBody {
                code_input_type: req.code_input_type.as_str(),
                execution_type: if req.asynchronous {
                    "Asynchronous"
                } else {
                    "Synchronous"
                },
                code: &req.code,
                timeout_in_seconds: req.timeout_in_seconds(),
                output_streams_max_length: req.output_streams_max_length,
                use_empty_kernel: req.use_empty_kernel,
                return_jupyter_format_execution_result: req.jupyter_format,
            };
            ("executions", body.to_json().map_err(encoding_failed)?)
        }
    };
    let uri = t.uri(t.api_version, path, true, &[])?;
    let mut request = json_request(uri, body, Operation::not_idempotent("execute"))?;
    if let Some(id) = &req.operation_id {
        let value = HeaderValue::from_str(id).map_err(|_| {
            Error::invalid(format!(
                "the operation id {id:?} is not a valid header value"
            ))
        })?;
        request.headers_mut().insert(OPERATION_ID, value);
    }
    Ok(request)
}

fn check_2510_fields(version: ApiVersion, req: &ExecuteRequest) -> Result<()> {
    if version == ApiVersion::V2025_10_02Preview {
        return Ok(());
    }
    let fields = [
        (
            req.output_streams_max_length.is_some(),
            "outputStreamsMaxLength",
        ),
        (req.use_empty_kernel.is_some(), "useEmptyKernel"),
        (
            req.jupyter_format.is_some(),
            "returnJupyterFormatExecutionResult",
        ),
    ];
    match fields.iter().find(|(set, _)| *set) {
        Some((_, name)) => Err(Error::invalid(format!(
            "`{name}` needs api-version 2025-10-02-preview; this client uses {version}"
        ))),
        None => Ok(()),
    }
}

/// `GET executions/{id}` (current family only).
pub(crate) fn get(t: Target<'_>, id: &str) -> Result<Request<Body>> {
    if t.family() == ApiFamily::Legacy {
        return Err(needs_current(t.api_version, "reading an execution by id"));
    }
    if id.is_empty() {
        return Err(Error::invalid("the execution id is empty"));
    }
    let uri = t.uri(
        t.api_version,
        &format!("executions/{}", encode_component(id)),
        true,
        &[],
    )?;
    empty_request(
        http::Method::GET,
        uri,
        Operation::idempotent("executions.get"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ops::testing::{ID, endpoint, invalid, snap};

    #[test]
    fn timeout_is_clamped_and_rounded_up() {
        let t = |d| ExecuteRequest::new("").timeout(d).timeout_in_seconds();
        assert_eq!(ExecuteRequest::new("").timeout_in_seconds(), 220);
        assert_eq!(t(Duration::from_secs(1000)), 220);
        assert_eq!(t(Duration::ZERO), 1);
        assert_eq!(t(Duration::from_millis(1500)), 2);
        assert_eq!(t(Duration::from_secs(60)), 60);
    }

    #[tokio::test]
    async fn snapshots() {
        let ep = endpoint();
        let t = Target::session(&ep, ApiVersion::V2025_10_02Preview, ID);
        snap!(
            "current_execute",
            post(t, &ExecuteRequest::new("print(7*9)"))
        );
        snap!(
            "current_execute_all_options",
            post(
                t,
                &ExecuteRequest::new("1+1")
                    .timeout(Duration::from_secs(30))
                    .asynchronous(true)
                    .code_input_type(CodeInputType::InlineBase64)
                    .output_streams_max_length(1000)
                    .jupyter_format(true)
                    .use_empty_kernel(false)
                    .operation_id("op-1"),
            )
        );
        snap!("current_get_execution", get(t, "exec/1 #2"));
        let t = Target::session(&ep, ApiVersion::V2024_10_02Preview, ID);
        snap!(
            "v20241002_execute",
            post(t, &ExecuteRequest::new("print(1)"))
        );
        let t = Target::session(&ep, ApiVersion::V2024_02_02Preview, ID);
        snap!(
            "legacy_execute",
            post(t, &ExecuteRequest::new("print('Hello, world!')"))
        );
        snap!(
            "legacy_execute_timeout",
            post(
                t,
                &ExecuteRequest::new("1")
                    .timeout(Duration::from_secs(100))
                    .operation_id("op-7")
            )
        );
        let t = Target::session(&ep, ApiVersion::V2024_08_02Preview, ID);
        snap!(
            "legacy_20240802_execute",
            post(t, &ExecuteRequest::new("2+2"))
        );
    }

    #[test]
    fn the_legacy_family_refuses_what_it_lacks() {
        let ep = endpoint();
        let t = Target::session(&ep, ApiVersion::V2024_02_02Preview, ID);
        for message in [
            invalid(get(t, "id")),
            invalid(post(t, &ExecuteRequest::new("1").asynchronous(true))),
        ] {
            assert!(message.contains("2024-10-02-preview"), "{message}");
        }
    }

    #[test]
    fn version_gated_fields_are_refused_not_dropped() {
        let ep = endpoint();
        let t = Target::session(&ep, ApiVersion::V2025_02_02Preview, ID);
        let m = invalid(post(t, &ExecuteRequest::new("1").jupyter_format(true)));
        assert!(
            m.contains("returnJupyterFormatExecutionResult") && m.contains("2025-10-02-preview"),
            "{m}"
        );
    }

    #[test]
    fn a_bad_identifier_never_reaches_the_wire() {
        let ep = endpoint();
        let bad = Target::session(&ep, ApiVersion::V2025_10_02Preview, "a b");
        invalid(post(bad, &ExecuteRequest::new("1")));
    }
}
