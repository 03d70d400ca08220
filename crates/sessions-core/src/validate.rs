//! Input checks that run before anything is sent: session identifiers, file names, `path`
//! values and upload sizes.
//!
//! Rejecting bad input locally gives a clear [`Error::InvalidInput`] instead of an opaque 400 from
//! the service, and keeps file operations inside the session's `/mnt/data`.

use crate::error::{Error, Result};

/// The directory every session file lives under.
pub const DATA_ROOT: &str = "/mnt/data";

/// The largest upload the service accepts: 128 MiB (the service documents "128 MB"; the binary
/// unit is the stricter reading that the peers also use).
pub const MAX_UPLOAD_BYTES: u64 = 128 * 1024 * 1024;

/// The shortest allowed session identifier.
pub const MIN_IDENTIFIER_LEN: usize = 4;

/// The longest allowed session identifier.
pub const MAX_IDENTIFIER_LEN: usize = 128;

/// The longest file name (one path segment) in bytes, as on Linux (`NAME_MAX`).
pub(crate) const MAX_FILE_NAME_BYTES: usize = 255;

/// The punctuation the service's OpenAPI definitions allow in identifiers, besides ASCII letters
/// and digits: the pattern of `#/parameters/SessionIdentifier` is
/// ``^[a-zA-Z0-9_|}{\[\]:"";'<>?/.,@#$%^&*()_\-+=!~`]{4,128}$``.
///
/// The definitions are the contract (the docs' shorter list left out `@`, `.` and `:`, which
/// per-user identifiers built from e-mail addresses and tenant ids need). Every one of these is
/// percent-encoded in the query, so none can change the meaning of a URL. The cases both this
/// client and the local pool are tested against are in `tests/data/session_identifiers.json`.
pub const IDENTIFIER_PUNCTUATION: &str = "_|}{[]:\";'<>?/.,@#$%^&*()-+=!~`";

/// Check a session identifier: 4–128 characters, ASCII letters and digits plus
/// [`IDENTIFIER_PUNCTUATION`].
///
/// ```
/// use sessions_core::validate::validate_identifier;
/// assert!(validate_identifier("user-42").is_ok());
/// assert!(validate_identifier("a b c d").is_err());
/// ```
pub fn validate_identifier(identifier: &str) -> Result<()> {
    // The common case, all allowed ASCII, in one table-driven pass (this runs on every request).
    if (MIN_IDENTIFIER_LEN..=MAX_IDENTIFIER_LEN).contains(&identifier.len())
        && identifier.bytes().all(|b| IDENTIFIER_BYTES[usize::from(b)])
    {
        return Ok(());
    }
    let len = identifier.chars().count();
    if !(MIN_IDENTIFIER_LEN..=MAX_IDENTIFIER_LEN).contains(&len) {
        return Err(Error::invalid(format!(
            "the session identifier must be {MIN_IDENTIFIER_LEN} to {MAX_IDENTIFIER_LEN} characters long, got {len}"
        )));
    }
    if let Some(bad) = identifier.chars().find(|c| !is_identifier_char(*c)) {
        return Err(Error::invalid(format!(
            "the session identifier contains {bad:?}; use ASCII letters, digits and {IDENTIFIER_PUNCTUATION}"
        )));
    }
    Ok(())
}

/// Which bytes may appear in an identifier: ASCII letters, digits and [`IDENTIFIER_PUNCTUATION`].
const IDENTIFIER_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let punct = IDENTIFIER_PUNCTUATION.as_bytes();
    let mut i = 0;
    while i < punct.len() {
        table[punct[i] as usize] = true;
        i += 1;
    }
    table
};

/// Whether `c` may appear in a session identifier.
pub(crate) fn is_identifier_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || IDENTIFIER_PUNCTUATION.contains(c)
}

/// Check one file name (a single path segment): not empty, not `.` or `..`, no `/` or `\`, no
/// control characters (they would break the multipart headers), at most 255 bytes.
pub(crate) fn validate_file_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid("the file name is empty"));
    }
    if name == "." || name == ".." {
        return Err(Error::invalid(format!(
            "the file name {name:?} would leave {DATA_ROOT}"
        )));
    }
    if name.contains('/') || name.contains('\\') {
        return Err(Error::invalid(format!(
            "the file name {name:?} contains a path separator; pass the directory with `path`"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "the file name {name:?} contains a control character"
        )));
    }
    if name.len() > MAX_FILE_NAME_BYTES {
        return Err(Error::invalid(format!(
            "the file name is {} bytes long; the limit is {MAX_FILE_NAME_BYTES}",
            name.len()
        )));
    }
    Ok(())
}

/// Normalise a directory (`path` value) to a path relative to `/mnt/data`, `""` for the root.
///
/// Accepts relative paths (`sub/dir`) and absolute ones under `/mnt/data`; drops empty and `.`
/// segments; rejects `..`, `\`, control characters and absolute paths elsewhere.
pub(crate) fn normalize_dir(path: &str) -> Result<String> {
    if path.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "the path {path:?} contains a control character"
        )));
    }
    if path.contains('\\') {
        return Err(Error::invalid(format!(
            "the path {path:?} contains `\\`; use `/` as the separator"
        )));
    }
    let relative = if path.starts_with('/') {
        strip_data_root(path).ok_or_else(|| {
            Error::invalid(format!(
                "the path {path:?} is outside {DATA_ROOT}; session files live under {DATA_ROOT}"
            ))
        })?
    } else {
        path
    };
    let mut segments = Vec::new();
    for segment in relative.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                return Err(Error::invalid(format!(
                    "the path {path:?} contains `..`; paths must stay under {DATA_ROOT}"
                )));
            }
            s => {
                validate_file_name(s)?;
                segments.push(s);
            }
        }
    }
    Ok(segments.join("/"))
}

