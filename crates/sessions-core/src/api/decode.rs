//! Turning responses into model types, both families, and non-2xx responses into [`ApiError`]s.
//!
//! The functions taking `&[u8]` are pure, so recorded bodies can be decoded in tests without a
//! server. Nothing here panics on what the network sends: every malformed body becomes an
//! [`Error::Decode`] with a snippet, and oddities the service is known for (`$id`, `rawResult`,
//! numbers as strings, `NaN` tokens) are tolerated.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::rfc3339::parse_rfc3339;
use super::wire;
use crate::api_version::ApiFamily;
use crate::error::{ApiError, Error, Result};
use crate::middleware::request_id::ClientRequestId;
use crate::model::{
    Execution, ExecutionResult, ExecutionStatus, ExecutionTimings, FileInfo, FileKind, Image,
    NameVersion, PoolMetadata, SessionInfo,
};
use crate::transport::ResponseBody;
use crate::validate::DATA_ROOT;

/// The largest JSON body the typed API reads (image results can be large; files are streamed).
pub const MAX_JSON_BODY: usize = 32 * 1024 * 1024;

/// How much of an error body is read and kept in [`ApiError::body`].
pub const MAX_ERROR_BODY: usize = 64 * 1024;

/// The response header with the service's request id.
pub const REQUEST_ID: &str = "x-ms-request-id";

/// The request header with our own request id.
pub const CLIENT_REQUEST_ID: &str = "x-ms-client-request-id";

/// The response header with the service's error code.
pub const ERROR_CODE: &str = "x-ms-error-code";

/// Read at most `limit` bytes of a body; the flag says whether more was left unread.
pub(crate) async fn read_capped(mut body: ResponseBody, limit: usize) -> Result<(Bytes, bool)> {
    // A body of one frame (the usual JSON answer) is returned as is, without a copy.
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(Error::from_box)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let held = first.as_ref().map_or(0, Bytes::len) + buf.len();
        let room = limit - held;
        if let Some(f) = first.take() {
            buf.reserve(f.len() + data.len().min(room));
            buf.extend_from_slice(&f);
        } else if buf.is_empty() && data.len() <= room {
            first = Some(data);
            continue;
        }
        if data.len() > room {
            buf.extend_from_slice(&data[..room]);
            return Ok((buf.freeze(), true));
        }
        buf.extend_from_slice(&data);
    }
    Ok((first.unwrap_or_else(|| buf.freeze()), false))
}

/// Read a whole JSON body of a successful response, refusing bodies over [`MAX_JSON_BODY`].
pub(crate) async fn read_json_body(
    response: Response<ResponseBody>,
) -> Result<(http::response::Parts, Bytes)> {
    let (parts, body) = response.into_parts();
    let (bytes, truncated) = read_capped(body, MAX_JSON_BODY).await?;
    if truncated {
        return Err(Error::decode(
            format!("the response body is larger than {MAX_JSON_BODY} bytes"),
            &bytes,
            None,
        ));
    }
    Ok((parts, bytes))
}

/// Turn a non-2xx response into an [`Error::Api`], reading at most 64 KiB of its body.
pub(crate) async fn error_from_response(
    response: Response<ResponseBody>,
    sent_request_id: Option<&str>,
) -> Error {
    let (parts, body) = response.into_parts();
    // The request-id layer puts the id it sent into the response's extensions.
    let stack_id = parts
        .extensions
        .get::<ClientRequestId>()
        .map(|id| id.as_str().to_owned());
    let sent = sent_request_id.map(str::to_owned).or(stack_id);
    // A body that fails mid-way still leaves the status and headers worth reporting.
    let bytes = read_capped(body, MAX_ERROR_BODY)
        .await
        .map(|(b, _)| b)
        .unwrap_or_default();
    api_error(parts.status, &parts.headers, &bytes, sent.as_deref()).into()
}

/// Build an [`ApiError`] from a status, headers and (capped) body.
pub fn api_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    sent_request_id: Option<&str>,
) -> ApiError {
    let body = &body[..body.len().min(MAX_ERROR_BODY)];
    let parsed: wire::ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let detail = parsed.error.unwrap_or_default();
    let code = detail
        .code
        .or(parsed.code)
        .or_else(|| header(headers, ERROR_CODE));
    let text = String::from_utf8_lossy(body).into_owned();
    let message = detail
        .message
        .or(parsed.message)
        .or_else(|| plain_text_message(&text))
        .unwrap_or_else(|| match status.canonical_reason() {
            Some(reason) => reason.to_owned(),
            None => format!("HTTP {}", status.as_u16()),
        });
    let request_id = header(headers, REQUEST_ID)
        .or_else(|| header(headers, CLIENT_REQUEST_ID))
        .or_else(|| sent_request_id.map(str::to_owned));
    ApiError {
        status,
        code,
        message,
        request_id,
        body: text,
    }
}

