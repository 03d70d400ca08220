//! Downloading: `GET files/{name}/content` (current family) or `GET files/content/{name}`
//! (legacy), and [`Download`], the content as it arrives, never buffered unless asked for.

use std::fmt;
use std::path::Path;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Request};
use http_body_util::BodyExt;
use tokio::io::AsyncWriteExt;

use super::{Target, empty_request, encode_component, file_request};
use crate::api_version::ApiFamily;
use crate::error::{Error, Result};
use crate::transport::{Body, Operation, ResponseBody};
use crate::validate;

/// The chunks of a [`Download`], as [`Download::into_stream`] gives them.
pub type DownloadStream = futures_util::stream::BoxStream<'static, Result<Bytes>>;

/// A file download in progress: its headers, and a body to stream or collect.
///
/// ```no_run
/// # async fn demo(files: sessions_core::api::Files) -> sessions_core::Result<()> {
/// use futures_util::StreamExt;
/// let download = files.download("plot.png").await?;
/// println!("{:?}, {:?} bytes", download.content_type(), download.content_length());
/// let mut stream = download.into_stream();
/// while let Some(chunk) = stream.next().await {
///     let chunk = chunk?;
///     # let _ = chunk;
/// }
/// # Ok(()) }
/// ```
pub struct Download {
    content_type: Option<String>,
    content_length: Option<u64>,
    body: ResponseBody,
}

impl fmt::Debug for Download {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Download")
            .field("content_type", &self.content_type)
            .field("content_length", &self.content_length)
            .finish_non_exhaustive()
    }
}

impl Download {
    pub(crate) fn new(response: http::Response<ResponseBody>) -> Self {
        let (parts, body) = response.into_parts();
        let header = |name| {
            parts
                .headers
                .get(name)
                .and_then(|v: &http::HeaderValue| v.to_str().ok())
        };
        Download {
            content_type: header(CONTENT_TYPE).map(str::to_owned),
            content_length: header(CONTENT_LENGTH).and_then(|v| v.trim().parse().ok()),
            body,
        }
    }

    /// The `Content-Type` the service sent.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The `Content-Length` the service sent.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The content as a stream of chunks; a failure mid-way is a typed [`Error`].
    pub fn into_stream(self) -> DownloadStream {
        self.body
            .into_data_stream()
            .map_err(Error::from_box)
            .boxed()
    }

    /// The whole content in memory.
    pub async fn bytes(self) -> Result<Bytes> {
        let expected = self.content_length;
        let bytes = self
            .body
            .collect()
            .await
            .map_err(Error::from_box)?
            .to_bytes();
        check_length(expected, bytes.len() as u64)?;
        Ok(bytes)
    }
}

fn check_length(expected: Option<u64>, got: u64) -> Result<()> {
    match expected {
        Some(n) if n != got => Err(Error::Transport(
            format!("the download ended after {got} bytes but Content-Length promised {n}").into(),
        )),
        _ => Ok(()),
    }
}

/// Stream a download into a temporary file next to `target`, then rename it into place.
pub(crate) async fn write_to_file(download: Download, target: &Path) -> Result<u64> {
    let file_name = target.file_name().ok_or_else(|| {
        Error::invalid(format!(
            "{} has no file name to download to",
            target.display()
        ))
    })?;
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.part",
        file_name.to_string_lossy(),
        uuid::Uuid::new_v4().simple()
    ));
    let written = write_stream(download, &tmp).await;
    let result = match written {
        Ok(n) => tokio::fs::rename(&tmp, target)
            .await
            .map(|()| n)
            .map_err(|e| Error::io(format!("moving the download to {}", target.display()), e)),
        Err(e) => Err(e),
    };
    if result.is_err() {
        // Best effort: the temporary file is ours and useless now.
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    result
}

async fn write_stream(download: Download, tmp: &Path) -> Result<u64> {
    let expected = download.content_length;
    let mut file = tokio::fs::File::create(tmp)
        .await
        .map_err(|e| Error::io(format!("creating {}", tmp.display()), e))?;
    let mut stream = download.into_stream();
    let mut written = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        file.write_all(&chunk)
            .await
            .map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
        written += chunk.len() as u64;
    }
    check_length(expected, written)?;
    file.flush()
        .await
        .map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
    file.sync_all()
        .await
        .map_err(|e| Error::io(format!("syncing {}", tmp.display()), e))?;
    Ok(written)
}

/// `GET files/{name}/content` (current) or `GET files/content/{name}` (legacy).
pub(crate) fn get(t: Target<'_>, name: &str) -> Result<Request<Body>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ops::testing::{ESCAPING_NAMES, ID, current, endpoint, invalid, snap};
    use crate::api_version::ApiVersion;

    #[tokio::test]
    async fn snapshots() {
        let ep = endpoint();
        let t = Target::session(&ep, ApiVersion::V2025_10_02Preview, ID);
        snap!("current_download_file", get(t, "sub/日本.png"));
        let t = Target::session(&ep, ApiVersion::V2024_02_02Preview, ID);
        snap!(
            "legacy_download_file",
            get(t, "/mnt/data/out dir/plot #1.png")
        );
    }

    #[test]
    fn names_that_leave_mnt_data_are_refused() {
        let t = current();
        for name in ESCAPING_NAMES {
            invalid(get(t, name));
        }
    }
}
