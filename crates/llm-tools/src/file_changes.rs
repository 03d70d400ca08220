//! Which files in `/mnt/data` a call created or changed: diffing two listings taken with
//! [`Files::list_all`](sessions_core::api::Files::list_all).

use std::collections::HashMap;
use std::time::SystemTime;

use sessions_core::{FileInfo, FileKind};

use crate::output::{ChangedFile, FileChange};

/// `/mnt/data` at one moment: relative path → (size, modified).
pub(crate) type FileSnapshot = HashMap<String, (Option<u64>, Option<SystemTime>)>;

pub(crate) fn snapshot_of(files: &[FileInfo]) -> FileSnapshot {
    files
        .iter()
        .filter(|f| f.kind == FileKind::File)
        .map(|f| (f.relative_path(), (f.size, f.last_modified)))
        .collect()
}

/// Files created or modified between two snapshots, sorted by name.
pub(crate) fn diff_files(before: &FileSnapshot, after: &FileSnapshot) -> Vec<ChangedFile> {
    let mut changed: Vec<ChangedFile> = after
        .iter()
        .filter_map(|(name, now)| {
            let change = match before.get(name) {
                None => FileChange::Created,
                Some(then) if then != now => FileChange::Modified,
                Some(_) => return None,
            };
            Some(ChangedFile {
                name: name.clone(),
                size: now.0,
                change,
            })
        })
        .collect();
    changed.sort_by(|a, b| a.name.cmp(&b.name));
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn diff_reports_created_and_modified_files() {
        let t0 = SystemTime::UNIX_EPOCH;
        let t1 = t0 + Duration::from_secs(1);
        let before: FileSnapshot = [
            ("a.csv".to_owned(), (Some(10), Some(t0))),
            ("b.txt".to_owned(), (Some(5), Some(t0))),
        ]
        .into();
        let after: FileSnapshot = [
            ("a.csv".to_owned(), (Some(10), Some(t0))),
            ("b.txt".to_owned(), (Some(5), Some(t1))),
            ("out/plot.png".to_owned(), (Some(99), Some(t1))),
        ]
        .into();
        let diff = diff_files(&before, &after);
        assert_eq!(
            diff,
            vec![
                ChangedFile {
                    name: "b.txt".into(),
                    size: Some(5),
                    change: FileChange::Modified
                },
                ChangedFile {
                    name: "out/plot.png".into(),
                    size: Some(99),
                    change: FileChange::Created
                },
            ]
        );
    }
}
