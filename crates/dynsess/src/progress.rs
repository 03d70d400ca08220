//! Progress bars for uploads and downloads: only on a terminal, only for large files.

use std::io::IsTerminal;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};

/// Files at least this large get a progress bar.
pub const THRESHOLD: u64 = 1024 * 1024;

/// A progress bar on stderr for a transfer of `len` bytes, or `None` when stderr is not a terminal
/// or the transfer is small (or of unknown size).
pub fn bar(len: Option<u64>, message: &str) -> Option<ProgressBar> {
    let len = len.filter(|&n| n >= THRESHOLD)?;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(message.to_owned());
    Some(bar)
}

/// Count the bytes of a stream on `bar` as they pass.
pub fn counting<S, E>(stream: S, bar: Option<ProgressBar>) -> impl Stream<Item = Result<Bytes, E>>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    stream.inspect(move |chunk| {
        if let (Some(bar), Ok(chunk)) = (&bar, chunk) {
            bar.inc(chunk.len() as u64);
        }
    })
}
