//! [`FileInput`]: a file handed to a code interpreter, and the name it gets in `/mnt/data`.

use bytes::Bytes;
use url::Url;

/// A file for a code interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileInput {
    /// A file on the web, fetched by this client (never by the sandbox).
    Url {
        /// `http` or `https`.
        url: Url,
        /// The file name; derived from the URL path (or the response's media type) when `None`.
        name: Option<String>,
    },
    /// A file already stored by the provider (OpenAI `file-…`, Anthropic `file_…`) or, when
    /// staging into a session, a file already in its `/mnt/data`.
    Hosted {
        /// The id (or, for a session, the path relative to `/mnt/data`).
        id: String,
    },
    /// Bytes in memory.
    Data {
        /// The content.
        bytes: Bytes,
        /// The media type, e.g. `text/csv`.
        media_type: String,
        /// The file name; derived from the media type when `None`.
        name: Option<String>,
    },
    /// Text in memory.
    Text {
        /// The content.
        text: String,
        /// The file name; `input-N.txt` when `None`.
        name: Option<String>,
    },
}

impl FileInput {
    /// A URL input. Fails on anything but `http` and `https`.
    ///
    /// ```
    /// use llm_tools::hosted::FileInput;
    /// assert!(FileInput::url("https://example.com/data/sales.csv").is_ok());
    /// assert!(FileInput::url("file:///etc/passwd").is_err());
    /// ```
    pub fn url(url: &str) -> Result<Self, InvalidInput> {
        let parsed = Url::parse(url).map_err(|e| InvalidInput(format!("not a URL ({e})")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(InvalidInput(format!(
                "only http and https URLs can be fetched, not {}:",
                parsed.scheme()
            )));
        }
        Ok(FileInput::Url {
            url: parsed,
            name: None,
        })
    }

    /// A provider-hosted file id.
    pub fn hosted(id: impl Into<String>) -> Self {
        FileInput::Hosted { id: id.into() }
    }

    /// Bytes with a media type.
    pub fn data(bytes: impl Into<Bytes>, media_type: impl Into<String>) -> Self {
        FileInput::Data {
            bytes: bytes.into(),
            media_type: media_type.into(),
            name: None,
        }
    }

    /// Text.
    pub fn text(text: impl Into<String>) -> Self {
        FileInput::Text {
            text: text.into(),
            name: None,
        }
    }

    /// Set the file name (ignored for hosted ids).
    pub fn named(mut self, new_name: impl Into<String>) -> Self {
        match &mut self {
            FileInput::Url { name, .. }
            | FileInput::Data { name, .. }
            | FileInput::Text { name, .. } => *name = Some(new_name.into()),
            FileInput::Hosted { .. } => {}
        }
        self
    }

    /// The kind, for messages: `url`, `hosted`, `data` or `text`.
    pub fn kind(&self) -> &'static str {
        match self {
            FileInput::Url { .. } => "url",
            FileInput::Hosted { .. } => "hosted",
            FileInput::Data { .. } => "data",
            FileInput::Text { .. } => "text",
        }
    }

    /// A short description without secrets (a URL loses its query, which may hold a token).
    pub fn describe(&self) -> String {
        match self {
            FileInput::Url { url, .. } => format!("url {}", redact_url(url)),
            FileInput::Hosted { id } => format!("hosted file {id}"),
            FileInput::Data {
                media_type,
                name,
                bytes,
            } => {
                format!(
                    "data {} ({media_type}, {} bytes)",
                    name.as_deref().unwrap_or("unnamed"),
                    bytes.len()
                )
            }
            FileInput::Text { name, text } => {
                format!(
                    "text {} ({} bytes)",
                    name.as_deref().unwrap_or("unnamed"),
                    text.len()
                )
            }
        }
    }
}

/// A file input that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid file input: {0}")]
pub struct InvalidInput(pub String);

/// The URL without query, fragment or credentials.
pub(crate) fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// Make a name safe as a single file name in `/mnt/data`: no directories, no hidden or
/// relative names, no control characters.
pub(crate) fn safe_file_name(raw: &str) -> Option<String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    (!cleaned.is_empty() && cleaned.len() <= 255).then_some(cleaned)
}

/// The last path segment of a URL, percent-decoded, when it makes a usable name.
pub(crate) fn name_from_url(url: &Url) -> Option<String> {
    let segment = url.path_segments()?.rev().find(|s| !s.is_empty())?;
    let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
    safe_file_name(&decoded)
}

/// The usual extension for a media type.
pub(crate) fn extension_for(media_type: &str) -> &'static str {
    let essence = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "text/plain" => "txt",
        "text/csv" => "csv",
        "application/json" => "json",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "application/pdf" => "pdf",
        "text/html" => "html",
        "text/markdown" => "md",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/vnd.apache.parquet" => "parquet",
        other => mime_guess::get_mime_extensions_str(other)
            .and_then(|e| e.first().copied())
            .unwrap_or("bin"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_derived_and_made_safe() {
        let url = Url::parse("https://x.test/a/b/My%20Data.csv?sig=secret").unwrap();
        assert_eq!(name_from_url(&url).as_deref(), Some("My Data.csv"));
        assert_eq!(name_from_url(&Url::parse("https://x.test/").unwrap()), None);
        assert_eq!(
            safe_file_name("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(safe_file_name(".."), None);
        assert_eq!(safe_file_name(".hidden").as_deref(), Some("hidden"));
        assert_eq!(extension_for("text/csv; charset=utf-8"), "csv");
        assert_eq!(
            redact_url(&Url::parse("https://u:p@x.test/f.csv?sig=secret#x").unwrap()),
            "https://x.test/f.csv"
        );
    }
}
