//! I/O-free request builders: every request the typed API sends is built here, as a plain
//! `http::Request<Body>`, so it can be snapshot-tested without a server and sent through any stack.
//!
//! Every request carries the `api-version` query parameter and, when session-scoped, the
//! `identifier`; both, and every file name in a path, are percent-encoded (everything but
//! `A–Z a–z 0–9 - . _ ~`). Every request carries an [`Operation`] extension for the middleware.

use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Uri};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::execute::{CodeInputType, ExecuteRequest, ShellRequest};
use super::files::ListOptions;
pub use super::passthrough::passthrough;
use super::upload::Upload;
use super::wire;
use crate::api_version::{ApiFamily, ApiVersion};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::transport::{Body, Operation};
use crate::validate;

/// Characters left as-is in a path segment or query value: RFC 3986 "unreserved".
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `application/json`, as a static header value (no parse, no allocation per request).
const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// The `operation-id` request header (a caller-chosen execution id).
pub const OPERATION_ID: &str = "operation-id";

/// The content type of the multipart upload body, for the given boundary.
pub fn multipart_content_type(boundary: &str) -> String {
    format!("multipart/form-data; boundary={boundary}")
}

/// Percent-encode a path segment or query value (everything but `A–Z a–z 0–9 - . _ ~`).
///
/// ```
/// use sessions_core::api::request::encode_component;
/// assert_eq!(encode_component("a b#1&?%ü"), "a%20b%231%26%3F%25%C3%BC");
/// ```
pub fn encode_component(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// Append `value`, percent-encoded as by [`encode_component`], without a temporary string.
pub(crate) fn push_component(out: &mut String, value: &str) {
    out.extend(utf8_percent_encode(value, COMPONENT));
}

/// Where a request goes: the pool endpoint, the api-version, and (for session-scoped calls) the
/// session identifier.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The pool management endpoint.
    pub endpoint: &'a Endpoint,
    /// The api-version of the client.
    pub api_version: ApiVersion,
    /// The session identifier, for session-scoped operations.
    pub identifier: Option<&'a str>,
}

impl<'a> Target<'a> {
    /// A pool-wide target (no identifier).
    pub fn pool(endpoint: &'a Endpoint, api_version: ApiVersion) -> Self {
        Target {
            endpoint,
            api_version,
            identifier: None,
        }
    }

    /// A session-scoped target.
    pub fn session(endpoint: &'a Endpoint, api_version: ApiVersion, identifier: &'a str) -> Self {
        Target {
            endpoint,
            api_version,
            identifier: Some(identifier),
        }
    }

    pub(crate) fn identifier(&self) -> Result<&'a str> {
        let id = self
            .identifier
            .ok_or_else(|| Error::invalid("this operation needs a session identifier"))?;
        validate::validate_identifier(id)?;
        Ok(id)
    }

    fn family(&self) -> ApiFamily {
        self.api_version.family()
    }

    /// `endpoint + path ? api-version & identifier & extra…`; `path` must already be encoded.
    fn uri(
        &self,
        version: ApiVersion,
        path: &str,
        session: bool,
        extra: &[(&str, &str)],
    ) -> Result<Uri> {
        let endpoint = self.endpoint.as_str();
        let mut url = String::with_capacity(endpoint.len() + path.len() + 96);
        url.push_str(endpoint);
        url.push_str(path);
        url.push_str("?api-version=");
        url.push_str(version.as_str());
        if session {
            url.push_str("&identifier=");
            push_component(&mut url, self.identifier()?);
        }
        for (k, v) in extra {
            url.push('&');
            url.push_str(k);
            url.push('=');
            push_component(&mut url, v);
        }
        parse_uri(url)
    }
}

/// The version used for session management calls (`session`, `listSessions`, `metadata`): the
/// client's own when it has them, else `2025-10-02-preview` (these routes do not exist earlier,
/// and LangChain's legacy tool deletes sessions the same way).
pub fn management_version(version: ApiVersion) -> ApiVersion {
    if version.has_session_management() {
        version
    } else {
        ApiVersion::V2025_10_02Preview
    }
}

