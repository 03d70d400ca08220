//! [`Upload`]: what to upload, and the hand-written `multipart/form-data` body.
//!
//! The body is `preamble + content + epilogue`, streamed chunk by chunk, so a large file never
//! sits in memory, and its exact `Content-Length` is known up front from the file size. Every
//! source is replayable: bytes are cloned, a file is reopened, a stream factory is called again,
//! so a retried upload never sends a half-consumed body.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use tokio_util::io::ReaderStream;

use crate::error::{BoxError, Error, Result};
use crate::transport::{Body, ByteStream, StreamFactory};
use crate::validate;

/// Read size for file uploads: large enough for throughput, small enough for flat memory.
const FILE_CHUNK: usize = 64 * 1024;

/// A file to upload into the session's `/mnt/data`.
///
/// ```no_run
/// # async fn demo(session: sessions_core::api::Session) -> sessions_core::Result<()> {
/// use sessions_core::api::Upload;
/// let files = session.files();
/// files.upload(Upload::text("hello.txt", "hi")).await?;
/// files.upload(Upload::file("data/big.parquet")?.path("inputs")).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Upload {
    name: String,
    dir: Option<String>,
    content_type: Option<String>,
    size_limit: u64,
    source: Source,
}

#[derive(Clone)]
enum Source {
    Bytes(Bytes),
    File { path: Arc<PathBuf>, len: u64 },
    Stream { factory: StreamFactory, len: u64 },
}

impl std::fmt::Debug for Upload {
    // Never print contents: they are user data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.source {
            Source::Bytes(_) => "bytes".to_owned(),
            Source::File { path, .. } => format!("file {}", path.display()),
            Source::Stream { .. } => "stream".to_owned(),
        };
        f.debug_struct("Upload")
            .field("name", &self.name)
            .field("dir", &self.dir)
            .field("content_type", &self.content_type)
            .field("source", &source)
            .field("len", &self.len())
            .field("size_limit", &self.size_limit)
            .finish()
    }
}

impl Upload {
    /// Upload `data` as `name` (which may carry directories, e.g. `sub/x.bin`).
    pub fn bytes(name: impl Into<String>, data: impl Into<Bytes>) -> Upload {
        Upload::with_source(name.into(), Source::Bytes(data.into()))
    }

    /// Upload UTF-8 text as `name`.
    pub fn text(name: impl Into<String>, text: impl Into<String>) -> Upload {
        Upload::bytes(name, Bytes::from(text.into()))
    }

    /// Upload a local file, streamed from disk; the remote name is the local file name.
    ///
    /// The size is read now; the file is opened when the request is sent and reopened for a
    /// retry. If the file's length changes before it is sent,
    /// the upload fails instead of sending a body that disagrees with its `Content-Length`.
    pub fn file(local: impl AsRef<Path>) -> Result<Upload> {
        let path = local.as_ref();
        let meta = std::fs::metadata(path)
            .map_err(|e| Error::io(format!("reading the metadata of {}", path.display()), e))?;
        if !meta.is_file() {
            return Err(Error::invalid(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{} has no UTF-8 file name; set one with Upload::name",
                    path.display()
                ))
            })?
            .to_owned();
        Ok(Upload::with_source(
            name,
            Source::File {
                path: Arc::new(path.to_path_buf()),
                len: meta.len(),
            },
        ))
    }

    /// Upload the bytes of a replayable stream of exactly `len` bytes; `factory` is called once
    /// per attempt.
    pub fn stream(name: impl Into<String>, factory: StreamFactory, len: u64) -> Upload {
        Upload::with_source(name.into(), Source::Stream { factory, len })
    }

    fn with_source(name: String, source: Source) -> Upload {
        Upload {
            name,
            dir: None,
            content_type: None,
            size_limit: validate::MAX_UPLOAD_BYTES,
            source,
        }
    }

    /// Set the remote file name (may carry directories, e.g. `sub/x.csv`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Upload into this directory (relative to `/mnt/data`, or absolute under it).
    pub fn path(mut self, dir: impl Into<String>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Set the part's content type (default: guessed from the name, else
    /// `application/octet-stream`).
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Raise (or lower) the size check made before sending; the default is the service's
    /// 128 MiB limit. Useful against the local emulator or a custom container with a larger
    /// limit: the body always streams, so memory use does not grow with the size.
    pub fn size_limit(mut self, max_bytes: u64) -> Self {
        self.size_limit = max_bytes;
        self
    }

    /// The remote file name as given.
    pub fn file_name(&self) -> &str {
        &self.name
    }

    /// The target directory as given.
    pub fn dir(&self) -> Option<&str> {
        self.dir.as_deref()
    }

    /// The content length in bytes (of the file content, not the multipart body).
    pub fn len(&self) -> u64 {
        match &self.source {
            Source::Bytes(b) => b.len() as u64,
            Source::File { len, .. } | Source::Stream { len, .. } => *len,
        }
    }

    /// Whether the content is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The target as a normalised `(directory, name)` pair, validated.
    pub(crate) fn target(&self) -> Result<(String, String)> {
        validate::join_file_path(self.dir.as_deref(), &self.name)
    }

    /// The part's content type.
    pub(crate) fn part_content_type(&self, name: &str) -> String {
        match &self.content_type {
            Some(ct) => ct.clone(),
            None => mime_guess::from_path(name)
                .first_or_octet_stream()
                .essence_str()
                .to_owned(),
        }
    }

    /// The multipart body with one part named `file` whose filename is `filename`.
    /// Returns the body and its exact length.
    pub(crate) fn multipart(
        &self,
        boundary: &str,
        filename: &str,
        content_type: &str,
    ) -> Result<(Body, u64)> {
        validate::check_upload_size_limit(self.len(), self.size_limit)?;
        if content_type.chars().any(char::is_control) {
            return Err(Error::invalid(
                "the content type contains a control character",
            ));
        }
        let preamble = Bytes::from(format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: {content_type}\r\n\r\n",
            escape_quoted(filename)
        ));
        let epilogue = Bytes::from(format!("\r\n--{boundary}--\r\n"));
        let total = preamble.len() as u64 + self.len() + epilogue.len() as u64;
        let content = self.content_factory();
        let factory: StreamFactory = Arc::new(move || {
            let head = stream::once(std::future::ready(Ok::<_, BoxError>(preamble.clone())));
            let tail = stream::once(std::future::ready(Ok::<_, BoxError>(epilogue.clone())));
            head.chain(content()).chain(tail).boxed()
        });
        Ok((Body::replayable(factory, Some(total)), total))
    }

    /// A factory for the content alone, each stream checked to be exactly `len()` bytes.
    fn content_factory(&self) -> StreamFactory {
        match &self.source {
            Source::Bytes(b) => {
                let b = b.clone();
                Arc::new(move || stream::once(std::future::ready(Ok(b.clone()))).boxed())
            }
            Source::File { path, len } => {
                let (path, len) = (path.clone(), *len);
                Arc::new(move || exact_len(open_file_stream(path.clone()), len))
            }
            Source::Stream { factory, len } => {
                let (factory, len) = (factory.clone(), *len);
                Arc::new(move || exact_len(factory(), len))
            }
        }
    }
}

