//! [`Files`]: a session's files in `/mnt/data`: list, upload, inspect, delete, download. It only
//! builds operations ([`super::ops`]) and hands them to [`super::send`].

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use super::ops::download::{self, Download};
use super::ops::files::{self, ListOptions, in_dir};
use super::ops::upload::{self, Upload};
use super::ops::{Target, paging};
use super::send;
use crate::api_version::ApiFamily;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::model::{FileInfo, FileKind};
use crate::transport::Operation;
use crate::validate;

/// How deep [`Files::list_all`] walks directories on versions without recursive listing.
const MAX_WALK_DEPTH: usize = 16;

/// How many directories [`Files::list_all`] lists at most on versions without recursive listing.
const MAX_WALK_DIRS: usize = 256;

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
/// let info = files.upload(Upload::file("report.csv")?.in_dir("inputs")).await?;
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
    client: Client,
    identifier: Arc<str>,
}

impl Files {
    /// The files of the session `identifier` (validated when the session was made).
    pub(crate) fn new(client: Client, identifier: Arc<str>) -> Self {
        Files { client, identifier }
    }

    /// The identifier of the session these files belong to.
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    fn target(&self) -> Target<'_> {
        // The identifier was validated when the session was made.
        Target::checked_session(
            self.client.endpoint(),
            self.client.api_version(),
            &self.identifier,
        )
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
        let version = self.client.api_version();
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
        let target = self.target();
        let family = self.client.api_version().family();
        let first = files::list(target, &options)?;
        let dir = match &options.path {
            Some(p) => validate::normalize_dir(p)?,
            None => String::new(),
        };
        let found = send::pages(
            &self.client,
            first,
            "file list",
            |body| files::decode_page(family, body),
            |link| paging::next(target, link, Operation::idempotent("files.list")),
        )
        .await?;
        // Entries' directories are made relative to /mnt/data, whichever reading the pool uses.
        Ok(found.into_iter().map(|f| in_dir(f, &dir)).collect())
    }

    /// Upload a file and return what the service stored.
    ///
    /// Refused before sending when the content is over 128 MiB (see [`Upload::size_limit`]) or
    /// the name would leave `/mnt/data`. When the service answers without the file's details (a legacy empty list),
    /// they are filled in from the upload itself.
    pub async fn upload(&self, upload: Upload) -> Result<FileInfo> {
        let boundary = format!("sessions-core-{}", uuid::Uuid::new_v4().simple());
        let req = upload::post(self.target(), &upload, &boundary)?;
        let family = self.client.api_version().family();
        send::call(&self.client, req, |_, body| {
            upload::decode(family, body, &upload)
        })
        .await
    }

    /// A file's metadata (`GET files/{name}`; current family only).
    pub async fn get(&self, name: &str) -> Result<FileInfo> {
        let req = files::get(self.target(), name)?;
        let family = self.client.api_version().family();
        let info = send::call(&self.client, req, |_, body| {
            files::decode_one(family, body)?
                .ok_or_else(|| Error::decode("the file response is an empty list", body, None))
        })
        .await?;
        Ok(in_dir(info, &validate::split_file_path(name)?.0))
    }

    /// Delete a file (`DELETE files/{name}`; current family only).
    pub async fn delete(&self, name: &str) -> Result<()> {
        let req = files::delete(self.target(), name)?;
        send::send(&self.client, req).await.map(drop)
    }

    /// Start downloading a file; the content streams from the returned [`Download`].
    pub async fn download(&self, name: &str) -> Result<Download> {
        let req = download::get(self.target(), name)?;
        Ok(Download::new(send::send(&self.client, req).await?))
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