/// `POST executions` (current) or `POST code/execute` (legacy).
pub fn execute(t: Target<'_>, req: &ExecuteRequest) -> Result<Request<Body>> {
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
            ("executions", to_json(&body)?)
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
pub fn get_execution(t: Target<'_>, id: &str) -> Result<Request<Body>> {
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
    empty_request(Method::GET, uri, Operation::idempotent("executions.get"))
}

/// `POST executions` with `{"shellCommand", "stdin"?}` only (current family; shell pools).
pub fn shell(t: Target<'_>, req: &ShellRequest) -> Result<Request<Body>> {
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

/// `GET files` (both families; `path` and `recursive` are current-family only).
pub fn list_files(t: Target<'_>, options: &ListOptions) -> Result<Request<Body>> {
    let dir = match &options.path {
        Some(p) => validate::normalize_dir(p)?,
        None => String::new(),
    };
    let mut extra = Vec::new();
    match t.family() {
        ApiFamily::Legacy => {
            if !dir.is_empty() {
                return Err(needs_current(t.api_version, "listing a subdirectory"));
            }
            if options.recursive {
                return Err(needs_current(t.api_version, "recursive listing"));
            }
        }
        ApiFamily::Current => {
            if !dir.is_empty() {
                extra.push(("path", dir.as_str()));
            }
            if options.recursive {
                if !t.api_version.has_recursive_listing() {
                    return Err(Error::invalid(format!(
                        "recursive listing needs api-version 2025-10-02-preview; this client uses {}",
                        t.api_version
                    )));
                }
                extra.push(("recursive", "true"));
            }
        }
    }
    let uri = t.uri(t.api_version, "files", true, &extra)?;
    empty_request(Method::GET, uri, Operation::idempotent("files.list"))
}

/// `GET <nextLink>`: the next page of a list. The link may be absolute or relative to the
/// endpoint but must stay on the endpoint's origin (the token must not leak elsewhere);
/// `api-version` and `identifier` are added when the link lacks them.
pub fn next_page(t: Target<'_>, next_link: &str, operation: Operation) -> Result<Request<Body>> {
    let base = t.endpoint.url();
    let mut url = base.join(next_link).map_err(|e| {
        Error::decode(
            format!("the nextLink is not a URL ({e})"),
            next_link.as_bytes(),
            None,
        )
    })?;
    if url.scheme() != base.scheme()
        || url.host() != base.host()
        || url.port_or_known_default() != base.port_or_known_default()
    {
        return Err(Error::decode(
            "the nextLink points to another host than the pool endpoint; refusing to send the token there",
            next_link.as_bytes(),
            None,
        ));
    }
    url.set_fragment(None);
    let has = |key: &str| url.query_pairs().any(|(k, _)| k == key);
    let mut extra = Vec::new();
    if !has("api-version") {
        extra.push(format!("api-version={}", t.api_version.as_str()));
    }
    if let Some(id) = t.identifier
        && !has("identifier")
    {
        validate::validate_identifier(id)?;
        extra.push(format!("identifier={}", encode_component(id)));
    }
    let mut s = url.to_string();
    if !extra.is_empty() {
        s.push(if url.query().is_some() { '&' } else { '?' });
        s.push_str(&extra.join("&"));
    }
    empty_request(Method::GET, parse_uri(s)?, operation)
}

/// `POST files` (current; directory in `path`) or `POST files/upload` (legacy; the directory is
/// part of the part's filename), with a multipart body whose one part is named `file`.
pub fn upload(t: Target<'_>, upload: &Upload, boundary: &str) -> Result<Request<Body>> {
    check_boundary(boundary)?;
    let (dir, name) = upload.target()?;
    let content_type = upload.part_content_type(&name);
    let (uri, filename) = match t.family() {
        ApiFamily::Current => {
            let extra: &[(&str, &str)] = if dir.is_empty() {
                &[]
            } else {
                &[("path", &dir)]
            };
            (t.uri(t.api_version, "files", true, extra)?, name)
        }
        ApiFamily::Legacy => {
            let filename = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
            (t.uri(t.api_version, "files/upload", true, &[])?, filename)
        }
    };
    let (body, len) = upload.multipart(boundary, &filename, &content_type)?;
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(CONTENT_TYPE, multipart_content_type(boundary))
        .header(CONTENT_LENGTH, len)
        .body(body)
        .map_err(|e| Error::invalid(format!("could not build the request: {e}")))?;
    request
        .extensions_mut()
        .insert(Operation::not_idempotent("files.upload"));
    Ok(request)
}

fn check_boundary(boundary: &str) -> Result<()> {
    // RFC 2046: 1–70 characters; keep to a token-safe subset so no quoting is needed.
    let ok = (1..=70).contains(&boundary.len())
        && boundary
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"'()+_,-./:=?".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "invalid multipart boundary {boundary:?}"
        )))
    }
}

/// `GET files/{name}` (current family only): file metadata.
pub fn get_file(t: Target<'_>, name: &str) -> Result<Request<Body>> {
    file_request(
        t,
        Method::GET,
        name,
        "",
        Operation::idempotent("files.get"),
        "reading file metadata",
    )
}

/// `DELETE files/{name}` (current family only).
pub fn delete_file(t: Target<'_>, name: &str) -> Result<Request<Body>> {
    file_request(
        t,
        Method::DELETE,
        name,
        "",
        Operation::idempotent("files.delete"),
        "deleting a file",
    )
}

