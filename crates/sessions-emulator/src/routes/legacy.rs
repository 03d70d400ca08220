//! Legacy family (2024-02-02-preview, 2024-08-02-preview): `code/execute`, `files/upload`,
//! `files`, `files/content/{name}`, with `$id` fields and `properties` envelopes.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue};

use super::files::{blocking, place, receive, session_dir, stream_file};
use super::links::operation_id;
use super::{Params, Shared, current, validate_identifier};
use crate::api_version::Family;
use crate::error::ApiError;
use crate::execution;
use crate::files::{EntryKind, relative_parts};
use crate::shapes::LegacyFileList;

/// `POST code/execute`.
pub async fn execute(
    State(st): State<Shared>,
    params: Params,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let body = super::json_body(body, st.config.max_json_body_bytes)?;
    params.version(Family::Legacy, "code/execute")?;
    let req = execution::parse_request(
        &body,
        st.config.pool_type,
        st.config.strict,
        execution::Route::CodeExecute,
    )?;
    let identifier = match params.get("identifier") {
        Some(_) => params.identifier()?,
        None => validate_identifier(req.body_identifier.as_deref())?,
    };
    let id = operation_id(&headers)?;
    let alloc = st.session(&identifier).await?;
    let slot = alloc.session.slot()?;
    let outcome = execution::run(slot, req.kind).await?;
    alloc.session.touch();
    let mut out = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&id) {
        out.insert("operation-id", v);
    }
    current::timing_headers(&mut out, &alloc, started, Some(outcome.duration));
    Ok((out, Json(execution::to_legacy(&outcome))).into_response())
}

/// `GET files` (legacy): every regular file under `/mnt/data`, with paths relative to it.
pub async fn list(st: &Shared, params: &Params) -> Result<Response, ApiError> {
    let dir = session_dir(st, params).await?;
    let entries = blocking(move || dir.list(&[], true, usize::MAX)).await?;
    let items = entries
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .map(|e| (e.rel_path(), e.size, e.modified))
        .collect();
    Ok(Json(LegacyFileList::new(items)).into_response())
}

/// `POST files/upload` (legacy): answers a one-item list; a `/mnt/data/` prefix is stripped.
pub async fn upload(
    st: &Shared,
    params: &Params,
    req: axum::extract::Request,
) -> Result<Response, ApiError> {
    let identifier = params.identifier()?;
    // Allocate first: a full pool answers 429 before the body is read.
    let alloc = st.session(&identifier).await?;
    let staged = receive(st, req).await?;
    let dir = alloc.session.slot()?.dir.clone();
    let e = place(&dir, Vec::new(), &staged, st.config.disk_quota_bytes).await?;
    alloc.session.touch();
    Ok(Json(LegacyFileList::new(vec![(
        e.rel_path(),
        e.size,
        e.modified,
    )]))
    .into_response())
}

/// `GET files/content/{name}` (legacy); the name may be a path and may carry `/mnt/data/`.
pub async fn download(st: &Shared, params: &Params, name: &str) -> Result<Response, ApiError> {
    // `files/content//mnt/data/x` arrives as `mnt/data/x` once `//` is collapsed.
    let name = name.strip_prefix("mnt/data/").unwrap_or(name);
    let parts = relative_parts(name, "file name")?;
    if parts.is_empty() {
        return Err(ApiError::validation("A file name is required."));
    }
    let dir = session_dir(st, params).await?;
    stream_file(&dir, parts).await
}
