//! Uploading: `POST files` (current family; the directory in `path`) or `POST files/upload`
//! (legacy; the directory is part of the part's filename), with [`Upload`] saying what to send
//! and a hand-written `multipart/form-data` body.
//!
//! The body is `preamble + content + epilogue`, streamed chunk by chunk, so a large file never
//! sits in memory, and its exact `Content-Length` is known up front from the file size. Every
//! source is replayable: bytes are cloned, a file is reopened, a stream factory is called again,
//! so a retried upload never sends a half-consumed body.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{Method, Request};
use tokio_util::io::ReaderStream;

use super::Target;
use super::files::{decode_one, in_dir};
use crate::api_version::ApiFamily;
use crate::error::{BoxError, Error, Result};
use crate::model::{FileInfo, FileKind};
use crate::transport::{Body, ByteStream, Operation, StreamFactory};
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
/// files.upload(Upload::file("data/big.parquet")?.in_dir("inputs")).await?;
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

    /// Upload into this directory (relative to `/mnt/data`, or absolute under it); read it back
    /// with [`Upload::dir`].
    pub fn in_dir(mut self, dir: impl Into<String>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// The old name of [`Upload::in_dir`], kept so existing code builds.
    #[doc(hidden)]
    #[deprecated(note = "use `Upload::in_dir`: it sets what `Upload::dir` returns")]
    pub fn path(self, dir: impl Into<String>) -> Self {
        self.in_dir(dir)
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

    /// The target directory as given to [`Upload::in_dir`].
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

/// `POST files` (current; directory in `path`) or `POST files/upload` (legacy; the directory is
/// part of the part's filename), with a multipart body whose one part is named `file`.
pub(crate) fn post(t: Target<'_>, upload: &Upload, boundary: &str) -> Result<Request<Body>> {
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

/// The content type of the multipart upload body, for the given boundary.
fn multipart_content_type(boundary: &str) -> String {
    format!("multipart/form-data; boundary={boundary}")
}

/// What the service stored, from its answer; when the answer has no details (a legacy empty
/// list, or no body), they are filled in from the upload itself.
pub(crate) fn decode(family: ApiFamily, body: &[u8], upload: &Upload) -> Result<FileInfo> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return fallback_info(upload);
    }
    match decode_one(family, body)? {
        Some(info) => Ok(in_dir(info, &upload.target()?.0)),
        None => fallback_info(upload),
    }
}

fn fallback_info(upload: &Upload) -> Result<FileInfo> {
    let (dir, name) = upload.target()?;
    let content_type = upload.part_content_type(&name);
    Ok(FileInfo {
        name,
        directory: (!dir.is_empty()).then_some(dir),
        kind: FileKind::File,
        size: Some(upload.len()),
        content_type: Some(content_type),
        last_modified: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ops::testing::{BOUNDARY, ID, current, endpoint, invalid, render, snap};
    use crate::api_version::ApiVersion;
    use crate::error::Error;
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

    #[tokio::test]
    async fn snapshots() {
        let ep = endpoint();
        let t = Target::session(&ep, ApiVersion::V2025_10_02Preview, ID);
        snap!(
            "current_upload_bytes",
            post(
                t,
                &Upload::bytes("report 1#.csv", Bytes::from_static(b"a,b\n1,2\n")).in_dir("in"),
                BOUNDARY
            )
        );
        snap!(
            "current_upload_nested_name_content_type",
            post(
                t,
                &Upload::text("/mnt/data/sub/ü \"q\".txt", "héllo")
                    .content_type("text/plain; charset=utf-8"),
                BOUNDARY
            )
        );
        let legacy = Target::session(&ep, ApiVersion::V2024_02_02Preview, ID);
        snap!(
            "legacy_upload",
            post(
                legacy,
                &Upload::bytes("x.py", Bytes::from_static(b"print(1)\n")).in_dir("src"),
                BOUNDARY
            )
        );
    }

    #[tokio::test]
    async fn upload_from_file_and_stream() {
        let t = current();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.json");
        std::fs::write(&path, b"{\"k\": [1, 2, 3]}").unwrap();
        let upload = Upload::file(&path).unwrap();
        let req = post(t, &upload, BOUNDARY).unwrap();
        // The file is streamed: the body is replayable, with an exact length.
        let again = req.body().try_clone().expect("a file upload is replayable");
        assert_eq!(
            req.headers()["content-length"].to_str().unwrap(),
            again.content_length().unwrap().to_string()
        );
        let rendered = render(req).await;
        insta::with_settings!({ prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!("current_upload_file", rendered);
        });

        let factory: StreamFactory = Arc::new(|| {
            stream::iter(vec![
                Ok(Bytes::from_static(b"ab")),
                Ok(Bytes::from_static(b"cd")),
            ])
            .boxed()
        });
        let req = post(t, &Upload::stream("s.bin", factory, 4), BOUNDARY).unwrap();
        let rendered = render(req).await;
        insta::with_settings!({ prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!("current_upload_stream", rendered);
        });
    }

    #[test]
    fn bad_uploads_are_refused_before_sending() {
        let t = current();
        invalid(post(t, &Upload::text("..", "x"), BOUNDARY));
        invalid(post(t, &Upload::text("x", "x").in_dir("/tmp"), BOUNDARY));
        // Over 128 MiB, from the declared length alone: nothing is read.
        let factory: StreamFactory = Arc::new(|| stream::empty().boxed());
        let m = invalid(post(
            t,
            &Upload::stream("big", factory, 128 * 1024 * 1024 + 1),
            BOUNDARY,
        ));
        assert!(m.contains("128 MiB"), "{m}");
    }

    #[test]
    fn file_upload_over_the_limit_is_refused_from_its_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(128 * 1024 * 1024 + 1).unwrap(); // sparse: no disk, no memory
        let upload = Upload::file(&path).unwrap();
        let t = current();
        let m = invalid(post(t, &upload, BOUNDARY));
        assert!(m.contains("128 MiB"), "{m}");
        // A larger limit (e.g. for the local pool) is an explicit opt-in; the body still streams.
        let req = post(t, &upload.size_limit(2 << 30), BOUNDARY).unwrap();
        assert!(req.body().content_length().unwrap() > 128 * 1024 * 1024);
        assert!(matches!(
            Upload::file(dir.path()),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            Upload::file(dir.path().join("missing")),
            Err(Error::Io { .. })
        ));
    }

    #[test]
    #[allow(deprecated)]
    fn the_old_path_setter_sets_the_dir() {
        let up = Upload::text("a", "b").path("inputs");
        assert_eq!(up.dir(), Some("inputs"));
    }
}