/// `GET files/{name}/content` (current) or `GET files/content/{name}` (legacy).
pub fn download_file(t: Target<'_>, name: &str) -> Result<Request<Body>> {
    let operation = Operation::idempotent("files.download");
    let mut request = match t.family() {
        ApiFamily::Current => {
            file_request(t, Method::GET, name, "/content", operation, "downloading")
        }
        ApiFamily::Legacy => {
            let (dir, name) = validate::split_file_path(name)?;
            let mut path = String::from("files/content/");
            for segment in dir.split('/').filter(|s| !s.is_empty()) {
                path.push_str(&encode_component(segment));
                path.push('/');
            }
            path.push_str(&encode_component(&name));
            let uri = t.uri(t.api_version, &path, true, &[])?;
            empty_request(Method::GET, uri, operation)
        }
    }?;
    // The content is the file's own bytes, whatever their type.
    request
        .headers_mut()
        .insert(http::header::ACCEPT, HeaderValue::from_static("*/*"));
    Ok(request)
}

fn file_request(
    t: Target<'_>,
    method: Method,
    name: &str,
    suffix: &str,
    operation: Operation,
    what: &str,
) -> Result<Request<Body>> {
    if t.family() == ApiFamily::Legacy {
        return Err(needs_current(t.api_version, what));
    }
    let (dir, name) = validate::split_file_path(name)?;
    let path = format!("files/{}{suffix}", encode_component(&name));
    let extra: &[(&str, &str)] = if dir.is_empty() {
        &[]
    } else {
        &[("path", &dir)]
    };
    let uri = t.uri(t.api_version, &path, true, extra)?;
    empty_request(method, uri, operation)
}

/// `GET session` (at [`management_version`]).
pub fn get_session(t: Target<'_>) -> Result<Request<Body>> {
    let uri = t.uri(management_version(t.api_version), "session", true, &[])?;
    empty_request(Method::GET, uri, Operation::idempotent("session.get"))
}

/// `DELETE session` (at [`management_version`]).
pub fn delete_session(t: Target<'_>) -> Result<Request<Body>> {
    let uri = t.uri(management_version(t.api_version), "session", true, &[])?;
    empty_request(Method::DELETE, uri, Operation::idempotent("session.delete"))
}

/// `POST .management/stopSession` (at [`management_version`]): stops the session's container
/// (custom-container pools; code-interpreter pools answer [`delete_session`] instead). The body
/// is empty and says so with `Content-Length: 0`.
pub fn stop_session(t: Target<'_>) -> Result<Request<Body>> {
    let uri = t.uri(
        management_version(t.api_version),
        ".management/stopSession",
        true,
        &[],
    )?;
    // Stopping twice is harmless: it may be retried like a read.
    Ok(request(
        Method::POST,
        uri,
        Body::empty(),
        Operation::idempotent("session.stop"),
        |h| {
            h.insert(http::header::ACCEPT, HeaderValue::from_static("*/*"));
            h.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        },
    ))
}

/// `GET listSessions` (pool-wide, at [`management_version`]).
pub fn list_sessions(t: Target<'_>) -> Result<Request<Body>> {
    let uri = t.uri(
        management_version(t.api_version),
        "listSessions",
        false,
        &[],
    )?;
    empty_request(
        Method::GET,
        uri,
        Operation::idempotent("pool.list_sessions"),
    )
}

/// `GET metadata` (pool-wide, at [`management_version`]).
pub fn metadata(t: Target<'_>) -> Result<Request<Body>> {
    let uri = t.uri(management_version(t.api_version), "metadata", false, &[])?;
    empty_request(Method::GET, uri, Operation::idempotent("pool.metadata"))
}

fn needs_current(version: ApiVersion, what: &str) -> Error {
    Error::invalid(format!(
        "{what} needs api-version 2024-10-02-preview or later; this client uses {version} (use Client::with_api_version)"
    ))
}

pub(crate) fn parse_uri(url: String) -> Result<Uri> {
    // From the String itself: no copy of the URL.
    Uri::try_from(url).map_err(|e| Error::invalid(format!("could not build a request URL ({e})")))
}

fn empty_request(method: Method, uri: Uri, operation: Operation) -> Result<Request<Body>> {
    Ok(request(method, uri, Body::empty(), operation, |h| {
        h.insert(http::header::ACCEPT, APPLICATION_JSON);
    }))
}

/// A request built in place (no builder conversions), with room for the headers the stack adds
/// (User-Agent, request id, Authorization) so the map does not grow on the way.
fn request(
    method: Method,
    uri: Uri,
    body: Body,
    operation: Operation,
    headers: impl FnOnce(&mut http::HeaderMap),
) -> Request<Body> {
    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = http::HeaderMap::with_capacity(8);
    headers(request.headers_mut());
    request.extensions_mut().insert(operation);
    request
}

fn to_json(body: &impl serde::Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(body).map_err(|e| Error::invalid(format!("could not encode the body: {e}")))
}

fn json_request(uri: Uri, bytes: Vec<u8>, operation: Operation) -> Result<Request<Body>> {
    let len = HeaderValue::from(bytes.len());
    Ok(request(
        Method::POST,
        uri,
        Body::full(bytes),
        operation,
        |h| {
            h.insert(http::header::ACCEPT, APPLICATION_JSON);
            h.insert(CONTENT_TYPE, APPLICATION_JSON);
            h.insert(CONTENT_LENGTH, len);
        },
    ))
}
