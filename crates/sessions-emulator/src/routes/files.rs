//! File routes of both families: dispatch by api-version, streaming upload and download.

use std::path::PathBuf;

use axum::Json;
use axum::body::Body;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{FromRequest, Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use tokio::io::AsyncWriteExt;

use super::current::paging;
use super::links::PoolUrl;
use super::{Params, Shared, legacy};
use crate::api_version::ApiVersion;
use crate::error::{ApiError, codes};
use crate::files::{self, Entry, SessionDir, relative_parts};
use crate::shapes::FileList;

/// `/files`: list (both families) or upload (current).
pub async fn files_root(
    State(st): State<Shared>,
    params: Params,
    pool_url: PoolUrl,
    req: Request,
) -> Response {
    let result = async {
        let version = crate::api_version::ApiVersion::parse(params.get("api-version"))?;
        match (req.method().clone(), version.is_legacy()) {
            (Method::GET, true) => legacy::list(&st, &params).await,
            (Method::GET, false) => list(&st, &params, &pool_url, version).await,
            (Method::POST, false) => upload(&st, &params, version, req).await,
            _ => Err(not_supported(&req, version)),
        }
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `/files/...`: legacy `upload` and `content/{name}`, current `{name}` and `{name}/content`.
pub async fn files_rest(State(st): State<Shared>, params: Params, req: Request) -> Response {
    let result = async {
        let version = ApiVersion::parse(params.get("api-version"))?;
        let segs = raw_segments(req.uri().path())?;
        let method = req.method().clone();
        if version.is_legacy() {
            return match (method, segs.first().map(String::as_str)) {
                (Method::POST, Some("upload")) if segs.len() == 1 => {
                    legacy::upload(&st, &params, req).await
                }
                (Method::GET, Some("content")) if segs.len() >= 2 => {
                    legacy::download(&st, &params, &segs[1..].join("/")).await
                }
                _ => Err(not_supported(&req, version)),
            };
        }
        match (method, segs.as_slice()) {
            (Method::GET, [name]) => metadata(&st, &params, version, name).await,
            (Method::DELETE, [name]) => delete(&st, &params, name).await,
            (Method::GET, [name, content]) if content == "content" => {
                download_current(&st, &params, name).await
            }
            _ => Err(not_supported(&req, version)),
        }
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

fn not_supported(req: &Request, version: ApiVersion) -> ApiError {
    ApiError::not_supported(format!(
        "The request '{} {}' is not supported in api-version {}.",
        req.method(),
        req.uri().path(),
        version.as_str()
    ))
}

/// Percent-decoded path segments after `/files/`.
fn raw_segments(path: &str) -> Result<Vec<String>, ApiError> {
    path.trim_start_matches('/')
        .split('/')
        .skip(1)
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| ApiError::validation("The file name is not valid UTF-8."))
        })
        .collect()
}

/// The session directory of a session-scoped file call (allocating the session).
pub async fn session_dir(st: &Shared, params: &Params) -> Result<SessionDir, ApiError> {
    let identifier = params.identifier()?;
    let alloc = st.session(&identifier).await?;
    Ok(alloc.session.slot()?.dir.clone())
}

/// The `path` query value as components.
fn path_parts(params: &Params) -> Result<Vec<String>, ApiError> {
    match params.get("path") {
        None | Some("") => Ok(Vec::new()),
        Some(p) => relative_parts(p, "path"),
    }
}

/// `path` + name as components.
fn entry_parts(params: &Params, name: &str) -> Result<Vec<String>, ApiError> {
    let mut parts = path_parts(params)?;
    let name_parts = relative_parts(name, "file name")?;
    if name_parts.is_empty() {
        return Err(ApiError::validation("A file name is required."));
    }
    parts.extend(name_parts);
    Ok(parts)
}

/// Run blocking directory-handle work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
}

/// `GET files`: one page of the listing (everything unless a page size is configured), with
/// a `nextLink` carrying the request's `path` and `recursive` and the next `skip`.
async fn list(
    st: &Shared,
    params: &Params,
    pool_url: &PoolUrl,
    version: ApiVersion,
) -> Result<Response, ApiError> {
    let recursive = params.flag("recursive")?;
    let parts = path_parts(params)?;
    let (skip, limit) = paging(params, st.config.file_page_size())?;
    let dir = session_dir(st, params).await?;
    let with_dir = version >= ApiVersion::V2025_10_02;
    // One entry past the page tells whether another page follows.
    let wanted = skip.saturating_add(limit).saturating_add(1);
    let entries = blocking(move || dir.list(&parts, recursive, wanted)).await?;
    let more = entries.len() > skip.saturating_add(limit);
    let value = entries
        .iter()
        .skip(skip)
        .take(limit)
        .map(|e| files::file_info(e, with_dir))
        .collect();
    let next_link = more.then(|| {
        let next = (skip + limit).to_string();
        let mut query = vec![
            ("api-version", version.as_str()),
            ("identifier", params.get("identifier").unwrap_or_default()),
        ];
        for key in ["path", "recursive"] {
            if let Some(v) = params.get(key) {
                query.push((key, v));
            }
        }
        query.push(("skip", &next));
        pool_url.link("files", &query)
    });
    Ok(Json(FileList { value, next_link }).into_response())
}

async fn metadata(
    st: &Shared,
    params: &Params,
    version: ApiVersion,
    name: &str,
) -> Result<Response, ApiError> {
    let parts = entry_parts(params, name)?;
    let dir = session_dir(st, params).await?;
    let entry = blocking(move || dir.entry(&parts)).await?;
    let with_dir = version >= ApiVersion::V2025_10_02;
    Ok(Json(files::file_info(&entry, with_dir)).into_response())
}

async fn delete(st: &Shared, params: &Params, name: &str) -> Result<Response, ApiError> {
    let parts = entry_parts(params, name)?;
    let dir = session_dir(st, params).await?;
    blocking(move || dir.delete(&parts)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn download_current(st: &Shared, params: &Params, name: &str) -> Result<Response, ApiError> {
    let parts = entry_parts(params, name)?;
    let dir = session_dir(st, params).await?;
    stream_file(&dir, parts).await
}

/// Stream a session file: raw bytes, guessed Content-Type, Content-Length, Last-Modified.
pub async fn stream_file(dir: &SessionDir, parts: Vec<String>) -> Result<Response, ApiError> {
    let dir = dir.clone();
    let (file, entry) = blocking(move || dir.open_file(&parts)).await?;
    let file = tokio::fs::File::from_std(file);
    let mut resp = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024))
        .into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&files::content_type(&entry.name)) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(entry.size));
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(entry.modified)) {
        h.insert(header::LAST_MODIFIED, v);
    }
    Ok(resp)
}

