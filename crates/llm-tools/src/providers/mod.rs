//! Per-provider wire formats: finding calls in what the model sent, and formatting results.
//!
//! Pure functions over `serde_json::Value`; no I/O. Parsers borrow from the input, so the only
//! copies made are the ones the output needs.

pub mod anthropic;
pub mod chat;
pub mod detect;
pub mod gemini;
pub mod mcp;
pub mod responses;

use serde_json::Value;

use crate::call::{Arguments, ToolCall};
pub use detect::Format;

/// A function call found in a provider's JSON, with the JSON it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundCall<'a> {
    /// The call.
    pub call: ToolCall<'a>,
    /// The JSON it was read from (a tool call, an output item, a content block or a part), handed
    /// back untouched when the call is for another tool.
    pub raw: &'a Value,
}

/// Every client-side call in a model turn.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FoundCalls<'a> {
    /// Function calls, in order, for any tool name.
    pub calls: Vec<FoundCall<'a>>,
    /// Other calls the caller must answer (custom tools, computer use, …), untouched.
    pub other: Vec<&'a Value>,
}

/// The input did not look like anything the provider sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unrecognized {provider} JSON: expected {expected}, got {found}{}", hint(.looks_like))]
pub struct ShapeError {
    /// The provider format that was expected.
    pub provider: &'static str,
    /// What was expected.
    pub expected: &'static str,
    /// What was found.
    pub found: String,
    /// The format the input looks like instead, when it is recognizably another one (or a
    /// streamed event of this one).
    pub looks_like: Option<detect::Detected>,
}

fn hint(looks_like: &Option<detect::Detected>) -> String {
    match looks_like {
        Some(d) if d.stream_event => format!("; it looks like {}", d.describe()),
        Some(d) => format!(
            "; it looks like {}: handle it with the {} format",
            d.describe(),
            d.format
        ),
        None => String::new(),
    }
}

impl ShapeError {
    fn new(provider: &'static str, expected: &'static str, value: &Value) -> Self {
        let found = match value {
            Value::Object(map) => {
                let keys: Vec<&str> = map.keys().map(String::as_str).take(8).collect();
                format!("an object with keys {keys:?}")
            }
            other => crate::call::json_type(other).to_owned(),
        };
        ShapeError {
            provider,
            expected,
            found,
            looks_like: detect::detect(value),
        }
    }

    /// `Err` when `value` is recognizably another format, or a streamed event, not a `format` turn.
    fn check_format(format: Format, expected: &'static str, value: &Value) -> Result<(), Self> {
        match detect::detect(value) {
            Some(d) if d.format != format || d.stream_event => {
                Err(ShapeError::new(format.provider(), expected, value))
            }
            _ => Ok(()),
        }
    }
}

/// The string at `key`, or `""`.
fn str_at<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Arguments from a field that is a JSON string (OpenAI) or, from lenient servers, a value.
fn arguments_at<'a>(value: &'a Value, key: &str) -> Arguments<'a> {
    match value.get(key) {
        None | Some(Value::Null) => Arguments::Missing,
        Some(Value::String(s)) => Arguments::Json(s.as_str().into()),
        Some(other) => Arguments::Value(std::borrow::Cow::Borrowed(other)),
    }
}

/// A `data:` URI for an image.
fn data_uri(image: &sessions_core::Image) -> String {
    let media_type = image.media_type();
    let mut uri = String::with_capacity(image.base64_data.len() + media_type.len() + 13);
    uri.push_str("data:");
    uri.push_str(&media_type);
    uri.push_str(";base64,");
    uri.push_str(&image.base64_data);
    uri
}
