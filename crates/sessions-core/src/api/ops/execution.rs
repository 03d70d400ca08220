//! Decoding the execution resource, both families: what `POST executions`, `GET
//! executions/{id}`, shell commands and `POST code/execute` answer. Pure: bytes in, value out.
//!
//! Nothing here panics on what the network sends: a malformed body becomes an
//! [`Error::Decode`] with a snippet, and oddities the service is known for (`$id`, `rawResult`,
//! numbers as strings, `NaN` tokens) are tolerated.

use std::time::Duration;

use http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::header;
use super::header_text;
use crate::api::json::parse_json;
use crate::api::{numbers, wire};
use crate::api_version::ApiFamily;
use crate::error::{Error, Result};
use crate::model::{Execution, ExecutionResult, ExecutionStatus, ExecutionTimings, Image};

/// The `x-ms-*` timing headers of an execution response.
pub(crate) fn timings(headers: &HeaderMap) -> ExecutionTimings {
    // One pass over the (few) response header names instead of ten lookups by name; each
    // name's first value, as `HeaderMap::get` gives it.
    let mut t = ExecutionTimings::default();
    for name in headers.keys() {
        let Some(rest) = name.as_str().strip_prefix("x-ms-") else {
            continue;
        };
        let slot = match rest {
            "session-guid" => &mut t.session_guid,
            "execution-request-time" => &mut t.execution_request_time,
            "execution-read-response-time" => &mut t.execution_read_response_time,
            "total-execution-service-time" => &mut t.total_execution_service_time,
            "container-execution-duration" => &mut t.container_execution_duration,
            "preparation-time" => &mut t.preparation_time,
            "overall-execution-time" => &mut t.overall_execution_time,
            "allocation-time" => &mut t.allocation_time,
            "allocation-retries" => &mut t.allocation_retries,
            "new-allocation" => &mut t.new_allocation,
            _ => continue,
        };
        *slot = headers.get(name).and_then(header_text);
    }
    t
}

/// Decode an execution response of either family.
///
/// `identifier` fills in the session when the body has none; the id falls back to the
/// `operation-id` header. An empty body (a bare `202 Accepted`) is a `Running` execution.
pub(crate) fn decode(
    family: ApiFamily,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    identifier: &str,
) -> Result<Execution> {
    let blank = body.iter().all(u8::is_ascii_whitespace);
    // Numbers serde_json would round or refuse (`2**70`, `1e400`) become their exact text.
    let exact = numbers::exact_numbers(body);
    let body: &[u8] = &exact;
    // Fast path for the common case, a flat current-family body: decode straight into the wire
    // type. Anything else (an envelope, a legacy body, an odd shape) takes the general path.
    let flat = match family {
        ApiFamily::Current if !blank => {
            parse_json::<wire::CurrentExecution>(body, "the execution response")
                .ok()
                .filter(|e| e.status.is_some())
        }
        _ => None,
    };
    let ExecutionFields {
        id,
        identifier: body_identifier,
        status: raw_status,
        stdout,
        stderr,
        result,
        millis,
        error_message,
    } = match flat {
        Some(e) => ExecutionFields::current(e),
        None => execution_fields_by_shape(family, body, blank)?,
    };
    let status = match raw_status {
        Some(s) => s,
        None if status == StatusCode::ACCEPTED => ExecutionStatus::Running,
        None => {
            return Err(Error::decode(
                "the execution response has no `status`",
                body,
                None,
            ));
        }
    };
    let mut stderr = stderr.unwrap_or_default();
    // A failed execution may explain itself only in `error`; surface it where callers look.
    if stderr.is_empty() && status == ExecutionStatus::Failed {
        stderr = error_message.unwrap_or_default();
    }
    let (result, images) = result.map(result_and_images).unwrap_or_default();
    Ok(Execution {
        images,
        id: id
            .or_else(|| header(headers, "operation-id"))
            .unwrap_or_default(),
        identifier: body_identifier.unwrap_or_else(|| identifier.to_owned()),
        status,
        stdout: stdout.unwrap_or_default(),
        stderr,
        result,
        execution_time: millis.and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok()),
        timings: timings(headers),
    })
}

