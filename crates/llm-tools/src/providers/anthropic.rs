//! Anthropic Messages: `tool_use` blocks in, `tool_result` blocks out (with `is_error`), images
//! as `image` blocks inside the result.

use std::borrow::Cow;

use serde_json::{Value, json};

use super::{Format, FoundCall, FoundCalls, ShapeError, str_at};
use crate::call::{Arguments, ToolCall};
use crate::output::{ImageNote, ToolOutput};

/// Find the `tool_use` blocks in a message, its `content` array, or one block. Server tool
/// blocks (`server_tool_use`, hosted results) need no answer and are skipped.
///
/// ```
/// let message = serde_json::json!({"role": "assistant", "content": [
///     {"type": "text", "text": "Let me compute that."},
///     {"type": "tool_use", "id": "toolu_1", "name": "code_interpreter", "input": {"python_code": "print(1)"}}]});
/// let found = llm_tools::providers::anthropic::find_calls(&message).unwrap();
/// assert_eq!(found.calls[0].call.id, "toolu_1");
/// ```
pub fn find_calls(value: &Value) -> Result<FoundCalls<'_>, ShapeError> {
    const EXPECTED: &str = "a message, a content array or a content block";
    ShapeError::check_format(Format::Anthropic, EXPECTED, value)?;
    let blocks: &[Value] = match value {
        Value::Array(blocks) => blocks,
        Value::Object(map) => match map.get("content") {
            Some(Value::Array(blocks)) => blocks,
            Some(Value::String(_)) => &[],
            _ if map.contains_key("type") => std::slice::from_ref(value),
            _ => {
                return Err(ShapeError::new(
                    Format::Anthropic.provider(),
                    EXPECTED,
                    value,
                ));
            }
        },
        other => {
            return Err(ShapeError::new(
                Format::Anthropic.provider(),
                EXPECTED,
                other,
            ));
        }
    };
    let mut found = FoundCalls::default();
    for block in blocks {
        if block.get("type").and_then(Value::as_str) == Some("tool_use") {
            let arguments = match block.get("input") {
                None => Arguments::Missing,
                Some(input) => Arguments::Value(Cow::Borrowed(input)),
            };
            found.calls.push(FoundCall {
                call: ToolCall {
                    id: str_at(block, "id").into(),
                    name: str_at(block, "name").into(),
                    arguments,
                },
                raw: block,
            });
        }
    }
    Ok(found)
}

/// The `tool_result` block answering `tool_use_id`. Images are fitted to Anthropic's limits
/// (5 MB, 2000 px per side); those the API cannot take (e.g. SVG) are not attached, and the text
/// says so instead of failing the whole request.
pub fn tool_result(tool_use_id: &str, output: &ToolOutput) -> Value {
    let output = &*crate::images::fit_output(output, &crate::images::ImageLimits::ANTHROPIC);
    let text = output.text_for_model(ImageNote::Attached);
    let content = if output.images.is_empty() {
        Value::String(text)
    } else {
        let mut blocks = Vec::with_capacity(1 + output.images.len());
        blocks.push(json!({"type": "text", "text": text}));
        for image in &output.images {
            blocks.push(json!({"type": "image", "source": {"type": "base64", "media_type": image.media_type(), "data": image.base64_data}}));
        }
        Value::Array(blocks)
    };
    json!({"type": "tool_result", "tool_use_id": tool_use_id, "content": content, "is_error": output.is_error()})
}

/// The user message carrying the results of one turn (the API wants them first, together).
pub fn user_message(tool_results: Vec<Value>) -> Value {
    json!({"role": "user", "content": tool_results})
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessions_core::Image;

    #[test]
    fn unsupported_image_formats_are_described_not_attached() {
        let mut output =
            ToolOutput::invalid_call(&crate::call::CallError::InvalidJson { error: "x".into() });
        output.images = vec![
            Image {
                format: "png".into(),
                base64_data: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==".into(),
            },
            Image {
                format: "svg".into(),
                base64_data: "PHN2".into(),
            },
        ];
        let block = tool_result("toolu_1", &output);
        let content = block["content"].as_array().unwrap();
        assert_eq!(content[1]["type"], "image");
        assert_eq!(content[1]["source"]["media_type"], "image/png");
        assert_eq!(content.len(), 2, "the svg is not attached");
        assert!(content[0]["text"].as_str().unwrap().contains("\\\"svg\\\""));
        assert!(
            !block.to_string().contains("PHN2"),
            "unsupported image data must not be sent"
        );
    }
}
