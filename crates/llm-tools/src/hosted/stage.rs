//! Staging inputs into a session's `/mnt/data`: uploads run concurrently, names are decided up
//! front (so staging twice writes the same files), and a hosted id must already be there.

use std::collections::HashSet;

use futures_util::future::join_all;
use sessions_core::api::{Session, Upload};
use sessions_core::{FileInfo, FileKind};

use super::fetch::{FetchError, FetchPolicy, fetch};
use super::input::{FileInput, extension_for, name_from_url, safe_file_name};
use crate::definition::DATA_DIR;

/// One input, staged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedFile {
    /// The input's position in the list.
    pub index: usize,
    /// `url`, `hosted`, `data` or `text`.
    pub kind: &'static str,
    /// The absolute path in the session, e.g. `/mnt/data/sales.csv`.
    pub path: String,
    /// The size in bytes, when known.
    pub size: Option<u64>,
}

/// Where every input went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StagingReport {
    /// One entry per input, in input order.
    pub files: Vec<StagedFile>,
}

/// Why staging failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StageError {
    /// A hosted id is not a file in the session.
    #[error("input {index}: {id:?} is not in {DATA_DIR}; the session has: {}", list_or_none(.available))]
    HostedNotFound {
        /// The input's position.
        index: usize,
        /// The id.
        id: String,
        /// The files the session has.
        available: Vec<String>,
    },
    /// A URL could not be fetched.
    #[error("input {index} ({input}): {source}")]
    Fetch {
        /// The input's position.
        index: usize,
        /// The input, described without secrets.
        input: String,
        /// Why.
        #[source]
        source: FetchError,
    },
    /// An upload (or the listing) failed.
    #[error("input {index} ({input}): {source}")]
    Service {
        /// The input's position.
        index: usize,
        /// The input, described without secrets.
        input: String,
        /// Why.
        #[source]
        source: sessions_core::Error,
    },
    /// Listing the session's files failed.
    #[error("could not list {DATA_DIR}: {0}")]
    List(#[source] sessions_core::Error),
    /// A name given for an input is not a usable file name.
    #[error("input {index}: {name:?} is not a usable file name")]
    BadName {
        /// The input's position.
        index: usize,
        /// The name.
        name: String,
    },
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "no files".to_owned()
    } else {
        names.join(", ")
    }
}

/// Decide each input's file name: explicit, else from the URL path or the media type; clashes
/// get a `-2`, `-3` … suffix. Hosted ids get `None`.
pub(crate) fn plan_names(inputs: &[FileInput]) -> Result<Vec<Option<String>>, StageError> {
    let mut taken = HashSet::new();
    let mut names = Vec::with_capacity(inputs.len());
    for (index, input) in inputs.iter().enumerate() {
        let wanted = match input {
            FileInput::Hosted { .. } => {
                names.push(None);
                continue;
            }
            FileInput::Url { name: Some(n), .. }
            | FileInput::Data { name: Some(n), .. }
            | FileInput::Text { name: Some(n), .. } => {
                safe_file_name(n).ok_or_else(|| StageError::BadName {
                    index,
                    name: n.clone(),
                })?
            }
            FileInput::Url { url, name: None } => {
                name_from_url(url).unwrap_or_else(|| format!("input-{index}.bin"))
            }
            FileInput::Data {
                media_type,
                name: None,
                ..
            } => format!("input-{index}.{}", extension_for(media_type)),
            FileInput::Text { name: None, .. } => format!("input-{index}.txt"),
        };
        names.push(Some(unique(&mut taken, wanted)));
    }
    Ok(names)
}

fn unique(taken: &mut HashSet<String>, wanted: String) -> String {
    if taken.insert(wanted.clone()) {
        return wanted;
    }
    let (stem, ext) = match wanted.rfind('.') {
        Some(dot) if dot > 0 => (&wanted[..dot], &wanted[dot..]),
        _ => (wanted.as_str(), ""),
    };
    let mut n = 2;
    loop {
        let candidate = format!("{stem}-{n}{ext}");
        if taken.insert(candidate.clone()) {
            return candidate;
        }
        n += 1;
    }
}

