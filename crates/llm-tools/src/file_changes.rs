//! Which files in `/mnt/data` a call created or changed: listing every entry at any
//! api-version, and diffing two listings.

use std::collections::HashMap;
use std::time::SystemTime;

use sessions_core::api::{ListOptions, Session};
use sessions_core::{ApiFamily, ApiVersion, FileInfo, FileKind};

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

/// How deep [`list_all_files`] walks directories on versions without recursive listing.
const MAX_WALK_DEPTH: usize = 16;

/// How many directories [`list_all_files`] lists at most on versions without recursive listing.
const MAX_WALK_DIRS: usize = 256;

/// Every entry under `/mnt/data`, at the session's api-version: `recursive=true` where the
/// service has it (2025-10-02-preview on), the legacy listing (already recursive), or else
/// (2024-10-02-preview, 2025-02-02-preview) a walk of the directories, bounded in depth and
/// count so a link loop cannot make it endless.
pub(crate) async fn list_all_files(
    session: &Session,
) -> Result<Vec<FileInfo>, sessions_core::Error> {
    let files = session.files();
    let version = session.client().api_version();
    if version.family() == ApiFamily::Legacy {
        return files.list().await;
    }
    if !matches!(
        version,
        ApiVersion::V2024_10_02Preview | ApiVersion::V2025_02_02Preview
    ) {
        return files
            .list_with(ListOptions::default().recursive(true))
            .await;
    }
    let mut all = files.list().await?;
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
        let inner = files.list_with(ListOptions::default().path(path)).await?;
        all.extend(inner);
    }
    Ok(all)
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
