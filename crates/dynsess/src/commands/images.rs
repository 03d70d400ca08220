//! `exec --save-images DIR`: image results written as files.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use dynamic_sessions::{Execution, Image};

use crate::error::{Error, ErrorCode, Result};

/// Numbered names tried in one directory before giving up.
const MAX_NAMES: u32 = 100_000;

/// The images of a run, in order.
pub fn of(execution: &Execution) -> Vec<&Image> {
    if execution.images.is_empty() {
        execution.image().into_iter().collect()
    } else {
        execution.images.iter().collect()
    }
}

/// Write each image to `dir/image-N.EXT`, N the first free numbers (existing files are never
/// overwritten); creates `dir` when there is an image. Returns the paths written.
pub fn save_all(dir: &Path, images: &[&Image]) -> Result<Vec<PathBuf>> {
    if images.is_empty() {
        return Ok(Vec::new());
    }
    // Decode them all first: a bad one writes nothing.
    let decoded = images
        .iter()
        .map(|image| {
            base64::engine::general_purpose::STANDARD
                .decode(image.base64_data.trim())
                .map(|bytes| (extension(&image.format), bytes))
                .map_err(|e| {
                    let what = image.media_type();
                    Error::new(
                        ErrorCode::Decode,
                        format!("the {what} image result is not valid base64: {e}"),
                    )
                })
        })
        .collect::<Result<Vec<_>>>()?;
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format_args!("creating {}", dir.display()), e))?;
    let mut saved = Vec::with_capacity(decoded.len());
    let mut next = 1;
    for (ext, bytes) in decoded {
        let (path, n) = write_new(dir, next, ext, &bytes)?;
        next = n + 1;
        saved.push(path);
    }
    Ok(saved)
}

/// Create `dir/image-N.ext` for the first N >= `from` that does not exist, and write `bytes`.
fn write_new(dir: &Path, from: u32, ext: &str, bytes: &[u8]) -> Result<(PathBuf, u32)> {
    for n in from..MAX_NAMES {
        let path = dir.join(format!("image-{n}.{ext}"));
        let mut file = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(format_args!("writing {}", path.display()), e)),
        };
        if let Err(e) = file.write_all(bytes).and_then(|()| file.flush()) {
            drop(file);
            let _ = std::fs::remove_file(&path);
            return Err(Error::io(format_args!("writing {}", path.display()), e));
        }
        return Ok((path, n));
    }
    Err(Error::msg(format!(
        "{} already holds image-1 to image-{} files: pass another --save-images DIR",
        dir.display(),
        MAX_NAMES - 1
    )))
}

/// A file extension for an image format sent by the service (anything odd becomes `bin`).
fn extension(format: &str) -> &str {
    let ok = !format.is_empty()
        && format.len() <= 8
        && format.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok { format } else { "bin" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(data: &[u8]) -> Image {
        Image {
            format: "png".into(),
            base64_data: base64::engine::general_purpose::STANDARD.encode(data),
        }
    }

    #[test]
    fn images_get_the_first_free_numbers_and_existing_files_stay() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("new/sub");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("image-1.png"), b"mine").unwrap();
        let (a, b) = (png(b"first"), png(b"second"));
        let saved = save_all(&out, &[&a, &b]).unwrap();
        assert_eq!(saved, [out.join("image-2.png"), out.join("image-3.png")]);
        assert_eq!(std::fs::read(out.join("image-1.png")).unwrap(), b"mine");
        assert_eq!(std::fs::read(&saved[0]).unwrap(), b"first");
        assert_eq!(std::fs::read(&saved[1]).unwrap(), b"second");
    }

    #[test]
    fn a_format_from_the_network_never_becomes_a_path() {
        assert_eq!(extension("png"), "png");
        assert_eq!(extension("../../etc/x"), "bin");
        assert_eq!(extension(""), "bin");
        let dir = tempfile::tempdir().unwrap();
        let odd = Image {
            format: "../evil".into(),
            base64_data: "aGk=".into(),
        };
        let saved = save_all(dir.path(), &[&odd]).unwrap();
        assert_eq!(saved, [dir.path().join("image-1.bin")]);
    }

    #[test]
    fn bad_base64_is_an_error_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let good = png(b"fine");
        let bad = Image {
            format: "png".into(),
            base64_data: "not base64!".into(),
        };
        let e = save_all(&out, &[&good, &bad]).unwrap_err();
        assert_eq!(e.code(), ErrorCode::Decode);
        assert!(!out.exists(), "nothing written, not even the good one");
    }

    #[test]
    fn no_image_creates_no_directory() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("absent");
        assert!(save_all(&out, &[]).unwrap().is_empty());
        assert!(!out.exists());
    }
}