/// Stage `inputs` into `session`, concurrently. See [`super::HostedCodeInterpreterTool::stage`].
pub(crate) async fn stage(
    session: &Session,
    inputs: &[FileInput],
    policy: &FetchPolicy,
) -> Result<StagingReport, StageError> {
    let names = plan_names(inputs)?;
    let existing = if inputs.iter().any(|i| matches!(i, FileInput::Hosted { .. })) {
        let listing = session.files().list_all().await.map_err(StageError::List)?;
        Some(listing)
    } else {
        None
    };
    let tasks = inputs
        .iter()
        .zip(&names)
        .enumerate()
        .map(|(index, (input, name))| {
            stage_one(
                session,
                index,
                input,
                name.as_deref(),
                existing.as_deref(),
                policy,
            )
        });
    let files = join_all(tasks)
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    Ok(StagingReport { files })
}

async fn stage_one(
    session: &Session,
    index: usize,
    input: &FileInput,
    name: Option<&str>,
    existing: Option<&[FileInfo]>,
    policy: &FetchPolicy,
) -> Result<StagedFile, StageError> {
    let service_error = |source| StageError::Service {
        index,
        input: input.describe(),
        source,
    };
    let (name, upload) = match (input, name) {
        (FileInput::Hosted { id }, _) => {
            return find_hosted(index, id, existing.unwrap_or_default());
        }
        (FileInput::Data { bytes, .. }, Some(name)) => (name, Upload::bytes(name, bytes.clone())),
        (FileInput::Text { text, .. }, Some(name)) => (name, Upload::text(name, text.clone())),
        (FileInput::Url { url, .. }, Some(name)) => {
            let fetched = fetch(url, policy)
                .await
                .map_err(|source| StageError::Fetch {
                    index,
                    input: input.describe(),
                    source,
                })?;
            (name, Upload::bytes(name, fetched.bytes))
        }
        (_, None) => {
            return Err(StageError::BadName {
                index,
                name: String::new(),
            });
        }
    };
    let info = session
        .files()
        .upload(upload)
        .await
        .map_err(service_error)?;
    Ok(StagedFile {
        index,
        kind: input.kind(),
        path: format!("{DATA_DIR}/{name}"),
        size: info.size,
    })
}

fn find_hosted(index: usize, id: &str, existing: &[FileInfo]) -> Result<StagedFile, StageError> {
    let wanted = id.trim_start_matches(DATA_DIR).trim_start_matches('/');
    let files = existing.iter().filter(|f| f.kind == FileKind::File);
    match files.clone().find(|f| f.relative_path() == wanted) {
        Some(file) => Ok(StagedFile {
            index,
            kind: "hosted",
            path: format!("{DATA_DIR}/{}", file.relative_path()),
            size: file.size,
        }),
        None => Err(StageError::HostedNotFound {
            index,
            id: id.to_owned(),
            available: files.map(FileInfo::relative_path).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_planned_deterministically_and_deduplicated() {
        let inputs = vec![
            FileInput::url("https://x.test/data/sales.csv?sig=1").unwrap(),
            FileInput::data(&b"a,b"[..], "text/csv").named("sales.csv"),
            FileInput::text("hello"),
            FileInput::hosted("existing.txt"),
            FileInput::data(&b"{}"[..], "application/json"),
            FileInput::url("https://x.test/").unwrap(),
        ];
        let names = plan_names(&inputs).unwrap();
        assert_eq!(
            names,
            vec![
                Some("sales.csv".into()),
                Some("sales-2.csv".into()),
                Some("input-2.txt".into()),
                None,
                Some("input-4.json".into()),
                Some("input-5.bin".into()),
            ]
        );
    }

    #[test]
    fn hosted_ids_must_exist_and_the_error_lists_what_does() {
        let file = |name: &str| FileInfo {
            name: name.into(),
            directory: None,
            kind: FileKind::File,
            size: Some(3),
            content_type: None,
            last_modified: None,
        };
        let existing = vec![file("a.csv"), file("b.txt")];
        assert_eq!(
            find_hosted(0, "/mnt/data/a.csv", &existing).unwrap().path,
            "/mnt/data/a.csv"
        );
        let err = find_hosted(1, "c.csv", &existing).unwrap_err();
        assert_eq!(
            err.to_string(),
            "input 1: \"c.csv\" is not in /mnt/data; the session has: a.csv, b.txt"
        );
    }
}
