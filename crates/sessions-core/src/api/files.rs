//! [`Files`]: a session's files in `/mnt/data`: list, upload, inspect, delete, download.

use std::path::Path;

use bytes::Bytes;

use super::download::{self, Download};
use super::paging::collect_pages;
use super::request;
use super::session::Session;
use super::upload::Upload;
use super::{decode, send_checked, send_json};
use crate::api_version::ApiFamily;
use crate::error::{Error, Result};
use crate::model::{FileInfo, FileKind};
use crate::transport::Operation;
use crate::validate;

/// How deep [`Files::list_all`] walks directories on versions without recursive listing.
const MAX_WALK_DEPTH: usize = 16;

/// How many directories [`Files::list_all`] lists at most on versions without recursive listing.
const MAX_WALK_DIRS: usize = 256;

/// Options for [`Files::list_with`].
///
/// ```
/// use sessions_core::api::ListOptions;
/// let opts = ListOptions::default().path("inputs").recursive(true);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    pub(crate) path: Option<String>,
    pub(crate) recursive: bool,
}

impl ListOptions {
    /// List this directory (relative to `/mnt/data`, or absolute under it) instead of the root.
    /// Current family only.
    pub fn path(mut self, dir: impl Into<String>) -> Self {
        self.path = Some(dir.into());
        self
    }

    /// Include subdirectories (`recursive=true`, 2025-10-02-preview only).
    pub fn recursive(mut self, recursive: bool) -> Self {
        self.recursive = recursive;
        self
    }
}

/// The files of one session, under `/mnt/data`.
///
/// Names may carry directories (`sub/report.csv`) or the `/mnt/data/` prefix; anything that would
/// leave `/mnt/data` is refused before a request is sent. Uploads and downloads stream, so large
/// files do not sit in memory.
///
/// ```no_run
/// # async fn demo(session: sessions_core::api::Session) -> sessions_core::Result<()> {
/// use sessions_core::api::{ListOptions, Upload};
///
/// let files = session.files();
/// let info = files.upload(Upload::file("report.csv")?.path("inputs")).await?;
/// println!("uploaded {} ({:?} bytes)", info.relative_path(), info.size);
///
/// for f in files.list_with(ListOptions::default().path("inputs")).await? {
///     println!("{}", f.name);
/// }
/// let bytes = files.download_to("inputs/report.csv", "copy.csv").await?;
/// files.delete("inputs/report.csv").await?;
/// # let _ = bytes; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Files {
    session: Session,
}

impl Files {
    pub(crate) fn new(session: Session) -> Self {
        Files { session }
    }

    /// The session these files belong to.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// List the files in `/mnt/data` (following `nextLink` pages).
    pub async fn list(&self) -> Result<Vec<FileInfo>> {
        self.list_with(ListOptions::default()).await
    }

    /// Every entry under `/mnt/data`, at any api-version: `recursive=true` where the service
    /// has it (2025-10-02-preview on), the legacy listing (already recursive), or else
    /// (2024-10-02-preview, 2025-02-02-preview) a walk of the directories, bounded in depth and
    /// count so a link loop cannot make it endless.
    pub async fn list_all(&self) -> Result<Vec<FileInfo>> {
        let version = self.session.client().api_version();
        if version.family() == ApiFamily::Legacy {
            return self.list().await;
        }
        if version.has_recursive_listing() {
            return self.list_with(ListOptions::default().recursive(true)).await;
        }
        let mut all = self.list().await?;
        let mut next = 0;
        let mut walked = 0;
        while next < all.len() {
            let entry = &all[next];
            next += 1;
            let path = entry.relative_path();
            if entry.kind != FileKind::Directory
                || path.split('/').count() > MAX_WALK_DEPTH
                || walked >= MAX_WALK_DIRS
            {
                continue;
            }
            walked += 1;
            let inner = self.list_with(ListOptions::default().path(path)).await?;
            all.extend(inner);
        }
        Ok(all)
    }

    /// List files with options (following `nextLink` pages).
    pub async fn list_with(&self, options: ListOptions) -> Result<Vec<FileInfo>> {
        let target = self.session.target();
        let family = self.session.client().api_version().family();
        let first = request::list_files(target, &options)?;
        let dir = match &options.path {
            Some(p) => validate::normalize_dir(p)?,
            None => String::new(),
        };
        let files = collect_pages(
            self.session.client(),
            first,
            "file list",
            |body| decode::decode_file_page(family, body),
            |link| request::next_page(target, link, Operation::idempotent("files.list")),
        )
        .await?;
        // Entries' directories are made relative to /mnt/data, whichever reading the pool uses.
        Ok(files.into_iter().map(|f| in_dir(f, &dir)).collect())
    }

