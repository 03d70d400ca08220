//! Execution requests: parsing both body families into runtime requests, running them on a
//! session's worker, and mapping outcomes to the response shapes.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::api_version::ApiVersion;
use crate::config::MAX_TIMEOUT;
use crate::error::ApiError;
use crate::runtime::{PoolType, PythonRun, RunOutcome, RunStatus, ShellRun};
use crate::sessions::Slot;
use crate::shapes::{Execution, ExecutionResult, LegacyExecution, LegacyExecutionProperties};

/// What to run.
#[derive(Debug, Clone)]
pub enum RunKind {
    /// Python code.
    Python(PythonRun),
    /// A shell command.
    Shell(ShellRun),
}

/// `outputStreamsMaxLength` when a 2025-10-02-preview request gives none (the service's
/// OpenAPI definition).
pub const DEFAULT_OUTPUT_STREAMS_MAX_LENGTH: usize = 4096;

impl RunKind {
    /// Cap stdout and stderr at `max` characters unless the request set its own cap.
    pub fn default_max_output(&mut self, max: usize) {
        let cap = match self {
            RunKind::Python(r) => &mut r.max_output,
            RunKind::Shell(r) => &mut r.max_output,
        };
        cap.get_or_insert(max);
    }
}

/// A parsed execution request.
#[derive(Debug, Clone)]
pub struct ExecRequest {
    /// What to run.
    pub kind: RunKind,
    /// `executionType: Asynchronous`.
    pub asynchronous: bool,
    /// An `identifier` found inside the body (legacy clients), used when the query has none.
    pub body_identifier: Option<String>,
}

/// Parse a JSON body into an object, naming the JSON error on failure.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::validation(
            "The request body is empty; a JSON object is required.",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::validation(
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(ApiError::validation(format!(
            "The request body is not valid JSON: {e}"
        ))),
    }
}

/// Field lookup by lowercase name.
struct Fields(HashMap<String, Value>);

impl Fields {
    fn new(m: Map<String, Value>) -> Self {
        Fields(
            m.into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
        )
    }

    fn has(&self, name: &str) -> bool {
        self.0.get(name).is_some_and(|v| !v.is_null())
    }

    fn str(&self, name: &str, label: &str) -> Result<Option<String>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::validation(format!("'{label}' must be a string."))),
        }
    }

    fn uint(&self, name: &str, label: &str) -> Result<Option<u64>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => {
                if let Some(u) = n.as_u64() {
                    Ok(Some(u))
                } else if let Some(f) = n.as_f64().filter(|f| *f >= 0.0 && f.is_finite()) {
                    Ok(Some(f.ceil() as u64))
                } else {
                    Err(ApiError::validation(format!(
                        "'{label}' must be a non-negative integer."
                    )))
                }
            }
            Some(Value::String(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| {
                ApiError::validation(format!("'{label}' must be a non-negative integer."))
            }),
            Some(_) => Err(ApiError::validation(format!(
                "'{label}' must be a non-negative integer."
            ))),
        }
    }

    /// A JSON integer, nothing else: `1.5`, `1e308` and `"5"` are refused.
    fn integer(&self, name: &str, label: &str) -> Result<Option<u64>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.is_u64() => Ok(n.as_u64()),
            Some(_) => Err(ApiError::validation(format!(
                "'{label}' must be a whole number of seconds from 1 to {}, written as a JSON integer.",
                MAX_TIMEOUT.as_secs()
            ))),
        }
    }

    fn bool(&self, name: &str, label: &str) -> Result<bool, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(ApiError::validation(format!(
                "'{label}' must be a boolean."
            ))),
        }
    }
}

fn unwrap_properties(
    mut obj: Map<String, Value>,
    legacy: bool,
    strict: bool,
) -> Result<Map<String, Value>, ApiError> {
    let key = obj
        .keys()
        .find(|k| k.eq_ignore_ascii_case("properties"))
        .cloned();
    match key.and_then(|k| obj.remove(&k)) {
        Some(Value::Object(inner)) => {
            if !legacy && strict {
                return Err(ApiError::properties(
                    "The request body must be a flat JSON object; the 'properties' envelope is not accepted on 'executions'.",
                ));
            }
            Ok(inner)
        }
        Some(_) => Err(ApiError::properties("'properties' must be a JSON object.")),
        None => {
            if legacy && strict {
                return Err(ApiError::properties(
                    "The request body must be wrapped in a 'properties' object on 'code/execute'.",
                ));
            }
            Ok(obj)
        }
    }
}