/// A received upload, staged outside the session.
pub struct Staged {
    /// The client's file name.
    pub filename: String,
    /// The staged file.
    pub path: PathBuf,
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// How long a refused upload's body is read before the answer (see [`multipart`]).
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The upload's multipart body. A request that is not `multipart/form-data` (with a boundary)
/// is refused, but only after its body was read, up to the upload limit and for at most
/// [`DRAIN_TIMEOUT`]: answering while the client still sends resets its connection, and the
/// client then sees a reset instead of the 400 that says what to fix.
async fn multipart(st: &Shared, req: Request) -> Result<Multipart, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_multipart = content_type.trim_start().starts_with("multipart/form-data")
        && content_type.contains("boundary=");
    let refused = |why: String| {
        ApiError::validation(format!(
            "The request must be multipart/form-data with a part named 'file': {why}"
        ))
    };
    if !is_multipart {
        drain(req.into_body(), st.config.max_upload_bytes).await;
        let got = if content_type.is_empty() {
            "none".to_string()
        } else {
            content_type
        };
        return Err(refused(format!("the Content-Type was {got}")));
    }
    Multipart::from_request(req, &())
        .await
        .map_err(|e: MultipartRejection| refused(e.body_text()))
}

/// Read and drop a body, up to `limit` bytes and [`DRAIN_TIMEOUT`].
async fn drain(body: Body, limit: u64) {
    use futures_util::StreamExt as _;
    let mut data = body.into_data_stream();
    let mut read = 0u64;
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while let Some(Ok(chunk)) = data.next().await {
            read += chunk.len() as u64;
            if read > limit {
                break;
            }
        }
    })
    .await;
}