    /// Upload a file and return what the service stored.
    ///
    /// Refused before sending when the content is over 128 MiB (see [`Upload::size_limit`]) or
    /// the name would leave `/mnt/data`. When the service answers without the file's details (a legacy empty list),
    /// they are filled in from the upload itself.
    pub async fn upload(&self, upload: Upload) -> Result<FileInfo> {
        let boundary = format!("sessions-core-{}", uuid::Uuid::new_v4().simple());
        let req = request::upload(self.session.target(), &upload, &boundary)?;
        let (_, body) = send_json(self.session.client(), req).await?;
        let family = self.session.client().api_version().family();
        if body.iter().all(u8::is_ascii_whitespace) {
            return fallback_info(&upload);
        }
        match decode::decode_file(family, &body)? {
            Some(info) => Ok(in_dir(info, &upload.target()?.0)),
            None => fallback_info(&upload),
        }
    }

    /// A file's metadata (`GET files/{name}`; current family only).
    pub async fn get(&self, name: &str) -> Result<FileInfo> {
        let req = request::get_file(self.session.target(), name)?;
        let (_, body) = send_json(self.session.client(), req).await?;
        let family = self.session.client().api_version().family();
        let info = decode::decode_file(family, &body)?
            .ok_or_else(|| Error::decode("the file response is an empty list", &body, None))?;
        Ok(in_dir(info, &validate::split_file_path(name)?.0))
    }

    /// Delete a file (`DELETE files/{name}`; current family only).
    pub async fn delete(&self, name: &str) -> Result<()> {
        let req = request::delete_file(self.session.target(), name)?;
        send_checked(self.session.client(), req).await.map(drop)
    }

    /// Start downloading a file; the content streams from the returned [`Download`].
    pub async fn download(&self, name: &str) -> Result<Download> {
        let req = request::download_file(self.session.target(), name)?;
        let response = send_checked(self.session.client(), req).await?;
        Ok(Download::new(response))
    }

    /// Download a whole file into memory.
    pub async fn download_bytes(&self, name: &str) -> Result<Bytes> {
        self.download(name).await?.bytes().await
    }

    /// Download a file straight to `local`, streaming. Returns the number of bytes written.
    ///
    /// Writes to a temporary file next to `local` and renames it on success, so `local` is
    /// either the complete file or untouched. A body shorter or longer than its
    /// `Content-Length` is an error.
    pub async fn download_to(&self, name: &str, local: impl AsRef<Path>) -> Result<u64> {
        let download = self.download(name).await?;
        download::write_to_file(download, local.as_ref()).await
    }
}

/// Make an entry's `directory` relative to `/mnt/data`, whichever way the service wrote it, so
/// that [`FileInfo::relative_path`] is right for a listing of `dir` at every version:
///
/// * absent (versions before 2025-10-02-preview) or `""`: the entry is in `dir` itself (the
///   definitions' examples answer `path=test-directory` with `""` for direct children);
/// * `dir` or below it (`test-directory/sub`, or absolute under `/mnt/data`): already relative
///   to `/mnt/data` (an absolute one loses its `/mnt/data/`);
/// * anything else: relative to `dir` (the examples' reading), so `dir` is put before it.
///
/// The one ambiguous case, a directory named like its parent (`a/a` when listing `a`), is read
/// as relative to `/mnt/data`.
fn in_dir(mut info: FileInfo, dir: &str) -> FileInfo {
    if dir.is_empty() {
        return info;
    }
    let root = validate::DATA_ROOT.trim_start_matches('/');
    let sent = info.directory.as_deref().map(|d| {
        let d = d.trim_matches('/');
        let d = match d.strip_prefix(root) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
            _ => d,
        };
        d.trim_matches('/').to_owned()
    });
    match sent {
        None => info.directory = Some(dir.to_owned()),
        Some(d) if d.is_empty() => info.directory = Some(dir.to_owned()),
        Some(d) if d == dir || d.starts_with(&format!("{dir}/")) => info.directory = Some(d),
        Some(d) => info.directory = Some(format!("{dir}/{d}")),
    }
    info
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

    fn entry(directory: Option<&str>) -> FileInfo {
        FileInfo {
            name: "x.csv".into(),
            directory: directory.map(str::to_owned),
            kind: FileKind::File,
            size: None,
            content_type: None,
            last_modified: None,
        }
    }

    #[test]
    fn either_reading_of_directory_gives_the_same_path() {
        let path = |d: Option<&str>, dir: &str| in_dir(entry(d), dir).relative_path();
        // Relative to the requested path (the definitions' examples) ...
        assert_eq!(path(Some(""), "test-directory"), "test-directory/x.csv");
        assert_eq!(
            path(Some("sub"), "test-directory"),
            "test-directory/sub/x.csv"
        );
        // ... or relative to /mnt/data, plain or absolute ...
        assert_eq!(
            path(Some("test-directory"), "test-directory"),
            "test-directory/x.csv"
        );
        assert_eq!(
            path(Some("/mnt/data/test-directory/sub"), "test-directory"),
            "test-directory/sub/x.csv"
        );
        // ... or absent (older versions).
        assert_eq!(path(None, "test-directory"), "test-directory/x.csv");
        // A root listing is kept as sent.
        assert_eq!(path(Some("sub"), ""), "sub/x.csv");
        // `mnt/database` is not under /mnt/data.
        assert_eq!(path(Some("mnt/database"), "a"), "a/mnt/database/x.csv");
    }
}