/// Quote one argument for bash.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Which route an execution body came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST executions` at this api-version.
    Executions(ApiVersion),
    /// The legacy `POST code/execute`.
    CodeExecute,
}

/// How `code` is given (`codeInputType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodeInput {
    /// `Inline` or `InlineText` (or absent): as given.
    Text,
    /// `InlineBase64`: standard base64.
    Base64,
}

fn code_input(f: &Fields) -> Result<CodeInput, ApiError> {
    match f.str("codeinputtype", "codeInputType")? {
        None => Ok(CodeInput::Text),
        Some(t) if t.eq_ignore_ascii_case("inline") || t.eq_ignore_ascii_case("inlinetext") => {
            Ok(CodeInput::Text)
        }
        Some(t) if t.eq_ignore_ascii_case("inlinebase64") => Ok(CodeInput::Base64),
        Some(t) => Err(ApiError::validation(format!(
            "'codeInputType' must be 'Inline', 'InlineBase64' or 'InlineText', not '{t}'."
        ))),
    }
}

/// Parse an execution body sent to `route`.
pub fn parse_request(
    body: &[u8],
    pool: PoolType,
    strict: bool,
    route: Route,
) -> Result<ExecRequest, ApiError> {
    let legacy = route == Route::CodeExecute;
    let f = Fields::new(unwrap_properties(parse_object(body)?, legacy, strict)?);

    let asynchronous = match f.str("executiontype", "executionType")? {
        None => false,
        Some(s) if s.eq_ignore_ascii_case("synchronous") => false,
        Some(s) if s.eq_ignore_ascii_case("asynchronous") => true,
        Some(s) => {
            return Err(ApiError::validation(format!(
                "'executionType' must be 'Synchronous' or 'Asynchronous', not '{s}'."
            )));
        }
    };
    if asynchronous && legacy {
        return Err(ApiError::not_supported(
            "Asynchronous execution is not supported on 'code/execute'; use 'executions'.",
        ));
    }
    let timeout = match f.integer("timeoutinseconds", "timeoutInSeconds")? {
        None => MAX_TIMEOUT,
        Some(0) => {
            return Err(ApiError::validation(
                "'timeoutInSeconds' must be greater than 0.",
            ));
        }
        Some(s) => Duration::from_secs(s).min(MAX_TIMEOUT),
    };
    let max_output = f
        .uint("outputstreamsmaxlength", "outputStreamsMaxLength")?
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let body_identifier = f.str("identifier", "identifier")?;

    let kind = match pool {
        PoolType::Shell => {
            if legacy {
                return Err(ApiError::not_supported(
                    "Shell execution is not supported on 'code/execute'; use 'executions' with 'shellCommand'.",
                ));
            }
            // The 2025-10-02-preview definitions' shell example sends `codeInputType` next to
            // `shellCommand`; at 2025-02-02-preview the service refused it (langchain-azure#445).
            let input_type_ok =
                matches!(route, Route::Executions(v) if v >= ApiVersion::V2025_10_02);
            if f.has("code") || f.has("pythoncode") || (f.has("codeinputtype") && !input_type_ok) {
                return Err(ApiError::properties(
                    "This is a shell session pool: send 'shellCommand' or 'execCommandAndArgs' (and optionally 'stdin'); 'code' is not accepted, nor 'codeInputType' before api-version 2025-10-02-preview.",
                ));
            }
            code_input(&f)?;
            let command = match (
                f.str("shellcommand", "shellCommand")?,
                f.0.get("execcommandandargs"),
            ) {
                (Some(_), Some(v)) if !v.is_null() => {
                    return Err(ApiError::validation(
                        "'shellCommand' and 'execCommandAndArgs' are mutually exclusive.",
                    ));
                }
                (Some(c), _) => c,
                (None, Some(Value::Array(items))) if !items.is_empty() => {
                    let mut parts = Vec::with_capacity(items.len());
                    for it in items {
                        match it {
                            Value::String(s) => parts.push(shell_quote(s)),
                            _ => {
                                return Err(ApiError::validation(
                                    "'execCommandAndArgs' must be an array of strings.",
                                ));
                            }
                        }
                    }
                    parts.join(" ")
                }
                _ => {
                    return Err(ApiError::properties(
                        "The 'shellCommand' property is required on a shell session pool.",
                    ));
                }
            };
            RunKind::Shell(ShellRun {
                command,
                stdin: f.str("stdin", "stdin")?,
                timeout,
                max_output,
            })
        }
        PoolType::Python => {
            if f.has("shellcommand") || f.has("execcommandandargs") {
                return Err(ApiError::properties(
                    "This is a Python session pool: 'shellCommand' and 'execCommandAndArgs' are only accepted on shell pools; send 'code'.",
                ));
            }
            let code = match f.str("code", "code")? {
                Some(c) => c,
                None if legacy => f
                    .str("pythoncode", "pythonCode")?
                    .ok_or_else(|| ApiError::properties("The 'code' property is required."))?,
                None => return Err(ApiError::properties("The 'code' property is required.")),
            };
            let code = match code_input(&f)? {
                CodeInput::Text => code,
                CodeInput::Base64 => {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(code.trim())
                        .map_err(|e| {
                            ApiError::validation(format!("'code' is not valid base64: {e}"))
                        })?;
                    String::from_utf8(bytes).map_err(|_| {
                        ApiError::validation("'code' does not decode to UTF-8 text.")
                    })?
                }
            };
            RunKind::Python(PythonRun {
                code,
                timeout,
                max_output,
                // The definitions' name, else the examples' `returnJupyterFormat`.
                jupyter_format: if f.has("returnjupyterformatexecutionresult") {
                    f.bool(
                        "returnjupyterformatexecutionresult",
                        "returnJupyterFormatExecutionResult",
                    )?
                } else {
                    f.bool("returnjupyterformat", "returnJupyterFormat")?
                },
            })
        }
    };
    Ok(ExecRequest {
        kind,
        asynchronous,
        body_identifier,
    })
}

