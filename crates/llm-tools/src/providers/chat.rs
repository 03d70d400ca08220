//! OpenAI Chat Completions: `tool_calls` in, `role: "tool"` messages out.
//!
//! Tool messages are text only, so images are described in the text and returned to the caller,
//! who may show them in a following user message ([`image_message`]).

use serde_json::{Value, json};
use sessions_core::Image;

use super::{Format, FoundCall, FoundCalls, ShapeError, arguments_at, data_uri, str_at};
use crate::call::ToolCall;
use crate::images::{ImageLimits, fit_image};
use crate::output::{ImageNote, ToolOutput};

/// Find the tool calls in a chat completion (first choice), an assistant message, a
/// `tool_calls` array, or one tool call.
///
/// JSON of another provider, a stream chunk, or a completion whose calls are only in a later
/// choice (`n > 1`: answer the message of the choice you keep) is an error, never "no calls".
///
/// ```
/// let completion = serde_json::json!({"choices": [{"message": {"role": "assistant", "content": null,
///     "tool_calls": [{"id": "call_1", "type": "function",
///         "function": {"name": "code_interpreter", "arguments": "{\"python_code\":\"print(1)\"}"}}]}}]});
/// let found = llm_tools::providers::chat::find_calls(&completion).unwrap();
/// assert_eq!(found.calls[0].call.id, "call_1");
/// ```
pub fn find_calls(value: &Value) -> Result<FoundCalls<'_>, ShapeError> {
    const EXPECTED: &str = "a chat completion, an assistant message, or a tool_calls array";
    ShapeError::check_format(Format::Chat, EXPECTED, value)?;
    let tool_calls = if let Some(choices) = value.get("choices") {
        let choices = choices.as_array().map_or(&[][..], Vec::as_slice);
        match choices.first() {
            Some(first) if calls_of(first).is_some() => calls_of(first),
            _ => {
                if let Some(index) = choices.iter().position(|c| calls_of(c).is_some()) {
                    return Err(ShapeError {
                        provider: Format::Chat.provider(),
                        expected: "tool calls in choices[0] (with n > 1, pass the message of the choice you keep)",
                        found: format!("tool calls only in choices[{index}]"),
                        looks_like: None,
                    });
                }
                return Ok(FoundCalls::default());
            }
        }
    } else if value.get("tool_calls").is_some() || value.get("role").is_some() {
        value.get("tool_calls")
    } else if value.is_array() {
        Some(value)
    } else if value.get("function").is_some() || value.get("custom").is_some() {
        return Ok(collect(std::slice::from_ref(value)));
    } else {
        return Err(ShapeError::new(Format::Chat.provider(), EXPECTED, value));
    };
    Ok(match tool_calls {
        Some(Value::Array(items)) => collect(items),
        _ => FoundCalls::default(),
    })
}

/// A choice's non-empty `tool_calls`.
fn calls_of(choice: &Value) -> Option<&Value> {
    choice
        .get("message")
        .and_then(|m| m.get("tool_calls"))
        .filter(|c| c.as_array().is_some_and(|c| !c.is_empty()))
}

fn collect(items: &[Value]) -> FoundCalls<'_> {
    let mut found = FoundCalls::default();
    for item in items {
        let kind = item.get("type").and_then(Value::as_str);
        match (kind, item.get("function")) {
            (Some("function") | None, Some(function)) => found.calls.push(FoundCall {
                call: ToolCall {
                    id: str_at(item, "id").into(),
                    name: str_at(function, "name").into(),
                    arguments: arguments_at(function, "arguments"),
                },
                raw: item,
            }),
            _ => found.other.push(item),
        }
    }
    found
}

/// The `tool` message answering `call_id`.
///
/// Images are described in the text (tool messages cannot carry them); pass
/// [`ToolOutput::images`] on, e.g. with [`image_message`].
pub fn tool_message(call_id: &str, output: &ToolOutput) -> Value {
    json!({
        "role": "tool",
        "tool_call_id": call_id,
        "content": output.text_for_model(ImageNote::Withheld),
    })
}

/// A user message showing images to the model (`image_url` parts with data URIs). Send it after
/// all the `tool` messages of the turn.
///
/// Images are fitted to OpenAI's limits; one that cannot be shown is named in the text instead.
pub fn image_message<'a>(images: impl IntoIterator<Item = &'a Image>) -> Value {
    let mut content =
        vec![json!({"type": "text", "text": "Images produced by the code interpreter:"})];
    for image in images {
        match fit_image(image, &ImageLimits::OPENAI) {
            Ok(image) => {
                content.push(json!({"type": "image_url", "image_url": {"url": data_uri(&image)}}))
            }
            Err(error) => content.push(json!({"type": "text", "text": error.to_string()})),
        }
    }
    json!({"role": "user", "content": content})
}
