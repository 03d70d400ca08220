//! A session's files: `GET files` (listing, both families), `GET files/{name}` (metadata) and
//! `DELETE files/{name}` (current family), and decoding file objects of both families.

use http::{Method, Request};
use serde_json::Value;

use super::{Target, empty_request, file_request, needs_current};
use crate::api::json::parse_json;
use crate::api::rfc3339::parse_rfc3339;
use crate::api::wire;
use crate::api_version::ApiFamily;
use crate::error::{Error, Result};
use crate::model::{FileInfo, FileKind};
use crate::transport::{Body, Operation};
use crate::validate::{self, DATA_ROOT};

/// Options for [`Files::list_with`](crate::api::Files::list_with).
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

/// `GET files` (both families; `path` and `recursive` are current-family only).
pub(crate) fn list(t: Target<'_>, options: &ListOptions) -> Result<Request<Body>> {
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

/// `GET files/{name}` (current family only): file metadata.
pub(crate) fn get(t: Target<'_>, name: &str) -> Result<Request<Body>> {
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
pub(crate) fn delete(t: Target<'_>, name: &str) -> Result<Request<Body>> {
    file_request(
        t,
        Method::DELETE,
        name,
        "",
        Operation::idempotent("files.delete"),
        "deleting a file",
    )
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
pub(crate) fn decode_page(
    family: ApiFamily,
    body: &[u8],
) -> Result<(Vec<FileInfo>, Option<String>)> {
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
pub(crate) fn decode_one(family: ApiFamily, body: &[u8]) -> Result<Option<FileInfo>> {
    let value: Value = parse_json(body, "the file response")?;
    if value.get("value").is_some_and(Value::is_array) {
        let (files, _) = decode_page(family, body)?;
        return Ok(files.into_iter().next());
    }
    let file: wire::CurrentFile = serde_json::from_value(value)
        .map_err(|e| Error::decode("the file response has an unexpected shape", body, Some(e)))?;
    current_file(file, body).map(Some)
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
pub(crate) fn in_dir(mut info: FileInfo, dir: &str) -> FileInfo {
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::api::ops::testing::{ESCAPING_NAMES, ID, current, endpoint, invalid, snap};
    use crate::api_version::ApiVersion;

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

    #[tokio::test]
    async fn snapshots() {
        let ep = endpoint();
        let t = Target::session(&ep, ApiVersion::V2025_10_02Preview, ID);
        snap!("current_list_files", list(t, &ListOptions::default()));
        snap!(
            "current_list_files_path_recursive",
            list(
                t,
                &ListOptions::default()
                    .path("/mnt/data/in put/")
                    .recursive(true)
            )
        );
        snap!("current_get_file", get(t, "sub dir/x y#&?%.csv"));
        snap!("current_delete_file", delete(t, "/mnt/data/a.txt"));
        let t = Target::session(&ep, ApiVersion::V2024_02_02Preview, ID);
        snap!("legacy_list_files", list(t, &ListOptions::default()));
    }

    #[test]
    fn the_legacy_family_refuses_what_it_lacks() {
        let ep = endpoint();
        let t = Target::session(&ep, ApiVersion::V2024_02_02Preview, ID);
        for message in [
            invalid(get(t, "a.txt")),
            invalid(delete(t, "a.txt")),
            invalid(list(t, &ListOptions::default().path("sub"))),
        ] {
            assert!(message.contains("2024-10-02-preview"), "{message}");
        }
        let t = Target::session(&ep, ApiVersion::V2025_02_02Preview, ID);
        let m = invalid(list(t, &ListOptions::default().recursive(true)));
        assert!(m.contains("2025-10-02-preview"), "{m}");
    }

    #[test]
    fn names_that_leave_mnt_data_are_refused() {
        let t = current();
        for name in ESCAPING_NAMES {
            invalid(get(t, name));
            invalid(delete(t, name));
        }
        invalid(list(t, &ListOptions::default().path("../..")));
    }

    #[test]
    fn current_file_list_and_single_file() {
        let body = br#"{"value":[
            {"$id":"x","name":"testfile.yaml","type":"file","contentType":"application/yaml","sizeInBytes":4,"lastModifiedAt":"2024-05-29T02:17:25.902Z"},
            {"name":"sub","type":"Directory","contentType":"application/octet-stream","sizeInBytes":4096,"lastModifiedAt":"2024-05-29T02:17:25Z","directory":""},
            {"name":"deep.csv","type":"FILE","sizeInBytes":"12","lastModifiedAt":"garbage","directory":"sub"}
        ],"nextLink":"https://x/files?skip=3"}"#;
        let (files, next) = decode_page(ApiFamily::Current, body).unwrap();
        assert_eq!(next.as_deref(), Some("https://x/files?skip=3"));
        assert_eq!(files.len(), 3);
        assert_eq!(files[0].name, "testfile.yaml");
        assert_eq!(files[0].kind, FileKind::File);
        assert_eq!(files[0].size, Some(4));
        assert_eq!(files[0].content_type.as_deref(), Some("application/yaml"));
        assert_eq!(
            files[0].last_modified,
            Some(UNIX_EPOCH + Duration::from_millis(1_716_949_045_902))
        );
        assert_eq!(
            files[1].kind,
            FileKind::Directory,
            "type is case-insensitive"
        );
        assert_eq!(files[2].kind, FileKind::File);
        assert_eq!(files[2].size, Some(12));
        assert_eq!(
            files[2].last_modified, None,
            "an unreadable timestamp is not an error"
        );
        assert_eq!(files[2].relative_path(), "sub/deep.csv");

        let (files, next) =
            decode_page(ApiFamily::Current, br#"{"value": [], "nextLink": null}"#).unwrap();
        assert!(files.is_empty() && next.is_none());

        let one = decode_one(
            ApiFamily::Current,
            br#"{"name":"a.txt","type":"file","contentType":"text/plain; charset=utf-8","sizeInBytes":5,"lastModifiedAt":"2025-01-01T00:00:00+01:00"}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(one.name, "a.txt");
        assert_eq!(
            one.last_modified,
            Some(UNIX_EPOCH + Duration::from_secs(1_735_686_000))
        );
    }

    #[test]
    fn legacy_file_list_and_upload() {
        let body = br#"{"$id":"1","value":[
            {"$id":"2","properties":{"$id":"3","filename":"test1.txt","size":16,"lastModifiedTime":"2024-05-02T07:21:07.9922617Z"}},
            {"$id":"4","properties":{"$id":"5","filename":"/mnt/data/input.py","size":3,"lastModifiedTime":"2024-05-02T07:21:07Z"}},
            {"$id":"6","properties":{"$id":"7","filename":"out/plot.png","size":900,"last_modified_time":"2024-05-02T07:21:07Z"}}
        ]}"#;
        let (files, next) = decode_page(ApiFamily::Legacy, body).unwrap();
        assert!(next.is_none());
        assert_eq!(files[0].name, "test1.txt");
        assert_eq!(files[0].size, Some(16));
        assert_eq!(
            files[0].last_modified,
            Some(UNIX_EPOCH + Duration::from_nanos(1_714_634_467_992_261_700))
        );
        assert_eq!(files[1].name, "input.py", "a /mnt/data/ prefix is stripped");
        assert_eq!(files[1].directory, None);
        assert_eq!(files[2].relative_path(), "out/plot.png");
        assert!(
            files[2].last_modified.is_some(),
            "snake_case timestamps are read too"
        );

        // Upload answers are a list wrapper: the first entry is the file.
        let up = decode_one(ApiFamily::Legacy, body).unwrap().unwrap();
        assert_eq!(up.name, "test1.txt");
        assert_eq!(
            decode_one(ApiFamily::Legacy, br#"{"$id":"1","value":[]}"#).unwrap(),
            None
        );
    }
}