/// Run on the session's worker; calls on one session are serialised by the worker lock.
pub async fn run(slot: &Slot, kind: RunKind) -> Result<RunOutcome, ApiError> {
    let mut guard = slot.worker.lock().await;
    let Some(worker) = guard.as_mut() else {
        return Err(ApiError::not_found(
            "The session was stopped while the request waited.",
        ));
    };
    let res = match kind {
        RunKind::Python(r) => worker.run_python(r).await,
        RunKind::Shell(r) => worker.run_shell(r).await,
    };
    res.map_err(|e| ApiError::internal(e.to_string()))
}

/// The figures left open by a run, as the result: one figure is an image object (as the service
/// sends it); several are a list of image objects, in figure-number order, so none is lost.
fn image_value(outcome: &RunOutcome) -> Option<Value> {
    let image = |img: &crate::runtime::ImageOutput| json!({ "type": "image", "format": img.format, "base64_data": img.base64_data });
    match outcome.images.as_slice() {
        [] => None,
        [one] => Some(image(one)),
        many => Some(Value::Array(many.iter().map(image).collect())),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The current-family resource for a finished run (`shell` drops `executionResult`).
pub fn to_execution(
    id: &str,
    identifier: &str,
    asynchronous: bool,
    shell: bool,
    o: &RunOutcome,
) -> Execution {
    let status = match &o.status {
        RunStatus::Exited(code) => code.to_string(),
        RunStatus::Succeeded if shell => "0".to_string(),
        RunStatus::Succeeded => "Succeeded".to_string(),
        RunStatus::Failed | RunStatus::TimedOut | RunStatus::OutOfMemory => "Failed".to_string(),
    };
    let execution_result = if shell {
        None
    } else if o.status == RunStatus::Succeeded {
        Some(image_value(o).unwrap_or_else(|| o.result.clone()))
    } else {
        Some(o.result.clone())
    };
    Execution {
        id: id.to_string(),
        identifier: identifier.to_string(),
        execution_type: execution_type(asynchronous),
        status,
        result: Some(ExecutionResult {
            stdout: o.stdout.clone(),
            stderr: o.stderr.clone(),
            execution_result,
            execution_time_in_milliseconds: millis(o.duration),
        }),
    }
}

/// The resource of a run still in progress.
pub fn running(id: &str, identifier: &str) -> Execution {
    Execution {
        id: id.to_string(),
        identifier: identifier.to_string(),
        execution_type: execution_type(true),
        status: "Running".to_string(),
        result: None,
    }
}

fn execution_type(asynchronous: bool) -> &'static str {
    if asynchronous {
        "Asynchronous"
    } else {
        "Synchronous"
    }
}

/// The legacy `code/execute` response.
pub fn to_legacy(o: &RunOutcome) -> LegacyExecution {
    let ok = matches!(o.status, RunStatus::Succeeded | RunStatus::Exited(0));
    let result = if ok {
        image_value(o).unwrap_or_else(|| o.result.clone())
    } else {
        o.result.clone()
    };
    LegacyExecution {
        id: "1",
        properties: LegacyExecutionProperties {
            id: "2",
            status: if ok { "Success" } else { "Failure" },
            stdout: o.stdout.clone(),
            stderr: o.stderr.clone(),
            result,
            execution_time_in_milliseconds: millis(o.duration),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURRENT: Route = Route::Executions(ApiVersion::V2025_10_02);

    #[test]
    fn timeouts_must_be_json_integers() {
        for bad in [
            "1e308",
            "1.5",
            "\"5\"",
            "-1",
            "0",
            "true",
            "18446744073709551616",
        ] {
            let body = format!(r#"{{"code":"1","timeoutInSeconds":{bad}}}"#);
            let e = parse_request(body.as_bytes(), PoolType::Python, false, CURRENT).unwrap_err();
            assert_eq!(e.status, 400, "{bad}");
        }
        let ok = parse_request(
            br#"{"code":"1","timeoutInSeconds":5}"#,
            PoolType::Python,
            false,
            CURRENT,
        );
        match ok.unwrap().kind {
            RunKind::Python(p) => assert_eq!(p.timeout, Duration::from_secs(5)),
            RunKind::Shell(_) => panic!("python expected"),
        }
    }

    #[test]
    fn parses_flat_and_wrapped() {
        let r = parse_request(
            br#"{"codeInputType":"inline","executionType":"synchronous","code":"1+1","timeoutInSeconds":999}"#,
            PoolType::Python,
            false,
            CURRENT,
        )
        .unwrap();
        match r.kind {
            RunKind::Python(p) => {
                assert_eq!(p.code, "1+1");
                assert_eq!(p.timeout, MAX_TIMEOUT);
            }
            RunKind::Shell(_) => panic!("python expected"),
        }
        let wrapped = br#"{"properties":{"code":"1"}}"#;
        assert!(parse_request(wrapped, PoolType::Python, false, CURRENT).is_ok());
        let e = parse_request(wrapped, PoolType::Python, true, CURRENT).unwrap_err();
        assert_eq!(e.code, "SessionPropertiesMissing");
        let e = parse_request(br#"{"code":"1"}"#, PoolType::Shell, false, CURRENT).unwrap_err();
        assert_eq!(e.code, "SessionPropertiesMissing");
        let e = parse_request(b"{nope", PoolType::Python, false, CURRENT).unwrap_err();
        assert_eq!(e.code, "SessionRequestValidationFailed");
        let r = parse_request(
            br#"{"execCommandAndArgs":["echo","a b"]}"#,
            PoolType::Shell,
            false,
            CURRENT,
        )
        .unwrap();
        match r.kind {
            RunKind::Shell(s) => assert_eq!(s.command, "echo 'a b'"),
            RunKind::Python(_) => panic!("shell expected"),
        }
        let r = parse_request(
            br#"{"properties":{"codeInputType":"InlineBase64","code":"MSsx"}}"#,
            PoolType::Python,
            false,
            Route::CodeExecute,
        )
        .unwrap();
        match r.kind {
            RunKind::Python(p) => assert_eq!(p.code, "1+1"),
            RunKind::Shell(_) => panic!("python expected"),
        }
    }
}
