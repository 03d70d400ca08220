//! Safe resolution of client-supplied names and `path` values inside a session directory,
//! and building file objects.
//!
//! Rules: a value may be relative to `/mnt/data` or absolute under `/mnt/data`; any other
//! absolute path, a `..` component or a NUL byte is rejected. Symbolic links are followed only
//! while their canonical target stays inside the session directory.

use std::fs::Metadata;
use std::io;
use std::path::{Component, Path, PathBuf};
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

/// A session's data directory (canonical host path).
#[derive(Debug, Clone)]
pub struct SessionDir {
    root: PathBuf,
}

/// Where a resolved entry lives.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Host path; every existing component is a real (non-symlink) path inside the root.
    pub host: PathBuf,
    /// Components relative to the root, after following in-root links.
    pub rel: Vec<String>,
}

impl SessionDir {
    /// Wrap a session directory (canonicalised).
    pub fn new(root: &Path) -> io::Result<Self> {
        Ok(Self {
            root: std::fs::canonicalize(root)?,
        })
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolve components, following symlinks only when they stay inside the root.
    /// Components that do not exist yet are appended as they are.
    pub fn resolve(&self, parts: &[String]) -> Result<Resolved, ApiError> {
        let mut cur = self.root.clone();
        let mut iter = parts.iter();
        while let Some(part) = iter.next() {
            let next = cur.join(part);
            match std::fs::symlink_metadata(&next) {
                Ok(md) if md.file_type().is_symlink() => {
                    let target = std::fs::canonicalize(&next)
                        .map_err(|_| ApiError::not_found(format!("'{part}' was not found")))?;
                    if !target.starts_with(&self.root) {
                        return Err(ApiError::not_found(format!(
                            "'{part}' was not found (it links outside the session)"
                        )));
                    }
                    cur = target;
                }
                Ok(_) => cur = next,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    cur = next;
                    for p in iter.by_ref() {
                        cur.push(p);
                    }
                    break;
                }
                Err(e) => return Err(ApiError::io(&e, part)),
            }
        }
        let rel = cur
            .strip_prefix(&self.root)
            .map_err(|_| ApiError::not_found("the path is outside the session"))?
            .components()
            .filter_map(|c| c.as_os_str().to_str().map(str::to_string))
            .collect();
        Ok(Resolved { host: cur, rel })
    }

    /// Resolve the parent of an entry and keep the entry's own name unresolved
    /// (for uploads and deletes, which act on the link itself, never its target).
    pub fn resolve_parent(&self, parts: &[String]) -> Result<(Resolved, String), ApiError> {
        let Some((name, parent)) = parts.split_last() else {
            return Err(ApiError::validation("A file name is required."));
        };
        Ok((self.resolve(parent)?, name.clone()))
    }
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

/// Build a current-family file object.
pub fn file_info(name: &str, dir_rel: &[String], md: &Metadata, with_directory: bool) -> FileInfo {
    let mtime = md.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let is_dir = md.is_dir();
    FileInfo {
        name: name.to_string(),
        kind: if is_dir { "directory" } else { "file" },
        content_type: if is_dir {
            "application/octet-stream".to_string()
        } else {
            content_type(name)
        },
        size_in_bytes: if is_dir { 4096 } else { md.len() },
        last_modified_at: rfc3339(mtime, 3),
        directory: (with_directory && !dir_rel.is_empty()).then(|| dir_rel.join("/")),
    }
}

/// One listed entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Base name.
    pub name: String,
    /// Parent directory components relative to the root.
    pub dir: Vec<String>,
    /// Metadata (of the link target for in-root links).
    pub md: Metadata,
}

/// List a directory (blocking). Links leading outside the root are skipped; linked directories
/// are listed but not descended into. Sorted by path.
pub fn list(
    sd: &SessionDir,
    start: &Resolved,
    recursive: bool,
    limit: usize,
) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut stack = vec![(start.host.clone(), start.rel.clone(), 0usize)];
    while let Some((dir, rel, depth)) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)?.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            if out.len() >= limit {
                return Ok(out);
            }
            let Some(name) = e.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let path = e.path();
            let Ok(lmd) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let (md, descend) = if lmd.file_type().is_symlink() {
                match std::fs::canonicalize(&path) {
                    Ok(t) if t.starts_with(sd.root()) => match std::fs::metadata(&t) {
                        Ok(md) => (md, false),
                        Err(_) => continue,
                    },
                    _ => continue,
                }
            } else {
                let d = lmd.is_dir();
                (lmd, d)
            };
            if recursive && descend && depth < 64 {
                let mut sub = rel.clone();
                sub.push(name.clone());
                stack.push((path, sub, depth + 1));
            }
            out.push(Entry {
                name,
                dir: rel.clone(),
                md,
            });
        }
    }
    out.sort_by(|a, b| (&a.dir, &a.name).cmp(&(&b.dir, &b.name)));
    Ok(out)
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
    fn resolve_refuses_links_out() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"s").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("sub")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("out")).unwrap();
        std::os::unix::fs::symlink(root.path().join("sub"), root.path().join("in")).unwrap();
        let sd = SessionDir::new(root.path()).unwrap();
        assert!(sd.resolve(&["out".into(), "secret".into()]).is_err());
        let r = sd.resolve(&["in".into(), "new.txt".into()]).unwrap();
        assert_eq!(r.rel, vec!["sub", "new.txt"]);
        assert_eq!(content_type("a.txt"), "text/plain; charset=utf-8");
        assert_eq!(content_type("a.png"), "image/png");
    }
}