/// A short non-JSON, non-HTML body (e.g. a gateway's `Bad Request`) is the best message there is.
fn plain_text_message(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() || t.starts_with('<') || t.starts_with('{') || t.starts_with('[') {
        return None;
    }
    let line = t.lines().next().unwrap_or_default();
    Some(line.chars().take(512).collect())
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(header_text)
}

/// A header's value as trimmed text; `None` when it is empty or not visible ASCII.
fn header_text(value: &HeaderValue) -> Option<String> {
    value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Parse JSON, retrying once with bare `NaN`/`Infinity` tokens replaced by `null` (Python's
/// `json.dumps` writes them; the service maps NaN to null).
pub fn parse_json<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T> {
    // Straight into the target type: no intermediate `Value` (this is the hot path of every call).
    let first = match serde_json::from_slice(body) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    if first.classify() == serde_json::error::Category::Data {
        return Err(Error::decode(
            format!("{what} has an unexpected shape"),
            body,
            Some(first),
        ));
    }
    // Python's json emits bare NaN/Infinity; read them as null rather than failing.
    match replace_non_finite(body).map(|b| serde_json::from_slice(&b)) {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) if e.classify() == serde_json::error::Category::Data => Err(Error::decode(
            format!("{what} has an unexpected shape"),
            body,
            Some(e),
        )),
        _ => Err(Error::decode(
            format!("{what} is not valid JSON"),
            body,
            Some(first),
        )),
    }
}

/// Replace `NaN`, `Infinity` and `-Infinity` outside strings with `null`; `None` if there were none.
fn replace_non_finite(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    let (mut in_string, mut escaped, mut changed) = (false, false, false);
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else {
            let token = [&b"-Infinity"[..], b"Infinity", b"NaN"]
                .into_iter()
                .find(|t| body[i..].starts_with(t));
            if let Some(t) = token {
                out.extend_from_slice(b"null");
                i += t.len();
                changed = true;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    changed.then_some(out)
}

/// The `x-ms-*` timing headers of an execution response.
pub fn timings(headers: &HeaderMap) -> ExecutionTimings {
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
pub fn decode_execution(
    family: ApiFamily,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    identifier: &str,
) -> Result<Execution> {
    let blank = body.iter().all(u8::is_ascii_whitespace);
    // Numbers serde_json would round or refuse (`2**70`, `1e400`) become their exact text.
    let exact = super::numbers::exact_numbers(body);
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
        Some(s) => ExecutionStatus::from(s),
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
    status: Option<String>,
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
pub fn to_result(value: Value) -> ExecutionResult {
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

fn current_file(f: wire::CurrentFile, body: &[u8]) -> Result<FileInfo> {
    let name = f
        .name
        .ok_or_else(|| Error::decode("a file entry has no `name`", body, None))?;
    let kind = match f.kind.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("directory" | "dir" | "folder") => FileKind::Directory,
        _ => FileKind::File,
    };
    Ok(FileInfo {
        name,
        directory: f.directory,
        kind,
        size: f.size_in_bytes,
        content_type: f.content_type,
        last_modified: f.last_modified_at.as_deref().and_then(parse_rfc3339),
    })
}

fn legacy_file(f: wire::LegacyFile, body: &[u8]) -> Result<FileInfo> {
    let filename = f
        .filename
        .ok_or_else(|| Error::decode("a file entry has no `filename`", body, None))?;
    // Some clients upload as "/mnt/data/x"; the listing then echoes it.
    let relative = filename
        .strip_prefix(DATA_ROOT)
        .filter(|r| r.starts_with('/'))
        .map(|r| r.trim_start_matches('/'))
        .unwrap_or(&filename);
    let (directory, name) = match relative.rsplit_once('/') {
        Some((d, n)) => (Some(d.to_owned()), n.to_owned()),
        None => (None, relative.to_owned()),
    };
    let modified = f.last_modified_time.or(f.last_modified_time_snake);
    Ok(FileInfo {
        name,
        directory,
        kind: FileKind::File,
        size: f.size,
        content_type: None,
        last_modified: modified.as_deref().and_then(parse_rfc3339),
    })
}

/// Decode one page of a file listing: the entries and the `nextLink`, if any.
pub fn decode_file_page(family: ApiFamily, body: &[u8]) -> Result<(Vec<FileInfo>, Option<String>)> {
    match family {
        ApiFamily::Current => {
            let page: wire::Page<wire::CurrentFile> = parse_json(body, "the file list")?;
            let files = page
                .value
                .into_iter()
                .map(|f| current_file(f, body))
                .collect::<Result<_>>()?;
            Ok((files, page.next_link.filter(|l| !l.is_empty())))
        }
        ApiFamily::Legacy => {
            let page: wire::Page<wire::LegacyFileItem> = parse_json(body, "the file list")?;
            let files = page
                .value
                .into_iter()
                .filter_map(|item| item.properties)
                .map(|f| legacy_file(f, body))
                .collect::<Result<_>>()?;
            Ok((files, page.next_link.filter(|l| !l.is_empty())))
        }
    }
}

/// Decode a single file object (`GET files/{name}`, current upload). A list wrapper is accepted
/// too (the legacy upload answer); then the first entry is taken, and `None` means it was empty.
pub fn decode_file(family: ApiFamily, body: &[u8]) -> Result<Option<FileInfo>> {
    let value: Value = parse_json(body, "the file response")?;
    if value.get("value").is_some_and(Value::is_array) {
        let (files, _) = decode_file_page(family, body)?;
        return Ok(files.into_iter().next());
    }
    let file: wire::CurrentFile = serde_json::from_value(value)
        .map_err(|e| Error::decode("the file response has an unexpected shape", body, Some(e)))?;
    current_file(file, body).map(Some)
}

fn session_info(s: wire::SessionWire, fallback_identifier: &str) -> SessionInfo {
    SessionInfo {
        identifier: s
            .identifier
            .unwrap_or_else(|| fallback_identifier.to_owned()),
        created_at: s.created_at,
        last_accessed_at: s.last_accessed_at,
        expires_at: s.expire_at.or(s.expires_at),
        etag: s.etag,
    }
}

/// Decode `GET session` (or `.management/getSession`); `identifier` fills in a missing one.
pub fn decode_session(body: &[u8], identifier: &str) -> Result<SessionInfo> {
    let s: wire::SessionWire = parse_json(body, "the session")?;
    Ok(session_info(s, identifier))
}

/// Decode one page of `listSessions` (`sessions` or `value`) and its `nextLink`.
pub fn decode_session_page(body: &[u8]) -> Result<(Vec<SessionInfo>, Option<String>)> {
    session_page(body).map(|(sessions, link, _)| (sessions, link))
}

/// A session list page, its `nextLink` and the total `count` when the service sent one.
pub(crate) fn session_page(body: &[u8]) -> Result<(Vec<SessionInfo>, Option<String>, Option<u64>)> {
    let page: wire::SessionPage = parse_json(body, "the session list")?;
    let items = if page.sessions.is_empty() {
        page.value
    } else {
        page.sessions
    };
    let sessions = items.into_iter().map(|s| session_info(s, "")).collect();
    let count = page
        .count
        .filter(|c| c.is_finite() && *c >= 0.0)
        .map(|c| c as u64);
    Ok((sessions, page.next_link.filter(|l| !l.is_empty()), count))
}

/// Decode `GET metadata`, keeping the whole body in [`PoolMetadata::raw`].
pub fn decode_metadata(body: &[u8]) -> Result<PoolMetadata> {
    let raw: Value = parse_json(body, "the pool metadata")?;
    let m: wire::MetadataWire = serde_json::from_value(raw.clone())
        .map_err(|e| Error::decode("the pool metadata has an unexpected shape", body, Some(e)))?;
    let pairs = |v: Vec<wire::NameVersionWire>| {
        v.into_iter()
            .filter_map(|p| {
                Some(NameVersion {
                    name: p.name?,
                    version: p.version,
                })
            })
            .collect()
    };
    Ok(PoolMetadata {
        runtimes: pairs(m.runtimes),
        pre_installed_packages: pairs(m.pre_installed_packages),
        jupyter_kernel: m.jupyter_kernel.filter(|k| !k.is_null()),
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_headers_are_trimmed_first_value_and_empty_is_absent() {
        let mut h = HeaderMap::new();
        h.insert("x-ms-session-guid", HeaderValue::from_static("  pod-1  "));
        h.append("x-ms-allocation-time", HeaderValue::from_static("1.5"));
        h.append("x-ms-allocation-time", HeaderValue::from_static("9.9"));
        h.insert("x-ms-new-allocation", HeaderValue::from_static("   "));
        h.insert("x-ms-unrelated", HeaderValue::from_static("x"));
        let t = timings(&h);
        assert_eq!(t.session_guid.as_deref(), Some("pod-1"));
        assert_eq!(t.allocation_time.as_deref(), Some("1.5"));
        assert_eq!(t.new_allocation, None);
        assert_eq!(t.execution_request_time, None);
    }

    #[test]
    fn non_finite_tokens_become_null_outside_strings() {
        let out =
            replace_non_finite(br#"{"a":NaN,"b":"NaN \" Infinity","c":[-Infinity,Infinity]}"#)
                .unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"a":null,"b":"NaN \" Infinity","c":[null,null]}"#
        );
        assert!(replace_non_finite(br#"{"a":"NaN"}"#).is_none());
    }

    #[test]
    fn huge_execution_time_does_not_panic() {
        let body = br#"{"status":"Succeeded","result":{"executionTimeInMilliseconds":1e300}}"#;
        let e = decode_execution(
            ApiFamily::Current,
            StatusCode::OK,
            &HeaderMap::new(),
            body,
            "abcd",
        )
        .unwrap();
        assert_eq!(e.execution_time, None);
    }
}
