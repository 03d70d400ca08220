//! Client-supplied names and `path` values inside a session directory, and file objects.
//!
//! Rules: a value may be relative to `/mnt/data` or absolute under `/mnt/data`; any other
//! absolute path, a `..` component or a NUL byte is rejected. Every access then goes through
//! directory handles of [`SessionDir`]: no component may be a symbolic link, and nothing is
//! checked by path and opened later (session code may swap any component at any moment).

mod dir;

pub use dir::SessionDir;

use std::path::{Component, Path};
use std::time::SystemTime;

use crate::error::ApiError;
use crate::shapes::{FileInfo, rfc3339};

/// The directory sessions see as their data directory.
pub const MOUNT: &str = "/mnt/data";

/// Split a client value into safe relative components.
pub fn relative_parts(value: &str, what: &str) -> Result<Vec<String>, ApiError> {
    if value.contains('\0') {
        return Err(ApiError::validation(format!(
            "The {what} contains a NUL character."
        )));
    }
    let rest = if value.starts_with('/') {
        if value == MOUNT {
            ""
        } else if let Some(r) = value.strip_prefix("/mnt/data/") {
            r
        } else {
            return Err(ApiError::validation(format!(
                "The {what} '{value}' is outside {MOUNT}."
            )));
        }
    } else {
        value
    };
    let mut parts = Vec::new();
    for comp in Path::new(rest).components() {
        match comp {
            Component::Normal(s) => match s.to_str() {
                Some(s) => parts.push(s.to_string()),
                None => return Err(ApiError::validation(format!("The {what} is not UTF-8."))),
            },
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(ApiError::validation(format!(
                    "The {what} '{value}' must not contain '..'."
                )));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(ApiError::validation(format!(
                    "The {what} '{value}' is outside {MOUNT}."
                )));
            }
        }
    }
    Ok(parts)
}

/// Guess the content type the service reports for a file name.
pub fn content_type(name: &str) -> String {
    let mime = mime_guess::from_path(name).first_or_octet_stream();
    if mime.type_() == mime_guess::mime::TEXT && mime.get_param("charset").is_none() {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    }
}

/// Build a current-family file object for `entry`.
pub fn file_info(entry: &Entry, with_directory: bool) -> FileInfo {
    let is_dir = entry.kind == EntryKind::Directory;
    FileInfo {
        name: entry.name.clone(),
        kind: if is_dir { "directory" } else { "file" },
        content_type: if is_dir {
            "application/octet-stream".to_string()
        } else {
            content_type(&entry.name)
        },
        size_in_bytes: if is_dir { 4096 } else { entry.size },
        last_modified_at: rfc3339(entry.modified, 3),
        directory: (with_directory && !entry.dir.is_empty()).then(|| entry.dir.join("/")),
    }
}

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A FIFO, socket or device: listed, never opened.
    Special,
}

/// One entry of a session directory (never a symbolic link: those are not followed).
#[derive(Debug, Clone)]
pub struct Entry {
    /// Base name.
    pub name: String,
    /// Parent directory components relative to the session root.
    pub dir: Vec<String>,
    /// What it is.
    pub kind: EntryKind,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time.
    pub modified: SystemTime,
}

impl Entry {
    /// The path relative to the session root, `/`-separated.
    pub fn rel_path(&self) -> String {
        let mut p = self.dir.clone();
        p.push(self.name.clone());
        p.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_parts_rules() {
        assert_eq!(
            relative_parts("a/b.txt", "name").unwrap(),
            vec!["a", "b.txt"]
        );
        assert_eq!(relative_parts("/mnt/data/x", "name").unwrap(), vec!["x"]);
        assert!(relative_parts("/mnt/data", "path").unwrap().is_empty());
        assert!(relative_parts("./", "path").unwrap().is_empty());
        assert!(relative_parts("../x", "name").is_err());
        assert!(relative_parts("a/../../x", "name").is_err());
        assert!(relative_parts("/etc/passwd", "name").is_err());
        assert!(relative_parts("/mnt/database", "path").is_err());
        assert!(relative_parts("a\0b", "name").is_err());
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("a.txt"), "text/plain; charset=utf-8");
        assert_eq!(content_type("a.png"), "image/png");
    }
}
