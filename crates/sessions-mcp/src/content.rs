//! What the tools answer: executions, files and errors as MCP content.

use base64::Engine as _;
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use sessions_core::{Execution, ExecutionResult, FileInfo};

/// The URI of a file in the session, e.g. `sandbox:/mnt/data/out/plot.png`.
pub fn file_uri(relative: &str) -> String {
    format!("sandbox:/mnt/data/{}", relative.trim_start_matches('/'))
}

/// The path relative to /mnt/data named by a [`file_uri`], if it is one.
pub fn relative_from_uri(uri: &str) -> Option<&str> {
    uri.strip_prefix("sandbox:/mnt/data/")
        .filter(|p| !p.is_empty() && !p.split('/').any(|s| s == ".." || s.is_empty()))
}

/// A run as tool content: one text block (stdout, result, stderr, status), one image per image.
/// A failed run is `isError: true` (the traceback is in stderr).
pub fn execution(run: &Execution) -> CallToolResult {
    let mut text = String::new();
    section(&mut text, "stdout", &run.stdout);
    let mut images = Vec::new();
    match &run.result {
        ExecutionResult::Image(image) => images.push(image),
        ExecutionResult::Value(serde_json::Value::String(s)) => section(&mut text, "result", s),
        ExecutionResult::Value(serde_json::Value::Null) => {}
        ExecutionResult::Value(v) => section(&mut text, "result", &v.to_string()),
    }
    section(&mut text, "stderr", &run.stderr);
    match run.exit_code() {
        Some(code) => text.push_str(&format!("exit code: {code}")),
        None => text.push_str(&format!("status: {}", run.status)),
    }
    let mut content = vec![ContentBlock::text(text)];
    content.extend(
        images
            .into_iter()
            .map(|i| ContentBlock::image(i.base64_data.clone(), i.media_type())),
    );
    if run.succeeded() {
        CallToolResult::success(content)
    } else {
        CallToolResult::error(content)
    }
}

fn section(out: &mut String, label: &str, body: &str) {
    if body.is_empty() {
        return;
    }
    out.push_str(label);
    out.push_str(":\n");
    out.push_str(body);
    if !body.ends_with('\n') {
        out.push('\n');
    }
}

/// A tool error with one text block.
pub fn error(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}

/// A tool success with one text block.
pub fn text(message: impl Into<String>) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(message.into())])
}

/// A file listing, one line per entry: `path\tsize`.
pub fn listing(files: &[FileInfo]) -> CallToolResult {
    if files.is_empty() {
        return text("/mnt/data is empty");
    }
    let lines: Vec<String> = files
        .iter()
        .map(|f| {
            let kind = match f.kind {
                sessions_core::FileKind::Directory => "/",
                _ => "",
            };
            match f.size {
                Some(size) => format!("{}{kind}\t{size} bytes", f.relative_path()),
                None => format!("{}{kind}", f.relative_path()),
            }
        })
        .collect();
    text(lines.join("\n"))
}

/// What a downloaded file becomes: text, an image, or an embedded blob.
pub enum FileContent {
    /// UTF-8 text.
    Text(String),
    /// An image, base64.
    Image {
        /// Base64 data.
        base64: String,
        /// The media type.
        mime: String,
    },
    /// Other bytes, base64.
    Blob {
        /// Base64 data.
        base64: String,
        /// The media type.
        mime: String,
    },
}

impl FileContent {
    /// Classify bytes by the name's media type and whether they are UTF-8.
    pub fn classify(name: &str, bytes: &[u8]) -> FileContent {
        let mime = mime_guess::from_path(name)
            .first_raw()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let b64 = || base64::engine::general_purpose::STANDARD.encode(bytes);
        if mime.starts_with("image/") && mime != "image/svg+xml" {
            return FileContent::Image {
                base64: b64(),
                mime,
            };
        }
        match std::str::from_utf8(bytes) {
            Ok(text) if !text.contains('\0') => FileContent::Text(text.to_owned()),
            _ => FileContent::Blob {
                base64: b64(),
                mime,
            },
        }
    }

    /// As tool content.
    pub fn into_tool_result(self, uri: &str) -> CallToolResult {
        let block = match self {
            FileContent::Text(t) => ContentBlock::text(t),
            FileContent::Image { base64, mime } => ContentBlock::image(base64, mime),
            FileContent::Blob { base64, mime } => {
                ContentBlock::resource(ResourceContents::blob(base64, uri).with_mime_type(mime))
            }
        };
        CallToolResult::success(vec![block])
    }

    /// As a resource's contents.
    pub fn into_resource(self, uri: &str) -> ResourceContents {
        match self {
            FileContent::Text(t) => ResourceContents::text(t, uri),
            FileContent::Image { base64, mime } | FileContent::Blob { base64, mime } => {
                ResourceContents::blob(base64, uri).with_mime_type(mime)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_round_trip_and_refuse_escapes() {
        assert_eq!(relative_from_uri(&file_uri("out/a.csv")), Some("out/a.csv"));
        assert_eq!(relative_from_uri("sandbox:/mnt/data/../etc/passwd"), None);
        assert_eq!(relative_from_uri("file:///etc/passwd"), None);
        assert_eq!(relative_from_uri("sandbox:/mnt/data/"), None);
    }

    #[test]
    fn files_are_classified_by_type_and_content() {
        assert!(matches!(
            FileContent::classify("a.txt", b"hi"),
            FileContent::Text(_)
        ));
        assert!(matches!(
            FileContent::classify("a.png", b"\x89PNG"),
            FileContent::Image { .. }
        ));
        assert!(matches!(
            FileContent::classify("a.bin", b"\xff\x00"),
            FileContent::Blob { .. }
        ));
    }
}