/// Stream a file from disk, opening it lazily (so the factory itself does no I/O).
fn open_file_stream(path: Arc<PathBuf>) -> ByteStream {
    let err_path = path.clone();
    stream::once(async move { tokio::fs::File::open(&*path).await })
        .map_ok(|file| ReaderStream::with_capacity(file, FILE_CHUNK))
        .try_flatten()
        .map_err(move |e| -> BoxError {
            Box::new(Error::io(
                format!("reading {} for upload", err_path.display()),
                e,
            ))
        })
        .boxed()
}

/// Pass `inner` through, failing if it yields more or fewer than `len` bytes: the
/// `Content-Length` was promised up front and must not be broken.
fn exact_len(inner: ByteStream, len: u64) -> ByteStream {
    stream::unfold(Some((inner, 0u64)), move |state| async move {
        let (mut inner, seen) = state?;
        match inner.next().await {
            Some(Ok(chunk)) => {
                let seen = seen + chunk.len() as u64;
                if seen > len {
                    Some((Err(length_changed(len, seen)), None))
                } else {
                    Some((Ok(chunk), Some((inner, seen))))
                }
            }
            Some(Err(e)) => Some((Err(e), None)),
            None if seen == len => None,
            None => Some((Err(length_changed(len, seen)), None)),
        }
    })
    .boxed()
}

fn length_changed(expected: u64, seen: u64) -> BoxError {
    Box::new(Error::invalid(format!(
        "the upload source changed size: {expected} bytes were declared, {seen}{} were read",
        if seen > expected { " or more" } else { "" }
    )))
}

/// Escape a value for a quoted multipart header parameter the way browsers do (WHATWG):
/// `"` becomes `%22`, CR and LF become `%0D`/`%0A`.
pub(crate) fn escape_quoted(value: &str) -> String {
    value
        .replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn multipart_layout_and_length() {
        let up = Upload::text("a.txt", "hello");
        let (body, len) = up.multipart("B", "a.txt", "text/plain").unwrap();
        assert_eq!(body.content_length(), Some(len));
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(bytes.len() as u64, len);
        assert_eq!(
            &bytes[..],
            b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--B--\r\n"
        );
    }

    #[tokio::test]
    async fn stream_of_wrong_length_fails() {
        let factory: StreamFactory =
            Arc::new(|| stream::iter(vec![Ok(Bytes::from("abc"))]).boxed());
        let up = Upload::stream("x", factory.clone(), 2);
        let (body, _) = up.multipart("B", "x", "a/b").unwrap();
        assert!(body.collect().await.is_err());
        let up = Upload::stream("x", factory, 4);
        let (body, _) = up.multipart("B", "x", "a/b").unwrap();
        assert!(body.collect().await.is_err());
    }

    #[test]
    fn escapes_quotes() {
        assert_eq!(escape_quoted("a\"b"), "a%22b");
    }
}