/// Split a file path such as `sub/report.csv` or `/mnt/data/report.csv` into its directory
/// (relative to `/mnt/data`, `""` for the root) and its validated file name.
pub(crate) fn split_file_path(path: &str) -> Result<(String, String)> {
    if path.is_empty() {
        return Err(Error::invalid("the file name is empty"));
    }
    if path.ends_with('/') {
        return Err(Error::invalid(format!(
            "{path:?} names a directory, not a file"
        )));
    }
    let (dir, name) = match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    };
    validate_file_name(name)?;
    // "/x.csv" has the directory "" but is absolute: it must be checked as such.
    let dir = if dir.is_empty() && path.starts_with('/') {
        "/"
    } else {
        dir
    };
    Ok((normalize_dir(dir)?, name.to_owned()))
}

/// Join a base directory and a file path (which may carry its own directories) into a normalised
/// `(directory, name)` pair.
pub(crate) fn join_file_path(base_dir: Option<&str>, file: &str) -> Result<(String, String)> {
    let (dir, name) = split_file_path(file)?;
    let base = match base_dir {
        Some(b) => normalize_dir(b)?,
        None => String::new(),
    };
    if file.starts_with('/') && !base.is_empty() {
        return Err(Error::invalid(format!(
            "the file name {file:?} is absolute but a directory {base:?} was also given"
        )));
    }
    let dir = match (base.is_empty(), dir.is_empty()) {
        (true, _) => dir,
        (false, true) => base,
        (false, false) => format!("{base}/{dir}"),
    };
    Ok((dir, name))
}

/// Reject uploads over [`MAX_UPLOAD_BYTES`] before anything is sent.
#[cfg(test)]
fn check_upload_size(len: u64) -> Result<()> {
    check_upload_size_limit(len, MAX_UPLOAD_BYTES)
}

/// Reject uploads over `limit` bytes before anything is sent.
pub(crate) fn check_upload_size_limit(len: u64, limit: u64) -> Result<()> {
    if len > limit {
        let what = if limit == MAX_UPLOAD_BYTES {
            format!("the service accepts at most {MAX_UPLOAD_BYTES} bytes (128 MiB) per file")
        } else {
            format!("the limit set with Upload::size_limit is {limit} bytes")
        };
        return Err(Error::invalid(format!("the upload is {len} bytes; {what}")));
    }
    Ok(())
}

fn strip_data_root(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(DATA_ROOT)?;
    if rest.is_empty() || rest.starts_with('/') {
        Some(rest)
    } else {
        // "/mnt/database" is not under "/mnt/data".
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_table_agrees_with_the_character_rule() {
        for b in 0..=255u8 {
            assert_eq!(
                IDENTIFIER_BYTES[usize::from(b)],
                is_identifier_char(char::from(b)) && b < 128,
                "{b}"
            );
        }
    }

    #[test]
    fn directories_and_file_paths_are_normalised() {
        assert_eq!(normalize_dir("/mnt/data/sub/").unwrap(), "sub");
        assert_eq!(normalize_dir("a/./b").unwrap(), "a/b");
        assert!(normalize_dir("../etc").is_err());
        assert!(normalize_dir("/etc").is_err());
        assert_eq!(
            split_file_path("sub/x.csv").unwrap(),
            ("sub".to_string(), "x.csv".to_string())
        );
        assert_eq!(
            split_file_path("/mnt/data/x.csv").unwrap(),
            ("".to_string(), "x.csv".to_string())
        );
        assert!(split_file_path("sub/").is_err());
    }

    #[test]
    fn identifiers() {
        for ok in [
            "abcd",
            "python-3f2a",
            "a|b-c&d^e%f$g#h(i)j{k}l[m]n;o<p>q",
            "snake_case_id",
            // The spec's pattern allows these too (e-mail addresses, tenant ids).
            "dot.ted",
            "sl/ash",
            "user@contoso.com",
            "tenant:42",
        ] {
            assert!(validate_identifier(ok).is_ok(), "{ok}");
        }
        assert!(validate_identifier(&"a".repeat(128)).is_ok());
        for bad in ["abc", "", "has space", "back\\slash", "ünï", "a\0bc"] {
            assert!(validate_identifier(bad).is_err(), "{bad}");
        }
        assert!(validate_identifier(&"a".repeat(129)).is_err());
    }

    #[test]
    fn dirs_and_names() {
        assert_eq!(normalize_dir("").unwrap(), "");
        assert_eq!(normalize_dir("/mnt/data").unwrap(), "");
        assert_eq!(normalize_dir("/mnt/data/a//b/").unwrap(), "a/b");
        assert!(normalize_dir("/mnt/database").is_err());
        assert!(normalize_dir("a/../../b").is_err());
        assert!(normalize_dir("a\\b").is_err());
        assert!(normalize_dir("a\0b").is_err());
        assert!(split_file_path("/etc/passwd").is_err());
        assert!(split_file_path("/x.csv").is_err());
        assert!(split_file_path("..").is_err());
        assert!(split_file_path("").is_err());
        assert_eq!(
            split_file_path("my file #1 ü.txt").unwrap(),
            (String::new(), "my file #1 ü.txt".into())
        );
        assert_eq!(
            join_file_path(Some("/mnt/data/in"), "sub/x").unwrap(),
            ("in/sub".into(), "x".into())
        );
        assert!(join_file_path(Some("in"), "/mnt/data/x").is_err());
        assert!(check_upload_size(MAX_UPLOAD_BYTES).is_ok());
        assert!(check_upload_size(MAX_UPLOAD_BYTES + 1).is_err());
    }
}
