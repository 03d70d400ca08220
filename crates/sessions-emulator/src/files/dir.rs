//! A session directory accessed only through directory handles: every name is resolved with
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` or `*at` calls on a descriptor, so session
//! code swapping a component for a symbolic link (even in a tight loop) cannot redirect a
//! request outside the session, and FIFOs, sockets and devices are never opened for reading.
//! All methods block: call them from `spawn_blocking`.

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustix::fs::{AtFlags, Dir, FileType, Gid, Mode, OFlags, ResolveFlags, Stat, Uid};

use super::{Entry, EntryKind};
use crate::error::ApiError;

/// Deepest directory nesting walked (listing, deleting, measuring).
const MAX_DEPTH: usize = 64;

/// Resolution rules for every lookup below the root.
const RESOLVE: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS);

/// A session's data directory: its canonical host path and an open handle to it.
#[derive(Debug, Clone)]
pub struct SessionDir {
    root: PathBuf,
    fd: Arc<OwnedFd>,
    /// Owner of the root (the session's host uid): files the API creates are given to it.
    owner: (Uid, Gid),
}

impl SessionDir {
    /// Open a session directory (canonicalised once, at allocation).
    pub fn new(root: &Path) -> io::Result<Self> {
        let fd = rustix::fs::open(
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        // The canonical path of what was opened, in one call (allocation is on the hot path).
        let root = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .or_else(|_| std::fs::canonicalize(root))?;
        let st = rustix::fs::fstat(&fd)?;
        Ok(Self {
            root,
            fd: Arc::new(fd),
            owner: (Uid::from_raw(st.st_uid), Gid::from_raw(st.st_gid)),
        })
    }

    /// The canonical root on the host.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Open the directory `parts` below the root (`[]` is the root itself).
    fn dir(&self, parts: &[String]) -> Result<OwnedFd, ApiError> {
        let path = if parts.is_empty() {
            ".".to_string()
        } else {
            parts.join("/")
        };
        open_beneath(&self.fd, &path, OFlags::RDONLY | OFlags::DIRECTORY)
            .map_err(|e| lookup_error(e, &path, "directory"))
    }

    /// The parent directory of `parts` and the entry's own name.
    fn parent<'a>(&self, parts: &'a [String]) -> Result<(OwnedFd, &'a str), ApiError> {
        let Some((name, parent)) = parts.split_last() else {
            return Err(ApiError::validation("A file name is required."));
        };
        Ok((self.dir(parent)?, name.as_str()))
    }

    /// The entry `parts` (never following a link, not even as the last component).
    pub fn entry(&self, parts: &[String]) -> Result<Entry, ApiError> {
        let (parent, name) = self.parent(parts)?;
        let st = rustix::fs::statat(&parent, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| lookup_error(e, &parts.join("/"), "file"))?;
        let dir = parts[..parts.len() - 1].to_vec();
        entry_of(name, dir, &st).ok_or_else(|| link_refused(&parts.join("/")))
    }

    /// Open the regular file `parts` for reading. A FIFO, socket or device is refused at once:
    /// it is opened non-blocking and checked with `fstat` before anything reads it.
    pub fn open_file(&self, parts: &[String]) -> Result<(File, Entry), ApiError> {
        let path = parts.join("/");
        let fd = open_beneath(&self.fd, &path, OFlags::RDONLY | OFlags::NONBLOCK)
            .map_err(|e| lookup_error(e, &path, "file"))?;
        let st = rustix::fs::fstat(&fd).map_err(|e| ApiError::io(&e.into(), &path))?;
        let name = parts.last().cloned().unwrap_or_default();
        let entry = entry_of(&name, parts[..parts.len().saturating_sub(1)].to_vec(), &st)
            .ok_or_else(|| link_refused(&path))?;
        match entry.kind {
            EntryKind::File => Ok((File::from(fd), entry)),
            EntryKind::Directory => Err(ApiError::not_found(format!(
                "The file '{path}' is a directory."
            ))),
            EntryKind::Special => Err(ApiError::validation(format!(
                "The file '{path}' is a FIFO, socket or device, which the files API does not read."
            ))),
        }
    }

    /// The first `limit` entries of the directory `parts` (recursively when asked), sorted by
    /// (parent, name); links are skipped. Directories are walked in that order, so a page
    /// reads only the entries before its end, and holds one directory handle at a time.
    pub fn list(
        &self,
        parts: &[String],
        recursive: bool,
        limit: usize,
    ) -> Result<Vec<Entry>, ApiError> {
        let mut out = Vec::new();
        let mut pending = vec![parts.to_vec()];
        while let Some(rel) = pending.pop() {
            if out.len() >= limit {
                break;
            }
            let fd = match self.dir(&rel) {
                Ok(fd) => fd,
                Err(e) if rel.len() == parts.len() => return Err(e),
                // A directory swapped for a link since it was listed: skipped.
                Err(_) => continue,
            };
            // Sorted by name.
            let entries = read_entries(&fd).map_err(|e| ApiError::io(&e, "the directory"))?;
            drop(fd);
            let mut subdirs = Vec::new();
            for (name, st) in entries {
                let Some(entry) = entry_of(&name, rel.clone(), &st) else {
                    continue;
                };
                if recursive && entry.kind == EntryKind::Directory && rel.len() < MAX_DEPTH {
                    let mut sub = rel.clone();
                    sub.push(name);
                    subdirs.push(sub);
                }
                if out.len() < limit {
                    out.push(entry);
                }
            }
            // Visited in name order: the stack pops the first subdirectory first.
            pending.extend(subdirs.into_iter().rev());
        }
        Ok(out)
    }

    /// Delete the entry `parts`; a directory is removed with its contents, and a link is
    /// removed itself (never what it points to).
    pub fn delete(&self, parts: &[String]) -> Result<(), ApiError> {
        let what = parts.join("/");
        let (parent, name) = self.parent(parts)?;
        let st = rustix::fs::statat(&parent, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| lookup_error(e, &what, "file"))?;
        let res = if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            remove_tree(&parent, name, 0)
        } else {
            rustix::fs::unlinkat(&parent, name, AtFlags::empty()).map_err(io::Error::from)
        };
        res.map_err(|e| ApiError::io(&e, &format!("The file '{what}'")))
    }

    /// Store `source` as the file `parts`, creating missing parent directories. The bytes
    /// go to a fresh temporary file in the target directory, renamed into place through the
    /// directory handle; the session's host uid owns the result.
    pub fn store(&self, parts: &[String], source: &mut File) -> Result<Entry, ApiError> {
        let Some((name, parents)) = parts.split_last() else {
            return Err(ApiError::validation("A file name is required."));
        };
        let mut dir = self
            .fd
            .try_clone()
            .map_err(|e| ApiError::io(&e, "the session"))?;
        for (i, part) in parents.iter().enumerate() {
            dir = self.child_dir(&dir, part, &parents[..=i])?;
        }
        if let Ok(st) = rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
            && FileType::from_raw_mode(st.st_mode) == FileType::Directory
        {
            return Err(ApiError::validation(format!(
                "A directory named '{name}' already exists."
            )));
        }
        let tmp = format!(".upload-{}", uuid::Uuid::new_v4());
        let stored = (|| -> io::Result<Stat> {
            let fd = rustix::fs::openat(
                &dir,
                tmp.as_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o644),
            )?;
            let _ = rustix::fs::fchown(&fd, Some(self.owner.0), Some(self.owner.1));
            let mut file = File::from(fd);
            io::copy(source, &mut file)?;
            file.sync_data().ok();
            let st = rustix::fs::fstat(&file)?;
            rustix::fs::renameat(&dir, tmp.as_str(), &dir, name.as_str())?;
            Ok(st)
        })();
        match stored {
            Ok(st) => entry_of(name, parents.to_vec(), &st)
                .ok_or_else(|| ApiError::internal("the stored upload is not a file")),
            Err(e) => {
                let _ = rustix::fs::unlinkat(&dir, tmp.as_str(), AtFlags::empty());
                Err(ApiError::internal(format!("cannot store the upload: {e}")))
            }
        }
    }

    /// Open (creating if needed) the directory `name` in `parent`, given to the session.
    fn child_dir(&self, parent: &OwnedFd, name: &str, rel: &[String]) -> Result<OwnedFd, ApiError> {
        match rustix::fs::mkdirat(parent, name, Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => {
                return Err(ApiError::validation(format!(
                    "Cannot create the directory '{}': {}",
                    rel.join("/"),
                    io::Error::from(e)
                )));
            }
        }
        let fd = open_beneath(parent, name, OFlags::RDONLY | OFlags::DIRECTORY)
            .map_err(|e| lookup_error(e, &rel.join("/"), "directory"))?;
        let st = rustix::fs::fstat(&fd).map_err(|e| ApiError::io(&e.into(), name))?;
        if st.st_uid != self.owner.0.as_raw() {
            let _ = rustix::fs::fchown(&fd, Some(self.owner.0), Some(self.owner.1));
        }
        Ok(fd)
    }

    /// Bytes used by regular files under the root (for the soft disk quota).
    pub fn usage(&self) -> u64 {
        let mut total = 0u64;
        let mut stack = vec![(self.fd.try_clone().ok(), 0usize)];
        while let Some((Some(fd), depth)) = stack.pop() {
            for (name, st) in read_entries(&fd).unwrap_or_default() {
                match FileType::from_raw_mode(st.st_mode) {
                    FileType::RegularFile => {
                        total = total.saturating_add(st.st_blocks.max(0) as u64 * 512)
                    }
                    FileType::Directory if depth < MAX_DEPTH => stack.push((
                        open_beneath(&fd, &name, OFlags::RDONLY | OFlags::DIRECTORY).ok(),
                        depth + 1,
                    )),
                    _ => {}
                }
            }
        }
        total
    }
}

fn open_beneath<Fd: AsFd>(dir: Fd, path: &str, flags: OFlags) -> rustix::io::Result<OwnedFd> {
    rustix::fs::openat2(
        dir,
        path,
        flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
        RESOLVE,
    )
}

/// The entries of a directory (without `.` and `..`), sorted by name, with their `lstat`.
fn read_entries(fd: &OwnedFd) -> io::Result<Vec<(String, Stat)>> {
    let mut out = Vec::new();
    for item in Dir::read_from(fd)? {
        let item = item?;
        let name: &CStr = item.file_name();
        let Ok(name) = name.to_str() else { continue };
        if name == "." || name == ".." {
            continue;
        }
        if let Ok(st) = rustix::fs::statat(fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            out.push((name.to_string(), st));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Remove the directory `name` in `parent` and everything below it, through handles only.
fn remove_tree(parent: &OwnedFd, name: &str, depth: usize) -> io::Result<()> {
    if depth > MAX_DEPTH {
        return Err(io::Error::other(
            "the directory is nested too deeply to delete",
        ));
    }
    let fd = match open_beneath(parent, name, OFlags::RDONLY | OFlags::DIRECTORY) {
        Ok(fd) => fd,
        // Swapped for a link (or a file) since it was checked: remove that entry itself.
        Err(rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR) => {
            return Ok(rustix::fs::unlinkat(parent, name, AtFlags::empty())?);
        }
        Err(e) => return Err(e.into()),
    };
    for (child, st) in read_entries(&fd)? {
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            remove_tree(&fd, &child, depth + 1)?;
        } else {
            rustix::fs::unlinkat(&fd, child.as_str(), AtFlags::empty())?;
        }
    }
    Ok(rustix::fs::unlinkat(parent, name, AtFlags::REMOVEDIR)?)
}

/// An entry from its `lstat`; `None` for a symbolic link.
fn entry_of(name: &str, dir: Vec<String>, st: &Stat) -> Option<Entry> {
    let kind = match FileType::from_raw_mode(st.st_mode) {
        FileType::Symlink => return None,
        FileType::RegularFile => EntryKind::File,
        FileType::Directory => EntryKind::Directory,
        _ => EntryKind::Special,
    };
    let modified = SystemTime::UNIX_EPOCH
        + Duration::new(
            st.st_mtime.max(0) as u64,
            (st.st_mtime_nsec as u32).min(999_999_999),
        );
    Some(Entry {
        name: name.to_string(),
        dir,
        kind,
        size: st.st_size.max(0) as u64,
        modified,
    })
}

fn link_refused(path: &str) -> ApiError {
    ApiError::not_found(format!(
        "'{path}' was not found (it is a symbolic link, which the files API does not follow)"
    ))
}

/// A failed lookup as the client's error.
fn lookup_error(e: rustix::io::Errno, path: &str, what: &str) -> ApiError {
    match e {
        rustix::io::Errno::NOENT => {
            ApiError::not_found(format!("The {what} '{path}' was not found"))
        }
        rustix::io::Errno::LOOP | rustix::io::Errno::XDEV => link_refused(path),
        rustix::io::Errno::NOTDIR => ApiError::not_found(format!(
            "The {what} '{path}' was not found (a component is not a directory)"
        )),
        e => ApiError::io(&e.into(), &format!("The {what} '{path}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(p: &str) -> Vec<String> {
        p.split('/').map(str::to_string).collect()
    }

    #[test]
    fn links_are_never_followed() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"s").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("sub")).unwrap();
        std::fs::write(root.path().join("sub/f"), b"f").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("out")).unwrap();
        std::os::unix::fs::symlink(root.path().join("sub"), root.path().join("in")).unwrap();
        let sd = SessionDir::new(root.path()).unwrap();
        assert_eq!(sd.open_file(&parts("out/secret")).unwrap_err().status, 404);
        assert_eq!(sd.open_file(&parts("in/f")).unwrap_err().status, 404);
        assert_eq!(sd.list(&parts("out"), false, 10).unwrap_err().status, 404);
        let mut src = tempfile::tempfile().unwrap();
        assert!(sd.store(&parts("out/new"), &mut src).is_err());
        assert!(!outside.path().join("new").exists());
        // Deleting a link removes the link only.
        sd.delete(&parts("out")).unwrap();
        assert!(outside.path().join("secret").exists());
        let names: Vec<_> = sd
            .list(&[], true, 10)
            .unwrap()
            .iter()
            .map(Entry::rel_path)
            .collect();
        assert_eq!(names, ["sub", "sub/f"]);
    }

    #[test]
    fn special_files_are_refused_without_blocking() {
        let root = tempfile::tempdir().unwrap();
        let fifo = root.path().join("pipe");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let sd = SessionDir::new(root.path()).unwrap();
        let err = sd.open_file(&parts("pipe")).unwrap_err();
        assert_eq!(err.status, 400, "{err:?}");
        assert_eq!(sd.entry(&parts("pipe")).unwrap().kind, EntryKind::Special);
    }

    #[test]
    fn store_creates_parents_and_replaces_atomically() {
        let root = tempfile::tempdir().unwrap();
        let sd = SessionDir::new(root.path()).unwrap();
        let mut src = tempfile::tempfile().unwrap();
        io::Write::write_all(&mut src, b"hello").unwrap();
        io::Seek::rewind(&mut src).unwrap();
        let e = sd.store(&parts("a/b/c.txt"), &mut src).unwrap();
        assert_eq!((e.size, e.rel_path()), (5, "a/b/c.txt".to_string()));
        assert_eq!(
            std::fs::read(root.path().join("a/b/c.txt")).unwrap(),
            b"hello"
        );
        assert!(sd.usage() >= 5);
        sd.delete(&parts("a")).unwrap();
        assert!(!root.path().join("a").exists());
    }
}