/// Read the multipart body: stream the part named `file` to a staging file, enforcing the
/// size limit (413 after draining the rest of the body), and skip other parts.
pub async fn receive(st: &Shared, req: Request) -> Result<Staged, ApiError> {
    let mut mp = multipart(st, req).await?;
    let malformed = |e: axum::extract::multipart::MultipartError| {
        ApiError::validation(format!(
            "The multipart body is malformed: {}",
            e.body_text()
        ))
    };
    let limit = st.config.max_upload_bytes;
    let mut staged: Option<Staged> = None;
    let mut too_large = false;
    while let Some(mut field) = mp.next_field().await.map_err(malformed)? {
        if field.name() != Some("file") || staged.is_some() || too_large {
            while field.chunk().await.map_err(malformed)?.is_some() {}
            continue;
        }
        let filename = field
            .file_name()
            .map(str::to_string)
            .filter(|f| !f.trim().is_empty())
            .ok_or_else(|| ApiError::validation("The 'file' part has no file name."))?;
        let path = st.staging.join(uuid::Uuid::new_v4().to_string());
        let guard = Staged { filename, path };
        let mut out = tokio::fs::File::create(&guard.path)
            .await
            .map_err(|e| ApiError::internal(format!("cannot stage the upload: {e}")))?;
        let mut size: u64 = 0;
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            size += chunk.len() as u64;
            if size > limit {
                too_large = true;
                while field.chunk().await.map_err(malformed)?.is_some() {}
                break;
            }
            out.write_all(&chunk)
                .await
                .map_err(|e| ApiError::internal(format!("cannot stage the upload: {e}")))?;
        }
        if too_large {
            continue; // `guard` drops here and removes the partial file
        }
        out.flush()
            .await
            .map_err(|e| ApiError::internal(format!("cannot stage the upload: {e}")))?;
        staged = Some(guard);
    }
    if too_large {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::TOO_LARGE,
            format!("The file is larger than the limit of {limit} bytes."),
        ));
    }
    staged.ok_or_else(|| ApiError::validation("The multipart body has no part named 'file'."))
}

/// Store a staged upload in the session under `dir_parts` + the client's file name.
pub async fn place(
    dir: &SessionDir,
    dir_parts: Vec<String>,
    staged: &Staged,
    quota: Option<u64>,
) -> Result<Entry, ApiError> {
    let mut parts = dir_parts;
    let name_parts = relative_parts(&staged.filename, "file name")?;
    if name_parts.is_empty() {
        return Err(ApiError::validation("The uploaded file name is empty."));
    }
    parts.extend(name_parts);
    let dir = dir.clone();
    let path = staged.path.clone();
    blocking(move || {
        if let Some(quota) = quota {
            let size = std::fs::metadata(&path).map_or(0, |m| m.len());
            let used = dir.usage();
            if used.saturating_add(size) > quota {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    codes::TOO_LARGE,
                    format!(
                        "The session's disk quota of {quota} bytes would be exceeded ({used} bytes are in use); delete files first."
                    ),
                ));
            }
        }
        let mut source = std::fs::File::open(&path)
            .map_err(|e| ApiError::internal(format!("cannot read the staged upload: {e}")))?;
        dir.store(&parts, &mut source)
    })
    .await
}

async fn upload(
    st: &Shared,
    params: &Params,
    version: ApiVersion,
    req: Request,
) -> Result<Response, ApiError> {
    let identifier = params.identifier()?;
    let dir_parts = path_parts(params)?;
    // Allocate first: a full pool answers 429 before the body is read.
    let alloc = st.session(&identifier).await?;
    let staged = receive(st, req).await?;
    let dir = alloc.session.slot()?.dir.clone();
    let entry = place(&dir, dir_parts, &staged, st.config.disk_quota_bytes).await?;
    alloc.session.touch();
    let with_dir = version >= ApiVersion::V2025_10_02;
    Ok(Json(files::file_info(&entry, with_dir)).into_response())
}