/// What an execution response says, whichever family's shape it came in.
struct ExecutionFields {
    id: Option<String>,
    identifier: Option<String>,
    status: Option<ExecutionStatus>,
    stdout: Option<String>,
    stderr: Option<String>,
    result: Option<Value>,
    millis: Option<f64>,
    error_message: Option<String>,
}

impl ExecutionFields {
    fn current(e: wire::CurrentExecution) -> Self {
        let r = e.result.unwrap_or_default();
        ExecutionFields {
            id: e.id,
            identifier: e.identifier,
            status: e.status,
            stdout: r.stdout,
            stderr: r.stderr,
            result: r.execution_result.or(r.result),
            millis: r.execution_time_in_milliseconds,
            error_message: e
                .error
                .and_then(|b| b.error.and_then(|d| d.message).or(b.message)),
        }
    }

    fn legacy(e: wire::LegacyExecution) -> Self {
        ExecutionFields {
            id: None,
            identifier: None,
            status: e.status,
            stdout: e.stdout,
            stderr: e.stderr,
            result: e.result.or(e.execution_result),
            millis: e.execution_time_in_milliseconds,
            error_message: None,
        }
    }
}

/// The general path: read the body as JSON and decide by its shape, not only by the family, so
/// a wrapped body on a current route or a flat one on a legacy route is still read correctly.
fn execution_fields_by_shape(
    family: ApiFamily,
    body: &[u8],
    blank: bool,
) -> Result<ExecutionFields> {
    let value: Value = if blank {
        Value::Object(Default::default())
    } else {
        parse_json(body, "the execution response")?
    };
    let envelope = value.get("properties").filter(|p| p.is_object());
    let legacy_shape = match family {
        ApiFamily::Legacy => true,
        ApiFamily::Current => envelope.is_some() && value.get("status").is_none(),
    };
    let unexpected = |err| {
        Error::decode(
            "the execution response has an unexpected shape",
            body,
            Some(err),
        )
    };
    if legacy_shape {
        let payload = envelope.cloned().unwrap_or(value);
        Ok(ExecutionFields::legacy(
            serde_json::from_value(payload).map_err(unexpected)?,
        ))
    } else {
        Ok(ExecutionFields::current(
            serde_json::from_value(value).map_err(unexpected)?,
        ))
    }
}

/// The result and every image of a run: an image object is the result and the one image; a
/// non-empty list of image objects gives all of them, the last being the result (a figure
/// replaces the value of the last expression); any other value is the result, with no image.
pub(crate) fn result_and_images(value: Value) -> (ExecutionResult, Vec<Image>) {
    if let Some(items) = value.as_array().filter(|a| !a.is_empty()) {
        let images: Option<Vec<Image>> = items.iter().map(as_image).collect();
        if let Some(images) = images {
            let last = images.last().cloned().map(ExecutionResult::Image);
            return (last.unwrap_or_default(), images);
        }
    }
    match to_result(value) {
        ExecutionResult::Image(image) => (ExecutionResult::Image(image.clone()), vec![image]),
        other => (other, Vec::new()),
    }
}

/// An `{type: image, format, base64_data}` object becomes [`ExecutionResult::Image`]; any other
/// value is kept as it is.
pub(crate) fn to_result(value: Value) -> ExecutionResult {
    match as_image(&value) {
        Some(i) => ExecutionResult::Image(i),
        None => ExecutionResult::Value(value),
    }
}

fn as_image(value: &Value) -> Option<Image> {
    let o = value.as_object()?;
    let is_image = o
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("image"));
    let data = o.get("base64_data").and_then(Value::as_str)?;
    is_image.then(|| Image {
        format: o
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or("png")
            .to_owned(),
        base64_data: data.to_owned(),
    })
}

#[cfg(test)]
mod tests;
