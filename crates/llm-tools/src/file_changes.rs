//! Which files in `/mnt/data` a call created or changed: diffing two listings taken with
//! [`Files::list_all`](sessions_core::api::Files::list_all).

use std::collections::HashMap;
use std::time::SystemTime;

use sessions_core::{FileInfo, FileKind};

use crate::output::{ChangedFile, FileChange};

/// A file's size and modification time, when reported.
type Stamp = (Option<u64>, Option<SystemTime>);

/// `/mnt/data` at one moment: relative path → (size, modified).
pub(crate) type FileSnapshot = HashMap<String, Stamp>;

pub(crate) fn snapshot_of(files: &[FileInfo]) -> FileSnapshot {
    files
        .iter()
        .filter(|f| f.kind == FileKind::File)
        .map(|f| (f.relative_path(), (f.size, f.last_modified)))
        .collect()
}

/// Files created, modified, deleted or renamed between two snapshots, sorted by name.
///
/// A rename is a file that disappeared and one that appeared with the same size and
/// modification time (a rename keeps both).
pub(crate) fn diff_files(before: &FileSnapshot, after: &FileSnapshot) -> Vec<ChangedFile> {
    let mut changed: Vec<ChangedFile> = Vec::new();
    let mut created: Vec<(&String, &Stamp)> = Vec::new();
    for (name, now) in after {
        match before.get(name) {
            None => created.push((name, now)),
            Some(then) if then != now => changed.push(ChangedFile {
                name: name.clone(),
                size: now.0,
                change: FileChange::Modified,
                renamed_from: None,
            }),
            Some(_) => {}
        }
    }
    let mut deleted: Vec<(&String, &Stamp)> = before
        .iter()
        .filter(|(name, _)| !after.contains_key(*name))
        .collect();
    deleted.sort();
    created.sort();
    for (name, now) in created {
        let same = |then: &Stamp| then.0.is_some() && then.1.is_some() && then == now;
        let renamed_from = deleted
            .iter()
            .position(|(_, then)| same(then))
            .map(|i| deleted.remove(i).0.clone());
        changed.push(ChangedFile {
            name: name.clone(),
            size: now.0,
            change: if renamed_from.is_some() {
                FileChange::Renamed
            } else {
                FileChange::Created
            },
            renamed_from,
        });
    }
    changed.extend(deleted.into_iter().map(|(name, then)| ChangedFile {
        name: name.clone(),
        size: then.0,
        change: FileChange::Deleted,
        renamed_from: None,
    }));
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
                    change: FileChange::Modified,
                    renamed_from: None,
                },
                ChangedFile {
                    name: "out/plot.png".into(),
                    size: Some(99),
                    change: FileChange::Created,
                    renamed_from: None,
                },
            ]
        );
    }

    #[test]
    fn diff_reports_deleted_and_renamed_files() {
        let t0 = SystemTime::UNIX_EPOCH;
        let before: FileSnapshot = [
            ("old.csv".to_owned(), (Some(10), Some(t0))),
            ("gone.txt".to_owned(), (Some(5), Some(t0))),
        ]
        .into();
        let after: FileSnapshot = [
            ("new.csv".to_owned(), (Some(10), Some(t0))),
            ("fresh.txt".to_owned(), (Some(5), None)),
        ]
        .into();
        let diff = diff_files(&before, &after);
        let kinds: Vec<(&str, FileChange, Option<&str>)> = diff
            .iter()
            .map(|f| (f.name.as_str(), f.change, f.renamed_from.as_deref()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("fresh.txt", FileChange::Created, None),
                ("gone.txt", FileChange::Deleted, None),
                ("new.csv", FileChange::Renamed, Some("old.csv")),
            ]
        );
    }
}
