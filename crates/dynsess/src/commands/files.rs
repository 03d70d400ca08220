//! `upload`, `download`, `ls`, `rm`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use dynamic_sessions::{FileInfo, FileKind, ListOptions, Upload};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::{print_json, print_raw};
use crate::cli::{DownloadArgs, LsArgs, RmArgs, UploadArgs};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::progress;

/// `upload LOCAL [--as NAME] [--path DIR]`: streams the file, with a progress bar on a terminal.
pub async fn upload(ctx: &Context, args: UploadArgs) -> Result<ExitCode> {
    let local = args.local;
    let meta = std::fs::metadata(&local)
        .map_err(|e| Error::io(format_args!("reading {}", local.display()), e))?;
    if !meta.is_file() {
        return Err(Error::msg(format!("{} is not a file", local.display())));
    }
    let name = match args.name {
        Some(name) => name,
        None => local
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                Error::msg(format!(
                    "{} has no file name; pass --as NAME",
                    local.display()
                ))
            })?,
    };
    let session = ctx.session()?;
    let bar = progress::bar(Some(meta.len()), &format!("uploading {name}"));
    let mut upload = match bar.clone() {
        Some(bar) => Upload::stream(name, counted_file(local.clone(), bar), meta.len()),
        None => Upload::file(&local)?.name(name),
    };
    if let Some(dir) = args.path {
        upload = upload.in_dir(dir);
    }
    let result = session.files().upload(upload).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let info = result?;
    if ctx.json() {
        print_json(&info)?;
    } else {
        print_raw(&format!(
            "uploaded {} ({})\n",
            info.relative_path(),
            size_text(info.size.unwrap_or(meta.len()))
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A replayable stream of a local file that counts its bytes on `bar` (reset on each replay).
fn counted_file(
    path: PathBuf,
    bar: indicatif::ProgressBar,
) -> dynamic_sessions::transport::StreamFactory {
    std::sync::Arc::new(move || {
        bar.set_position(0);
        let path = path.clone();
        let bar = bar.clone();
        let stream = futures_util::stream::once(async move { tokio::fs::File::open(path).await })
            .map(|opened| match opened {
                Ok(file) => {
                    tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024).left_stream()
                }
                Err(e) => futures_util::stream::iter([Err(e)]).right_stream(),
            })
            .flatten()
            .map(|r| r.map_err(|e| Box::new(e) as dynamic_sessions::BoxError));
        Box::pin(progress::counting(stream, Some(bar)))
    })
}

/// `download NAME [-o FILE]`: streams to the file (or stdout for `-o -`).
pub async fn download(ctx: &Context, args: DownloadArgs) -> Result<ExitCode> {
    let session = ctx.session()?;
    let download = session.files().download(&args.name).await?;
    let len = download.content_length();
    let to_stdout = args.output.as_deref() == Some("-");
    let target = match args.output {
        Some(out) if out != "-" => PathBuf::from(out),
        _ => PathBuf::from(base_name(&args.name)),
    };
    let bar = progress::bar(len, &format!("downloading {}", args.name));
    let mut stream = Box::pin(progress::counting(download.into_stream(), bar.clone()));
    let mut written: u64 = 0;
    if to_stdout {
        let mut out = tokio::io::stdout();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            out.write_all(&chunk)
                .await
                .map_err(|e| Error::io("writing to stdout", e))?;
            written += chunk.len() as u64;
        }
        out.flush()
            .await
            .map_err(|e| Error::io("writing to stdout", e))?;
    } else {
        // Write next to the target and rename at the end, so a failed transfer never leaves a
        // truncated file (or clobbers an existing one).
        let partial = partial_path(&target);
        let result = write_file(&partial, &mut stream, &mut written).await;
        let result = match result {
            Ok(()) => tokio::fs::rename(&partial, &target)
                .await
                .map_err(|e| Error::io(format_args!("writing {}", target.display()), e)),
            Err(e) => Err(e),
        };
        if result.is_err() {
            let _ = tokio::fs::remove_file(&partial).await;
        }
        result?;
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if !to_stdout {
        if ctx.json() {
            print_json(&serde_json::json!({
                "name": args.name, "path": target.display().to_string(), "bytes": written
            }))?;
        } else {
            print_raw(&format!(
                "downloaded {} to {} ({})\n",
                args.name,
                target.display(),
                size_text(written)
            ))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn write_file<S, E>(target: &Path, stream: &mut S, written: &mut u64) -> Result<()>
where
    S: futures_util::Stream<Item = std::result::Result<bytes::Bytes, E>> + Unpin,
    Error: From<E>,
{
    let what = || format!("writing {}", target.display());
    let mut file = tokio::fs::File::create(target)
        .await
        .map_err(|e| Error::io(what(), e))?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        file.write_all(&chunk)
            .await
            .map_err(|e| Error::io(what(), e))?;
        *written += chunk.len() as u64;
    }
    file.flush().await.map_err(|e| Error::io(what(), e))?;
    Ok(())
}

/// `ls [--path DIR] [--recursive]`.
pub async fn list(ctx: &Context, args: LsArgs) -> Result<ExitCode> {
    let session = ctx.session()?;
    let mut options = ListOptions::default().recursive(args.recursive);
    if let Some(path) = args.path {
        options = options.path(path);
    }
    let files = session.files().list_with(options).await?;
    if ctx.json() {
        print_json(&files)?;
    } else {
        let mut out = String::new();
        for f in &files {
            out.push_str(&list_line(f));
        }
        print_raw(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn list_line(f: &FileInfo) -> String {
    let size = match (&f.kind, f.size) {
        (FileKind::Directory, _) => "-".to_owned(),
        (_, Some(n)) => n.to_string(),
        (_, None) => "?".to_owned(),
    };
    let slash = if f.kind == FileKind::Directory {
        "/"
    } else {
        ""
    };
    format!("{size:>12}  {}{slash}\n", f.relative_path())
}

/// `rm NAME`.
pub async fn remove(ctx: &Context, args: RmArgs) -> Result<ExitCode> {
    let session = ctx.session()?;
    session.files().delete(&args.name).await?;
    if ctx.json() {
        print_json(&serde_json::json!({ "deleted": args.name }))?;
    } else {
        print_raw(&format!("deleted {}\n", args.name))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `dir/.name.dynsess-partial` for `dir/name`.
fn partial_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.dynsess-partial"))
}

fn base_name(name: &str) -> &str {
    name.rsplit('/').find(|s| !s.is_empty()).unwrap_or(name)
}

fn size_text(n: u64) -> String {
    if n == 1 {
        "1 byte".to_owned()
    } else {
        format!("{n} bytes")
    }
}
